# Image folder -> .npz cache (+ manifest beside it) (regstudy prepare).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # this checkout's src
from pipeline.cli import run_cli

d = snakemake.params.decoding      # the bare size, or {size, resample, jpeg_quality}
if not isinstance(d, dict):
    d = {"size": d, "resample": "bicubic", "jpeg_quality": None}
extra = ["--jpeg-quality", d["jpeg_quality"]] if d["jpeg_quality"] is not None else []
run_cli(
    ["prepare", snakemake.wildcards.dataset, snakemake.input.root,
     "--size", d["size"], "--resample", d["resample"], "--out", snakemake.output.cache,
     "--workers", snakemake.threads, *extra],
    log=snakemake.log[0], threads=snakemake.threads,
    rule=snakemake.rule, mem_mb=snakemake.resources.get("mem_mb"),
)
