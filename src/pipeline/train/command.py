"""`regstudy train`: one experiment into a run folder."""
from __future__ import annotations

import json
import sys
from pathlib import Path

NET_HELP = ("the hidden layers: a named network of the study (mlp = [30,10], cnn1..cnn4), "
            "a YAML file holding a layer list, or an inline YAML/JSON list such as "
            "'[30, 10]' or '[[conv, {ksize: 3, chn: 6}], [max, {stride: 2}]]'")


def load_net(text):
    """--net value -> hidden config list (named network, YAML file, or inline list)."""
    import yaml

    from pipeline.engine.config import ConfigError
    from pipeline.engine.nets import NAMED_NETS

    if text in NAMED_NETS:
        return NAMED_NETS[text]
    path = Path(text)
    try:
        is_file = path.is_file()
    except OSError:          # an inline list longer than a file name can be
        is_file = False
    if path.suffix in (".yaml", ".yml", ".json") or is_file:
        if not path.is_file():
            raise ConfigError(f"--net: file {path} not found")
        value = yaml.safe_load(path.read_text())
        if isinstance(value, dict) and "net" in value:
            value = value["net"]
        return value
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--net: {text!r} is neither a named network "
                          f"({', '.join(NAMED_NETS)}), a file, nor a YAML list ({exc})") from None
    if not isinstance(value, list):
        raise ConfigError(f"--net: {text!r} is neither a named network "
                          f"({', '.join(NAMED_NETS)}), a file, nor a layer list")
    return value


def _quirk(text):
    if "=" not in text:
        raise ValueError(text)
    return tuple(text.split("=", 1))


def register(sub):
    from pipeline.engine.protocol import QUIRKS

    p = sub.add_parser(
        "train", help="train one experiment into a run folder",
        description="Train one network on a cached data set and write a run folder "
                    "(metrics.json, history.csv, params.npz, predictions.npz). A killed run "
                    "resumes from its last epoch checkpoint when started again.")
    p.add_argument("--data", required=True, help="cache file made by `regstudy prepare` (.npz)")
    p.add_argument("--net", required=True, help=NET_HELP)
    p.add_argument("--out", required=True, help="run folder to write (created if missing)")
    p.add_argument("--protocol", choices=["reference", "corrected"], default="corrected",
                   help="reference: the study's implementation with its quirks; corrected: "
                        "every quirk fixed (default)")
    p.add_argument("--quirk", action="append", type=_quirk, default=[], metavar="NAME=VALUE",
                   help="override one protocol option (repeatable): " +
                        "; ".join(f"{k} ({'|'.join(v[2])})" for k, v in QUIRKS.items()))
    p.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=10, help="minibatch size (default 10)")
    p.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001)")
    p.add_argument("--l1", type=float, default=0.0, help="L1 strength on weights and kernels")
    p.add_argument("--l2", type=float, default=0.0, help="L2 strength on weights and kernels")
    p.add_argument("--seed", type=int, default=0,
                   help="fixes split, initialisation, shuffles, dropout masks and noise")
    p.add_argument("--experiment", default=None,
                   help="name used in reports and error messages (default: the --out folder name)")
    p.add_argument("--report", type=int, default=1,
                   help="print an epoch line every N epochs (0: none; default 1)")
    p.add_argument("--on-divergence", choices=["fail", "record"], default="fail",
                   help="when the cost becomes NaN/inf: write the record and exit 3 (fail, "
                        "default) or write it and exit 0 (record; the workflow's choice, so "
                        "the tables can mark the run)")
    p.add_argument("--shards", type=int, default=None,
                   help="cut each minibatch into this many parts, trained on that many "
                        "threads and their gradients added (default: 2 for networks with "
                        "convolutions, 1 for MLPs). Changes the last bits of the results "
                        "and the dropout/noise draws, so it is recorded with the run")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="precision of parameters, activations and optimizer state (default "
                        "float32; the study computed in float64). Recorded in metrics.json")
    p.add_argument("--eval-train-size", type=int, default=500,
                   help="training images evaluated every epoch in evaluation mode, beside "
                        "the whole validation split (history columns eval_*: the clean "
                        "train-validation gap); a fixed subset drawn from the seed "
                        "(default 500; all of the training split if it is smaller)")
    p.add_argument("--train-size", type=int, default=None,
                   help="train on this many images of the training split: the first N of a "
                        "seeded permutation, so subsets are nested as N grows (default: all; "
                        "validation and test splits unchanged). Recorded in metrics.json")
    p.add_argument("--replay-model", default=None, metavar="NAME",
                   help="with --quirk rng=replay: the model of the study's chapter this run "
                        "replays (its split, initial weights, batch order, masks and noise "
                        "are the chapter's draws, the models before it fast-forwarded; "
                        "--seed 1234 is the study's seed): one of flowers_model_1, "
                        "flowers_model_2, flowers_model_l2_0.01, flowers_model_l1_0.1, "
                        "flowers_model_3, flowers_model_unprinted, flowers_cnn_1..4, "
                        "office31_cnn_1..4")
    p.add_argument("--threads", type=int, default=None,
                   help="threads this run may use in all (default: as many as its shards, "
                        "at least 2). Shards and slices beyond it run one after another, "
                        "with the same results; BLAS runs one thread under each (the study's "
                        "matrices are too small to gain from more). A network with batch "
                        "normalization needs --threads >= --shards")
    p.set_defaults(func=main)


def main(args):
    from pipeline.engine.config import ConfigError

    from .run import RunSettings, run_job

    for name, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--shards", 1 if args.shards is None else args.shards),
                        ("--eval-train-size", args.eval_train_size),
                        ("--threads", 1 if args.threads is None else args.threads),
                        ("--train-size", 1 if args.train_size is None else args.train_size)):
        if value <= 0:
            print(f"error: {name} must be positive, got {value}", file=sys.stderr)
            return 2
    try:
        net = load_net(args.net)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = RunSettings(
        data=args.data, net=net, protocol=args.protocol,
        quirks=dict(args.quirk), seed=args.seed, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, l1=args.l1, l2=args.l2,
        experiment=args.experiment or Path(args.out).name, report=args.report,
        on_divergence=args.on_divergence, shards=args.shards, dtype=args.dtype,
        eval_train_size=args.eval_train_size, threads=args.threads,
        train_size=args.train_size, replay_model=args.replay_model)
    code, metrics = run_job(settings, args.out)
    if code:
        return code
    print(json.dumps({"test_accuracy": metrics["test_accuracy"],
                      "train_seconds": round(metrics["train_seconds"], 2)}))
    return 0
