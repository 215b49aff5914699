# The sweeps: the value chosen on validation per sweep (table) and the path figures (one
# per sweep, one per data set and regularizer family).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.runtime.jobs import job

with job(snakemake):
    import pandas as pd

    from pipeline.report import sweep_figures, sweep_results
    from pipeline.plan import sweeps

    specs = json.loads(snakemake.params.sweeps)
    protocols = list(snakemake.params.protocols)
    runs = pd.read_csv(snakemake.input.runs)
    o = snakemake.output
    points = sweep_results.write_sweep_table(runs, specs, protocols, o.csv, o.md, o.html)
    for name, out in zip(specs, o.paths):
        assert Path(out).stem == f"sweep_{name}", (out, name)
        sweep_figures.sweep_figure(points, specs, [name], protocols, out,
                                   specs[name]["title"])
    groups = json.loads(snakemake.params.overviews)   # {"<dataset>_<family>": names}
    for (group, names), out in zip(groups.items(), o.overview):
        assert Path(out).stem == f"sweeps_{group}", (out, group)
        dataset, family = specs[names[0]]["dataset"], sweeps.family(specs[names[0]]["vary"])
        sweep_figures.sweep_figure(points, specs, names, protocols, out,
                                   f"Regularization paths, {dataset}: "
                                   f"{sweep_figures.family_name(family)}")
