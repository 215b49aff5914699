"""docs/sweeps.md's tables and quoted numbers from the sweep study's per-run record
(docs/data/sweeps_runs.csv, research/record_runs.py), by the workflow's own sweep code
(pipeline.report.sweep_results: the value chosen on validation, every point against its
base), so a reader can recompute them. Driven by research/results_pages.py.

The page's one pre-declared family: each sweep's value chosen on validation against the
sweep's base (the unregularized network on the same seeds), 18 comparisons, Holm-corrected
together (pipeline.analysis.paired.judge_family). The other points of a path are shown with
their unadjusted 95% intervals as a description of the path, not judged.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.analysis import paired
from pipeline.plan import sweeps
from pipeline.report import status, sweep_figures, sweep_results
from pipeline.report.render import to_markdown
from pipeline.report.sweep_results import with_ci

from page_parts import num, provenance_lines, seed_ranges

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "config" / f for f in ("config.yaml", "study.yaml", "sweeps.yaml")]
PROTOCOL = "corrected"
# The seed study's claims the paths speak to, with the sweeps that bear on each
# (whole split first, then 500 images).
CLAIMS = (
    ("dropout hurts (keep 0.6: -18.0)", ("cnn_dropout", "cnn_dropout_n500")),
    ("noise injection is best (std 0.01: +3.7)", ("cnn_noise", "cnn_noise_n500")),
    ("L2 hurts (MLP, 0.1 and 0.01: -7.9)", ("mlp_l2", "mlp_l2_adamw", "cnn_l2", "cnn_l2_adamw",
                                           "mlp_l2_n500", "mlp_l2_adamw_n500", "cnn_l2_n500",
                                           "cnn_l2_adamw_n500")),
    ("L1 hurts (MLP 0.1: -7.8)", ("mlp_l1", "mlp_l1_adamw", "mlp_l1_n500", "mlp_l1_adamw_n500")),
    ("batch norm costs (-6.5)", ("cnn_bn", "cnn_bn_n500")),
)


def specs(configs=CONFIGS):
    """The sweeps of the study's config, expanded as the workflow expands them."""
    return sweeps.sweep_specs(sweeps.expand_in_place(status.merge_configs(configs)))


def runs_frame(record):
    """The record in runs.csv's form (fractions, *_final columns), what sweep_results reads."""
    r = record.copy()
    r["acc"] = r["acc"] / 100
    return r.rename(columns={"eval_val_acc": "eval_val_acc_final",
                             "eval_train_acc": "eval_train_acc_final"})


def family(pts, runs):
    """One row per sweep: its chosen value against its base, judged as one family
    (pts: sweep_points of `runs`, the record in runs.csv's form)."""
    comps, rows = [], []
    for name, g in pts.groupby("sweep", sort=False):
        base, ch = g[g.is_base].iloc[0], g[g.chosen]
        if not len(ch):
            continue
        c = ch.iloc[0]
        rows.append({"sweep": name, "vary": c.vary, "value": c.value, "val": c.val_mean,
                     "test": (c.test_mean, c.test_lo, c.test_hi),
                     "base": (base.test_mean, base.test_lo, base.test_hi)})
        comps.append({"key": name, "a": _test(runs, c.experiment),
                      "b": _test(runs, base.experiment), "study_diff": None})
    fam = paired.judge_family(comps)
    return pd.concat([pd.DataFrame(rows), fam.drop(columns="key")], axis=1)


def _test(runs, experiment):
    return paired.ok_values(runs, experiment, PROTOCOL, "acc")


def verdict(r):
    """The family's verdict in the page's words (no study direction: a chosen value is
    judged against its base)."""
    if r.verdict.startswith("differs"):
        return "better than the base" if r["diff"] > 0 else "worse than the base"
    return r.verdict


