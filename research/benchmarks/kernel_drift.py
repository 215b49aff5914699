"""Do committed runs repeat on this machine's BLAS kernel?

Retrains the engine side of the fifty-seed baselines (docs/data/baselines50.csv: the
`corrected` protocol, 96x96 flowers, 10 epochs, one thread) for a few seeds and prints
each run's test accuracy beside the committed one, with the BLAS kernel it ran on
(pipeline.provenance.kernel). Each run's final parameters are kept in --out, so a second
call on another kernel (`--against` the first call's folder) also gives how far the two
kernels' parameters drifted apart.

    python research/benchmarks/kernel_drift.py --data ../shared/data/flowers --out /tmp/k-a
    OPENBLAS_CORETYPE=Haswell python research/benchmarks/kernel_drift.py --data ../shared/data/flowers \
        --out /tmp/k-b --against /tmp/k-a      # OpenBLAS's Haswell kernel on the same CPU
"""
import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from pipeline import provenance
from pipeline.engine.nets import NAMED_NETS
from pipeline.runtime.threads import limit_blas
from pipeline.train.run import RunSettings, run

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "research" / "benchmarks"))
from baselines import cache_path  # noqa: E402


def committed(net, seed):
    with open(ROOT / "docs" / "data" / "baselines50.csv") as fh:
        for row in csv.DictReader(fh):
            if row["net"] == net and int(row["seed"]) == seed:
                return float(row["engine"])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the flowers image folder or a cache")
    ap.add_argument("--nets", nargs="+", default=["mlp", "cnn1"], choices=["mlp", "cnn1"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", required=True, help="folder for this call's runs")
    ap.add_argument("--against", help="another call's --out, to compare parameters with")
    args = ap.parse_args()
    limit_blas(1)
    kernel = provenance.kernel(provenance.environment())
    print(f"BLAS kernel here: {kernel}; CPU: {provenance.cpu_model()}")
    data = cache_path(args.data)
    for net in args.nets:
        for seed in args.seeds:
            out = Path(args.out) / f"{net}-seed{seed}"
            if not (out / "metrics.json").exists():
                run(RunSettings(data=str(data), net=NAMED_NETS[net], seed=seed, epochs=10,
                                shards=1, threads=1, report=0), out, log=lambda *_: None)
            m = json.loads((out / "metrics.json").read_text())
            line = (f"{net} seed {seed}: test {m['test_accuracy']:.6f}, committed "
                    f"{committed(net, seed)}, kernel {provenance.kernel(m['environment'])}")
            other = Path(args.against or "") / f"{net}-seed{seed}" / "params.npz"
            if args.against and other.exists():
                mo = json.loads((other.parent / "metrics.json").read_text())
                with np.load(out / "params.npz") as a, np.load(other) as b:
                    diff = max(float(np.abs(a[k] - b[k]).max()) for k in a.files)
                    size = max(float(np.abs(a[k]).max()) for k in a.files)
                line += (f"; against {provenance.kernel(mo['environment'])}: test "
                         f"{mo['test_accuracy']:.6f}, max |param difference| {diff:.3g} "
                         f"(largest |param| {size:.3g})")
            print(line, flush=True)


if __name__ == "__main__":
    main()
