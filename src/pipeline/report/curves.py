"""The training-curve figure of a table: evaluation-mode accuracy on the fixed training
subset and on the validation split per epoch, and their gap, from the history columns
eval_* (pipeline.train.run), mean over seeds with the min-max band."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from pipeline.report.plotting import by_run, color, grid, protocols_of, save  # noqa: E402
from pipeline.analysis.runs import head_sort_key  # noqa: E402


def _curve_runs(history_paths, metrics_paths, name, protocol):
    """One experiment's histories under one protocol, concatenated with a seed column,
    and a note for every run that did not end ok."""
    status = {k: json.loads(Path(p).read_text()).get("status", "ok")
              for k, p in by_run(metrics_paths).items()}
    frames, notes = [], []
    for key, path in sorted(by_run(history_paths).items(), key=lambda kv: str(kv[0])):
        if key[:2] != (protocol, name):
            continue
        h = pd.read_csv(path)
        h["seed"] = key[2]
        frames.append(h)
        if status.get(key, "ok") != "ok":
            notes.append(f"{protocol} seed {key[2]}: {status[key]}")
    return (pd.concat(frames, ignore_index=True) if frames else None), notes


def _eval_heads(h):
    """[(train column, validation column, head label)] of the evaluation-mode accuracy."""
    if "eval_train_acc" in h.columns:
        return [("eval_train_acc", "eval_val_acc", "")]
    heads = [c[len("eval_train_acc_"):] for c in h.columns if c.startswith("eval_train_acc_")]
    heads.sort(key=head_sort_key)
    return [(f"eval_train_acc_{hd}", f"eval_val_acc_{hd}", hd) for hd in heads]


def _mean_band(ax, epochs_values, style, color, alpha, label, marker=None):
    """Mean over seeds per epoch as a line, min..max as a band; returns the mean."""
    g = epochs_values.groupby(level=0)
    mean, lo, hi = g.mean(), g.min(), g.max()
    ax.plot(mean.index, mean.values, style, color=color, alpha=alpha, marker=marker, ms=3,
            label=label)
    ax.fill_between(mean.index, lo.values, hi.values, color=color, alpha=0.12 * alpha, lw=0)
    return mean


def _curve_panels(acc_ax, gap_ax, h, protocol, color):
    """Accuracy (train solid, validation dashed) and the gap train - validation of one
    protocol's runs, all from the evaluation-mode columns. Returns {head: mean gap per
    epoch}."""
    series, gaps = _eval_heads(h), {}
    for j, (tr, va, hd) in enumerate(series):
        alpha = 1.0 if j == len(series) - 1 else 0.45
        marker = "o" if hd == "domain" else None
        suffix = f" ({hd})" if hd else ""
        by_epoch = h.set_index("epoch")
        _mean_band(acc_ax, by_epoch[tr], "-", color, alpha, f"{protocol} train{suffix}", marker)
        _mean_band(acc_ax, by_epoch[va], "--", color, alpha, f"{protocol} val{suffix}", marker)
        gaps[hd] = _mean_band(gap_ax, by_epoch[tr] - by_epoch[va], "-", color, alpha,
                              f"{protocol}{suffix}", marker)
    return gaps


def _style_curve_axes(acc_ax, gap_ax, name, notes):
    acc_ax.set_title(name, fontsize=10)
    acc_ax.set_ylabel("accuracy (eval mode)")
    acc_ax.set_ylim(0, 1)
    gap_ax.set_ylabel("train - val")
    gap_ax.set_xlabel("epoch")
    gap_ax.axhline(0, color="0.3", lw=0.8)
    if acc_ax.get_legend_handles_labels()[0]:
        acc_ax.legend(fontsize=6, loc="upper left")
    for ax in (acc_ax, gap_ax):
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if notes:
        acc_ax.text(0.02, 0.02, "\n".join(notes[:4]), transform=acc_ax.transAxes, fontsize=7,
                    color="red", va="bottom")


def training_curves(history_paths, metrics_paths, described, out, title):
    """Per experiment: evaluation-mode accuracy on the fixed training subset (solid) and
    the whole validation split (dashed), and below it their gap. These columns are
    measured alike for both protocols, unlike the reported train_acc (training mode,
    before each update) and the reference's 100-image validation. Returns the gaps drawn,
    {(experiment, protocol, head): mean train - validation accuracy per epoch}."""
    protocols = protocols_of(by_run(history_paths))
    names = [d["experiment"] for d in described]
    nrows, ncols = grid(len(names), 3)
    fig, axes = plt.subplots(2 * nrows, ncols, figsize=(4.6 * ncols, 4.6 * nrows), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1] * nrows})
    gaps = {}
    for k, name in enumerate(names):
        acc_ax, gap_ax = axes[2 * (k // ncols)][k % ncols], axes[2 * (k // ncols) + 1][k % ncols]
        notes = []
        for i, p in enumerate(protocols):
            h, run_notes = _curve_runs(history_paths, metrics_paths, name, p)
            notes += run_notes
            if h is None:
                continue
            drawn = _curve_panels(acc_ax, gap_ax, h, p, color(p, i))
            gaps.update({(name, p, hd): g for hd, g in drawn.items()})
            if not drawn:
                notes.append(f"{p}: no evaluation-mode columns (runs predate them)")
        _style_curve_axes(acc_ax, gap_ax, name, notes)
    for k in range(len(names), nrows * ncols):
        axes[2 * (k // ncols)][k % ncols].axis("off")
        axes[2 * (k // ncols) + 1][k % ncols].axis("off")
    fig.suptitle(f"{title}: evaluation-mode training curves (fixed training subset solid, "
                 "validation dashed; below: their gap; mean over seeds, band min-max)", fontsize=11)
    fig.tight_layout()
    save(fig, out)
    return gaps
