# One of the study's tables, our protocols beside the seed study's single run.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # this checkout's package
import json

from pipeline.study.jobenv import log_to, pin_threads

pin_threads(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.study import tables

    tables.write_study_table(
        summary_csv=snakemake.input.summary,
        described=json.loads(snakemake.params.experiments),
        protocols=list(snakemake.params.protocols),
        title=snakemake.params.title,
        out_csv=snakemake.output.csv,
        out_md=snakemake.output.md,
        out_html=snakemake.output.html,
    )
