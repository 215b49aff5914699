"""Engine speed: seconds per epoch of the study's MLP [30,10] and CNN cnn1 on 96x96x3
inputs at batch size 10 over the real flowers training split (3,450 images), with and
without each regularizer; ratios to the unregularized run and, where PyTorch is
installed, to the same network in PyTorch (same data and batch, two cores each), measured in the
same run, interleaved. Then 10-epoch runs that show whether float32 subnormals slow
training down (last epoch / first epoch).

    python research/benchmarks/engine_speed.py                 # everything, ~10 minutes
    python research/benchmarks/engine_speed.py --quick         # 1 repeat, no 10-epoch runs

Both sides get --threads threads: PyTorch through torch.set_num_threads, the engine as
its thread budget (regstudy train --threads) over one-thread BLAS. At 2 (the default) the
engine runs two shards of each minibatch for the CNNs and two slices of the MLP's big
layer and optimizer; at 1 it runs one shard on one thread, as a workflow job declared
`threads: 1` does.

    python research/benchmarks/engine_speed.py --threads 1 --no-long   # both sides single-threaded
    python research/benchmarks/engine_speed.py --plain --interleave 10 --no-long   # busy machine

Medians over --repeats rounds; each round times every variant once, in turn, and the
ratios are medians of per-round ratios. Machines here are shared and noisy: read the ratios.
"""
import argparse
import os
import sys

# The engine runs its own threads (--threads: shards / slices, engine.shards) over
# one-thread BLAS, as `regstudy train` does; fixed before NumPy loads.
from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)

import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from pipeline.engine.nets import NAMED_NETS  # noqa: E402
from pipeline.engine.network import Network  # noqa: E402
from pipeline.engine.protocol import resolve  # noqa: E402
from pipeline.train.streams import make_streams  # noqa: E402
from pipeline.train.trainer import Trainer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
N_TRAIN = 3450

MLP_VARIANTS = {   # name -> (hidden, l1, l2)
    "none": ([30, 10], 0, 0),
    "l2 0.01": ([30, 10], 0, 0.01),
    "l1 0.01": ([30, 10], 0.01, 0),
    "dropout 0.6": ([30, ["dropout", {"keep_prob": 0.6}], 10, ["dropout", {"keep_prob": 0.6}]], 0, 0),
    "noise 0.01": ([30, ["noise", {"std": 0.01}], 10, ["noise", {"std": 0.01}]], 0, 0),
    "batch_normal": ([30, ["batch_normal"], 10, ["batch_normal"]], 0, 0),
}
CNN_VARIANTS = {
    "none": (NAMED_NETS["cnn1"], 0, 0),
    "l2 0.01": (NAMED_NETS["cnn1"], 0, 0.01),
    "l1 0.01": (NAMED_NETS["cnn1"], 0.01, 0),
    "dropout (cnn2)": (NAMED_NETS["cnn2"], 0, 0),
    "noise (cnn3)": (NAMED_NETS["cnn3"], 0, 0),
    "batch_normal (cnn4)": (NAMED_NETS["cnn4"], 0, 0),
}


def load_images(args):
    """(x uint8 N,96,96,3, y int N) of the real flowers, or a generated stand-in."""
    from pipeline.data.cache import load_cache
    from pipeline.data.prepare import prepare

    tmp = Path(tempfile.gettempdir()) / "regstudy-bench"
    root = Path(args.flowers)
    if root.is_dir():
        cache = tmp / "flowers-96.npz"
        prepare("flowers", root, cache, size=96, log=lambda *_: None)
        source = f"flowers ({root})"
    else:
        from pipeline.data.synth import synthesize
        folder = tmp / "synthetic-flowers"
        synthesize("flowers", folder, seed=0, per_class=N_TRAIN // 5 + 10, size=96,
                   log=lambda *_: None)
        cache = tmp / "synthetic-flowers-96.npz"
        prepare("flowers", folder, cache, size=96, log=lambda *_: None)
        source = "generated stand-in (real flowers not found)"
    c = load_cache(cache)
    idx = np.random.default_rng(0).permutation(c.n)[:N_TRAIN]
    return c["x"][idx], c["y"][idx], source


