# Three figures of one table from its runs (the accuracy chart: accuracy_figure.py).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.report import figures

    i, p, o = snakemake.input, snakemake.params, snakemake.output
    described = json.loads(p.experiments)
    figures.training_curves(list(i.history), list(i.metrics), described, o.curves, p.title)
    figures.histograms(list(i.stats), described, o.histograms, p.title)
    first = [m for m in i.metrics if Path(m).parent.name == f"seed{p.first_seed}"]
    figures.predictions(list(i.predictions), first, list(i.data), described, o.predictions,
                        p.title, samples=int(p.samples))
