# The effects chart of one table (paired differences from its baseline), from conclusions.csv.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src

from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.report import figures

    p = snakemake.params
    figures.effects_chart(snakemake.input.conclusions, snakemake.wildcards.table,
                          list(p.protocols), snakemake.output.effects, p.title, p.margin)