def numpy_epoch(hidden, l1, l2, x, y, protocol="corrected", epochs=1, seed=0, threads=2):
    net = Network(hidden, x.shape[1:], [5])
    streams = make_streams(seed, "separate_streams")
    net.init_params(streams["init"])
    tr = Trainer(net, resolve(protocol), l1=l1, l2=l2, train_images=x, threads=threads,
                 shards=1 if threads == 1 else None)     # as a one-thread workflow job
    idx = np.arange(len(x))
    secs = [tr.epoch(x, y, idx, streams, e)["train_seconds"] for e in range(epochs)]
    tr.close()
    return secs, tr.flushed


def torch_trainer(torch, kind, variant, l1, l2, xt, yt, seed=0):
    """run(index_batches): PyTorch training steps of the benchmark's network on them."""
    from torch_nets import build
    torch.manual_seed(seed)
    net = build(torch, kind, variant)
    opt = torch.optim.Adam(net.parameters(), lr=0.001)
    lossf = torch.nn.CrossEntropyLoss()
    weights = [p for p in net.parameters() if p.dim() > 1]
    net.train()

    def run(batches):
        for idx in batches:
            loss = lossf(net(xt[idx]), yt[idx])
            if l2:
                loss = loss + 0.5 * l2 * sum((w * w).sum() for w in weights)
            if l1:
                loss = loss + l1 * sum(w.abs().sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return run


def torch_epoch(torch, kind, variant, l1, l2, xt, yt, seed=0):
    run = torch_trainer(torch, kind, variant, l1, l2, xt, yt, seed)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(xt)))
    t0 = time.perf_counter()
    run(order[i:i + 10] for i in range(0, len(xt), 10))
    return time.perf_counter() - t0


