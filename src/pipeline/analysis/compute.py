"""Where a study's compute went, read from its training jobs' benchmark files
(results/benchmarks/train/P/E/seedS.tsv, Snakemake's `benchmark:`: wall seconds, CPU
seconds, peak resident memory) and split by each run's own clocks (metrics.json: training
and evaluation seconds, the test included) into training, evaluation and the rest
(start-up, imports, loading the cache, writing the run folder).

CPU seconds come from the job's log where it ends with the kernel's count
(pipeline.runtime.jobs.USAGE_PREFIX): the benchmark's are sampled, and miss up to 30 s at the
end of a job (a one-thread job alone then shows 55-85% CPU where it used 99%).

A resumed run's clocks count every attempt while its benchmark file holds the last job
only: such a run (its clocks longer than its job) counts in the totals but not in the
split, and is counted apart.
"""
from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from pipeline import layout
from pipeline.runtime.jobs import USAGE_PREFIX

FIELDS = ("s", "cpu_time", "max_rss")


def benchmark_path(metrics_path):
    """The run's job benchmark file: results/benchmarks/train/P/E/seedS.tsv"""
    return layout.beside(Path(metrics_path).parent, layout.TRAIN_BENCHMARK)


def log_path(metrics_path):
    """The run's job log: results/logs/train/P/E/seedS.log"""
    return layout.beside(Path(metrics_path).parent, layout.TRAIN_LOG)


def read_usage(path):
    """The last resource-use line of a job's log as a dict ({cpu_seconds,
    child_max_rss_mb}; a resumed run's log has one per attempt), or None."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    found = [line for line in lines if line.startswith(USAGE_PREFIX)]
    return json.loads(found[-1][len(USAGE_PREFIX):]) if found else None


def read_benchmark(path):
    """{s, cpu_time, max_rss} of a Snakemake benchmark file (its first row; a value
    Snakemake could not measure, written "NA" or "-", is None)."""
    with open(path, newline="") as f:
        row = next(csv.DictReader(f, delimiter="\t"))

    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    return {k: num(row.get(k)) for k in FIELDS}


def job_rows(metrics_paths):
    """One dict per run that has a benchmark file: experiment, protocol, seed, job
    seconds, CPU seconds, peak MB, and the run's train / eval seconds."""
    rows = []
    for p in metrics_paths:
        b = benchmark_path(p)
        if not b.is_file():
            continue
        m = json.loads(Path(p).read_text())
        bench = read_benchmark(b)
        if bench["s"] is None:
            continue
        usage = read_usage(log_path(p))
        rows.append({"experiment": m["experiment"], "protocol": m["protocol"],
                     "seed": int(m["seed"]), "job_s": bench["s"],
                     "cpu_s": usage["cpu_seconds"] if usage else bench["cpu_time"],
                     "cpu_counted": usage is not None,
                     "max_rss_mb": bench["max_rss"],
                     "train_s": float(m.get("train_seconds") or 0.0),
                     "eval_s": float(m.get("eval_seconds") or 0.0)})
    return rows


def _split(rows):
    """(training, evaluation, rest) seconds over the rows whose clocks fit their job."""
    fit = [r for r in rows if r["train_s"] + r["eval_s"] <= r["job_s"]]
    train = sum(r["train_s"] for r in fit)
    ev = sum(r["eval_s"] for r in fit)
    return fit, train, ev, sum(r["job_s"] for r in fit) - train - ev


def _group(rows):
    fit, train, ev, rest = _split(rows)
    cpu = [r for r in rows if r["cpu_s"] is not None]
    rss = [r for r in rows if r["max_rss_mb"] is not None]
    peak = max(rss, key=lambda r: r["max_rss_mb"]) if rss else None
    return {
        "jobs": len(rows),
        "job_seconds": sum(r["job_s"] for r in rows),
        "median_job_seconds": statistics.median(r["job_s"] for r in rows),
        "split_jobs": len(fit), "split_seconds": train + ev + rest,
        "train_seconds": train, "eval_seconds": ev, "other_seconds": rest,
        "median_other_seconds": statistics.median(r["job_s"] - r["train_s"] - r["eval_s"]
                                                  for r in fit) if fit else None,
        "cpu_share": (sum(r["cpu_s"] for r in cpu) / sum(r["job_s"] for r in cpu))
        if cpu else None,
        "cpu_sampled": sum(not r["cpu_counted"] for r in cpu),
        "peak_mb": peak["max_rss_mb"] if peak else None,
        "peak_run": f"{peak['protocol']}/{peak['experiment']}/seed{peak['seed']}"
        if peak else None,
    }


def summarize(rows):
    """{"total": ..., "experiments": {name: ...}} (see _group), or None without rows."""
    if not rows:
        return None
    names = sorted({r["experiment"] for r in rows})
    return {"total": _group(rows),
            "experiments": {n: _group([r for r in rows if r["experiment"] == n])
                            for n in names}}


def _pct(part, whole):
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _mb(v):
    return "-" if v is None else f"{v:.0f}"


def line(summary):
    """One Markdown list line: the whole study's compute."""
    t = summary["total"]
    whole = t["split_seconds"]
    cpu = "" if t["cpu_share"] is None else f", CPU {100 * t['cpu_share']:.0f}% of wall"
    if t["cpu_share"] is not None and t["cpu_sampled"]:
        cpu += f" ({t['cpu_sampled']} jobs' CPU sampled by Snakemake: an undercount)"
    return (f"- compute: {t['jobs']} training jobs, {t['job_seconds']:,.0f} job-seconds "
            f"(training {_pct(t['train_seconds'], whole)}, evaluation "
            f"{_pct(t['eval_seconds'], whole)}, the rest {_pct(t['other_seconds'], whole)}"
            f"{cpu}); peak memory {_mb(t['peak_mb'])} MB ({t['peak_run']})")


def table(summary):
    """Markdown table lines: per experiment, its jobs' time and memory."""
    out = ["| experiment | jobs | job-seconds | median job s | training | evaluation | "
           "rest (median s) | CPU / wall | peak MB |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, g in summary["experiments"].items():
        whole = g["split_seconds"]
        other = "-" if g["median_other_seconds"] is None else f"{g['median_other_seconds']:.1f}"
        cpu = "-" if g["cpu_share"] is None else f"{100 * g['cpu_share']:.0f}%"
        out.append(f"| {name} | {g['jobs']} | {g['job_seconds']:,.0f} | "
                   f"{g['median_job_seconds']:.1f} | {_pct(g['train_seconds'], whole)} | "
                   f"{_pct(g['eval_seconds'], whole)} | {_pct(g['other_seconds'], whole)} "
                   f"({other}) | {cpu} | {_mb(g['peak_mb'])} |")
    t = summary["total"]
    if t["split_jobs"] < t["jobs"]:
        out += ["", f"{t['jobs'] - t['split_jobs']} resumed run(s) (their clocks count every "
                "attempt, their benchmark file the last job) are in the job-seconds, "
                "not in the split."]
    return out
