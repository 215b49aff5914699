"""What a reader sees: the study's tables (tables), the conclusions page (conclusions),
the sweeps' tables (sweep_results), figures (figures, curves, sweep_figures, plotting),
HTML and Markdown rendering (render) and the progress of a study (status)."""
