"""The sweeps' numbers: per point and seed statistics from runs.csv, the value chosen on
validation, and the table results/tables/sweeps.{csv,md,html}.

Selection reads only the evaluation-mode accuracy on the whole validation split at the
last epoch (runs.csv `eval_val_acc_final`, from history.csv): `select` is handed a view of
runs.csv without any test column, so a test number cannot sway it. The chosen value's
test accuracy is then compared with the sweep's base on the same seeds
(pipeline.analysis.paired); validation and test images never overlap, so that interval is
not biased by the selection.
"""
from __future__ import annotations

import html
import math

import pandas as pd

from pipeline.atomic import write_text

from pipeline.analysis import paired
from .render import fmt_num, html_notes, html_page, html_table, to_markdown
from pipeline.analysis.runs import write_csv

HEADS = ("acc", "acc_domain", "acc_object")
ID_COLUMNS = ["experiment", "protocol", "seed", "status"]


def eval_column(split, head):
    """runs.csv column of the last epoch's evaluation-mode accuracy of a split."""
    return f"eval_{split}_acc_final" if head == "acc" else f"eval_{split}_{head}_final"


def heads_in(runs, names):
    r = runs[runs["experiment"].isin(names)]
    return [h for h in HEADS if h in r and r[h].notna().any()] or ["acc"]


def validation_view(runs, head):
    """What selection may read: the runs' identity, status and validation accuracy."""
    col = eval_column("val", head)
    return runs[[c for c in ID_COLUMNS + [col] if c in runs.columns]].copy()


def select(runs, names, protocol, head="acc"):
    """(chosen experiment or None, {experiment: mean validation accuracy in points}): the
    point with the best mean evaluation-mode validation accuracy over its ok seeds (the
    first of equals in the sweep's order). Reads validation numbers only."""
    view = validation_view(runs, head)
    col = eval_column("val", head)
    means = {}
    for e in names:
        v = paired.ok_values(view, e, protocol, col)
        if v:
            means[e] = sum(v.values()) / len(v)
    if not means:
        return None, means
    return max(means, key=lambda e: (means[e], -names.index(e))), means


def _interval(values):
    """Mean and 95% t interval over seeds of {seed: points}."""
    iv = paired.t_interval(list(values.values()))
    return iv.mean, iv.lo, iv.hi, iv.n


def _gaps(runs, experiment, protocol, head):
    tr = paired.ok_values(runs, experiment, protocol, eval_column("train", head))
    va = paired.ok_values(runs, experiment, protocol, eval_column("val", head))
    return {s: tr[s] - va[s] for s in sorted(set(tr) & set(va))}


def sweep_points(runs, specs, protocols):
    """One row per sweep x protocol x head x point (the base first, value None): mean
    validation accuracy, test accuracy and train-validation gap (means and 95% intervals
    over seeds, points), the paired difference to the base, and whether it is chosen."""
    rows = []
    for name, spec in specs.items():
        pts = [{"experiment": spec["base"], "value": None, "label": "base"}] + spec["points"]
        names = [p["experiment"] for p in spec["points"]]
        for protocol in protocols:
            for head in heads_in(runs, [spec["base"]] + names):
                chosen, val_means = select(runs, names, protocol, head)
                base_test = paired.ok_values(runs, spec["base"], protocol, head)
                _, base_val = select(runs, [spec["base"]], protocol, head)
                for p in pts:
                    e = p["experiment"]
                    test = paired.ok_values(runs, e, protocol, head)
                    t_mean, t_lo, t_hi, n = _interval(test)
                    g_mean, g_lo, g_hi, _ = _interval(_gaps(runs, e, protocol, head))
                    is_base = p["value"] is None
                    d = (paired.t_interval([]) if is_base else
                         paired.t_interval(paired.paired_differences(test, base_test)))
                    rows.append({
                        "sweep": name, "vary": spec["vary"], "dataset": spec["dataset"],
                        "protocol": protocol, "head": head, "experiment": e,
                        "value": p["label"], "is_base": is_base, "chosen": e == chosen,
                        "n": n, "val_mean": (base_val if is_base else val_means).get(e, math.nan),
                        "test_mean": t_mean, "test_lo": t_lo, "test_hi": t_hi,
                        "gap_mean": g_mean, "gap_lo": g_lo, "gap_hi": g_hi,
                        "diff": d.mean, "diff_lo": d.lo, "diff_hi": d.hi, "diff_p": d.p,
                        "pairs": d.n})
    return pd.DataFrame(rows)


