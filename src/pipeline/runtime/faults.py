"""Faults of the environment (disk full, out of memory, permissions, a data cache that is
missing or changed) -> one message naming the file or setting at fault and what to do,
and an exit code of its own.

One place for the whole package: `guarded`, which every `regstudy ...` (pipeline.cli)
and every workflow job (pipeline.runtime.jobs) goes through, turns these exceptions into
`describe(exc)` instead of a traceback; `killed` says the same of a training child that
the kernel or the cluster killed at its memory limit. The traceback is still
printed with `regstudy --debug` or REGSTUDY_DEBUG=1. Exceptions not listed here are bugs
and keep their traceback.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

# exit codes (docs/troubleshooting.md); 2 = bad settings, 3 = diverged run
DISK_FULL = 4
OUT_OF_MEMORY = 5
PERMISSION = 6
DATA_CHANGED = 7

# set by the workflow's job scripts so that a memory fault can name the setting to raise
RULE_ENV = "REGSTUDY_RULE"
MEM_ENV = "REGSTUDY_MEM_MB"
# set by the workflow's training job: where a fault leaves its record for the tables
RECORD_ENV = "REGSTUDY_FAILURE_RECORD"


@dataclass
class Fault:
    code: int
    message: str


def debug_wanted(flag=False):
    return bool(flag) or os.environ.get("REGSTUDY_DEBUG", "") not in ("", "0")


def mib(n):
    return f"{n / 2**20:.1f} MiB"


def describe(exc):
    """The Fault for `exc`, or None when it is not an environment fault (a bug)."""
    from pipeline.data.errors import CacheError

    if isinstance(exc, CacheError):
        return Fault(DATA_CHANGED, f"error: {exc}")
    if isinstance(exc, MemoryError):
        return Fault(OUT_OF_MEMORY, _memory_message(exc))
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Fault(DISK_FULL, _disk_full_message(exc))
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Fault(PERMISSION, _permission_message(exc))
    return None


def guarded(call, debug=False, on_fault=None):
    """`call()`'s exit code; an interrupt gives 130 and a fault (`describe`) its message on
    stderr, its record (RECORD_ENV), `on_fault(fault)` and its code. Other exceptions
    are bugs and propagate."""
    import sys

    try:
        return call() or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        fault = describe(exc)
        if fault is None:
            raise
        if debug_wanted(debug):
            import traceback

            traceback.print_exc()
        print(fault.message, file=sys.stderr, flush=True)
        record(fault)
        if on_fault is not None:
            on_fault(fault)
        return fault.code


def record(fault):
    """Leave the failure record the workflow asked for (RECORD_ENV), if any."""
    path = os.environ.get(RECORD_ENV)
    if path:
        from pipeline.runtime.failures import write_record

        write_record(path, fault.code, fault.message)


def killed(signum, command="regstudy", rule=None, mem_mb=None):
    """The Fault for a child killed by a signal: SIGKILL is what a kernel or a cluster's
    memory limit sends (it cannot be caught, so the child could not say it)."""
    import signal

    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    if signum == signal.SIGKILL:
        return Fault(OUT_OF_MEMORY, _memory_message(
            f"{command} was killed by {name}, most likely for using more memory than the "
            "job's limit (the kernel's or the cluster's out-of-memory killer)", rule, mem_mb))
    return Fault(128 + int(signum), f"error: {command} was killed by {name} (stopped, a time "
                 "limit or preempted); run the same command again: a training run resumes "
                 "from its last checkpoint")


def _memory_message(exc, rule=None, mem=None):
    what = str(exc) or "an allocation failed"
    rule = rule or os.environ.get(RULE_ENV)
    mem = str(mem or os.environ.get(MEM_ENV) or "")
    if rule:
        had = f" (this job had {mem} MB)" if mem else ""
        bigger = 2 * int(mem) if mem.isdigit() else 4000
        fix = (f"raise `resources.{rule}.mem_mb` in the config{had}, or rerun with "
               f"`snakemake --set-resources {rule}:mem_mb={bigger}`; finished runs are kept "
               "and a training run resumes from its last checkpoint")
    else:
        fix = ("give the process more memory (`ulimit -v`, or the job's memory on a "
               "cluster; in the workflow `resources.train.mem_mb` or "
               "`snakemake --set-resources train:mem_mb=...`), then run the same command "
               "again: a training run resumes from its last checkpoint")
    return f"error: out of memory: {what}; {fix}"


def _existing(path):
    """`path` or its nearest existing parent (a file that was never created has none)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _disk_full_message(exc):
    path = exc.filename or "a file"
    need = getattr(exc, "bytes_needed", None)
    parts = [f"{mib(need)} to write"] if need else []
    if exc.filename:
        try:
            parts.append(f"{mib(shutil.disk_usage(_existing(exc.filename)).free)} free there")
        except OSError:
            pass
    detail = f" ({', '.join(parts)})" if parts else ""
    free = f"free at least {mib(need)} there" if need else "free space there"
    return (f"error: no space left on the device writing {path}{detail}; {free} and run "
            "the same command again: nothing half-written was kept, and a training run "
            "resumes from its last checkpoint")


def _permission_message(exc):
    import grp
    import pwd

    path = exc.filename or "a file"
    where = ""
    if exc.filename:
        p = _existing(exc.filename)
        try:
            st = p.stat()
            owner = _name(pwd.getpwuid, st.st_uid)
            group = _name(grp.getgrgid, st.st_gid)
            where = (f" ({p}: {stat.filemode(st.st_mode)} {owner}:{group}; this process runs "
                     f"as {_name(pwd.getpwuid, os.getuid())})")
        except OSError:
            pass
    if exc.errno == errno.EROFS:
        return (f"error: {path} is on a read-only file system{where}; choose a writable "
                "folder (--out / the workflow's results/) and run again")
    return (f"error: permission denied: {path}{where}; fix the permissions (chmod/chown, "
            "read access for data, write access for results) or choose another folder, "
            "then run the same command again")


def _name(lookup, number):
    """A user or group name, or the number when the system does not know it."""
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)
