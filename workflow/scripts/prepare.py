# Image folder -> .npz cache (+ manifest beside it) (regstudy prepare).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's package
from pipeline.study.jobenv import pin_threads, run_cli

pin_threads(snakemake.threads)
run_cli(
    ["prepare", snakemake.wildcards.dataset, snakemake.input.root,
     "--size", snakemake.params.size, "--out", snakemake.output.cache,
     "--workers", snakemake.threads],
    log=snakemake.log[0], threads=snakemake.threads,
)
