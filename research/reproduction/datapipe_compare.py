"""The data-sensitivity table (datapipe.yaml): cnn1 under `reference` per data pipeline,
paired by seed against the first folder's pipeline. Each folder is a finished study
folder (`snakemake -d`) holding results/runs/reference/flowers_cnn1/seed*/metrics.json;
the pipeline (resize filter, extra JPEG re-encode) is read from the runs' own
`data_decoding`, not from the folder's name.

    python research/reproduction/datapipe_compare.py studies/datapipe_resample_bicubic \\
        studies/datapipe_resample_nearest studies/datapipe_resample_bilinear_jpeg_quality_75
"""
import argparse
import json
from pathlib import Path

import numpy as np

from pipeline.analysis import paired

EXPERIMENT = "reference/flowers_cnn1"


def pipeline_runs(folder):
    """(pipeline label, {seed: test accuracy in points}) of the folder's ok cnn1 runs."""
    acc, labels = {}, set()
    for m in sorted(Path(folder, "results", "runs", EXPERIMENT).glob("seed*/metrics.json")):
        meta = json.loads(m.read_text())
        if meta.get("status") == "ok":
            acc[meta["seed"]] = 100 * meta["test_accuracy"]
            d = meta.get("data_decoding") or {"resample": "bicubic", "jpeg_quality": None}
            labels.add(d["resample"] + (f" + JPEG {d['jpeg_quality']}" if d.get("jpeg_quality") else ""))
    if not acc:
        raise SystemExit(f"{folder}: no finished runs under results/runs/{EXPERIMENT}")
    if len(labels) != 1:
        raise SystemExit(f"{folder}: runs of several data pipelines ({', '.join(sorted(labels))})")
    return labels.pop(), acc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="study folders; the first is the baseline pipeline")
    args = ap.parse_args(argv)
    rows = [pipeline_runs(f) for f in args.folders]
    base_label, base = rows[0]
    print(f"| pipeline | seeds | test accuracy % (mean ± sd) | - {base_label}, paired [95% CI], p |")
    print("|---|---|---|---|")
    for label, acc in rows:
        v = np.array(list(acc.values()))
        seeds = sorted(acc)
        cell = "-"
        if acc is not base:
            iv = paired.t_interval(paired.paired_differences(acc, base))
            cell = f"{paired.interval_text(iv, p_digits=2)} (n={iv.n})"
        print(f"| {label} | {seeds[0]}-{seeds[-1]} ({len(seeds)}) | {v.mean():.1f} ± "
              f"{v.std(ddof=1):.1f} | {cell} |")


if __name__ == "__main__":
    main()
