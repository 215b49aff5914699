# The figures of one table; the rule name says which (curves, histograms, predictions,
# accuracy).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # this checkout's package
import json

from pipeline.study.jobenv import log_to, pin_threads

pin_threads(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.study import figures

    kind = snakemake.rule.removeprefix("figure_")
    described = json.loads(snakemake.params.experiments)
    inputs = {k: list(v) if not isinstance(v, str) else [v] for k, v in snakemake.input.items()}
    figures.draw(
        kind, inputs, described, out=snakemake.output[0], title=snakemake.params.title,
        protocols=list(getattr(snakemake.params, "protocols", []) or []),
        samples=int(getattr(snakemake.params, "samples", 3) or 3),
    )
