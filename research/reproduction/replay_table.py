"""The replayed chapter beside the study's printed numbers (docs/reproduction.md,
"Replaying the study draw for draw"): one row per (data copy, model, report epoch) into a
CSV of accuracies and costs, and the Markdown tables of the docs.

    python research/reproduction/replay_table.py \
        flowers-sharp=results/replay_sharp/results flowers=results/replay_128/results \
        --csv docs/data/replay.csv

Each RESULTS folder is a finished `config/replay.yaml` study (its runs/reference/*/
seed1234). The study's numbers are those its report prints (the seed report: epoch
lines `cost, accuracy=train/validation` every 2 epochs for flowers_model_1 and cnn1-4,
test accuracies for every model).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

# experiment -> (chapter model, test %, {epoch: (cost, train acc, validation acc)})
STUDY = {
    "flowers_mlp": ("flowers_model_1", 31.1, {
        2: (1.460, 0.320, 0.360), 4: (1.467, 0.313, 0.330), 6: (1.431, 0.348, 0.310),
        8: (1.457, 0.326, 0.300), 10: (1.403, 0.358, 0.240)}),
    "flowers_mlp_l2_0.1": ("flowers_model_2", 23.2, {}),
    "flowers_mlp_l2_0.01": ("flowers_model_l2_0.01", 23.2, {}),
    "flowers_mlp_l1_0.1": ("flowers_model_l1_0.1", 23.3, {}),
    "flowers_mlp_l1_0.01": ("flowers_model_3", 30.4, {}),
    "flowers_cnn1": ("flowers_cnn_1", 63.2, {
        2: (1.157, 0.548, 0.520), 4: (0.939, 0.639, 0.550), 6: (0.814, 0.679, 0.630),
        8: (0.716, 0.733, 0.610), 10: (0.623, 0.760, 0.700)}),
    "flowers_cnn2": ("flowers_cnn_2", 45.2, {
        2: (1.271, 0.456, 0.430), 4: (1.061, 0.586, 0.520), 6: (0.925, 0.644, 0.520),
        8: (0.877, 0.665, 0.630), 10: (0.865, 0.668, 0.560)}),
    "flowers_cnn3": ("flowers_cnn_3", 66.9, {
        2: (1.114, 0.566, 0.540), 4: (0.926, 0.653, 0.590), 6: (0.812, 0.694, 0.640),
        8: (0.712, 0.729, 0.640), 10: (0.606, 0.776, 0.640)}),
    "flowers_cnn4": ("flowers_cnn_4", 56.7, {
        2: (1.093, 0.570, 0.390), 4: (0.922, 0.656, 0.350), 6: (0.797, 0.695, 0.500),
        8: (0.723, 0.728, 0.430), 10: (0.636, 0.765, 0.640)}),
}
STUDY_SHOWN = {"flowers_mlp": ["daisy", "sunflower", "tulip"],
               "flowers_cnn1": ["rose", "dandelion", "tulip"]}
COLUMNS = ["data", "experiment", "replay_model", "epoch", "cost", "train_acc", "val_acc",
           "study_cost", "study_train_acc", "study_val_acc", "test_acc", "study_test_acc",
           "classes_predicted", "train_seconds"]


def rows(copy, results):
    out = []
    for exp, (model, study_test, epochs) in STUDY.items():
        run = Path(results) / "runs" / "reference" / exp / "seed1234"
        if not (run / "metrics.json").exists():
            continue
        m = json.loads((run / "metrics.json").read_text())
        assert m["replay"]["model"] == model, (run, m["replay"]["model"])
        with open(run / "history.csv") as f:
            hist = {int(r["epoch"]): r for r in csv.DictReader(f)}
        prob = np.load(run / "predictions.npz")["prob"]
        base = {"data": copy, "experiment": exp, "replay_model": model,
                "test_acc": round(100 * m["test_accuracy"], 1), "study_test_acc": study_test,
                "classes_predicted": len(set(prob.argmax(1).tolist())),
                "train_seconds": round(m["train_seconds"], 1)}
        for e in (2, 4, 6, 8, 10):
            h = hist[e]
            s = epochs.get(e, (math.nan,) * 3)
            out.append({**base, "epoch": e, "cost": round(float(h["cost"]), 3),
                        "train_acc": round(float(h["train_acc"]), 3),
                        "val_acc": _round(h["val_acc"]),
                        "study_cost": s[0], "study_train_acc": s[1], "study_val_acc": s[2]})
        if m["replay"].get("visualization"):
            base_shown = m["replay"]["visualization"]["labels"]
            assert exp not in STUDY_SHOWN or base_shown == STUDY_SHOWN[exp], (exp, base_shown)
    return out


def _round(v):
    v = float(v)
    return v if math.isnan(v) else round(v, 3)


def _f(v, fmt="{:.3f}"):
    return "" if isinstance(v, float) and math.isnan(v) else fmt.format(v)


def markdown(all_rows):
    """Per model: test accuracy and the epoch lines, ours / the study's."""
    lines = ["| model | data | test % (study) | classes predicted | "
             "epoch 2 cost / train / val (study) | epoch 10 cost / train / val (study) |",
             "|---|---|---|---|---|---|"]
    for exp, (model, study_test, epochs) in STUDY.items():
        for r in all_rows:
            if r["experiment"] != exp or r["epoch"] not in (2, 10):
                continue
            if r["epoch"] == 2:
                first = r
                continue
            cells = []
            for x in (first, r):
                ours = f"{x['cost']:.3f} / {x['train_acc']:.3f} / {_f(x['val_acc'])}"
                theirs = (f" ({x['study_cost']:.3f} / {x['study_train_acc']:.3f} / "
                          f"{x['study_val_acc']:.3f})" if epochs else "")
                cells.append(ours + theirs)
            lines.append(f"| {model} | {r['data']} | {r['test_acc']:.1f} ({study_test}) | "
                         f"{r['classes_predicted']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", nargs="+", metavar="COPY=RESULTS")
    ap.add_argument("--csv", help="write the rows here")
    args = ap.parse_args()
    all_rows = []
    for spec in args.studies:
        copy, results = spec.split("=", 1)
        all_rows += rows(copy, results)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(all_rows)
    print(markdown(all_rows))


if __name__ == "__main__":
    main()
