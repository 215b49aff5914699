"""The `regstudy` console script.

Each sub-command lives beside the code it drives; a module listed in COMMANDS exposes
`register(subparsers)`, which adds its parser and sets `func` (called with the args).
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = [
    "pipeline.train.command",   # train
    "pipeline.data.commands",   # prepare, synth
    "pipeline.report.status",    # status
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="regstudy",
        description="Study five regularizers on small image classifiers (NumPy engine).",
        epilog="exit codes: 0 done, 1 bad data (prepare/synth) or a bug, 2 bad settings, "
               "3 diverged run, 4 disk full, 5 out of memory, 6 permission denied, "
               "7 data cache missing, corrupt or changed, 130 interrupted",
    )
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of a fault (disk full, out of memory, "
                             "permission, data cache) too; also REGSTUDY_DEBUG=1")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def _pin_threads(argv):
    """One BLAS thread for `train` (its --threads are the engine's own, see
    pipeline.engine.shards), --threads N for the other commands that take it."""
    if argv[:1] == ["train"]:
        threads = 1
    else:
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--threads", type=int, default=None)
        threads = pre.parse_known_args(argv)[0].threads
    if threads:
        from pipeline.runtime.threads import limit_blas

        limit_blas(threads)


def main(argv=None, on_fault=None):
    """Run one sub-command; returns its exit code. A fault of the environment (see
    pipeline.runtime.faults) ends with one message and its own code, not a traceback;
    `on_fault(fault)` lets the workflow's job scripts record it."""
    from pipeline.runtime import faults

    argv = sys.argv[1:] if argv is None else argv
    _pin_threads(argv[1:] if argv[:1] == ["--debug"] else argv)
    args = build_parser().parse_args(argv)
    return faults.guarded(lambda: args.func(args), args.debug, on_fault)


def run_cli(args, log, threads, rule=None, mem_mb=None):
    """Run `regstudy ARGS` in this process with its output appended to `log`; exit with
    its code if it fails; BLAS runs `threads` threads. `rule` and `mem_mb` (the job's
    resources) let an out-of-memory message name the setting to raise."""
    from pipeline.runtime.jobs import fault_env, log_to, quote
    from pipeline.runtime.threads import limit_blas

    limit_blas(threads)
    fault_env(rule, mem_mb)
    seen = []
    args = [str(a) for a in args]
    with log_to(log) as fh:
        fh.write("$ regstudy " + " ".join(quote(a) for a in args) + "\n")
        fh.flush()
        try:
            rc = main(args, on_fault=seen.append)
        except SystemExit as e:  # argparse errors
            rc = e.code if isinstance(e.code, int) else 1
    if rc:
        why = f": {seen[0].message}" if seen else ""
        print(f"regstudy {args[0]} failed with exit code {rc}{why} (log: {log})",
              file=sys.stderr, flush=True)
        raise SystemExit(rc)


if __name__ == "__main__":
    sys.exit(main())
