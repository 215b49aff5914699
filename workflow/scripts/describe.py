# What the results are (results/description.{json,md}), from the cache manifests and the
# runs' metrics.json: the report's front page shows it instead of the configuration's values.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.analysis.describe import write_description

    write_description(list(snakemake.input.manifests), list(snakemake.input.metrics),
                      snakemake.output.json, snakemake.output.md)
