# Which of the seed study's readings hold under each protocol, over seeds.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # this checkout's package
import json

from pipeline.study.jobenv import log_to, pin_threads

pin_threads(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.study import tables

    tables.write_conclusions(
        summary_csv=snakemake.input.summary,
        runs_csv=snakemake.input.runs,
        described=json.loads(snakemake.params.experiments),
        titles=dict(snakemake.params.titles),
        protocols=list(snakemake.params.protocols),
        out_md=snakemake.output.md,
        out_html=snakemake.output.html,
    )
