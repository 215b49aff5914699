# Stage 5: the figures of one table: training curves, parameter histograms and sample
# predictions from the table's runs; the accuracy comparison from summary.csv (a rule of
# its own: a run of another table rewrites summary.csv, which redraws only that chart).


rule figures:
    input:
        history=table_runs("history.csv"),
        metrics=table_runs("metrics.json"),
        stats=table_runs("stats.json", seeds=SEEDS[:1]),
        predictions=table_runs("predictions.npz", seeds=SEEDS[:1]),
        data=lambda w: expand(
            CACHE,
            dataset=sorted(
                {dataset_of(e) for e in ex.experiments_in_table(config, w.table)}
            ),
        ),
    output:
        curves=report(
            "results/figures/curves_{table}.png",
            caption="../report/curves.rst",
            category="Figures",
            subcategory="Training curves",
            labels={"table": "{table}", "figure": "training curves"},
        ),
        histograms=report(
            "results/figures/histograms_{table}.png",
            caption="../report/histograms.rst",
            category="Figures",
            subcategory="Parameter histograms",
            labels={"table": "{table}", "figure": "parameter histograms"},
        ),
        predictions=report(
            "results/figures/predictions_{table}.png",
            caption="../report/predictions.rst",
            category="Figures",
            subcategory="Sample predictions",
            labels={"table": "{table}", "figure": "sample predictions"},
        ),
    log:
        "results/logs/figures/{table}.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    params:
        title=lambda w: ex.table_title(config, w.table),
        experiments=table_experiments,
        first_seed=SEEDS[0],
        samples=3,
    script:
        "../scripts/figures.py"


rule accuracy_figure:
    input:
        summary="results/tables/summary.csv",
    output:
        accuracy=report(
            "results/figures/accuracy_{table}.png",
            caption="../report/accuracy.rst",
            category="Figures",
            subcategory="Accuracy comparison",
            labels={"table": "{table}", "figure": "accuracy"},
        ),
    log:
        "results/logs/figures/accuracy_{table}.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    params:
        title=lambda w: ex.table_title(config, w.table),
        experiments=table_experiments,
        protocols=PROTOCOLS,
    script:
        "../scripts/accuracy_figure.py"


rule effects_figure:
    input:
        conclusions="results/tables/conclusions.csv",
    output:
        effects=report(
            "results/figures/effects_{table}.png",
            caption="../report/effects.rst",
            category="Figures",
            subcategory="Effects against the baseline",
            labels={"table": "{table}", "figure": "effects"},
        ),
    log:
        "results/logs/figures/effects_{table}.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    params:
        title=lambda w: ex.table_title(config, w.table),
        protocols=PROTOCOLS,
        margin=ex.equivalence_margin(config),
    script:
        "../scripts/effects_figure.py"
