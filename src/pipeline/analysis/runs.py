"""Run folders -> one row per run (runs.csv) -> mean and spread per experiment x protocol
(summary.csv).

A run whose metrics.json ``status`` is not "ok" (diverged, failed, or any status a later
version adds) is never dropped silently: its row keeps the status and its error, the
summary counts it per status, and it is left out of every mean and statistic.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import layout
from pipeline.atomic import write_text
from pipeline.analysis.runstats import STAT_KEYS

HEAD_ORDER = ("domain", "object")


def run_key(path):
    """(protocol, experiment, seed) of a file in a run folder (pipeline.layout.RUN)."""
    keys = layout.run_of(Path(path).parent)[1]
    return keys["protocol"], keys["experiment"], keys["seed"]


def head_sort_key(head):
    return (HEAD_ORDER.index(head) if head in HEAD_ORDER else 9, head)


def num(x):
    """float(x), NaN for None or anything that is not a number."""
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _history_final(history_csv):
    """Final-epoch accuracies (reported and evaluation-mode) and the epochs recorded."""
    out = {"epochs_done": 0}
    try:
        h = pd.read_csv(history_csv)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return out
    out["epochs_done"] = int(len(h))
    if not len(h):
        return out
    last = h.iloc[-1]
    for col in h.columns:
        if col.startswith(("train_acc", "val_acc", "eval_train_", "eval_val_")):
            out[col + "_final"] = num(last[col])
    return out


def _accuracies(m):
    """acc (one head) or acc_<head> columns of a metrics dict."""
    acc = m.get("test_accuracy")
    if isinstance(acc, dict):
        return {f"acc_{h}": num(acc[h]) for h in sorted(acc, key=head_sort_key)}
    return {"acc": num(acc)}


def _run_row(key, m, described, history_path, stats_path):
    protocol, experiment, seed = key
    status = m.get("status", "ok")
    ok = status == "ok"
    row = {"experiment": experiment, "protocol": protocol, "seed": seed, "status": status,
           "dataset": m.get("dataset") or described.get("dataset"),
           "table": described.get("table"), "regularizer": described.get("regularizer"),
           "error": "" if ok else str(m.get("error") or m.get("reason") or ""),
           "diverged_epoch": None if ok else m.get("diverged_epoch", m.get("epoch"))}
    # no score for a run that did not end ok, whatever it wrote
    row.update({k: (v if ok else math.nan) for k, v in _accuracies(m).items()})
    row.update({k: num(m.get(k)) for k in ("train_seconds", "eval_seconds")})
    spe = m.get("seconds_per_epoch") or []
    row["seconds_per_epoch"] = float(np.mean(spe)) if len(spe) else math.nan
    if history_path:
        row.update(_history_final(history_path))
    s = json.loads(Path(stats_path).read_text()) if stats_path else (m.get("params") or {})
    row.update({("param_" + k if k == "count" else k): num(s.get(k)) for k in STAT_KEYS})
    row.update(epochs=m.get("epochs"), l1=num(m.get("l1")), l2=num(m.get("l2")),
               engine_version=m.get("engine_version", ""))
    return row


def collect_runs(metrics_paths, history_paths, stats_paths, described):
    """One row per run, in config order, then protocol, then seed. `described`: list of
    {experiment, dataset, table, regularizer, ...}."""
    info = {d["experiment"]: d for d in described}
    hist = {run_key(p): p for p in history_paths}
    stats = {run_key(p): p for p in stats_paths}
    rows = []
    for mp in metrics_paths:
        key = run_key(mp)
        rows.append(_run_row(key, json.loads(Path(mp).read_text()), info.get(key[1], {}),
                             hist.get(key), stats.get(key)))
    df = pd.DataFrame(rows)
    if len(df):
        order = {e: i for i, e in enumerate(info)}
        df["_o"] = df["experiment"].map(lambda e: order.get(e, len(order)))
        df = df.sort_values(["_o", "protocol", "seed"], kind="stable").drop(columns="_o")
        df = df.reset_index(drop=True)
    return df


def metric_columns(df):
    skip = {"seed", "diverged_epoch", "epochs", "l1", "l2"}
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]


def status_note(statuses):
    """'' when every run is ok, else '1/3 diverged', 'failed (3/3)', '1/3 diverged, 1/3
    failed': the text a table shows in place of, or beside, a mean."""
    statuses = list(statuses)
    n = len(statuses)
    if n == 0:
        return "no runs"
    bad = pd.Series([s for s in statuses if s != "ok"], dtype=object).value_counts(sort=False)
    if len(bad) == 1 and bad.iloc[0] == n:
        return f"{bad.index[0]} ({n}/{n})"
    return ", ".join(f"{k}/{n} {s}" for s, k in bad.items())


def summarize(runs, described):
    """Mean and sample std (ddof=1) over seeds per experiment x protocol (ok runs only);
    n_<status> counts every status seen, not_ok says it in words."""
    info = {d["experiment"]: d for d in described}
    statuses = sorted(set(runs["status"]) - {"ok"}) if len(runs) else []
    rows = []
    metrics = metric_columns(runs)
    for (experiment, protocol), g in runs.groupby(["experiment", "protocol"], sort=False):
        ok = g[g["status"] == "ok"]
        d = info.get(experiment, {})
        row = {"experiment": experiment, "protocol": protocol, "dataset": g["dataset"].iloc[0],
               "table": d.get("table", g["table"].iloc[0]),
               "regularizer": d.get("regularizer", g["regularizer"].iloc[0]),
               "n_runs": int(len(g)), "n_ok": int(len(ok)),
               **{f"n_{s}": int((g["status"] == s).sum()) for s in statuses},
               "not_ok": status_note(g["status"]),
               "seeds": " ".join(str(s) for s in g["seed"])}
        for c in metrics:
            v = ok[c].astype(float).dropna()
            row[c + "_mean"] = float(v.mean()) if len(v) else math.nan
            row[c + "_std"] = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def write_csv(df, path):
    write_text(path, df.to_csv(index=False, float_format="%.6g"))


def read_summary(path):
    """summary.csv with `not_ok` as text ('' for all ok; CSV gives it back as NaN)."""
    summary = pd.read_csv(path)
    if "not_ok" in summary.columns:
        summary["not_ok"] = summary["not_ok"].fillna("")
    return summary
