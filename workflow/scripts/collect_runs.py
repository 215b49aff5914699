# Every run in one long table (runs.csv), then mean +- std over seeds (summary.csv).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's package
import json

from pipeline.study.jobenv import log_to, pin_threads

pin_threads(snakemake.threads)
with log_to(snakemake.log[0]):
    from pipeline.study import runs

    described = json.loads(snakemake.params.experiments)
    run_table = runs.collect_runs(
        snakemake.input.metrics, snakemake.input.history, snakemake.input.stats, described
    )
    runs.write_csv(run_table, snakemake.output.runs)
    runs.write_csv(runs.summarize(run_table, described), snakemake.output.summary)
