"""The results pages' tables and quoted numbers, computed from the per-run records in
docs/data/ (research/record_runs.py), so that every number a page states can be
recomputed by a reader.

A page holds blocks between `<!-- generated: NAME -->` and `<!-- end: NAME -->`; this
script rewrites each block from the records and leaves the rest of the page alone.

    python research/results_pages.py            # rewrite the blocks
    python research/results_pages.py --check    # exit 1 if a page disagrees with its data

docs/sweeps.md: the regularization paths (docs/data/sweeps_runs.csv, research/sweeps_page.py).

docs/results.md: the seed study's flowers matrix on `flowers-sharp` (docs/data/
sharp_study.csv, config/sharp.yaml). Its one pre-declared family is every comparison
the page judges: under each protocol, each MLP variant (L1 and L2 at the study's two
strengths, each under both decay forms) against the plain MLP and each regularized CNN
against cnn1, 22 comparisons, Holm-corrected together (pipeline.analysis.paired.judge_family).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from pipeline.analysis import paired
from pipeline.plan.config_check import load_yaml_strict

import sweeps_page
from page_parts import num, provenance_lines, read, seed_ranges

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data"
PROTOCOLS = ("reference", "corrected")
MLP, CNN = "flowers_mlp", "flowers_cnn1"
MLP_VARIANTS = [f"flowers_mlp_{r}_{s}_{form}" for r in ("l2", "l1") for s in ("0.1", "0.01")
                for form in ("adamw", "lossgrad")]
CNN_VARIANTS = ["flowers_cnn2", "flowers_cnn3", "flowers_cnn4"]
FORM = {"adamw": "after Adam", "lossgrad": "in the gradient"}
CLAIM = {"l2": "L2 {s} against the plain MLP", "l1": "L1 {s} against the plain MLP",
         "flowers_cnn2": "dropout (keep 0.6) hurts the CNN",
         "flowers_cnn3": "noise N(0, 0.01) helps the CNN (the study: best)",
         "flowers_cnn4": "batch norm hurts the CNN"}


def experiments():
    """{experiment: its config} of config/config.yaml merged with config/sharp.yaml."""
    exps = dict(load_yaml_strict(ROOT / "config" / "config.yaml")["experiments"])
    exps.update(load_yaml_strict(ROOT / "config" / "sharp.yaml")["experiments"])
    return exps


def study_accuracy(exps, name):
    """The seed study's single-run accuracy of an experiment; an in-gradient variant
    takes its after-Adam twin's (the study ran one form, its claim is about the penalty)."""
    ss = (exps.get(name) or {}).get("seed_study") or \
        (exps.get(name.replace("_lossgrad", "_adamw")) or {}).get("seed_study") or {}
    return ss.get("accuracy")


def values(runs, protocol, experiment):
    r = runs[(runs.protocol == protocol) & (runs.experiment == experiment) & (runs.status == "ok")]
    return dict(zip(r.seed.astype(int), r.acc.astype(float)))


def family(runs, exps):
    """The page's family: one row per comparison, judged together."""
    comps = []
    for protocol in PROTOCOLS:
        for base, variants in ((MLP, MLP_VARIANTS), (CNN, CNN_VARIANTS)):
            for e in variants:
                sa, sb = study_accuracy(exps, e), study_accuracy(exps, base)
                comps.append({"key": (protocol, e, base), "a": values(runs, protocol, e),
                              "b": values(runs, protocol, base),
                              "study_diff": None if sa is None or sb is None else sa - sb})
    rows = paired.judge_family(comps)
    rows[["protocol", "experiment", "baseline"]] = pd.DataFrame(rows.pop("key").tolist())
    return rows


def label(e):
    m = re.fullmatch(r"flowers_mlp_(l[12])_([\d.]+)_(\w+)", e)
    if m:
        return f"{m[1].upper()} {m[2]}, {FORM[m[3]]}"
    return {"flowers_cnn2": "cnn2 (dropout)", "flowers_cnn3": "cnn3 (noise)",
            "flowers_cnn4": "cnn4 (batch norm)", MLP: "MLP", CNN: "cnn1"}.get(e, e)


def claim(e):
    m = re.fullmatch(r"flowers_mlp_(l[12])_([\d.]+)_(\w+)", e)
    return CLAIM[m[1]].format(s=m[2]) if m else CLAIM[e]


def _iv(r):
    if r.n < 2:
        return "-"
    return f"{r['diff']:+.1f} [{r.lo:+.1f}, {r.hi:+.1f}]"


