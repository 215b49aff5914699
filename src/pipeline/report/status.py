"""`regstudy status [RESULTS]`: every planned run of the study and its state, while the
workflow runs or afterwards.

The plan (experiments x protocols x seeds, epochs) comes from the config files, merged as
Snakemake merges them; the state of each run from its folder and job log only (nothing
is locked or written):

    done         metrics.json, status "ok"
    diverged     metrics.json, status "diverged"
    running      no metrics.json, progress (checkpoint, history.csv, job log) written
                 within the last few epoch times
    failed       no metrics.json, the job log's last attempt ends in an error
    stopped      no metrics.json, progress older than that and no error (killed; the
                 next workflow run resumes it from its checkpoint)
    not started  nothing yet
"""
from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from pipeline import layout, provenance
from pipeline.plan import experiments as ex
from pipeline.train import checkpoint

STATES = ("done", "running", "stopped", "failed", "diverged", "not started")
DEFAULT_CONFIG = "config/config.yaml"
# A run counts as running while its progress is younger than this many epoch times
# (at least MIN_STALE seconds: a job's first epoch, a loaded machine).
STALE_EPOCHS = 3
MIN_STALE = 120.0


@dataclass
class RunState:
    protocol: str
    experiment: str
    seed: int
    epochs: int                           # planned
    state: str = "not started"
    epoch: int = 0                        # epochs completed
    seconds_per_epoch: float | None = None
    seconds_left: float | None = None     # None: unknown
    estimated: bool = False               # seconds_* from other runs, not this one's
    note: str = ""
    kernel: str | None = None             # the BLAS kernel a done run was made on


def merge_configs(paths):
    """Config files merged as Snakemake does: later files win, nested mappings merged."""
    def update(base, new):
        for k, v in new.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                update(base[k], v)
            else:
                base[k] = v
        return base

    config = {}
    for p in paths:
        update(config, yaml.safe_load(Path(p).read_text()) or {})
    return config


def planned_runs(config):
    """[(protocol, experiment, seed, epochs)] in the workflow's order (sweeps expanded)."""
    from pipeline.plan.sweeps import expand

    config = expand(config)[0]
    return [(p, e, int(s), int(ex.setting(config, e, "epochs")))
            for e in ex.selected_experiments(config)
            for p in config["protocols"] for s in config["seeds"]]


def _history(path):
    """(epochs, total seconds) of a history.csv."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("cost") not in (None, "", "nan")]
    secs = sum(float(r.get("train_seconds") or 0) + float(r.get("eval_seconds") or 0)
               for r in rows)
    return len(rows), secs


def _checkpoint_meta(run_dir):
    try:
        with np.load(Path(run_dir) / checkpoint.NAME, allow_pickle=False) as z:
            return json.loads(str(z["meta"]))
    except (OSError, KeyError, ValueError):
        return None


def _last_attempt_failed(log):
    """The text of the job log's last `$ regstudy` attempt ends in an error."""
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        return False
    last = text.rsplit("$ regstudy ", 1)[-1]
    return "Traceback (most recent call last)" in last or any(
        line.startswith(("error:", "interrupted")) for line in last.splitlines())


def run_state(results, protocol, experiment, seed, epochs, now=None):
    """The state of one planned run, read from its folder and its job log."""
    now = time.time() if now is None else now
    r = RunState(protocol, experiment, seed, epochs)
    keys = {"protocol": protocol, "experiment": experiment, "seed": seed}
    run_dir = layout.path(results, layout.RUN, **keys)
    log = layout.path(results, layout.TRAIN_LOG, **keys)
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        try:
            m = json.loads(metrics.read_text())
        except (OSError, ValueError):
            m = None        # being replaced right now: the next look sees it
        if m is not None:
            done = len(m.get("seconds_per_epoch") or [])
            r.seconds_left = 0.0
            if m.get("status") == "diverged":
                r.state, r.epoch = "diverged", int(m.get("diverged_epoch") or done)
                r.note = f"diverged at epoch {r.epoch}"
            else:
                r.state, r.epoch = "done", done
                r.kernel = provenance.kernel(m.get("environment"))
                acc = m.get("test_accuracy")
                if isinstance(acc, dict):
                    r.note = "test " + "+".join(f"{v:.3f}" for v in acc.values())
                elif acc is not None:
                    r.note = f"test {acc:.3f}"
            if done:
                r.seconds_per_epoch = (m.get("train_seconds", 0) + m.get("eval_seconds", 0)) / done
            return r
    progress = [p for p in (run_dir / checkpoint.NAME, run_dir / "history.csv", log) if p.exists()]
    if not progress:
        return r
    meta = _checkpoint_meta(run_dir)
    if meta:
        r.epoch = int(meta["epoch"])
        secs = float(meta["clock"])
    elif (run_dir / "history.csv").exists():
        r.epoch, secs = _history(run_dir / "history.csv")
    else:
        secs = 0.0
    if r.epoch:
        r.seconds_per_epoch = secs / r.epoch
        r.seconds_left = r.seconds_per_epoch * (epochs - r.epoch)
    age = now - max(p.stat().st_mtime for p in progress)
    stale = max(MIN_STALE, STALE_EPOCHS * (r.seconds_per_epoch or 0))
    if _last_attempt_failed(log):
        r.state, r.note = "failed", f"see {log}"
    elif age <= stale:
        r.state = "running"
    else:
        r.state = "stopped"
        r.note = f"no progress for {duration(age)}; resumes from epoch {r.epoch + 1}"
    return r


