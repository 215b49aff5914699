"""Step time of this checkout's engine against another version's, in alternating
processes: each round runs STEPS training steps of one network on the real flowers
images in a fresh process of the other version, then of this one (the order alternates
by round), and prints the median of the per-round ratios new/base. Adjacent processes
see about the same machine, which on a shared VM moves by tens of percent from one
minute to the next.

    git worktree add /tmp/base <commit>
    python research/benchmarks/versions_ab.py --base /tmp/base/src --net cnn1 --threads 1 --rounds 8
    python research/benchmarks/versions_ab.py --base /tmp/base/src --net mlp --threads 2 --cpus 0-1

(`--cpus 0` pins both to core 0, as a study's one-thread job.)
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

# As regstudy train: the engine's threads over 1-thread BLAS. threadpoolctl directly, not
# pipeline.runtime.threads: this script also runs other versions' src/ (PYTHONPATH).
threadpool_limits(1)


def child(args):
    """Runs in the measured version's process: the median seconds of `steps` steps
    (after 10 of warm-up), printed."""
    from flowers_trainer import flowers_trainer, minibatches     # pipeline of PYTHONPATH
    tr, x, y, streams = flowers_trainer(args.data, args.net, args.threads)
    batches = minibatches(len(x))
    times = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(args.steps + 10):
            idx = next(batches)
            t = time.perf_counter()
            tr.step(x[idx], y[idx], streams["layers"])
            times.append(time.perf_counter() - t)
    tr.close()
    print(np.median(times[10:]))


def step_seconds(src, args):
    """This script's --child run with `src` first on the path."""
    cmd = ["taskset", "-c", args.cpus] if args.cpus else []
    cmd += [sys.executable, __file__, "--child", "--base", "-", "--net", args.net,
            "--threads", str(args.threads), "--steps", str(args.steps), "--data", args.data]
    out = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(src)},
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the other version's src/ folder")
    ap.add_argument("--net", default="cnn1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--cpus", default="", help="taskset CPU list for both, e.g. 0")
    ap.add_argument("--data", default="/tmp/speed/flowers.npz",
                    help="a 96x96 cache (regstudy prepare flowers DIR --size 96 --out ...)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    here = Path(__file__).resolve().parents[2] / "src"
    load = os.getloadavg()[0]
    base, new = [], []
    for r in range(args.rounds):
        for which in (("base", "new") if r % 2 == 0 else ("new", "base")):
            (base if which == "base" else new).append(
                step_seconds(args.base if which == "base" else here, args))
    ratio = np.array(new) / np.array(base)
    print(f"{args.net}, {args.threads} thread(s), {args.rounds} rounds of {args.steps} steps, "
          f"load {load:.2f} -> {os.getloadavg()[0]:.2f}: base {np.median(base) * 1e3:.2f} ms, "
          f"new {np.median(new) * 1e3:.2f} ms a step; new/base median {np.median(ratio):.3f} "
          f"(range {ratio.min():.2f}-{ratio.max():.2f})")


if __name__ == "__main__":
    main()
