"""Where a training step's time goes: per-layer forward/backward milliseconds of the
study's networks, timed on the first shard's thread (the caller's), next to the whole
step. A diagnostic, not a benchmark: the layers of the other shard run at the same time
on the other core, and the gap between the step and the layers' sum is the rest (the
loss, thread handoffs, the optimizer pass, waiting for the slower shard).

    python research/benchmarks/layer_profile.py cnn1 cnn4          # medians over one epoch
    taskset -c 0 python research/benchmarks/layer_profile.py cnn1 --threads 1   # as a study's job
"""
import argparse

from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)  # as regstudy train: the engine's threads over 1-thread BLAS

import threading  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402

from pipeline.engine.nets import NAMED_NETS  # noqa: E402
from pipeline.engine.network import Network  # noqa: E402
from pipeline.engine.protocol import resolve  # noqa: E402
from pipeline.train.streams import make_streams  # noqa: E402
from pipeline.train.trainer import Trainer  # noqa: E402


def timed(layer, key, times):
    """Wrap the layer's forward and backward with timers that record on the main thread."""
    for name in ("forward", "backward"):
        fn = getattr(layer, name)

        def wrapper(*args, _fn=fn, _k=(*key, name)):
            if threading.current_thread() is not threading.main_thread():
                return _fn(*args)
            t = time.perf_counter()
            out = _fn(*args)
            times[_k].append(time.perf_counter() - t)
            return out
        setattr(layer, name, wrapper)


def profile(name, steps, protocol, threads):
    rng = np.random.default_rng(0)
    n = steps * 10
    x = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)   # timing only: any pixels
    y = rng.integers(0, 5, (n, 1))
    net = Network(NAMED_NETS[name], (96, 96, 3), [5])
    streams = make_streams(0, "separate_streams")
    net.init_params(streams["init"])
    tr = Trainer(net, resolve(protocol), train_images=x, threads=threads)
    times = defaultdict(list)
    for i, layer in enumerate(net.layers):
        timed(layer, (i, type(layer).__name__), times)
    idx = np.arange(n)
    tr.epoch(x, y, idx, streams, 0)                  # warm-up: workspaces, caches
    times.clear()
    t0 = time.perf_counter()
    tr.epoch(x, y, idx, streams, 1)
    step = (time.perf_counter() - t0) / steps * 1e3
    tr.close()
    print(f"\n{name} ({protocol}, {tr.sharded.shards} shard(s), {tr.sharded.threads} "
          f"thread(s)): step {step:.2f} ms")
    total = 0.0
    for (i, kind, what), ts in sorted(times.items()):
        ms = float(np.median(ts)) * 1e3
        total += ms
        print(f"  {i:2d} {kind:<10} {what:<9}{ms:8.3f} ms")
    print(f"  layers {total:.2f} ms, rest {step - total:.2f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nets", nargs="+", choices=sorted(NAMED_NETS))
    ap.add_argument("--steps", type=int, default=100, help="steps per timed epoch (default 100)")
    ap.add_argument("--protocol", default="corrected", choices=["corrected", "reference"])
    ap.add_argument("--threads", type=int, default=None,
                    help="the run's thread budget (default: as many as its shards use); at 1 "
                         "both shards run on this thread, each layer's median is per shard")
    args = ap.parse_args()
    for name in args.nets:
        profile(name, args.steps, args.protocol, args.threads)


if __name__ == "__main__":
    main()
