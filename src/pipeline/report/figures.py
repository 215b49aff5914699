"""The study's figures, one of each kind per table:

* ``curves``: evaluation-mode accuracy per epoch on a fixed training subset (solid) and
  the validation split (dashed), and below it the train - validation gap; mean over
  seeds with the min-max band, one panel pair per experiment, one colour per protocol;
* ``histograms``: the weight/kernel histogram as the reference draws it (100 bins,
  density, x in [-0.2, 0.2], y in [0, 20], mu and sigma written on it), one row per
  experiment, one column per protocol (first seed);
* ``predictions``: sample test images with their probability distribution, estimate,
  answer and O/X mark (first seed);
* ``accuracy``: test accuracy per experiment, the seed study beside each protocol's mean
  with one-standard-deviation error bars;
* ``effects``: each experiment's paired difference from the table's baseline with its 95%
  interval and verdict, per protocol and head, from conclusions.csv (the quirk ablation's
  figure: one flipped quirk per row).
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.report.curves import training_curves  # noqa: E402
from pipeline.report.plotting import by_run, color, protocols_of, save  # noqa: E402
from pipeline.analysis.runs import read_summary  # noqa: E402

STUDY_COLOR = "0.55"


# ---------------------------------------------------------------------------------------


def histograms(stats_paths, described, out, title):
    runs = by_run(stats_paths)
    protocols = protocols_of(runs)
    names = [d["experiment"] for d in described]
    fig, axes = plt.subplots(len(names), max(1, len(protocols)),
                             figsize=(4.2 * max(1, len(protocols)), 2.9 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c, p in enumerate(protocols):
            ax = axes[r][c]
            keys = sorted(k for k in runs if k[0] == p and k[1] == name)
            ax.set_xlim(-0.2, 0.2)
            ax.set_ylim(0, 20)
            ax.grid(True)
            ax.set_title(f"{name} - {p}" + (f" (seed {keys[0][2]})" if keys else ""), fontsize=9)
            if not keys:
                ax.text(0.5, 0.5, "no run", transform=ax.transAxes, ha="center")
                continue
            s = json.loads(Path(runs[keys[0]]).read_text())
            h = s.get("histogram")
            if h:
                edges = np.asarray(h["edges"])
                ax.bar(edges[:-1], h["density"], width=np.diff(edges), align="edge",
                       color="green", alpha=0.75)
                if max(h["density"]) > 20:
                    ax.text(-0.19, 18.5, f"peak {max(h['density']):.3g} off scale", fontsize=7)
            if s.get("mean") is not None:
                ax.text(0.08, 15.0, f"mu={s['mean']:5.3f}")
                ax.text(0.08, 13.0, f"sigma={s['std']:5.3f}")
                ax.text(0.08, 11.0, f"near 0: {100 * s['near_zero_frac']:4.1f}%", fontsize=8)
            if s.get("status", "ok") != "ok":
                ax.text(-0.19, 17.5, s["status"], color="red", fontsize=10)
    fig.suptitle(f"{title}: weights and kernels (100 bins, density; x in [-0.2, 0.2])", fontsize=11)
    fig.tight_layout()
    save(fig, out)


def _load_caches(paths):
    """{dataset: Cache} of the data caches (pipeline.data.cache)."""
    from pipeline.data.cache import load_cache

    caches = [load_cache(p) for p in paths]
    return {c.dataset: c for c in caches}


def predictions(prediction_paths, metrics_paths, data_paths, described, out, title, samples=3):
    runs = by_run(prediction_paths)
    mets = {k: json.loads(Path(p).read_text()) for k, p in by_run(metrics_paths).items()}
    caches = _load_caches(data_paths)
    protocols = protocols_of(runs)
    rows = [(d, p) for d in described for p in protocols]
    ncols = 2 * samples
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.3 * ncols, 2.4 * len(rows)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.4] * samples})
    for r, (d, p) in enumerate(rows):
        name = d["experiment"]
        keys = sorted(k for k in runs if k[0] == p and k[1] == name)
        for a in axes[r]:
            a.set_xticks([])
            a.set_yticks([])
        if not keys:
            axes[r][0].text(0.5, 0.5, "no run", ha="center", transform=axes[r][0].transAxes)
            continue
        m = mets.get(keys[0], {})
        with np.load(runs[keys[0]], allow_pickle=False) as z:
            index, prob, y = z["index"], z["prob"], z["y"]
            heads = [str(h) for h in z["heads"]]
            sizes = [int(s) for s in z["head_sizes"]]
        axes[r][0].set_ylabel(f"{name}\n{p}", fontsize=8)
        if m.get("status", "ok") != "ok" or len(index) == 0:
            axes[r][0].text(0.5, 0.5, m.get("status", "no predictions"), color="red",
                            ha="center", transform=axes[r][0].transAxes)
            continue
        cache = caches.get(m.get("dataset") or d.get("dataset"))
        starts = np.cumsum([0] + sizes)
        for s in range(min(samples, len(index))):
            img_ax, bar_ax = axes[r][2 * s], axes[r][2 * s + 1]
            if cache is not None:
                img_ax.imshow(cache["x"][index[s]].astype(np.uint8))
            names_of = cache.names if cache is not None else []
            marks = []
            xpos = 0
            for k, (head, size) in enumerate(zip(heads, sizes)):
                pk = prob[s, starts[k]:starts[k + 1]]
                est, ans = int(pk.argmax()), int(y[s, k])
                ok = est == ans
                colors = ["0.7"] * size
                colors[est] = "tab:green" if ok else "tab:red"
                xs = np.arange(size) + xpos
                bar_ax.bar(xs, pk, color=colors, width=0.8)
                bar_ax.plot([xpos + ans], [min(1.0, pk[ans] + 0.06)], "v", color="black", ms=4)
                xpos += size + 1
                names = names_of[k] if k < len(names_of) else []
                est_n = names[est] if est < len(names) else str(est)
                ans_n = names[ans] if ans < len(names) else str(ans)
                marks.append(f"{est_n[:10]}:{ans_n[:10]} {'O' if ok else 'X'}")
            bar_ax.set_ylim(0, 1.1)
            bar_ax.set_title("\n".join(marks), fontsize=7)
            img_ax.set_title(f"test #{int(index[s])}", fontsize=7)
    fig.suptitle(f"{title}: sample test predictions (first seed): estimate:answer O/X; bars = "
                 "probabilities, green/red = estimate right/wrong, triangle = answer", fontsize=10)
    fig.tight_layout()
    save(fig, out)


def accuracy_chart(summary_csv, described, protocols, out, title):
    """Test accuracy of the experiments `described`, from summary.csv (tables)."""
    names = [d["experiment"] for d in described]
    summary = read_summary(summary_csv)
    summary = summary[summary["experiment"].isin(names)]
    S = summary.set_index(["experiment", "protocol"])
    dual = any(d.get("dataset") == "office31" for d in described) or any(
        c == "acc_domain_mean" and summary[c].notna().any() for c in summary.columns)
    panels = [("acc_domain", "accuracy_domain", "domain"), ("acc_object", "accuracy_object", "object")] \
        if dual else [("acc", "accuracy", "")]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6, 1.2 * len(names) + 2) * len(panels), 4.2),
                             squeeze=False)
    width = 0.8 / (1 + len(protocols))
    x = np.arange(len(names))
    for ax, (col, skey, head) in zip(axes[0], panels):
        study = [(d.get("seed_study") or {}).get(skey, np.nan) for d in described]
        ax.bar(x - 0.4 + width / 2, study, width, color=STUDY_COLOR, label="seed study (1 run)")
        for i, p in enumerate(protocols):
            means, stds, labels = [], [], []
            for n in names:
                r = S.loc[(n, p)] if (n, p) in S.index else None
                if r is None:
                    means.append(np.nan)
                    stds.append(0)
                    labels.append("")
                    continue
                means.append(100 * r[f"{col}_mean"] if pd.notna(r.get(f"{col}_mean")) else np.nan)
                stds.append(100 * r[f"{col}_std"] if pd.notna(r.get(f"{col}_std")) else 0)
                note = r.get("not_ok")
                labels.append(note if isinstance(note, str) else "")
            xs = x - 0.4 + width * (i + 1.5)
            ax.bar(xs, means, width, yerr=stds, capsize=3, color=color(p, i),
                   label=f"{p} (mean ± std over seeds)")
            for xx, m, lab in zip(xs, means, labels):
                if lab:
                    ax.text(xx, (0 if np.isnan(m) else m) + 2, lab, rotation=90, ha="center",
                            va="bottom", fontsize=7, color="red")
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("test accuracy %" + (f" ({head})" if head else ""))
        ax.set_ylim(0, 105)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7)
        if head:
            ax.set_title(head)
    fig.suptitle(f"{title}: test accuracy", fontsize=11)
    fig.tight_layout()
    save(fig, out)


HEAD_TITLE = {"acc": "", "acc_domain": "domain", "acc_object": "object"}


def effects_chart(conclusions_csv, table, protocols, out, title, margin):
    """Paired differences experiment - baseline (points) with their 95% t intervals, one
    row per experiment, one colour per protocol, one panel per head; the equivalence
    margin shaded around 0 and each verdict written at the right. From conclusions.csv."""
    c = read_conclusions(conclusions_csv)
    c = c[c["table"] == table]
    heads = [h for h in HEAD_TITLE if h in set(c["head"])] or ["acc"]
    names = list(dict.fromkeys(c["experiment"]))
    fig, axes = plt.subplots(1, len(heads), figsize=(7.5 * len(heads), 1.2 + 0.42 * max(3, len(names))),
                             squeeze=False)
    for ax, head in zip(axes[0], heads):
        effects_panel(ax, c[c["head"] == head], protocols, margin, head=HEAD_TITLE[head])
        if not len(c):
            ax.text(0.5, 0.5, "no comparison: the table has only its baseline", ha="center",
                    transform=ax.transAxes)
        if HEAD_TITLE[head]:
            ax.set_title(HEAD_TITLE[head], loc="right")
    fig.suptitle(f"{title}: effect against the baseline", fontsize=11)
    fig.tight_layout()
    save(fig, out)


CONCLUSION_COLUMNS = ["table", "protocol", "head", "experiment", "baseline", "n", "diff", "lo", "hi",
                      "verdict"]


def read_conclusions(path):
    """conclusions.csv with its verdict strings kept as written (no NA guessing); a study
    without any comparison writes it empty."""
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=CONCLUSION_COLUMNS)


def effects_panel(ax, c, protocols, margin, labels=None, head=""):
    """One head's effects on `ax` from conclusions rows `c` (one table): a row per
    experiment (named by `labels[experiment]` if given), a point and 95% bar per protocol;
    `head` names the head in the axis label (Office-31's domain/object)."""
    names = list(dict.fromkeys(c["experiment"]))
    h = c.set_index(["experiment", "protocol"])
    step = 0.8 / max(1, len(protocols))
    ax.axvspan(-margin, margin, color="0.92", label=f"±{margin:g} points (margin)")
    ax.axvline(0, color="0.4", lw=0.8)
    for i, p in enumerate(protocols):
        ys, xs, los, his = [], [], [], []
        for r, n in enumerate(names):
            if (n, p) not in h.index:
                continue
            row = h.loc[(n, p)]
            y = r - 0.4 + step * (i + 0.5)
            ys.append(y)
            xs.append(row["diff"])
            los.append(row["lo"])
            his.append(row["hi"])
            ax.text(1.01, y, f"{row['verdict']} (n={int(row['n'])})", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=7, color=color(p, i))
        xs, los, his = (np.asarray(v, dtype=float) for v in (xs, los, his))
        err = np.vstack([xs - los, his - xs])
        ax.errorbar(xs, ys, xerr=np.where(np.isfinite(err), err, 0), fmt="o", ms=4, capsize=3,
                    color=color(p, i), label=f"{p} (mean, 95% CI)")
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels([(labels or {}).get(n, n) for n in names], fontsize=8)
    ax.set_ylim(max(1, len(names)) - 0.5, -0.5)
    base = ", ".join(sorted(set(c["baseline"]))) if len(c) else "-"
    ax.set_xlabel(f"test accuracy - {base}, paired by seed (points)" + (f" ({head})" if head else ""))
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
