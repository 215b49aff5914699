"""A finished study's compute, and what the same training would cost in PyTorch at the
same hour: each run's training seconds times the PyTorch / engine epoch ratio of its
network and regularizer, from a `research/benchmarks/engine_speed.py --json` run made beside it.
This machine's speed moves up to 2x between days, so a study's wall time is only
comparable with a baseline measured the same hour; this gives that baseline.

    taskset -c 0 python research/benchmarks/engine_speed.py --threads 1 --no-long --interleave 10 \\
        --flowers /data/flowers --json speed1.json
    python research/benchmarks/study_vs_torch.py results/ speed1.json

Assumptions, printed with the result: evaluation and start-up (the rest of each job) cost
PyTorch what they cost the engine; the corrected protocol's epoch ratio stands for the
reference protocol's runs; Office-31 runs take their flowers network's ratio (the same
layers, a wider output layer).
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

from pipeline.analysis.compute import job_rows


def variant(metrics):
    """(kind, engine_speed variant name) of a run, from its network and penalties."""
    kinds = {layer[0] for layer in metrics["net"] if isinstance(layer, list)}
    if "conv" in kinds:
        for layer, name in (("dropout", "dropout (cnn2)"), ("noise", "noise (cnn3)"),
                            ("batch_normal", "batch_normal (cnn4)")):
            if layer in kinds:
                return "cnn", name
        kind = "cnn"
    else:
        for layer, name in (("dropout", "dropout 0.6"), ("noise", "noise 0.01"),
                            ("batch_normal", "batch_normal")):
            if layer in kinds:
                return "mlp", name
        kind = "mlp"
    if metrics["l2"]:
        return kind, "l2 0.01"
    if metrics["l1"]:
        return kind, "l1 0.01"
    return kind, "none"


def torch_per_engine(speeds, kind, name):
    """Median over rounds of PyTorch's epoch / the engine's, for one variant."""
    v = speeds[kind][name]
    if not v["torch"]:
        sys.exit(f"{kind} {name!r}: no PyTorch epochs in the speeds file (run it with torch)")
    return statistics.median(t / e for t, e in zip(v["torch"], v["numpy"]))


def project(metrics_paths, speeds):
    """{(kind, variant): runs, job, train, ratio, torch} over the runs that have a
    benchmark file: their job and training seconds, and the job seconds with the training
    scaled by PyTorch's epoch / the engine's for that variant."""
    rows = {(r["protocol"], r["experiment"], r["seed"]): r for r in job_rows(metrics_paths)}
    groups = {}
    for p in metrics_paths:
        m = json.loads(Path(p).read_text())
        row = rows.get((m["protocol"], m["experiment"], int(m["seed"])))
        if row is None:
            continue
        key = variant(m)
        g = groups.setdefault(key, {"runs": 0, "job": 0.0, "train": 0.0, "torch": 0.0,
                                    "ratio": torch_per_engine(speeds, *key)})
        g["runs"] += 1
        g["job"] += row["job_s"]
        g["train"] += row["train_s"]
        g["torch"] += row["job_s"] - row["train_s"] + row["train_s"] * g["ratio"]
    return groups


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="a finished study's results folder")
    ap.add_argument("speeds", type=Path, help="engine_speed.py --json output (1 thread)")
    ap.add_argument("--cores", type=int, default=2, help="the study's --cores (default 2)")
    args = ap.parse_args()
    speeds = json.loads(args.speeds.read_text())
    paths = sorted(args.results.glob("runs/*/*/*/metrics.json"))
    groups = project(paths, speeds)
    if not groups:
        sys.exit(f"{args.results}: no run with a benchmark file under runs/*/*/*/")
    print(f"{'network, regularizer':<28}{'runs':>5}{'job s':>9}{'training s':>12}"
          f"{'torch/engine':>14}{'as PyTorch job s':>18}")
    for (kind, name), g in sorted(groups.items()):
        print(f"{kind + ', ' + name:<28}{g['runs']:>5}{g['job']:>9.0f}{g['train']:>12.0f}"
              f"{g['ratio']:>14.2f}{g['torch']:>18.0f}")
    job = sum(g["job"] for g in groups.values())
    torch = sum(g["torch"] for g in groups.values())
    print(f"{'all':<28}{sum(g['runs'] for g in groups.values()):>5}{job:>9.0f}"
          f"{sum(g['train'] for g in groups.values()):>12.0f}{torch / job:>14.2f}"
          f"{torch:>18.0f}")
    print(f"\nover {args.cores} cores at least: engine {job / args.cores / 60:.1f} min, "
          f"PyTorch {torch / args.cores / 60:.1f} min (job-seconds / cores; the wall time "
          "adds the data preparation and the jobs' uneven ends)")
    print("assumed: evaluation and start-up cost PyTorch what they cost the engine; the "
          "corrected protocol's ratios stand for the reference protocol's runs")


if __name__ == "__main__":
    main()
