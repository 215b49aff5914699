"""What the workflow's job scripts share: output sent to the job's log and training run
in a child process (`run_child`) whose death by the memory limit this one reports (a
command run in the job's own process: pipeline.cli.run_cli). The scripts set the job's
BLAS threads first (pipeline.runtime.threads.limit_blas).
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

# The line run_child ends a training job's log with (pipeline.analysis.compute reads it).
USAGE_PREFIX = "resource use: "


def fault_env(rule, mem_mb, record=None):
    """Where a fault's message finds the setting to raise and leaves its record."""
    from pipeline.runtime import faults

    for var, value in ((faults.RULE_ENV, rule), (faults.MEM_ENV, mem_mb),
                       (faults.RECORD_ENV, record)):
        if value:
            os.environ[var] = str(value)


def run_child(call, command, log, detail="", rule=None, mem_mb=None, record=None):
    """Run `call()` (returns an exit code) in a forked child whose output is appended to
    `log` after the header line `$ <command> <detail>`; exit with the child's code if it
    is not 0. `command` names it in messages (e.g. "regstudy train").

    For training: a job over its memory limit is killed by the kernel or the cluster
    (SIGKILL, which nobody can catch), and the killer picks the biggest process, the
    child; this one is left to say so (pipeline.runtime.faults.killed), name the setting to
    raise and leave the failure record `record` for the tables. A fault the child catches
    (pipeline.runtime.faults.guarded) leaves the record itself."""
    import multiprocessing

    from pipeline.runtime import faults

    with open(log, "a") as fh:
        fh.write(f"$ {command} {detail}".rstrip() + "\n")
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(call, log, rule, mem_mb, record), daemon=False)
    child.start()
    child.join()
    _log_usage(log)
    rc = child.exitcode
    if rc == 0:
        return
    message = ""
    if rc < 0:
        fault = faults.killed(-rc, command, rule, mem_mb)
        rc, message = fault.code, f": {fault.message}"
        with open(log, "a") as fh:
            fh.write(fault.message + "\n")
        if record and fault.code == faults.OUT_OF_MEMORY:   # not a stop asked for
            from pipeline.runtime.failures import write_record

            write_record(record, fault.code, fault.message)
    else:
        message = _last_error(log)
    print(f"{command} failed with exit code {rc}{message} (log: {log})",
          file=sys.stderr, flush=True)
    raise SystemExit(rc)


def _log_usage(log):
    """Append the job's CPU seconds (this process and the training child) and the
    child's peak memory to the log, from the kernel's accounting (getrusage). Snakemake's
    benchmark samples the job's processes, every 0.5 s for 15 s and then every 30 s, and
    keeps the last sample's CPU time: up to 30 s of a job's CPU are missing from it."""
    import json
    import resource

    own, child = (resource.getrusage(who)
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    cpu = own.ru_utime + own.ru_stime + child.ru_utime + child.ru_stime
    rss_unit = 1 if sys.platform == "darwin" else 1024          # ru_maxrss: bytes or KiB
    usage = {"cpu_seconds": round(cpu, 3),
             "child_max_rss_mb": round(child.ru_maxrss * rss_unit / 2 ** 20, 1)}
    with open(log, "a") as fh:
        fh.write(USAGE_PREFIX + json.dumps(usage) + "\n")


def _child(call, log, rule, mem_mb, record):
    from pipeline.runtime import faults

    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    fault_env(rule, mem_mb, record)
    try:
        rc = faults.guarded(call, debug=faults.debug_wanted())
    except BaseException:
        import traceback

        traceback.print_exc()
        rc = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)        # no multiprocessing or atexit clean-up of the parent's state


def _last_error(log):
    """': <the fault's message>' from the end of the log, or ''."""
    try:
        lines = Path(log).read_text().splitlines()[-20:]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("error: ")]
    return f": {errors[-1]}" if errors else ""


def quote(a):
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


@contextlib.contextmanager
def job(smk):
    """What a workflow script does first: BLAS at the job's threads, this process's
    output to the job's log (`smk`: the script's `snakemake` object)."""
    from pipeline.runtime.threads import limit_blas

    limit_blas(smk.threads)
    with log_to(smk.log[0]) as fh:
        yield fh
