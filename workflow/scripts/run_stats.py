# Parameter statistics of one run: near-zero share, mean, variance, histogram data.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.analysis.runstats import write_run_stats

    write_run_stats(snakemake.input.params, snakemake.input.metrics, snakemake.output[0])
