# Parameter statistics of one run: near-zero share, mean, variance, histogram data.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
from pipeline.runtime.jobs import log_to
from pipeline.runtime.threads import limit_blas

limit_blas(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.analysis.runstats import write_run_stats

    write_run_stats(snakemake.input.params, snakemake.input.metrics, snakemake.output[0])
