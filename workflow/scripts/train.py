# One training run (regstudy train); a diverged run is recorded, not failed.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # this checkout's package
import json
import os

from pipeline.study.jobenv import pin_threads, run_cli

pin_threads(snakemake.threads)
s = json.loads(snakemake.params.settings)
args = [
    "train", "--data", snakemake.input.data,
    "--net", json.dumps(s["net"], separators=(",", ":")),
    "--protocol", snakemake.wildcards.protocol,
    "--epochs", s["epochs"], "--batch-size", s["batch_size"], "--lr", repr(s["learning_rate"]),
    "--seed", snakemake.wildcards.seed,
    "--out", os.path.dirname(snakemake.output.metrics),
    "--l1", repr(s["l1"]), "--l2", repr(s["l2"]),
    "--experiment", snakemake.wildcards.experiment,
    "--report", s["report"],
    "--threads", snakemake.threads,
    "--on-divergence", "record",
]
for key, value in s["quirks"].items():
    args += ["--quirk", f"{key}={json.dumps(value) if isinstance(value, bool) else value}"]
run_cli(args, log=snakemake.log[0], threads=snakemake.threads)
