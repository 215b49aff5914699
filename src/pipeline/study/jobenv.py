"""Pin the BLAS/OpenMP thread pools of a workflow job to its `threads`.

Must run before numpy is imported in the job's process: the workflow scripts call
`pin_threads(snakemake.threads)` on their first line.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def thread_env(threads, base=None):
    """A copy of the environment with every BLAS thread variable set to `threads`."""
    env = dict(os.environ if base is None else base)
    # The subprocess imports the same checkout of the package as this process.
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    for var in THREAD_VARS:
        env[var] = str(int(threads))
    return env


def pin_threads(threads):
    """Set the thread variables in this process; refuse if numpy is already loaded."""
    if "numpy" in sys.modules:
        raise RuntimeError("pin_threads() must run before numpy is imported")
    for var in THREAD_VARS:
        os.environ[var] = str(int(threads))


def run_cli(args, log, threads, rule=None, mem_mb=None, on_fault=None):
    """Run `regstudy ARGS` in this process (one interpreter start per job) with its output
    appended to `log`; exit with its code if it fails. Call pin_threads(threads) first.

    `rule` and `mem_mb` (the job's resources) let an out-of-memory message name the
    setting to raise; `on_fault(fault)` is called with a pipeline.faults.Fault."""
    if os.environ.get("OMP_NUM_THREADS") != str(int(threads)):
        pin_threads(threads)
    from pipeline import faults
    from pipeline.cli import main

    if rule:
        os.environ[faults.RULE_ENV] = str(rule)
    if mem_mb:
        os.environ[faults.MEM_ENV] = str(int(mem_mb))
    seen = []

    def fault_seen(fault):
        seen.append(fault)
        if on_fault is not None:
            on_fault(fault)

    args = [str(a) for a in args]
    with log_to(log) as fh:
        fh.write("$ regstudy " + " ".join(_quote(a) for a in args) + "\n")
        fh.flush()
        try:
            rc = main(args, on_fault=fault_seen)
        except SystemExit as e:  # argparse errors
            rc = e.code if isinstance(e.code, int) else 1
    if rc:
        why = f": {seen[0].message}" if seen else ""
        print(f"regstudy {args[0]} failed with exit code {rc}{why} (log: {log})",
              file=sys.stderr, flush=True)
        raise SystemExit(rc)


def run_child(args, log, threads, rule=None, mem_mb=None, record=None):
    """Run `regstudy ARGS` in a child process, its output appended to `log`; exit with
    its code if it fails. For training: a job over its memory limit is killed by the
    kernel or the cluster (SIGKILL, which nobody can catch), and the killer picks the
    biggest process, the child; this one is left to say so (pipeline.faults.killed),
    name the setting to raise and leave the failure record `record` for the tables."""
    import subprocess

    from pipeline import faults

    args = [str(a) for a in args]
    env = thread_env(threads)
    env.update({k: str(v) for k, v in ((faults.RULE_ENV, rule), (faults.MEM_ENV, mem_mb),
                                       (faults.RECORD_ENV, record)) if v})
    with open(log, "a") as fh:
        fh.write("$ regstudy " + " ".join(_quote(a) for a in args) + "\n")
        fh.flush()
        rc = subprocess.call([sys.executable, "-m", "pipeline.cli", *args], stdout=fh,
                             stderr=subprocess.STDOUT, env=env)
    if rc == 0:
        return
    message = ""
    if rc < 0:
        fault = faults.killed(-rc, f"regstudy {args[0]}", rule, mem_mb)
        rc, message = fault.code, f": {fault.message}"
        with open(log, "a") as fh:
            fh.write(fault.message + "\n")
        if record and fault.code == faults.OUT_OF_MEMORY:   # not a stop asked for
            from pipeline.study.failures import write_record

            write_record(record, fault.code, fault.message)
    else:
        message = _last_error(log)
    print(f"regstudy {args[0]} failed with exit code {rc}{message} (log: {log})",
          file=sys.stderr, flush=True)
    raise SystemExit(rc)


def _last_error(log):
    """': <the fault's message>' from the end of the log, or ''."""
    try:
        lines = Path(log).read_text().splitlines()[-20:]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("error: ")]
    return f": {errors[-1]}" if errors else ""


def _quote(a):
    import shlex

    return shlex.quote(str(a))


class log_to:
    """Context manager: send this process's stdout/stderr (and tracebacks) to a log file."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.fh = open(self.path, "a")
        self._saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.fh
        return self.fh

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not (exc_type is SystemExit and exc.code in (0, None)):
            import traceback

            traceback.print_exception(exc_type, exc, tb, file=self.fh)
        sys.stdout, sys.stderr = self._saved
        self.fh.close()
        return False
