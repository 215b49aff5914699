"""A study's per-run record for the docs: one row per run of a results folder, merged into
a CSV under docs/data/ (a run already there, same data copy, protocol, experiment and
seed, is replaced). The results pages' tables and numbers are computed from these files
(research/results_pages.py), so a reader can recompute every one of them.

    python research/record_runs.py ../sharp-study/results --data-copy flowers-sharp \
        --commit 15f019f --out docs/data/sharp_study.csv

Columns: data_copy, image_size, protocol, experiment, seed, status, acc (test accuracy,
percent), one_class (every test image predicted as one class: the MLP's collapse),
acc_at_E (test accuracy after epoch E, for runs with test_epochs), train_acc (training
mode, last epoch), eval_train_acc / eval_val_acc (evaluation mode,
last epoch), l1, l2, decay, epochs, n_train (training images), near_zero_frac, param_std, train_seconds,
engine_version, kernel (the BLAS kernel, pipeline.provenance.kernel), commit.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import layout, provenance

KEY = ["data_copy", "protocol", "experiment", "seed"]
# read as text: a commit such as 31103e7 would otherwise be read as the number 3.1103e11
TEXT = {"commit": str, "engine_version": str, "kernel": str}


def run_row(run_dir, data_copy, commit):
    m = json.loads((run_dir / "metrics.json").read_text())
    row = {"data_copy": data_copy, "protocol": m["protocol"], "experiment": m["experiment"],
           "seed": int(m["seed"]), "status": m.get("status", "ok")}
    ok = row["status"] == "ok"
    acc = m.get("test_accuracy")
    row["acc"] = round(100 * acc, 4) if ok and isinstance(acc, (int, float)) else np.nan
    for epoch, a in sorted((m.get("test_accuracy_at") or {}).items(), key=lambda kv: int(kv[0])):
        row[f"acc_at_{epoch}"] = round(100 * a, 4) if isinstance(a, (int, float)) else np.nan
    one_class = np.nan
    if ok and (run_dir / "predictions.npz").exists():
        with np.load(run_dir / "predictions.npz") as p:
            one_class = bool(len(np.unique(p["prob"].argmax(1))) == 1)
    row["one_class"] = one_class
    h = pd.read_csv(run_dir / "history.csv") if (run_dir / "history.csv").exists() else None
    for col, src in (("train_acc", "train_acc"), ("eval_train_acc", "eval_train_acc"),
                     ("eval_val_acc", "eval_val_acc")):
        row[col] = round(float(h[src].iloc[-1]), 6) if h is not None and src in h and len(h) \
            else np.nan
    cache = json.loads(layout.path(layout.run_of(run_dir)[0], layout.MANIFEST,
                                   dataset=m["dataset"]).read_text()) if m.get("dataset") else {}
    params = m.get("params") or {}
    row.update(image_size=(cache.get("size") or [None])[0], l1=m.get("l1"), l2=m.get("l2"),
               decay=(m.get("quirks") or {}).get("decay"), epochs=m.get("epochs"),
               n_train=m.get("n_train"),
               near_zero_frac=params.get("near_zero_frac"), param_std=params.get("std"),
               train_seconds=round(float(m.get("train_seconds") or np.nan), 1),
               engine_version=m.get("engine_version"),
               kernel=provenance.kernel(m.get("environment")), commit=commit)
    return row


def records(results, data_copy, commit, assume_kernel=None):
    """The rows of every finished run; `assume_kernel` fills the kernel of runs that did
    not record it, marked "(inferred)"."""
    runs = sorted(Path(results).glob("runs/*/*/seed*/metrics.json"))
    table = pd.DataFrame([run_row(p.parent, data_copy, commit) for p in runs])
    if assume_kernel and len(table):
        table["kernel"] = table["kernel"].fillna(f"{assume_kernel} (inferred)")
    return table


def merge(old, new):
    """`new` rows replace `old` rows with the same key; sorted by key."""
    if old is not None and len(old):
        keep = ~old.set_index(KEY).index.isin(new.set_index(KEY).index)
        new = pd.concat([old[keep], new], ignore_index=True)
    return new.sort_values(KEY, kind="stable").reset_index(drop=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="a workflow's results folder")
    ap.add_argument("--data-copy", required=True, help="which copy of the images, e.g. flowers-sharp")
    ap.add_argument("--commit", required=True, help="the commit the runs ran from")
    ap.add_argument("--out", required=True, help="the CSV to merge the runs into")
    ap.add_argument("--seeds", type=int, nargs="+",
                    help="record only these seeds (a piece of a folder that later pieces "
                         "add seeds to)")
    ap.add_argument("--assume-kernel", help="the BLAS kernel of runs made before the kernel "
                                            "was recorded, when it is known otherwise")
    args = ap.parse_args()
    new = records(args.results, args.data_copy, args.commit, args.assume_kernel)
    if args.seeds:
        new = new[new.seed.isin(args.seeds)]
    out = Path(args.out)
    old = pd.read_csv(out, dtype=TEXT) if out.exists() else None
    table = merge(old, new)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"{out}: {len(new)} runs from {args.results} merged, {len(table)} in all")


if __name__ == "__main__":
    main()
