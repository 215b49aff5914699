"""Are two versions of the engine bit-identical? One training epoch of 300 real (or any
96x96 cache's) images for every study network (mlp, cnn1-4) under corrected, corrected
with L1+L2 and reference with L1+L2, at 1 and 2 shards and threads: the parameters,
Adam's moments, the epoch's cost and 60 images' evaluation logits are saved, one file
per configuration; `compare` says which differ.

    # the version to compare against, in a worktree:
    git worktree add /tmp/base HEAD
    PYTHONPATH=/tmp/base/src python research/benchmarks/identity.py save /tmp/id_base --data flowers.npz
    python research/benchmarks/identity.py save /tmp/id_new --data flowers.npz      # this checkout
    python research/benchmarks/identity.py compare /tmp/id_base /tmp/id_new

A speed change that keeps every configuration IDENTICAL keeps every committed result
reproducible on the machine that made it (BLAS kernels differ between CPUs, so bits are
compared on one machine).
"""
import argparse
import os
import sys

import numpy as np
from threadpoolctl import threadpool_limits

# As regstudy train: the engine's threads over 1-thread BLAS. threadpoolctl directly, not
# pipeline.runtime.threads: this script also runs other versions' src/ (PYTHONPATH).
threadpool_limits(1)

NETS = ("mlp", "cnn1", "cnn2", "cnn3", "cnn4")
SETTINGS = (("corrected", 0.0, 0.0), ("corrected", 0.01, 0.01), ("reference", 0.01, 0.01))
SPLITS = ((1, 1), (2, 1), (None, 2), (2, 2))      # (shards, threads); None: the default


def configurations():
    for net in NETS:
        for protocol, l1, l2 in SETTINGS:
            for shards, threads in SPLITS:
                if net == "cnn4" and (shards or 1) > threads:
                    continue            # batch norm runs its shards at once
                if net != "cnn1" and protocol == "reference" and threads == 1:
                    continue            # keeps the run short; cnn1 has them all
                yield net, protocol, l1, l2, shards, threads


def save(out, data, images):
    from flowers_trainer import flowers_trainer     # the pipeline of PYTHONPATH
    from pipeline.data.cache import load_cache

    os.makedirs(out, exist_ok=True)
    cache = load_cache(data)
    for name, protocol, l1, l2, shards, threads in configurations():
        tr, x, y, streams = flowers_trainer(cache, name, threads, shards, protocol, l1, l2,
                                            images=images)
        with np.errstate(over="ignore", invalid="ignore"):
            record = tr.epoch(x, y, np.arange(len(x)), streams, 1)
        logits = tr.predict_logits(x[:60])
        tr.close()
        file = f"{name}_{protocol}_{l1}_{shards}_{threads}.npz"
        np.savez(os.path.join(out, file), flat=tr.net.flat, u=tr.opt.u, w=tr.opt.w,
                 cost=np.array([record["cost"]]), logits=logits)
        print(file, flush=True)


def compare(a, b):
    different = 0
    for file in sorted(os.listdir(a)):
        with np.load(os.path.join(a, file)) as za, np.load(os.path.join(b, file)) as zb:
            same = all(np.array_equal(za[k], zb[k]) for k in za.files)
        different += not same
        print(file, "IDENTICAL" if same else "DIFFERENT")
    print("all identical" if not different else f"{different} different")
    return 1 if different else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save", help="run every configuration, save its arrays to DIR")
    s.add_argument("dir")
    s.add_argument("--data", default="/tmp/speed/flowers.npz",
                   help="a 96x96 cache (regstudy prepare flowers DIR --size 96 --out ...)")
    s.add_argument("--images", type=int, default=300)
    c = sub.add_parser("compare", help="compare two saved folders")
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args()
    if args.cmd == "save":
        save(args.dir, args.data, args.images)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
