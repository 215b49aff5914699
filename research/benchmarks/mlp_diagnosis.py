"""Why does an initialisation rule train the MLP [30,10] well or badly? Trains the engine's
MLP under the `corrected` protocol (standardized inputs) with each --init rule and, before
training, after steps 1, 10 and 100 and after every epoch, looks at its layers on a fixed
sample of training images (the first --sample images of the seed's training split):

    dead1 %   first-layer ReLU units that are <= 0 on every image of the sample
    dead2 %   the same for the second hidden layer (10 units)
    z1 std    standard deviation of the first layer's pre-activations x @ w + b
    z1 mean   their mean (a drift of the bias/weights pushes units off)
    w1 std    standard deviation of the first layer's weights
    moved     rms of (w1 - w1 at initialisation), in units of w1's initial std
    logit std standard deviation of the output layer's logits
    sure %    images whose top logit leads the next by more than 4.6 (top probability
              above 0.99: the softmax saturated, the image adds almost no gradient)
    train %   the epoch's training accuracy (mean over minibatches, training mode)
    val %     accuracy on the whole validation split

    python research/benchmarks/mlp_diagnosis.py --data /tmp/flowers-96.npz
    python research/benchmarks/mlp_diagnosis.py --data CACHE --init he --lr 0.001 0.0001 --epochs 3
    python research/benchmarks/mlp_diagnosis.py --data CACHE --init he --upper fan_in_uniform

Rule names are the `init` option's values (`regstudy train --help`); fan_in_uniform is
PyTorch's default for Linear and Conv2d. One thread.
"""

from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

from pipeline.data.cache import load_cache  # noqa: E402
from pipeline.data.split import reference_split  # noqa: E402
from pipeline.engine.network import INIT_STD, Network  # noqa: E402
from pipeline.engine.protocol import QUIRKS, resolve  # noqa: E402
from pipeline.train.streams import make_streams  # noqa: E402
from pipeline.train.trainer import Trainer  # noqa: E402


EARLY_STEPS = (1, 10, 100)     # rows inside the first epoch, after these steps


def layers(net, xs):
    """(z1, z2, logits): the pre-activations of the two hidden layers and the output."""
    p1, p2, p3 = net.params[:3]
    z1 = net.to_input(xs) @ p1["w"] + p1["b"]
    z2 = np.maximum(z1, 0) @ p2["w"] + p2["b"]
    return z1, z2, np.maximum(z2, 0) @ p3["w"] + p3["b"]


def rule(init):
    return INIT_STD if init == "normal0.03" else init


def row(net, xs, w0, epoch, train_acc, val_acc):
    z1, z2, logits = layers(net, xs)
    w = net.params[0]["w"]
    moved = np.sqrt(np.mean((w - w0) ** 2)) / w0.std()
    gap = np.sort(logits, axis=1)[:, -1] - np.sort(logits, axis=1)[:, -2]
    return (f"| {epoch} | {100 * np.mean((z1 <= 0).all(axis=0)):.0f} | "
            f"{100 * np.mean((z2 <= 0).all(axis=0)):.0f} | {z1.std():.1f} | {z1.mean():+.1f} | "
            f"{w.std():.4f} | {moved:.2f} | {logits.std():.1f} | {100 * np.mean(gap > 4.6):.0f} | "
            f"{train_acc} | {val_acc:.1f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="cache .npz from `regstudy prepare`")
    ap.add_argument("--init", nargs="+", default=["he", "normal0.03", "fan_in_uniform"],
                    choices=QUIRKS["init"][2])
    ap.add_argument("--upper", choices=QUIRKS["init"][2],
                    help="initialise the layers after the first (30->10, 10->5) by this rule "
                         "instead (a diagnostic, not a protocol option)")
    ap.add_argument("--lr", type=float, nargs="+", default=[0.001])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--sample", type=int, default=500)
    args = ap.parse_args()

    cache = load_cache(args.data)
    x, y = cache["x"], cache["y"]
    for init in args.init:
        for lr in args.lr:
            quirks = resolve("corrected", {"init": init})
            streams = make_streams(args.seed, quirks["rng"])
            train, val, _ = reference_split(cache.n, streams["split"])
            net = Network([30, 10], x.shape[1:], cache.head_sizes)
            net.init_params(streams["init"], init=rule(init))
            if args.upper:
                for layer, params in zip(net.layers[1:], net.params[1:]):
                    layer.init_params(params, streams["init"], rule(args.upper))
            tr = Trainer(net, quirks, lr=lr, train_images=x[np.sort(train)], shards=1)
            xs = x[train[:args.sample]]
            w0 = net.params[0]["w"].copy()
            upper = f" (upper layers {args.upper})" if args.upper else ""
            print(f"\ninit {init}{upper}, Adam lr {lr}, seed {args.seed}: first layer "
                  f"{w0.shape[0]} x {w0.shape[1]}, initial w std {w0.std():.4f}")
            print("| epoch | dead1 % | dead2 % | z1 std | z1 mean | w1 std | moved | logit std | "
                  "sure % | train % | val % |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            print(row(net, xs, w0, 0, "-", 100 * tr.accuracy(x[val], y[val])[0]))
            for e in range(1, args.epochs + 1):
                batches = tr.batches(len(train), streams["shuffle"])    # as Trainer.epoch
                correct = 0.0
                for k, bi in enumerate(batches, 1):
                    idx = train[bi]
                    correct += tr.step(x[idx], y[idx], streams["layers"])[3][0] / len(idx)
                    if e == 1 and k in EARLY_STEPS:
                        print(row(net, xs, w0, f"step {k}", "-",
                                  100 * tr.accuracy(x[val], y[val])[0]))
                print(row(net, xs, w0, e, f"{100 * correct / len(batches):.1f}",
                          100 * tr.accuracy(x[val], y[val])[0]), flush=True)
            tr.close()


if __name__ == "__main__":
    main()
