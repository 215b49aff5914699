# One training run (regstudy train); a diverged run is recorded, not failed.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's package
import json
import os

from pipeline.study.jobenv import pin_threads, run_cli

# The engine's own threads use the job's cores: one shard per thread, one-thread BLAS
# under each. A one-thread job runs one shard (measured: two oversubscribed 2-shard jobs
# on 2 cores make 8-9% fewer steps than two 1-shard jobs); with more threads the network
# gets its default (2 shards for a CNN; an MLP keeps 1 and splits its big layer instead).
pin_threads(1)
s = json.loads(snakemake.params.settings)
run_dir = os.path.dirname(snakemake.output.metrics)
# The layer list goes in a file beside the run (an inline list can exceed a path's length
# limit, and the file documents the run): results/runs/.../net.json
os.makedirs(run_dir, exist_ok=True)
net_file = os.path.join(run_dir, "net.json")
with open(net_file, "w") as fh:
    json.dump(s["net"], fh)
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
    "--threads", 1,
    "--on-divergence", "record",
]
if snakemake.threads == 1:
    args += ["--shards", 1]
for key, value in s["quirks"].items():
    args += ["--quirk", f"{key}={json.dumps(value) if isinstance(value, bool) else value}"]
run_cli(args, log=snakemake.log[0], threads=1)