def answer_block(fam):
    """The claim -> verdict per protocol -> effect and interval table."""
    out = ["| the study's claim | variant | study's run | reference: verdict, effect [95% CI] "
           "| corrected: verdict, effect [95% CI] |", "|---|---|---|---|---|"]
    for e in MLP_VARIANTS + CNN_VARIANTS:
        rows = {r.protocol: r for _, r in fam[fam.experiment == e].iterrows()}
        ref, cor = rows["reference"], rows["corrected"]
        sd = ref.study_diff
        study = "-" if sd is None or pd.isna(sd) else f"{sd:+.1f}"
        out.append(f"| {claim(e)} | {label(e)} | {study} | {ref.verdict}, {_iv(ref)} "
                   f"| {cor.verdict}, {_iv(cor)} |")
    return out


def family_block(fam):
    out = ["| protocol | variant | against | n | difference [95% CI] | Holm p | verdict | "
           "MDE | one run: 95% prediction interval | the study's run |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in fam.iterrows():
        pi = "-" if r.n < 2 else f"[{r.pred_lo:+.1f}, {r.pred_hi:+.1f}]"
        sd = "-" if r.study_diff is None or pd.isna(r.study_diff) else \
            f"{r.study_diff:+.1f}: {r.study}"
        out.append(f"| {r.protocol} | {label(r.experiment)} | {label(r.baseline)} | {r.n} | "
                   f"{_iv(r)} | {paired.p_text(r.p_holm)} | {r.verdict} | {num(r.mde)} | {pi} | "
                   f"{sd} |")
    return out


def means_block(runs, exps):
    out = ["| experiment | the study | reference: mean ± SD (n) | corrected: mean ± SD (n) |",
           "|---|---|---|---|"]
    for e in [MLP] + MLP_VARIANTS + [CNN] + CNN_VARIANTS:
        cells = []
        for p in PROTOCOLS:
            v = pd.Series(values(runs, p, e), dtype=float)
            cells.append(f"{v.mean():.1f} ± {v.std(ddof=1):.1f} ({len(v)})" if len(v) > 1
                         else "-")
        s = study_accuracy(exps, e) if "_lossgrad" not in e else None
        out.append(f"| {label(e)} | {'-' if s is None else s} | {cells[0]} | {cells[1]} |")
    return out


def collapse_block(runs):
    """MLP runs that predict one class for every test image, per experiment: each seed is
    an independent draw of that experiment's initial weights. The variants of one
    protocol and seed share the plain MLP's initial weights, so the rows are not
    independent of each other and are not added up."""
    out = ["| experiment | reference: collapsed of runs [95% CI] | corrected |", "|---|---|---|"]
    mlps = [MLP] + MLP_VARIANTS
    ok = runs[(runs.status == "ok") & runs.experiment.isin(mlps)]
    for e in mlps:
        cells = []
        for p in PROTOCOLS:
            r = ok[(ok.protocol == p) & (ok.experiment == e)]
            cells.append(_rate(int(r.one_class.astype(bool).sum()), len(r)))
        out.append(f"| {label(e)} | {cells[0]} | {cells[1]} |")
    return out


def _rate(k, n):
    if n == 0:
        return "-"
    _, lo, hi = paired.rate_interval(k, n)
    return f"{k} of {n} [{100 * lo:.0f}-{100 * hi:.0f} %]"


def runs_block(runs, pieces):
    """What the record holds: the seeds that share one design (the same experiments and
    protocols) together, then the kernels and each piece's command."""
    design = runs.groupby("seed").apply(
        lambda g: (tuple(sorted(g.protocol.unique())), g.experiment.nunique()),
        include_groups=False)
    parts = [f"seeds {seed_ranges(s for s, v in design.items() if v == (protocols, n))}: "
             f"{n} experiments x {' and '.join(protocols)}"
             for protocols, n in dict.fromkeys(design)]
    out = [f"- **Runs**: {len(runs)} ({(runs.status == 'ok').sum()} ok); " + "; ".join(parts)
           + f"; images {', '.join(map(str, sorted(runs.image_size.unique())))} px "
           f"from `{', '.join(sorted(runs.data_copy.unique()))}`."]
    return out + provenance_lines(runs, pieces)


TARGET_MDE = 2.5       # points: what every corrected CNN comparison is to reach


def seeds_needed(sd, alpha, target=TARGET_MDE, most=400):
    """Paired seeds for an MDE of `target` at this paired SD (None beyond `most`)."""
    if not sd > 0:
        return None
    return next((n for n in range(2, most + 1)
                 if paired.min_detectable_effect(sd, n, alpha=alpha) <= target), None)


def power_block(fam):
    """The quoted power numbers: the family's size, its MDEs per group, and the seeds
    each corrected CNN comparison needs for an MDE of TARGET_MDE at its SD so far."""
    m = int(fam.p.notna().sum())
    out = [f"- The family: **{m} comparisons**, Holm-corrected together; each MDE is at "
           f"alpha = 0.05 / {m}, the threshold of Holm's first step (80 % power)."]
    for p in PROTOCOLS:
        for name, group in (("MLP", MLP_VARIANTS), ("CNN", CNN_VARIANTS)):
            r = fam[(fam.protocol == p) & fam.experiment.isin(group)]
            mde = r.mde.dropna()
            if len(mde):
                out.append(f"- {p} {name}: MDE {mde.min():.1f}-{mde.max():.1f} points "
                           f"(n = {r.n.min()}-{r.n.max()} paired seeds).")
    r = fam[(fam.protocol == "corrected") & fam.experiment.isin(CNN_VARIANTS)]
    need = []
    for _, c in r.iterrows():
        n = seeds_needed(c.sd, 0.05 / max(m, 1))
        need.append(f"{label(c.experiment)} needs {'more than 400' if n is None else n}, "
                    f"has {c.n} (paired SD {c.sd:.1f})")
    if need:
        out.append(f"- Paired seeds each `corrected` CNN comparison needs for an MDE of "
                   f"{TARGET_MDE} points at its measured paired SD: " + "; ".join(need) + ".")
    return out


SENSITIVITY = (MLP, CNN, "flowers_cnn2")


def sensitivity_block(sharp, blurred, pieces):
    """The same seeds on the 128x128 copy (`flowers`) and on flowers-sharp: each side's
    mean and the paired difference sharp - 128x128 with its 95% interval (not part of
    the page's family: a description of the data's effect, not a verdict)."""
    out = ["| protocol | experiment | seeds | `flowers` (128x128) | `flowers-sharp` | "
           "sharp - 128x128 [95% CI] | collapsed runs, 128x128 / sharp |",
           "|---|---|---|---|---|---|---|"]
    for p in PROTOCOLS:
        for e in SENSITIVITY:
            a, b = values(sharp, p, e), values(blurred, p, e)
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            _, mb, ma, iv = _paired(a, b)
            ca = sum(bool(x) for x in sharp[(sharp.protocol == p) & (sharp.experiment == e)
                                            & sharp.seed.isin(seeds)].one_class)
            cb = sum(bool(x) for x in blurred[(blurred.protocol == p) & (blurred.experiment == e)
                                              & blurred.seed.isin(seeds)].one_class)
            out.append(f"| {p} | {label(e)} | {seeds[0]}-{seeds[-1]} ({len(seeds)}) | "
                       f"{mb:.1f} | {ma:.1f} | {iv.mean:+.1f} [{iv.lo:+.1f}, {iv.hi:+.1f}] | "
                       f"{cb} / {ca} |")
    return out + _made_by(pieces, "`flowers` runs")


def _paired(a, b):
    """(seeds both {seed: value} hold, mean of b, mean of a, Interval of a - b) there."""
    seeds = sorted(set(a) & set(b))
    return (seeds, sum(b[s] for s in seeds) / len(seeds), sum(a[s] for s in seeds) / len(seeds),
            paired.t_interval(paired.paired_differences(a, b)))


def _made_by(pieces, what):
    return [f"\n{what}: commit `{q.commit}`, {q.wall_minutes:.0f} min wall on 2 cores "
            f"({q.load}): `{q.command}`" for _, q in pieces.iterrows()]


def budget_block(runs, pieces):
    """The epoch budget path: cnn1 and cnn2 (dropout 0.6) test accuracy after each
    measured epoch, and the paired difference cnn2 - cnn1 with its 95% interval (the
    budget's own question, outside the page's family)."""
    epochs = sorted(int(c[len("acc_at_"):]) for c in runs.columns if c.startswith("acc_at_"))
    out = ["| epochs | cnn1 | cnn2 (dropout 0.6) | cnn2 - cnn1 [95% CI] | seeds |",
           "|---|---|---|---|---|"]
    ok = runs[runs.status == "ok"]
    for e in epochs:
        col = f"acc_at_{e}"
        a = dict(zip(ok[ok.experiment == "flowers_cnn2_budget"].seed,
                     ok[ok.experiment == "flowers_cnn2_budget"][col]))
        b = dict(zip(ok[ok.experiment == "flowers_cnn1_budget"].seed,
                     ok[ok.experiment == "flowers_cnn1_budget"][col]))
        seeds, mb, ma, iv = _paired(a, b)
        out.append(f"| {e} | {mb:.1f} | {ma:.1f} | "
                   f"{iv.mean:+.1f} [{iv.lo:+.1f}, {iv.hi:+.1f}] | {len(seeds)} |")
    return out + _made_by(pieces, "Runs")


def results_blocks():
    runs = read(DATA / "sharp_study.csv")
    pieces = read(DATA / "sharp_study_pieces.csv")
    exps = experiments()
    fam = family(runs, exps)
    blocks = {"answer": answer_block(fam), "family": family_block(fam),
              "means": means_block(runs, exps), "collapse": collapse_block(runs),
              "runs": runs_block(runs, pieces), "power": power_block(fam)}
    if (DATA / "flowers128_runs.csv").exists():
        blocks["sensitivity"] = sensitivity_block(
            runs, read(DATA / "flowers128_runs.csv"), read(DATA / "flowers128_pieces.csv"))
    if (DATA / "budget_runs.csv").exists():
        blocks["budget"] = budget_block(read(DATA / "budget_runs.csv"),
                                        read(DATA / "budget_pieces.csv"))
    return blocks


def sweeps_blocks():
    return sweeps_page.blocks(read(DATA / "sweeps_runs.csv"), read(DATA / "sweeps_pieces.csv"))


PAGES = {ROOT / "docs" / "results.md": results_blocks, ROOT / "docs" / "sweeps.md": sweeps_blocks}
FIGURES = ROOT / "docs" / "figures"


def draw_figures():
    """docs/results.md's accuracy figures from the record, by the workflow's own chart
    (pipeline.report.figures.accuracy_chart: the study's run beside each protocol's mean
    and SD over seeds)."""
    import tempfile

    from pipeline.report.figures import accuracy_chart

    runs, exps = read(DATA / "sharp_study.csv"), experiments()
    ok = runs[runs.status == "ok"]
    summary = (ok.assign(acc=ok.acc / 100).groupby(["experiment", "protocol"]).acc
               .agg(acc_mean="mean", acc_std="std").reset_index().assign(not_ok=""))
    for name, names, title in (
            ("accuracy_table2_flowers_cnn.png", [CNN, *CNN_VARIANTS],
             "flowers-sharp, CNN: dropout, noise, batch norm"),
            ("accuracy_table1_flowers_mlp.png", [MLP, *MLP_VARIANTS],
             "flowers-sharp, MLP [30,10]: L2 and L1 under both decay forms")):
        described = [{"experiment": e, "dataset": "flowers",
                      "seed_study": {"accuracy": study_accuracy(exps, e)}
                      if "_lossgrad" not in e else {}} for e in names]
        with tempfile.TemporaryDirectory() as tmp:
            summary.to_csv(f"{tmp}/summary.csv", index=False)
            accuracy_chart(f"{tmp}/summary.csv", described, list(PROTOCOLS),
                           FIGURES / name, title)
BLOCK = re.compile(r"(<!-- generated: (\S+) -->\n)(.*?)(<!-- end: \2 -->)", re.S)


def render(text, blocks):
    """`text` with every generated block replaced; a block the page names that the
    generator does not make is an error."""
    def sub(m):
        name = m.group(2)
        if name not in blocks:
            raise KeyError(f"the page has a block {name!r} that nothing generates")
        return m.group(1) + "\n".join(blocks[name]) + "\n" + m.group(4)
    return BLOCK.sub(sub, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="change nothing; exit 1 if a page differs from its data")
    ap.add_argument("--figures", action="store_true",
                    help="also redraw the pages' accuracy figures from the records")
    args = ap.parse_args(argv)
    stale = []
    for page, make in PAGES.items():
        text = page.read_text()
        new = render(text, make())
        if new != text:
            stale.append(page)
            if not args.check:
                page.write_text(new)
    for page in stale:
        print(f"{page.relative_to(ROOT)}: {'differs from its data' if args.check else 'rewritten'}")
    if args.figures and not args.check:
        draw_figures()
        sweeps_page.draw_figures(read(DATA / "sweeps_runs.csv"), FIGURES)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
