# One training run (regstudy train); a diverged run is recorded, not failed. A fault
# (disk full, out of memory, permissions, data cache changed) fails the job with its
# message and leaves a failure record for the tables (pipeline.study.failures).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
import json
import os

from pipeline import faults
from pipeline.study import failures
from pipeline.study.jobenv import pin_threads, run_child

# The engine's own threads are the job's `threads` in all (--threads; one-thread BLAS under
# each), so the job never runs more threads than it declared. A one-thread job runs one
# shard (measured: two oversubscribed 2-shard jobs on 2 cores make 8-9% fewer steps than
# two 1-shard jobs); with more threads the network gets its default (2 shards for a CNN;
# an MLP keeps 1 and splits its big layer instead).
pin_threads(1)
s = json.loads(snakemake.params.settings)
run_dir = os.path.dirname(snakemake.output.metrics)
# The layer list goes in a file beside the run (an inline list can exceed a path's length
# limit, and the file documents the run): results/runs/.../net.json
net_file = os.path.join(run_dir, "net.json")
record = failures.record_path(run_dir)
try:
    os.makedirs(run_dir, exist_ok=True)
    with open(net_file, "w") as fh:
        json.dump(s["net"], fh)
except OSError as exc:
    fault = faults.describe(exc)
    if fault is None:
        raise
    failures.write_record(record, fault.code, fault.message)
    with open(snakemake.log[0], "a") as fh:      # what Snakemake shows of a failed job
        fh.write(fault.message + "\n")
    sys.exit(fault.code)
args = [
    "train", "--data", snakemake.input.data,
    "--net", net_file,
    "--protocol", snakemake.wildcards.protocol,
    "--epochs", s["epochs"], "--batch-size", s["batch_size"], "--lr", repr(s["learning_rate"]),
    "--seed", snakemake.wildcards.seed,
    "--out", run_dir,
    "--l1", repr(s["l1"]), "--l2", repr(s["l2"]),
    "--experiment", snakemake.wildcards.experiment,
    "--report", s["report"],
    "--eval-train-size", s["eval_train_size"],
    "--threads", snakemake.threads,
    "--on-divergence", "record",
    "--dtype", s.get("dtype", "float32"),
]
if s.get("train_size") is not None:
    args += ["--train-size", s["train_size"]]
if snakemake.threads == 1:
    args += ["--shards", 1]
for key, value in s["quirks"].items():
    args += ["--quirk", f"{key}={json.dumps(value) if isinstance(value, bool) else value}"]
# in a child process: if the job outgrows resources.train.mem_mb and is killed, this
# process is left to say so (and to leave the failure record)
run_child(args, log=snakemake.log[0], threads=1, rule=snakemake.rule,
          mem_mb=snakemake.resources.get("mem_mb"), record=record)
