# The sweeps: the value chosen on validation per sweep (table) and the path figures.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.jobs import log_to
from pipeline.threads import limit_blas

limit_blas(snakemake.threads)
with log_to(snakemake.log[0]):
    import pandas as pd

    from pipeline.study import sweep_figures, sweep_results

    specs = json.loads(snakemake.params.sweeps)
    protocols = list(snakemake.params.protocols)
    runs = pd.read_csv(snakemake.input.runs)
    o = snakemake.output
    points = sweep_results.write_sweep_table(runs, specs, protocols, o.csv, o.md, o.html)
    for name, out in zip(specs, o.paths):
        assert Path(out).stem == f"sweep_{name}", (out, name)
        sweep_figures.sweep_figure(points, specs, [name], protocols, out,
                                   specs[name]["title"])
    for out in o.overview:
        dataset = Path(out).stem[len("sweeps_"):]
        names = [n for n, s in specs.items() if s["dataset"] == dataset]
        sweep_figures.sweep_figure(points, specs, names, protocols, out,
                                   f"Regularization paths, {dataset}")
