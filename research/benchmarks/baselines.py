"""Are the engine's unregularized baselines as good as PyTorch's? Test accuracy of the
study's MLP [30,10] and cnn1 trained by the engine (`regstudy train`'s own run, under the
`corrected` protocol unless --quirk says otherwise) beside the same networks trained the
ordinary way in PyTorch (research/benchmarks/torch_nets.py, PyTorch's default initialisation),
once with pixels / 255 and once standardized per channel with the training split's mean
and std; optionally (--torch twin) standardized and started from the engine run's own
initial weights, taking the batches in the engine's order, which leaves only the two
implementations' arithmetic between the sides. Both sides see the same images: for each
seed the engine's own split of the cache (3,450 train / 215 validation / 652 test on
flowers), batch 10, Adam 0.001.

One table, a row per network and PyTorch variant over the seeds both sides have: mean
test accuracies, the mean of the per-seed difference engine - PyTorch with its 95%
paired t interval, and how many paired seeds a +-1-point interval needs at that spread.

    python research/benchmarks/baselines.py --data /data/flowers            # 5 seeds, both nets
    python research/benchmarks/baselines.py --nets mlp --seeds 1 2 3 --quirk init=he
    python research/benchmarks/baselines.py --data flowers-96.npz --seeds $(seq 1 60) --jobs 2
    python research/benchmarks/baselines.py --data flowers-96.npz --nets cnn1 --torch std  # one side

--data is a cache made by `regstudy prepare` or an image folder (cached under /tmp at
96x96). Every run has one thread; --jobs N trains N runs at once in separate processes
(the numbers do not depend on it). Finished runs are kept in --results (JSON) as each
ends, so an interrupted call loses only the runs in progress and a rerun with other
engine settings only trains what changed.
"""

from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from pipeline.atomic import write_text  # noqa: E402
from pipeline.data.cache import load_cache  # noqa: E402
from pipeline.data.split import reference_split  # noqa: E402
from pipeline.engine.nets import NAMED_NETS  # noqa: E402
from pipeline.engine.protocol import resolve  # noqa: E402
from pipeline.analysis.paired import t_interval  # noqa: E402
from pipeline.train.run import RunSettings, run  # noqa: E402
from pipeline.train.streams import make_streams  # noqa: E402
from pipeline.train.trainer import input_transform  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))     # torch_nets
TORCH_SIDES = ("torch /255", "torch std", "torch twin")
# "torch twin": standardized like "torch std", but starting from the engine run's own
# initial weights and drawing its batches in the engine's order (the same streams of the
# same seed): what is left of the difference is the two implementations' arithmetic.


def cache_path(data):
    """A cache file: --data itself, or an image folder prepared under /tmp."""
    p = Path(data)
    if p.is_file():
        return p
    from pipeline.data.prepare import prepare
    out = Path(tempfile.gettempdir()) / "regstudy-bench" / "flowers-96.npz"
    prepare("flowers", p, out, size=96, log=lambda *_: None)
    return out


def engine_accuracy(data, net, seed, epochs, quirks):
    with tempfile.TemporaryDirectory() as out:
        m = run(RunSettings(data=str(data), net=NAMED_NETS[net], quirks=quirks, seed=seed,
                            epochs=epochs, shards=1, threads=1, report=0), out, log=lambda *_: None)
    return m["test_accuracy"]


def torch_accuracy(cache, net, seed, epochs, scale):
    """PyTorch, the ordinary way, on the engine's split for this seed."""
    import torch
    from torch_nets import build
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)     # as the engine's subnormal guard; speed only
    x, y = cache["x"], cache["y"][:, 0]
    split = make_streams(seed, resolve("corrected")["rng"])["split"]
    train, _, test = reference_split(cache.n, split)
    gain, offset = input_transform("unit" if scale == "torch /255" else "standardize",
                                   x[np.sort(train)])
    gain, offset = (torch.tensor(np.broadcast_to(v, (3,)), dtype=torch.float32).view(1, 3, 1, 1)
                    for v in (gain, offset))

    def batch(idx):      # uint8 NHWC -> float32 NCHW
        xb = torch.from_numpy(x[idx]).permute(0, 3, 1, 2).float()
        return xb * gain + offset

    torch.manual_seed(seed)
    model = build(torch, net, "none", size=x.shape[1])
    order_rng = np.random.default_rng(seed)
    if scale == "torch twin":
        streams = make_streams(seed, resolve("corrected")["rng"])
        copy_engine_init(torch, model, net, x.shape[1:], y, streams["init"])
        order_rng = streams["shuffle"]
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    lossf = torch.nn.CrossEntropyLoss()
    yt = torch.from_numpy(y.astype(np.int64))
    model.train()
    for _ in range(epochs):
        order = train[order_rng.permutation(len(train))]
        for i in range(0, len(order), 10):
            idx = order[i:i + 10]
            loss = lossf(model(batch(idx)), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(batch(test[i:i + 200])).argmax(1)
                          for i in range(0, len(test), 200)])
    return float((pred == yt[test]).float().mean())