def family_block(fam):
    out = ["| sweep | varied | chosen value | val acc % | test acc % [95% CI] | base test acc % "
           "| chosen - base (pts) [95% CI] | Holm p | verdict | MDE | n |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in fam.iterrows():
        out.append(f"| {r.sweep} | {r.vary} | {r.value} | {r.val:.1f} | {with_ci(*r.test)} | "
                   f"{with_ci(*r.base)} | {with_ci(r['diff'], r.lo, r.hi, True)} | "
                   f"{paired.p_text(r.p_holm)} | {verdict(r)} | {num(r.mde)} | {r.n} |")
    m = int(fam.p.notna().sum())
    out += ["", f"The family: {m} comparisons (each sweep's chosen value against its base), "
                f"Holm-corrected together; MDE: the minimum detectable effect at 80 % power and "
                f"alpha = 0.05 / {m}, in points; \"no effect\": the whole interval inside "
                f"±{paired.MARGIN:.0f} points."]
    return out


def _path(pts, sweep):
    """'keep 0.3 -26.6 [..]; 0.5 ...' of every point but the base."""
    g = pts[(pts.sweep == sweep) & ~pts.is_base]
    return "; ".join(f"{v} {with_ci(d, lo, hi, True)}" for v, d, lo, hi in
                     zip(g.value, g["diff"], g.diff_lo, g.diff_hi))


def answer_block(fam, pts):
    """The study's claims -> the chosen values' verdicts (the family) and the paths
    (every point against its base, unadjusted: a description)."""
    by = fam.set_index("sweep")
    out = ["| the study's claim | sweep | chosen value: verdict, chosen - base [95% CI] | "
           "the path: each value - base [95% CI], unadjusted |", "|---|---|---|---|"]
    for claim, names in CLAIMS:
        for i, name in enumerate(n for n in names if n in by.index):
            r = by.loc[name]
            out.append(f"| {claim if i == 0 else ''} | {name} | {r.value}: {verdict(r)}, "
                       f"{with_ci(r['diff'], r.lo, r.hi, True)} | {_path(pts, name)} |")
    return out


def gap_block(pts, record):
    """The bases' train - validation gap: a regularizer can only help where there is one."""
    images = record.groupby("experiment").n_train.first()
    out = ["| base | training images | test acc % [95% CI] | train - val gap (pts) [95% CI] |",
           "|---|---|---|---|"]
    for _, r in pts[pts.is_base].drop_duplicates("experiment").iterrows():
        out.append(f"| {r.experiment} | {images.get(r.experiment, 0):,.0f} | "
                   f"{with_ci(r.test_mean, r.test_lo, r.test_hi)} | "
                   f"{with_ci(r.gap_mean, r.gap_lo, r.gap_hi)} |")
    return out


def forms_block(pts):
    """L2 and L1 under the two decay forms, strength by strength: the gap each leaves and
    its test accuracy against the base (descriptive)."""
    out = ["| network | penalty | strength | in the gradient: gap, - base | "
           "after Adam: gap, - base |", "|---|---|---|---|---|"]
    for net, pen in (("cnn", "l2"), ("mlp", "l2"), ("mlp", "l1")):
        grad, adam = f"{net}_{pen}", f"{net}_{pen}_adamw"
        g = pts[(pts.sweep == grad) & ~pts.is_base]
        a = pts[(pts.sweep == adam) & ~pts.is_base].set_index("value")
        for _, r in g.iterrows():
            if r.value not in a.index:
                continue
            q = a.loc[r.value]
            out.append(f"| {net.upper() if net == 'mlp' else 'cnn1'} | {pen.upper()} | {r.value} | "
                       f"{r.gap_mean:.1f}, {with_ci(r['diff'], r.diff_lo, r.diff_hi, True)} | "
                       f"{q.gap_mean:.1f}, {with_ci(q['diff'], q.diff_lo, q.diff_hi, True)} |")
    return out


def points_block(pts, specs_):
    """Every point of every sweep (the workflow's detail table)."""
    out = []
    for name, g in pts.groupby("sweep", sort=False):
        out += [f"#### {specs_[name]['title']}", "",
                to_markdown(sweep_results.detail_table(g)).rstrip("\n"), ""]
    return out[:-1]


def runs_block(record, pieces):
    return [f"- **Runs**: {len(record)} ({(record.status == 'ok').sum()} ok), "
            f"{record.experiment.nunique()} experiments (the sweeps' points and bases) x seeds "
            f"{seed_ranges(record.seed.unique())}, `{PROTOCOL}`, "
            f"{', '.join(map(str, sorted(record.epochs.unique())))} epochs, images "
            f"{', '.join(map(str, sorted(record.image_size.unique())))} px from "
            f"`{', '.join(sorted(record.data_copy.unique()))}`."] + provenance_lines(record, pieces)


def paths(record, configs=CONFIGS):
    """(the sweeps' specs, the record in runs.csv's form, every point's statistics)."""
    sp = specs(configs)
    runs = runs_frame(record)
    return sp, runs, sweep_results.sweep_points(runs, sp, [PROTOCOL])


def blocks(record, pieces, configs=CONFIGS):
    sp, runs, pts = paths(record, configs)
    fam = family(pts, runs)
    return {"sweeps-answer": answer_block(fam, pts), "sweeps-family": family_block(fam),
            "sweeps-gaps": gap_block(pts, record), "sweeps-forms": forms_block(pts),
            "sweeps-points": points_block(pts, sp), "sweeps-runs": runs_block(record, pieces)}


def draw_figures(record, figures, configs=CONFIGS):
    """The paths' figures from the record, by the workflow's figure code: one per
    regularizer family (sweeps_flowers_<family>.png)."""
    sp, _, pts = paths(record, configs)
    copy = ", ".join(sorted(record.data_copy.unique()))
    for (dataset, fam), names in sweeps.overview_groups(sp).items():
        sweep_figures.sweep_figure(pts, sp, names, [PROTOCOL],
                                   Path(figures) / f"sweeps_{dataset}_{fam}.png",
                                   f"Regularization paths, {copy}: "
                                   f"{sweep_figures.family_name(fam)}")
