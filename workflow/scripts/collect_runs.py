# Every run in one long table (runs.csv), failed ones included, then mean +- std over
# seeds (summary.csv).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json

from pipeline.runtime.jobs import job

with job(snakemake):
    from pipeline.runtime import failures
    from pipeline.analysis import runs

    described = json.loads(snakemake.params.experiments)
    run_table = runs.collect_runs(
        snakemake.input.metrics, snakemake.input.history, snakemake.input.stats, described
    )
    # runs whose training job failed (disk full, out of memory...): status "failed" + error
    run_table = failures.with_failures(run_table, snakemake.input.failures, described)
    runs.write_csv(run_table, snakemake.output.runs)
    runs.write_csv(runs.summarize(run_table, described), snakemake.output.summary)