def copy_engine_init(torch, model, net, image_shape, y, init_rng):
    """Set model's parameters to the engine's initial ones for this seed: the engine's
    network initialised from the same stream by `corrected`'s rule (kernels are (out, in,
    kh, kw) on both sides; a full layer's weights (in, out) here, (out, in) in PyTorch;
    an MLP's first layer reads HWC-flattened pixels here, CHW-flattened in PyTorch)."""
    from pipeline.engine.network import Network
    eng = Network(NAMED_NETS[net], image_shape, [int(y.max()) + 1])
    eng.init_params(init_rng, init=resolve("corrected")["init"])
    params = list(model.parameters())
    arrays = [a for layer in eng.params for a in layer.values()]    # weight, then bias
    if net == "mlp":
        h, w, c = image_shape
        arrays[0] = arrays[0].reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
    assert len(params) == len(arrays), (len(params), len(arrays))
    with torch.no_grad():
        for p, a in zip(params, arrays):
            p.copy_(torch.from_numpy(np.ascontiguousarray(a.T if a.ndim == 2 else a)))


def train_one(data, net, seed, epochs, side, quirks):
    """One run's test accuracy and wall seconds (a --jobs worker's task)."""
    t0 = time.perf_counter()
    acc = torch_accuracy(load_cache(data), net, seed, epochs, side) if side in TORCH_SIDES \
        else engine_accuracy(data, net, seed, epochs, quirks)
    return acc, time.perf_counter() - t0


def paired(diffs):
    """'mean [lo, hi]' in points: the mean difference and its 95% paired t interval."""
    iv = t_interval(100 * np.asarray(diffs))
    return f"{iv.mean:+.1f}" if iv.n < 2 else f"{iv.mean:+.1f} [{iv.lo:+.1f}, {iv.hi:+.1f}]"


def seeds_for_width(diffs, half_width=1.0):
    """Paired seeds a 95% t interval needs to be +-half_width points wide at the spread of
    these differences (the smallest n with t(n-1) * sd / sqrt(n) <= half_width)."""
    sd = 100 * np.asarray(diffs).std(ddof=1)
    n = 2
    while stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) > half_width and n < 10_000:
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[3]
                                          / "shared/data/flowers"),
                    help="cache .npz from `regstudy prepare`, or the flowers image folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--nets", nargs="+", default=["mlp", "cnn1"], choices=["mlp", "cnn1"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--quirk", action="append", default=[], metavar="NAME=VALUE",
                    help="engine protocol override (repeatable), e.g. init=he")
    ap.add_argument("--jobs", type=int, default=1,
                    help="runs trained at once, each in its own 1-thread process")
    ap.add_argument("--torch", nargs="+", default=["/255", "std"],
                    choices=["/255", "std", "twin"],
                    help="PyTorch sides to train: pixels /255, standardized, or "
                         "standardized from the engine's initial weights in the engine's "
                         "batch order (twin); the table also shows any side already in "
                         "--results for these seeds")
    ap.add_argument("--results",
                    default=str(Path(tempfile.gettempdir()) / "regstudy-baselines.json"),
                    help="finished runs (JSON), reused by later calls")
    args = ap.parse_args()
    quirks = dict(q.split("=", 1) for q in args.quirk)
    engine_side = "engine corrected" + "".join(f" {k}={v}" for k, v in quirks.items())
    resolve("corrected", quirks)                       # bad overrides fail before training

    data = cache_path(args.data)
    cache = load_cache(data)
    res_file = Path(args.results)
    done = json.loads(res_file.read_text()) if res_file.exists() else {}
    # The engine's key carries its resolved defaults, so a change of `corrected` retrains.
    engine_key = json.dumps(resolve("corrected", quirks), sort_keys=True)

    def key(net, seed, side):
        return f"{data.resolve()}|{net}|{seed}|{args.epochs}|" + \
            (engine_key if side == engine_side else side)

    train_sides = (engine_side, *(f"torch {t}" for t in args.torch))
    todo = [(net, seed, side) for net in args.nets for seed in args.seeds
            for side in train_sides if key(net, seed, side) not in done]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_one, str(data), net, seed, args.epochs, side, quirks):
                   (net, seed, side) for net, seed, side in todo}
        for f in as_completed(futures):
            net, seed, side = futures[f]
            done[key(net, seed, side)], seconds = f.result()
            write_text(res_file, json.dumps(done, indent=1))
            print(f"  {net} seed {seed} {side}: {100 * done[key(net, seed, side)]:.1f}% "
                  f"({seconds:.0f} s; {len(todo) - sum(g.done() for g in futures)} to go)",
                  file=sys.stderr, flush=True)
    print(f"test accuracy (%), {cache.dataset} {data.name}, {args.epochs} epochs, batch 10, "
          f"Adam 0.001; engine: {engine_side}; each row the seeds of {args.seeds[0]}.."
          f"{args.seeds[-1]} that both sides have")
    for line in table(done, key, args.nets, args.seeds, engine_side):
        print(line)


def table(done, key, nets, seeds, engine_side):
    """Markdown lines: per net and PyTorch side, the paired seeds both sides have, the
    means, the paired difference and the seeds a +-1-point interval needs."""
    out = ["| net | PyTorch | seeds | engine | PyTorch | engine - PyTorch [95% CI] | "
           "seeds for +-1 |", "|---|---|---|---|---|---|---|"]
    for net in nets:
        for side in TORCH_SIDES:
            both = [k for k in seeds if key(net, k, side) in done
                    and key(net, k, engine_side) in done]
            if not both:
                continue
            e = np.array([done[key(net, k, engine_side)] for k in both])
            t = np.array([done[key(net, k, side)] for k in both])
            need = seeds_for_width(e - t) if len(both) > 2 else "-"
            out.append(f"| {net} | {side.split()[1]} | {len(both)} | {100 * e.mean():.1f} | "
                       f"{100 * t.mean():.1f} | {paired(e - t)} | {need} |")
    return out


if __name__ == "__main__":
    main()
