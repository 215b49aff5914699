# The accuracy chart of one table, from summary.csv.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.report import figures

    p = snakemake.params
    figures.accuracy_chart(snakemake.input.summary, json.loads(p.experiments),
                           list(p.protocols), snakemake.output.accuracy, p.title)
