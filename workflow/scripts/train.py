# One training run; a diverged run is recorded, not failed. A fault (disk full, out of
# memory, permissions, data cache changed) fails the job with its message and leaves a
# failure record for the tables (pipeline.runtime.failures).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json
import os
from dataclasses import asdict

from pipeline.runtime.jobs import run_child
from pipeline.runtime.threads import limit_blas
from pipeline.runtime import failures

# The engine's own threads are the job's `threads` in all (RunSettings.threads; one-thread
# BLAS under each), so the job never runs more threads than it declared. A one-thread job
# runs one shard (measured: two oversubscribed 2-shard jobs on 2 cores make 8-9% fewer
# steps than two 1-shard jobs; docs/engine.md#measured-timings); with more threads the
# network gets its default (2 shards for a CNN; an MLP keeps 1 and splits its big layer
# instead).
limit_blas(1)
from pipeline.train.run import run_job  # noqa: E402  (after limit_blas)
from pipeline.train.settings import build  # noqa: E402

# The experiment's settings (pipeline.plan.experiments.run_settings, checked with the
# config), then this run's own: the same construction as `regstudy train`'s.
values = json.loads(snakemake.params.settings)
values.pop("dataset")
w = snakemake.wildcards
settings = build({**values, "data": snakemake.input.data, "protocol": w.protocol,
                  "seed": int(w.seed), "experiment": w.experiment, "on_divergence": "record",
                  "shards": 1 if snakemake.threads == 1 else None,
                  "threads": snakemake.threads})
run_dir = os.path.dirname(snakemake.output.metrics)
record = failures.record_path(run_dir)
# in a child process: if the job outgrows resources.train.mem_mb and is killed, this
# process is left to say so (and to leave the failure record)
run_child(
    lambda: run_job(settings, run_dir)[0],
    "regstudy train", log=snakemake.log[0],
    detail=json.dumps(asdict(settings), sort_keys=True),
    rule=snakemake.rule, mem_mb=snakemake.resources.get("mem_mb"), record=record,
)
