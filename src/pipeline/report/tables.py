"""The study's tables: per experiment, the seed study's single run beside each protocol's
mean ± sample std over seeds, built from one column specification (``columns``).

A quantity is one column group: its seed-study cell, then one cell per protocol. The
Markdown/HTML tables show the formatted cells, the CSV the numbers. Training times are
not in these tables (machine noise on a shared machine; they stay in runs.csv).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from pipeline.atomic import write_text

from .render import fmt_ms, fmt_num, html_notes, html_page, html_table, to_markdown
from pipeline.analysis.runs import read_summary, write_csv


@dataclass(frozen=True)
class Quantity:
    """One column group. `metrics` are summary.csv metric names shown joined by ' + '
    (Office-31's domain + object), `study` the matching seed_study keys."""
    label: str
    metrics: tuple
    study: tuple
    scale: float = 1.0
    digits: int = 1
    study_label: str | None = None
    study_cell: Callable | None = None

    def study_text(self, ss):
        if self.study_cell is not None:
            return self.study_cell(ss)
        if not all(k in ss for k in self.study):
            return "-"
        return "+".join(fmt_num(float(ss[k]), self.digits) for k in self.study)


def _near_zero_study(ss):
    if "near_zero" not in ss:
        return "-"
    return f"{ss['near_zero']:,} ({ss.get('near_zero_pct', math.nan):.1f}%)"


ACCURACY = Quantity("test acc %", ("acc",), ("accuracy",), scale=100)
ACCURACY_DUAL = Quantity("test acc % (domain+object)", ("acc_domain", "acc_object"),
                         ("accuracy_domain", "accuracy_object"), scale=100)
NEAR_ZERO = Quantity("near-0 %", ("near_zero_frac",), ("near_zero", "near_zero_pct"), scale=100,
                     study_label="near-0 params", study_cell=_near_zero_study)
MEAN = Quantity("mean", ("mean",), ("mean",), digits=3)
SIGMA = Quantity("sigma", ("std",), ("variance",), digits=3)


def columns(dual):
    """The column specification of a table (dual: the two-head Office-31 accuracy)."""
    return [ACCURACY_DUAL if dual else ACCURACY, NEAR_ZERO, MEAN, SIGMA]


def is_dual(described):
    return any(d.get("dataset") == "office31" for d in described)


def _cell(row, q):
    """mean ± std (joined over the quantity's metrics), with the runs that are not ok."""
    if row is None:
        return "-"
    note = row.get("not_ok") if isinstance(row.get("not_ok"), str) else ""
    if int(row["n_ok"]) == 0:
        return note or "-"
    s = " + ".join(fmt_ms(row.get(m + "_mean"), row.get(m + "_std"), q.digits, q.scale)
                   for m in q.metrics)
    return f"{s} ({note})" if note else s


def _numbers(row, q, protocol):
    out = {}
    for m in q.metrics:
        for stat in ("mean", "std"):
            v = row.get(f"{m}_{stat}") if row is not None else None
            out[f"{protocol}_{m}_{stat}"] = v * q.scale if v is not None and math.isfinite(v) else math.nan
    return out


def _counts(row, protocol):
    note = row.get("not_ok") if row is not None and isinstance(row.get("not_ok"), str) else ""
    return {f"{protocol}_n_runs": int(row["n_runs"]) if row is not None else 0,
            f"{protocol}_n_ok": int(row["n_ok"]) if row is not None else 0,
            f"{protocol}_status": (note or "ok") if row is not None else "no runs"}


def study_table(summary, described, protocols):
    """(numbers, display): the numeric CSV frame and the formatted frame of one table."""
    S = summary.set_index(["experiment", "protocol"]) if len(summary) else summary
    spec = columns(is_dual(described))
    nums, disp = [], []
    for d in described:
        e, ss = d["experiment"], d.get("seed_study") or {}
        per = {p: (S.loc[(e, p)] if len(S) and (e, p) in S.index else None) for p in protocols}
        n = {"experiment": e, "regularizer": d.get("regularizer"), "dataset": d.get("dataset"),
             "study_run": ss.get("run", "")}
        f = {"experiment": e, "regularizer": d.get("regularizer")}
        for p in protocols:
            n.update(_counts(per[p], p))
        for q in spec:
            n.update({f"study_{k}": ss.get(k) for k in q.study})
            f[f"{q.study_label or q.label}: seed study"] = q.study_text(ss)
            for p in protocols:
                n.update(_numbers(per[p], q, p))
                f[f"{q.label}: {p}"] = _cell(per[p], q)
        nums.append(n)
        disp.append(f)
    return pd.DataFrame(nums), pd.DataFrame(disp)


def _failed_runs(runs, described):
    """One line per run of these experiments that did not end ok, with its error."""
    if runs is None or not len(runs):
        return []
    names = {d["experiment"] for d in described}
    bad = runs[runs["experiment"].isin(names) & (runs["status"] != "ok")]
    return [f"{r.experiment} ({r.protocol}, seed {r.seed}): {r.status}"
            + (f" - {r.error}" if isinstance(r.error, str) and r.error else "")
            for r in bad.itertuples()]


def table_notes(summary, described, protocols, runs=None, standin=False):
    names = {d["experiment"] for d in described}
    sub = summary[summary["experiment"].isin(names)] if len(summary) else summary
    seeds = sorted({s for v in sub.get("seeds", []) for s in str(v).split()}, key=lambda s: (len(s), s))
    notes = []
    if standin:
        notes.append("Data: a GENERATED STAND-IN data set, not the real one; these numbers show "
                     "the workflow and the protocols, they are not compared with the seed study.")
    notes += [
        f"Our runs: mean ± sample standard deviation over the seeds {', '.join(seeds) or '-'} "
        f"(protocols: {', '.join(protocols)}); the seed study's numbers are single runs at 96x96, "
        "10 epochs.",
        "near-0 = share of weights and kernels with |w| <= 1e-5; sigma = their standard deviation "
        "(the seed study's 'variance' column is this sigma). Biases and batch-norm parameters are "
        "excluded.",
    ]
    failed = _failed_runs(runs, described)
    if failed:
        notes.append(f"Runs that did not end ok ({len(failed)}) are counted in the cells and left "
                     "out of the means and statistics: " + "; ".join(failed))
    return notes


def write_study_table(summary_csv, described, protocols, title, out_csv, out_md, out_html,
                      runs_csv=None, standin=False):
    summary = read_summary(summary_csv)
    runs = pd.read_csv(runs_csv) if runs_csv else None
    nums, disp = study_table(summary, described, protocols)
    notes = table_notes(summary, described, protocols, runs, standin)
    write_csv(nums, out_csv)
    write_text(out_md, f"## {title}\n\n" + to_markdown(disp) + "\n" + "\n\n".join(notes) + "\n")
    write_text(out_html, html_page(title, html_table(disp) + "\n" + html_notes(notes)))
    return nums, disp
