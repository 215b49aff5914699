"""Two one-thread jobs side by side, as a workflow study runs them (`--cores 2`, train
jobs `threads: 1`): how much does each slow the other down, for the engine and for
PyTorch? Two worker processes, pinned to cores 0 and 1, each hold the flowers training
split; every round times one epoch of each side (engine, then PyTorch, in a rotating
order) alone on core 0 and then on both cores at once (both workers start together at a
barrier). Prints per side the median epoch alone and side by side, the slowdown (side
by side / alone, medians of per-round ratios) and the engine / PyTorch ratio in both
settings.

    python research/benchmarks/side_by_side.py --net cnn1 --rounds 3
    python research/benchmarks/side_by_side.py --net mlp --rounds 5

Same networks and data as research/benchmarks/engine_speed.py (one shard, one thread: the engine
as a one-thread workflow job). Needs PyTorch and at least 2 cores.
"""
import os

from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
SIDES = ("engine", "torch")


def worker(core, args, conn, barrier):
    """Pinned to `core`: load the data once, then time one epoch per request."""
    os.sched_setaffinity(0, {core})
    sys.path.insert(0, str(HERE))
    import numpy as np
    import torch

    import engine_speed as es
    torch.set_num_threads(1)
    x, y, _ = es.load_images(args)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) / 255)
    yt = torch.from_numpy(y[:, 0].astype(np.int64))
    hidden, l1, l2 = (es.MLP_VARIANTS if args.net == "mlp" else es.CNN_VARIANTS)["none"]
    kind = "mlp" if args.net == "mlp" else "cnn"
    conn.send("ready")
    while (side := conn.recv()) is not None:
        together = side.endswith("+")
        side = side.rstrip("+")
        if together:
            barrier.wait()
        if side == "engine":
            s = es.numpy_epoch(hidden, l1, l2, x, y, threads=1)[0][0]
        else:
            s = es.torch_epoch(torch, kind, "none", l1, l2, xt, yt)
        conn.send(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", choices=["cnn1", "mlp"], default="cnn1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flowers", default=os.environ.get(
        "REGSTUDY_FLOWERS_DIR", str(HERE.parents[2] / "shared" / "data" / "flowers")))
    args = ap.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs 2 cores")
    ctx = get_context("spawn")
    barrier = ctx.Barrier(2)
    pipes, procs = [], []
    for core in (0, 1):
        a, b = ctx.Pipe()
        p = ctx.Process(target=worker, args=(core, args, b, barrier), daemon=True)
        p.start()
        pipes.append(a)
        procs.append(p)
    for a in pipes:
        assert a.recv() == "ready"
    alone = {s: [] for s in SIDES}
    pair = {s: [] for s in SIDES}
    print(f"{args.net}, one epoch (345 steps of 10), load {os.getloadavg()[0]:.2f} before",
          flush=True)
    for r in range(args.rounds):
        for side in (SIDES if r % 2 == 0 else SIDES[::-1]):
            pipes[0].send(side)
            alone[side].append(pipes[0].recv())
            for a in pipes:
                a.send(side + "+")
            both = [a.recv() for a in pipes]
            pair[side].append(sum(both) / 2)
            print(f"  round {r + 1} {side}: alone {alone[side][-1]:.2f} s, side by side "
                  f"{both[0]:.2f} / {both[1]:.2f} s", flush=True)
    for a in pipes:
        a.send(None)
    med = statistics.median
    print("| side | alone s | side by side s | slowdown |")
    print("|---|---|---|---|")
    for s in SIDES:
        slow = med(p / a for p, a in zip(pair[s], alone[s]))
        print(f"| {s} | {med(alone[s]):.2f} | {med(pair[s]):.2f} | {slow:.2f} |")
    for label, d in (("alone", alone), ("side by side", pair)):
        ratio = med(e / t for e, t in zip(d["engine"], d["torch"]))
        print(f"engine / PyTorch, {label}: {ratio:.2f}")


if __name__ == "__main__":
    main()
