# Generate a stand-in image folder in the real layout (regstudy synth).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
from pipeline.cli import run_cli

run_cli(
    ["synth", snakemake.wildcards.dataset, snakemake.output[0],
     "--seed", snakemake.params.seed, "--per-class", snakemake.params.per_class,
     "--size", snakemake.params.size, "--workers", snakemake.threads],
    log=snakemake.log[0], threads=snakemake.threads,
    rule=snakemake.rule, mem_mb=snakemake.resources.get("mem_mb"),
)
