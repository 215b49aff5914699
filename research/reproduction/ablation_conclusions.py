"""Which of the study's conclusions does each quirk carry? Reads a finished quirk-ablation
folder (ablation_reference.yaml or ablation_corrected.yaml, see make_ablation.py) and
prints, per quirk, the study's contrasts with that quirk flipped in *both* arms:

* L2 0.1 - plain MLP, L1 0.1 - plain MLP (the study's "L1/L2 hurt the MLP"),
* cnn4 - cnn1 (the study's "batch norm costs a little"),

each as the paired mean difference over the seeds with its 95% t interval and p
(pipeline.analysis.paired), beside the protocol as it is (row "none"). A quirk that cannot
touch an arm leaves that arm at its base (decay touches only the L1/L2 arm, the bn_
quirks only cnn4). It also counts the MLP runs that collapsed to predicting one class.
With --figure, one picture of every flip's effect against its base (from each folder's
results/tables/conclusions.csv): a row of panels per base network, a column per folder.

    python research/reproduction/ablation_conclusions.py studies/ablation_reference \
        studies/ablation_corrected --figure docs/figures/quirk_ablation.png
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from pipeline.engine.protocol import PROTOCOLS, QUIRKS
from pipeline.analysis import paired

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_ablation  # noqa: E402  (beside this file: the bases and which quirk touches which)

CONTRASTS = {   # name -> (experiment base, baseline base), as make_ablation.BASES names them
    "L2 0.1 - MLP": ("mlp_l2", "mlp"),
    "L1 0.1 - MLP": ("mlp_l1", "mlp"),
    "cnn4 - cnn1": ("cnn4", "cnn1"),
}


def read_runs(folder):
    """{experiment: {seed: (accuracy in points, classes predicted)}} of the ok runs."""
    runs = {}
    for m in sorted(Path(folder, "results", "runs").glob("*/abl_*/seed*/metrics.json")):
        meta = json.loads(m.read_text())
        if meta.get("status") != "ok":
            continue
        with np.load(m.with_name("predictions.npz")) as z:
            classes = len(np.unique(z["prob"].argmax(-1)))
        runs.setdefault(meta["experiment"], {})[meta["seed"]] = (100 * meta["test_accuracy"], classes)
    return runs


def arm(runs, base, quirk):
    """The runs of `base` with `quirk` flipped; the base's own where the quirk cannot
    touch that network (make_ablation.touches), none where its runs are missing."""
    if quirk and make_ablation.touches(quirk, *make_ablation.BASES[base]):
        return runs.get(f"abl_{base}_{quirk}", {})
    return runs.get(f"abl_{base}", {})


def figure(folders, out, margin=paired.MARGIN):
    """Every flip against its base: a row per base network, a column per folder."""
    from pipeline.report.figures import effects_panel, plt, read_conclusions, save

    cs = [read_conclusions(Path(f, "results", "tables", "conclusions.csv")) for f in folders]
    bases = list(dict.fromkeys(t.removeprefix("ablation_") for c in cs for t in c["table"]))
    rows = [max(1, max((c["table"] == f"ablation_{b}").sum() for c in cs)) for b in bases]
    fig, axes = plt.subplots(len(bases), len(cs), figsize=(7.5 * len(cs), 0.45 * sum(rows) + 1.6 * len(bases)),
                             squeeze=False, sharex=True, gridspec_kw={"height_ratios": rows})
    for col, c in enumerate(cs):
        protocol = c["protocol"].iloc[0]
        other = 1 - PROTOCOLS.index(protocol)       # the column of the value flipped to
        for r, b in enumerate(bases):
            t = c[c["table"] == f"ablation_{b}"]
            labels = {e: f"{q} = {QUIRKS[q][other]}" for e in t["experiment"]
                      if (q := e.removeprefix(f"abl_{b}_")) in QUIRKS}
            ax = axes[r][col]
            effects_panel(ax, t, [protocol], margin, labels)
            # the first row's legend sits on top of its panels: its title goes above it
            ax.set_title(f"{b} under {protocol}", fontsize=9, loc="right", pad=18 if r == 0 else 6)
            ax.xaxis.set_tick_params(labelbottom=True)
            if r:
                ax.get_legend().remove()
    fig.suptitle("Quirk ablation: test accuracy with one quirk set to the other protocol's value, "
                 "minus its base network's, paired by seed", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    save(fig, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="the ablations' working folders (snakemake -d)")
    ap.add_argument("--figure", help="also draw every flip's effect into this PNG")
    args = ap.parse_args(argv)
    for folder in args.folders:
        print(f"{folder}:")
        contrasts(folder)
    if args.figure:
        figure(args.folders, args.figure)


def contrasts(folder):
    """The contrast table of one ablation folder."""
    runs = read_runs(folder)
    if not runs:
        raise SystemExit(f"{folder}: no finished ablation runs under results/runs")
    bases = {b for pair in CONTRASTS.values() for b in pair}
    quirks = [q for q in QUIRKS if any(make_ablation.touches(q, *make_ablation.BASES[b]) for b in bases)]
    print("| quirk flipped | " + " | ".join(CONTRASTS) + " | MLP runs collapsed (plain, L2, L1) |")
    print("|---|" + "---|" * (len(CONTRASTS) + 1))
    for q in [None, *quirks]:
        cells = []
        for a, b in CONTRASTS.values():
            x, y = arm(runs, a, q), arm(runs, b, q)
            d = paired.paired_differences({s: v[0] for s, v in x.items()},
                                          {s: v[0] for s, v in y.items()})
            cells.append(paired.interval_text(paired.t_interval(d)))
        collapsed = [arm(runs, base, q) for base in ("mlp", "mlp_l2", "mlp_l1")]
        cells.append(", ".join(f"{sum(c == 1 for _, c in r.values())}/{len(r)}" for r in collapsed))
        print(f"| {q or 'none'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
