"""Which of the seed study's conclusions hold: paired comparisons with the table's
baseline and tied ranks for every family (table x protocol x head), written as one
self-explanatory page (conclusions.md/.html), a CSV of the numbers, and the one-page
summary that joins the tables and the conclusions.

Statistics come from runs.csv (one value per seed: pairing needs the seeds), through
pipeline.analysis.paired. A table whose data set is a generated stand-in shows its numbers
with "stand-in: not judged" in place of every verdict.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import provenance
from pipeline.atomic import write_text

from pipeline.analysis import paired
from .render import fmt_num, html_page, html_table, to_markdown
from pipeline.analysis.runs import write_csv
from .tables import is_dual

STUDY_KEY = {"acc": "accuracy", "acc_domain": "accuracy_domain", "acc_object": "accuracy_object"}
NOT_JUDGED = "stand-in: not judged"


@dataclass
class Family:
    table: str
    title: str
    protocol: str
    head: str               # summary metric: acc, acc_domain, acc_object
    comparisons: pd.DataFrame
    ranking: dict           # experiment -> rank
    means: dict             # experiment -> mean over its ok seeds (points)
    mde: float
    sd: float
    n: int
    judged: bool


def baseline_of(described):
    """The table's unregularized experiment (regularizer 'none'), else its first."""
    return next((d for d in described if (d.get("regularizer") or "").lower() == "none"),
                described[0])["experiment"]


def heads_of(described):
    return ["acc_domain", "acc_object"] if is_dual(described) else ["acc"]


def _excluded(runs, names, protocol):
    """'e seed 2: diverged' for the runs of these experiments that did not end ok."""
    r = runs[runs["experiment"].isin(names) & (runs["protocol"] == protocol) & (runs["status"] != "ok")]
    return "; ".join(f"{x.experiment} seed {x.seed}: {x.status}" for x in r.itertuples())


def family(runs, table, spec, protocol, head, margin, judged):
    """One table x protocol x head: the comparisons with the baseline (with the runs each
    leaves out), the ranks, each experiment's mean, and the MDE."""
    described = spec["experiments"]
    base = baseline_of(described)
    names = [d["experiment"] for d in described]
    values = {e: paired.ok_values(runs, e, protocol, head) for e in names}
    study = {d["experiment"]: (d.get("seed_study") or {}).get(STUDY_KEY[head]) for d in described}
    comp, ivs = paired.compare_family(values, base, study, margin)
    if len(comp):
        comp["excluded"] = [_excluded(runs, [e, base], protocol) for e in comp["experiment"]]
        if not judged:
            comp["verdict"] = NOT_JUDGED
    sd, n = paired.pooled_sd(ivs)
    means = {e: sum(v.values()) / len(v) for e, v in values.items() if v}
    return Family(table, spec["title"], protocol, head, comp, paired.ranks(values), means,
                  paired.min_detectable_effect(sd, n), sd, n, judged)


def families(runs, tables, protocols, standin=(), margin=paired.MARGIN):
    """Every family of every table. tables: {name: {title, experiments: [described]}};
    standin: the data sets that are generated stand-ins."""
    out = []
    for name, spec in tables.items():
        judged = not any(d.get("dataset") in standin for d in spec["experiments"])
        for p in protocols:
            for head in heads_of(spec["experiments"]):
                out.append(family(runs, name, spec, p, head, margin, judged))
    return out


# ---------------------------------------------------------------------------------------
# the page

HEAD_LABEL = {"acc": "test accuracy", "acc_domain": "domain accuracy", "acc_object": "object accuracy"}


def explanation(margin, seeds):
    """The page's opening: what every column and verdict means."""
    return [
        f"Each experiment is compared with its table's unregularized baseline **on the same "
        f"seeds** (seeds {', '.join(map(str, seeds))}): a seed fixes the split (and under "
        "`corrected` the initialisation and batch order) for every experiment, so the runs "
        "are paired. Per seed: the experiment's test accuracy minus the baseline's, in "
        "percentage points; only seeds where both runs ended ok count (n; the others are "
        "listed as excluded).",
        "**mean diff**: the mean of those differences; **95% CI**: its t interval with n-1 "
        "degrees of freedom; **Holm p**: the two-sided paired t test's p, Holm-adjusted "
        "within each family (one table x protocol x head), so a family has at most a 5% "
        "chance of any false 'holds'/'reversed'. The CI shown is not adjusted: with several "
        "comparisons a CI can miss 0 while Holm p >= 0.05. **seed study diff**: the seed "
        "study's single-run difference of the same two experiments.",
        f"Verdicts: **holds**: Holm p < 0.05 and the seed study's sign; **reversed**: Holm "
        f"p < 0.05 and the opposite sign; **no effect**: not significant and the whole 95% "
        f"CI within ±{margin:g} points (the equivalence margin): any effect is smaller than "
        f"that; **inconclusive**: neither, so the data can neither confirm nor rule out an "
        f"effect of ±{margin:g} points; **{NOT_JUDGED}**: the table's data set is a "
        "generated stand-in, not the real one, so its numbers are shown and not compared "
        "with the seed study.",
        "**MDE** (minimum detectable effect): the smallest true mean difference a family's "
        "test finds with 80% power (two-sided 5%, before Holm, which makes it larger), from "
        "the exact noncentral t distribution with the family's pooled paired SD and its "
        "smallest n. **Rank**: 1 + the number of experiments of the family significantly "
        "better (paired t tests between all pairs, Holm-adjusted p < 0.05): experiments the "
        "data cannot separate share a rank. Runs that did not end ok (diverged, failed) are "
        "left out of every statistic.",
    ]