def with_ci(mean, lo, hi, sign=False):
    """'57.2 [54.1, 60.3]'; the mean alone without an interval (one seed)."""
    if not math.isfinite(mean):
        return "-"
    ci = f" [{fmt_num(lo, 1, sign)}, {fmt_num(hi, 1, sign)}]" if math.isfinite(lo) else ""
    return fmt_num(mean, 1, sign) + ci


def selection_table(points):
    """The chosen value of every sweep x protocol x head, against the base."""
    rows = []
    for (name, protocol, head), g in points.groupby(["sweep", "protocol", "head"], sort=False):
        base = g[g["is_base"]].iloc[0]
        ch = g[g["chosen"]]
        c = ch.iloc[0] if len(ch) else None
        rows.append({
            "sweep": name, "protocol": protocol, **({"head": head} if head != "acc" else {}),
            "varied": g["vary"].iloc[0],
            "chosen value": c["value"] if c is not None else "-",
            "val acc %": fmt_num(c["val_mean"]) if c is not None else "-",
            "test acc % [95% CI]": with_ci(c["test_mean"], c["test_lo"], c["test_hi"])
            if c is not None else "-",
            "base test acc %": with_ci(base["test_mean"], base["test_lo"], base["test_hi"]),
            "chosen - base (pts) [95% CI]": with_ci(c["diff"], c["diff_lo"], c["diff_hi"], True)
            if c is not None else "-",
            "p": "-" if c is None or not math.isfinite(c["diff_p"]) else f"{c['diff_p']:.3f}",
            "pairs": int(c["pairs"]) if c is not None else 0})
    return pd.DataFrame(rows)


def detail_table(g):
    """Every point of one sweep x protocol x head."""
    return pd.DataFrame({
        "value": g["value"], "experiment": g["experiment"], "n": g["n"],
        "val acc %": [fmt_num(v) for v in g["val_mean"]],
        "test acc % [95% CI]": [with_ci(*r) for r in zip(g["test_mean"], g["test_lo"], g["test_hi"])],
        "train - val gap (pts) [95% CI]": [with_ci(*r) for r in zip(g["gap_mean"], g["gap_lo"], g["gap_hi"])],
        "- base (pts) [95% CI]": ["" if b else with_ci(m, lo, hi, True) for b, m, lo, hi in
                                  zip(g["is_base"], g["diff"], g["diff_lo"], g["diff_hi"])],
        "chosen": ["<- chosen" if c else "" for c in g["chosen"]]})


NOTES = [
    "Chosen value: the point with the best mean evaluation-mode accuracy on the whole "
    "validation split at the last epoch (history.csv eval_val_acc); test numbers play no "
    "part in the choice. Its test accuracy is compared with the sweep's base (the "
    "unregularized point) on the same seeds: the mean paired difference, its 95% t interval "
    "(n-1 degrees of freedom) and two-sided p, not adjusted for the sweeps' number.",
    "Test accuracy and gap: mean and 95% t interval over the ok seeds; gap = evaluation-mode "
    "accuracy on the fixed training subset minus on the validation split, last epoch, in "
    "points.",
]


def write_sweep_table(runs, specs, protocols, out_csv, out_md, out_html):
    """results/tables/sweeps.{csv,md,html}; returns the points frame."""
    points = sweep_points(runs, specs, protocols)
    write_csv(points, out_csv)
    sel = selection_table(points) if len(points) else pd.DataFrame()
    title = "Regularization paths: the value chosen on validation"
    md = [f"## {title}", "", to_markdown(sel), *sum(([n, ""] for n in NOTES), [])]
    body = html_table(sel) + html_notes(NOTES)
    for (name, protocol, head), g in points.groupby(["sweep", "protocol", "head"], sort=False):
        h = f"{specs[name]['title']}: {protocol}" + ("" if head == "acc" else f", {head}")
        md += [f"### {h}", "", to_markdown(detail_table(g))]
        body += f"<h3>{html.escape(h)}</h3>" + html_table(detail_table(g))
    write_text(out_md, "\n".join(md))
    write_text(out_html, html_page(title, body))
    return points
