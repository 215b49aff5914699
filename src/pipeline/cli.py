"""The `regstudy` console script.

Each sub-command lives beside the code it drives; a module listed in COMMANDS exposes
`register(subparsers)`, which adds its parser and sets `func` (called with the args).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = [
    "pipeline.train.command",   # train
    "pipeline.data.commands",   # prepare, synth
    "pipeline.study.status",    # status
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="regstudy",
        description="Study five regularizers on small image classifiers (NumPy engine).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def _pin_threads(argv):
    """--threads N (default 1 for `train`) must reach the BLAS library before NumPy
    loads it."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=1 if argv[:1] == ["train"] else None)
    known, _ = pre.parse_known_args(argv)
    if known.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(known.threads)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    _pin_threads(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