def _ci(lo, hi):
    return f"[{fmt_num(lo, 1, True)}, {fmt_num(hi, 1, True)}]" if math.isfinite(lo) else "-"


def comparison_table(f, described):
    labels = {d["experiment"]: d.get("regularizer") or "" for d in described}
    c = f.comparisons
    if not len(c):
        return pd.DataFrame()
    return pd.DataFrame({
        "experiment": c["experiment"], "regularizer": [labels.get(e, "") for e in c["experiment"]],
        "n": c["n"], "mean diff (pts)": [fmt_num(x, 1, True) for x in c["diff"]],
        "95% CI": [_ci(lo, hi) for lo, hi in zip(c["lo"], c["hi"])],
        "Holm p": [paired.p_text(p) for p in c["p_holm"]],
        "seed study diff": [fmt_num(x, 1, True) if x is not None else "-" for x in c["study_diff"]],
        "verdict": c["verdict"], "excluded runs": c["excluded"]})


def ranking_text(f):
    """'1: a (57.4), b (57.0); 3: c (42.7)' (mean accuracy in points)."""
    order = sorted(f.ranking, key=lambda e: (f.ranking[e], -f.means.get(e, 0)))
    groups = {}
    for e in order:
        groups.setdefault(f.ranking[e], []).append(f"{e} ({f.means[e]:.1f})")
    return "; ".join(f"{r}: {', '.join(es)}" for r, es in groups.items()) or "-"


def study_order_text(f, described):
    if not f.judged:
        return NOT_JUDGED
    vals = {d["experiment"]: (d.get("seed_study") or {}).get(STUDY_KEY[f.head]) for d in described}
    known = sorted((e for e in vals if vals[e] is not None), key=lambda e: -vals[e])
    return " > ".join(f"{e} ({vals[e]:.1f}, our rank {f.ranking.get(e, '-')})" for e in known) or "-"


def family_lines(f, described):
    head = f"### {f.title}: {f.protocol}, {HEAD_LABEL[f.head]}"
    mde = (f"MDE {f.mde:.1f} points (pooled paired SD {f.sd:.1f} points, n = {f.n})"
           if math.isfinite(f.mde) else "MDE: - (no comparison with 2 or more paired seeds)")
    data = "" if f.judged else " Data: a generated stand-in, so numbers only, no verdicts."
    table = comparison_table(f, described)
    return [head, "", f"Baseline: {baseline_of(described)}. {mde}.{data}", "",
            to_markdown(table) if len(table) else "(no comparison)", "",
            f"Ranking (rank: experiment (mean accuracy %)): {ranking_text(f)}", "",
            f"Seed study's order: {study_order_text(f, described)}", ""]


def conclusions_csv(fams):
    rows = []
    for f in fams:
        for r in f.comparisons.to_dict("records"):
            rows.append({"table": f.table, "protocol": f.protocol, "head": f.head, **r,
                         "rank": f.ranking.get(r["experiment"]),
                         "baseline_rank": f.ranking.get(r["baseline"]),
                         "family_mde": f.mde, "family_sd": f.sd, "family_n": f.n,
                         "judged": f.judged})
    return pd.DataFrame(rows)


def write_conclusions(runs_csv, tables, protocols, seeds, out_md, out_html, out_csv=None,
                      standin=(), margin=paired.MARGIN):
    """The conclusions page (Markdown, HTML) and its numbers (CSV); returns the families."""
    runs = pd.read_csv(runs_csv)
    fams = families(runs, tables, protocols, set(standin), margin)
    intro = explanation(margin, seeds)
    md = ["# Which of the seed study's conclusions hold", "", *sum(([p, ""] for p in intro), [])]
    body = "".join(f"<p>{html.escape(p.replace('**', ''))}</p>" for p in intro)
    for f in fams:
        described = tables[f.table]["experiments"]
        lines = family_lines(f, described)
        md += lines
        body += f"<h3>{html.escape(lines[0][4:])}</h3><p>{html.escape(lines[2])}</p>"
        body += html_table(comparison_table(f, described))
        body += "".join(f"<p>{html.escape(x)}</p>" for x in (lines[6], lines[8]))
    write_text(out_md, "\n".join(md))
    write_text(out_html, html_page("Which of the seed study's conclusions hold", body))
    if out_csv:
        write_csv(conclusions_csv(fams), out_csv)
    return fams


def write_summary(table_mds, conclusions_md, protocols, seeds, engine, settings, out, standin=(),
                  metrics=()):
    """results/summary.md: the settings and the runs' environment (from their `metrics`
    files), every table, then the conclusions."""
    s = json.loads(settings) if isinstance(settings, str) else settings
    tr = s.get("training", {})
    data = {ds: ("generated stand-in" if ds in standin or not s.get(f"{ds}_dir") else s[f"{ds}_dir"])
            for ds in ("flowers", "office31")}
    parts = [
        "# The regularizer study, rerun", "",
        f"- protocols: {', '.join(protocols)}; seeds: {', '.join(map(str, seeds))}",
        f"- engine version: {engine}",
        f"- images {s.get('image_size')}x{s.get('image_size')}; {tr.get('epochs')} epochs, batch size "
        f"{tr.get('batch_size')}, Adam, learning rate {tr.get('learning_rate')}",
        f"- flowers: {data['flowers']}; Office-31: {data['office31']}",
        *provenance.summary_lines(metrics), "",
    ]
    parts += [Path(p).read_text() for p in table_mds]
    concl = Path(conclusions_md).read_text().replace("\n## ", "\n### ")
    parts.append(concl.replace("# Which", "## Which", 1))
    write_text(out, "\n".join(parts))