def _estimate(runs, dataset):
    """Fill seconds_per_epoch / seconds_left of runs without their own from measured runs:
    same experiment, else same data set (`dataset`: experiment -> data set), else any."""
    measured = [r for r in runs if r.seconds_per_epoch and r.state not in ("diverged", "not started")]
    for r in runs:
        if r.state in ("done", "diverged"):
            continue
        if r.seconds_per_epoch is None:
            for pool in ([m for m in measured if m.experiment == r.experiment],
                         [m for m in measured if dataset[m.experiment] == dataset[r.experiment]],
                         measured):
                if pool:
                    r.seconds_per_epoch = float(np.mean([m.seconds_per_epoch for m in pool]))
                    r.estimated = True
                    break
        if r.seconds_per_epoch is not None:
            r.seconds_left = r.seconds_per_epoch * (r.epochs - r.epoch)


def study_status(results, config, now=None):
    """RunState of every planned run of `config` under the `results` folder."""
    runs = [run_state(results, *plan, now=now) for plan in planned_runs(config)]
    _estimate(runs, {e: x["dataset"] for e, x in config["experiments"].items()})
    return runs


def totals(runs, jobs=None):
    """Counts per state, training seconds left (None if unknown) and the wall time at
    `jobs` runs side by side (default: as many as are running now, at least one)."""
    counts = {s: sum(r.state == s for r in runs) for s in STATES}
    pending = [r for r in runs if r.state not in ("done", "diverged")]
    unknown = sum(r.seconds_left is None for r in pending)
    left = sum(r.seconds_left for r in pending if r.seconds_left is not None)
    jobs = jobs or max(1, counts["running"])
    return {"counts": counts, "planned": len(runs), "seconds_left": left,
            "unknown": unknown, "jobs": jobs, "wall_left": left / jobs}


def duration(s):
    if s is None or not math.isfinite(s):
        return "?"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _secs(s):
    return f"{s:.1f}" if s >= 1 else f"{s:.2g}"


def format_status(runs, tot):
    head = ("protocol", "experiment", "seed", "state", "epoch", "s/epoch", "left", "")
    rows = []
    for r in runs:
        est = "~" if r.estimated else ""
        rows.append((r.protocol, r.experiment, str(r.seed), r.state, f"{r.epoch}/{r.epochs}",
                     "-" if r.seconds_per_epoch is None else f"{est}{_secs(r.seconds_per_epoch)}",
                     "-" if r.state in ("done", "diverged") else est + duration(r.seconds_left),
                     r.note))
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *rows]]
    c = tot["counts"]
    lines.append("")
    lines.append(", ".join(f"{s} {c[s]}" for s in STATES) + f" (of {tot['planned']} planned)")
    pending = tot["planned"] - c["done"] - c["diverged"]
    if pending and tot["unknown"] == pending:
        lines.append("time left: unknown (no run has finished an epoch yet)")
        return "\n".join(lines)
    left = f"time left: {duration(tot['seconds_left'])} of training"
    if tot["jobs"] > 1:
        left += f", about {duration(tot['wall_left'])} with {tot['jobs']} runs side by side"
    if tot["unknown"]:
        left += f" (+ {tot['unknown']} runs with no measured run to estimate from)"
    lines.append(left + ("  (~: estimated from other runs)" if any(r.estimated for r in runs) else ""))
    return "\n".join(lines)


def register(sub):
    p = sub.add_parser("status", help="state of every planned run of the study (done, "
                                      "running with epoch and time left, ...)")
    p.add_argument("results", nargs="?", default="results",
                   help="the workflow's results folder (default: results)")
    p.add_argument("--configfile", nargs="+", default=None, metavar="FILE",
                   help=f"the config files of the run, as given to snakemake "
                        f"(default: {DEFAULT_CONFIG})")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="runs side by side for the time estimate (default: those running now)")
    p.set_defaults(func=_main)


def _main(args):
    files = args.configfile or [DEFAULT_CONFIG]
    # `--configfile A B RESULTS`: like snakemake's, the option takes every word after it
    if args.results == "results" and len(files) > 1 and Path(files[-1]).is_dir():
        args.results, files = files[-1], files[:-1]
    config = merge_configs(files)
    runs = study_status(args.results, config)
    print(f"{args.results}: {len(runs)} planned runs ({', '.join(map(str, files))})")
    print(format_status(runs, totals(runs, args.jobs)))
    for line in provenance.kernel_lines([r.kernel for r in runs if r.state == "done"],
                                        provenance.kernel(provenance.environment())):
        print(line)
    return 0
