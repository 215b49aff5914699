"""Step time of this checkout's engine against another version's, in alternating
processes: each round runs STEPS training steps of one network on the real flowers
images in a fresh process of the other version, then of this one (the order alternates
by round), and prints the median of the per-round ratios new/base. Adjacent processes
see about the same machine, which on a shared VM moves by tens of percent from one
minute to the next.

    git worktree add /tmp/base <commit>
    python benchmarks/versions_ab.py --base /tmp/base/src --net cnn1 --threads 1 --rounds 8
    python benchmarks/versions_ab.py --base /tmp/base/src --net mlp --threads 2 --cpus 0-1

(`--cpus 0` pins both to core 0, as a study's one-thread job.)
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

CHILD = r"""
import os, sys, time
for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
import numpy as np
from pipeline.data.cache import load_cache
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.protocol import resolve
from pipeline.train.streams import make_streams
from pipeline.train.trainer import Trainer
data, name, threads, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = load_cache(data)
x, y = c["x"][:3450], c["y"][:3450]
net = Network(NAMED_NETS[name], x.shape[1:], c.head_sizes)
streams = make_streams(0, "separate_streams")
net.init_params(streams["init"], "fan_in_uniform")
tr = Trainer(net, resolve("corrected"), train_images=x, threads=threads)
order = np.random.default_rng(0).permutation(len(x))
times = []
with np.errstate(over="ignore", invalid="ignore"):
    for k in range(steps + 10):                      # 10 steps of warm-up
        i = (k * 10) % (len(x) - 10)
        idx = order[i:i + 10]
        t = time.perf_counter()
        tr.step(x[idx], y[idx], streams["layers"])
        times.append(time.perf_counter() - t)
tr.close()
print(np.median(times[10:]))
"""


def step_seconds(src, args):
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = ["taskset", "-c", args.cpus] if args.cpus else []
    cmd += [sys.executable, "-c", CHILD, args.data, args.net, str(args.threads), str(args.steps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
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
    args = ap.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
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
