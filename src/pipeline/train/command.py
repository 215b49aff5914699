"""`regstudy train`: one experiment into a run folder."""
from __future__ import annotations

import argparse
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

    from .settings import BY_NAME, add_options, option_type

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
    p.add_argument("--seed", type=int, default=0,
                   help="fixes split, initialisation, shuffles, dropout masks and noise")
    p.add_argument("--experiment", default=None,
                   help="name used in reports and error messages (default: the --out folder name)")
    p.add_argument("--on-divergence", choices=["fail", "record"], default="fail",
                   help="when the cost becomes NaN/inf: write the record and exit 3 (fail, "
                        "default) or write it and exit 0 (record; the workflow's choice, so "
                        "the tables can mark the run)")
    # every training setting, from its one declaration (pipeline.train.settings)
    add_options(p)
    p.add_argument("--lr", dest="learning_rate", type=option_type(BY_NAME["learning_rate"]),
                   default=argparse.SUPPRESS, help="the same as --learning-rate")
    p.set_defaults(func=main)


def main(args):
    from pipeline.engine.config import ConfigError

    from .run import run_job
    from .settings import SETTINGS, build

    try:
        net = load_net(args.net)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = build({
        "data": args.data, "net": net, "protocol": args.protocol, "quirks": dict(args.quirk),
        "seed": args.seed, "experiment": args.experiment or Path(args.out).name,
        "on_divergence": args.on_divergence,
        **{s.name: getattr(args, s.name) for s in SETTINGS}})
    code, metrics = run_job(settings, args.out)
    if code:
        return code
    print(json.dumps({"test_accuracy": metrics["test_accuracy"],
                      "train_seconds": round(metrics["train_seconds"], 2)}))
    return 0
