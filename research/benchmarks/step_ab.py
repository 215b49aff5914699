"""Interleaved A/B of two settings of the engine, step by step: one Trainer on the real
flowers images; before every step a module constant is set to variant A's or B's value
(the order alternates per pair), and the result is the median of the per-pair time
ratios B/A. Adjacent steps see the same load, so this works on a busy machine where
whole epochs do not. Both variants must give the same values (the trainer's state is
shared): it compares implementations, not settings that change results.

    python research/benchmarks/step_ab.py mlp --threads 1 --pairs 600 \\
        --a pipeline.train.trainer.CHUNK=1099511627776 --b pipeline.train.trainer.CHUNK=65536
"""
import argparse
import importlib
import os

from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)  # as regstudy train: the engine's threads over 1-thread BLAS

import time  # noqa: E402

import numpy as np  # noqa: E402

from flowers_trainer import flowers_trainer, minibatches  # noqa: E402
from pipeline.engine.nets import NAMED_NETS  # noqa: E402


def setting(text):
    """'package.module.NAME=value' -> (module, NAME, value as a Python literal)."""
    target, value = text.split("=", 1)
    module, name = target.rsplit(".", 1)
    import ast
    return importlib.import_module(module), name, ast.literal_eval(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("net", choices=sorted(NAMED_NETS))
    ap.add_argument("--a", type=setting, required=True, help="MODULE.NAME=VALUE of variant A")
    ap.add_argument("--b", type=setting, required=True, help="MODULE.NAME=VALUE of variant B")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--l1", type=float, default=0.0)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--data", default="/tmp/speed/flowers.npz",
                    help="a 96x96 cache (regstudy prepare flowers DIR --size 96 --out ...)")
    args = ap.parse_args()
    tr, x, y, streams = flowers_trainer(args.data, args.net, args.threads,
                                        shards=1 if args.threads == 1 else None,
                                        l1=args.l1, l2=args.l2, init="he")
    batches = minibatches(len(x))
    times = {"a": [], "b": []}
    load = os.getloadavg()[0]
    with np.errstate(over="ignore", invalid="ignore"):
        for p in range(args.pairs + 5):                 # 5 pairs of warm-up
            for side in ("ab" if p % 2 == 0 else "ba"):
                module, name, value = getattr(args, side)
                setattr(module, name, value)
                idx = next(batches)
                t = time.perf_counter()
                tr.step(x[idx], y[idx], streams["layers"])
                if p >= 5:
                    times[side].append(time.perf_counter() - t)
    tr.close()
    ratio = np.array(times["b"]) / np.array(times["a"])
    print(f"{args.net}, {args.threads} thread(s), {args.pairs} pairs, load "
          f"{load:.1f} -> {os.getloadavg()[0]:.1f}: A {np.median(times['a']) * 1e3:.2f} ms, "
          f"B {np.median(times['b']) * 1e3:.2f} ms per step; B/A median "
          f"{np.median(ratio):.3f} (quartiles {np.percentile(ratio, 25):.2f}-"
          f"{np.percentile(ratio, 75):.2f})")


if __name__ == "__main__":
    main()