def interleaved_epoch(torch, kind, variant, hidden, l1, l2, x, y, xt, yt, threads, block,
                      seed=0):
    """One epoch of each engine, alternating blocks of `block` steps between them (which
    goes first alternates too), so both see the same load even when it moves within
    seconds; returns (engine seconds, PyTorch seconds), training steps only."""
    net = Network(hidden, x.shape[1:], [5])
    streams = make_streams(seed, "separate_streams")
    net.init_params(streams["init"])
    tr = Trainer(net, resolve("corrected"), l1=l1, l2=l2, train_images=x, threads=threads,
                 shards=1 if threads == 1 else None)
    run_torch = torch_trainer(torch, kind, variant, l1, l2, xt, yt, seed)
    order = np.random.default_rng(seed).permutation(len(x))
    torder = torch.from_numpy(order)
    starts = list(range(0, len(x), 10))

    def ours(steps):
        with np.errstate(over="ignore", invalid="ignore"):
            for i in steps:
                idx = order[i:i + 10]
                tr.step(x[idx], y[idx], streams["layers"])

    def theirs(steps):
        run_torch(torder[i:i + 10] for i in steps)
    secs = [0.0, 0.0]
    for b in range(0, len(starts), block):
        steps = starts[b:b + block]
        for side in ((0, 1) if (b // block) % 2 == 0 else (1, 0)):
            t = time.perf_counter()
            (ours, theirs)[side](steps)
            secs[side] += time.perf_counter() - t
    tr.close()
    return secs


def spread(ratios):
    """'median [min-max]' of per-round ratios: the range shows how much the machine's
    load moved them."""
    r = list(ratios)
    return f"{statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]"


def table(title, rows):
    """rows: (name, numpy seconds per round, torch seconds per round or None). Ratios are
    medians of per-round ratios: each round runs every variant once, so a ratio compares
    epochs that saw the same machine load; the brackets give their range over rounds."""
    print(f"\n{title}")
    print(f"{'variant':<22}{'numpy s/epoch':>14}{'x none [range]':>21}{'torch s/epoch':>15}"
          f"{'numpy/torch [range]':>22}{'torch x none':>14}")
    base, tbase = rows[0][1], rows[0][2]
    for name, ours, theirs in rows:
        x_none = spread(a / b for a, b in zip(ours, base))
        t = f"{'-':>15}{'-':>22}{'-':>14}"
        if theirs:
            vs = spread(a / b for a, b in zip(ours, theirs))
            t_none = statistics.median(a / b for a, b in zip(theirs, tbase))
            t = f"{statistics.median(theirs):15.2f}{vs:>22}{t_none:14.2f}"
        print(f"{name:<22}{statistics.median(ours):14.2f}{x_none:>21}{t}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of each side: PyTorch's and the engine's (default 2)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (one epoch of every variant each); medians count")
    ap.add_argument("--quick", action="store_true", help="1 repeat, skip the 10-epoch runs")
    ap.add_argument("--only", choices=["mlp", "cnn"], help="one network only")
    ap.add_argument("--flowers", default=os.environ.get(
        "REGSTUDY_FLOWERS_DIR", str(REPO.parent / "shared" / "data" / "flowers")))
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument("--long-only", action="store_true", help="only the 10-epoch runs")
    ap.add_argument("--no-long", action="store_true", help="skip the 10-epoch runs")
    ap.add_argument("--interleave", type=int, default=0, metavar="STEPS",
                    help="alternate the two engines every STEPS steps within each epoch "
                         "(for a busy machine, whose load moves within seconds; needs "
                         "PyTorch)")
    ap.add_argument("--plain", action="store_true",
                    help="only the unregularized network of each kind (mlp, cnn1)")
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats

    try:
        if args.no_torch:
            raise ImportError
        import torch
        torch.set_num_threads(args.threads)
        sys.path.insert(0, str(Path(__file__).parent))
    except ImportError:
        torch = None
    x, y, source = load_images(args)
    print(f"data: {source}, {len(x)} training images 96x96x3, batch 10, "
          f"{len(x) // 10} steps/epoch; threads {args.threads}; "
          f"torch {torch.__version__ if torch else 'not installed'}; median of {repeats}")
    if torch:
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) / 255)
        yt = torch.from_numpy(y[:, 0].astype(np.int64))
    out = {}
    nets = [("mlp", MLP_VARIANTS), ("cnn", CNN_VARIANTS)]
    for kind, variants in nets:
        if (args.only and args.only != kind) or args.long_only:
            continue
        ours = {name: [] for name in variants}
        theirs = {name: [] for name in variants}
        if args.plain:
            variants = {"none": variants["none"]}
        names = list(variants)
        for r in range(repeats):   # round-robin: every variant, both engines, each round;
            # the order rotates, so no variant always runs first (measured: the first of a
            # round ran 5-15% faster, whichever it was)
            for name in names[r % len(names):] + names[:r % len(names)]:
                hidden, l1, l2 = variants[name]
                if torch and args.interleave:
                    a, b = interleaved_epoch(torch, kind, name, hidden, l1, l2, x, y, xt, yt,
                                             args.threads, args.interleave)
                    ours[name].append(a)
                    theirs[name].append(b)
                    print(f"  round {r + 1} {kind} {name}: numpy {a:.2f}  torch {b:.2f}  "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
                    continue
                ours[name].append(numpy_epoch(hidden, l1, l2, x, y, threads=args.threads)[0][0])
                if torch:
                    theirs[name].append(torch_epoch(torch, kind, name, l1, l2, xt, yt))
                print(f"  round {r + 1} {kind} {name}: numpy {ours[name][-1]:.2f}"
                      + (f"  torch {theirs[name][-1]:.2f}" if torch else ""), flush=True)
        rows = [(name, ours[name], theirs[name] or None) for name in variants]
        table(f"{kind.upper()} ({'[30,10]' if kind == 'mlp' else 'cnn1 family'}), corrected "
              f"protocol, medians of {repeats} rounds", rows)
        out[kind] = {name: {"numpy": ours[name], "torch": theirs[name]} for name in variants}

    if not (args.quick or args.no_long):
        print("\n10-epoch runs (subnormal guard): seconds per epoch, last/first")
        for label, hidden, l1, l2, proto in [
                ("MLP reference protocol", [30, 10], 0, 0, "reference"),
                ("MLP reference, L1 0.01", [30, 10], 0.01, 0, "reference"),
                ("cnn1 with L2 0.01", NAMED_NETS["cnn1"], 0, 0.01, "corrected")]:
            if args.only and (args.only == "mlp") != label.startswith("MLP"):
                continue
            secs, flushed = numpy_epoch(hidden, l1, l2, x, y, protocol=proto, epochs=10,
                                        threads=args.threads)
            late = statistics.median(secs[-3:]) / statistics.median(secs[:3])
            print(f"{label:<26} " + " ".join(f"{s:.2f}" for s in secs)
                  + f"  last/first {secs[-1] / secs[0]:.2f}  (median of last 3 / first 3: "
                  f"{late:.2f})  flushed {flushed}", flush=True)
            out[label] = {"seconds": secs, "flushed": flushed}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
