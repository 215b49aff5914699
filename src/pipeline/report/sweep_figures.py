"""The sweeps' figures: per sweep, test accuracy and the train-validation gap against the
swept value (mean and 95% interval over seeds, one colour per protocol), the base as a
band (its mean and 95% interval), the value chosen on validation marked with a star; a
log axis where the values span decades, category positions where they are not numbers
(e.g. nets). One figure holds one sweep, or the sweeps of one data set and regularizer
family side by side (sweeps.overview_groups)."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pipeline.report.plotting import color, grid, save  # noqa: E402

PANELS = (("test", "test accuracy %"), ("gap", "train - val gap (pts)"))
HEAD_STYLE = {"acc": "-", "acc_domain": "-", "acc_object": "--"}
DECADES = 10          # max/min value ratio from which the axis is logarithmic
NCOLS = 4             # sweeps to a row of a figure
PANEL_W, PANEL_H = 3.6, 2.8   # inches a panel (at plotting.DPI); text at FONT points
FONT = 10
FAMILY_NAMES = {"l1": "L1", "l2": "L2", "noise": "noise injection",
                "net": "network (layers on/off)", "train_size": "training-set size",
                "learning_rate": "learning rate", "batch_size": "batch size"}


def family_name(family):
    """A regularizer family (sweeps.family) as a figure title says it."""
    return FAMILY_NAMES.get(family, family)


def positions(values):
    """(x positions, log axis?, tick labels or None) of a sweep's values."""
    try:
        x = [float(v) for v in values]
    except (TypeError, ValueError):
        return list(range(len(values))), False, [str(v) for v in values]
    if not all(map(math.isfinite, x)):
        return list(range(len(values))), False, [str(v) for v in values]
    pos = [v for v in x if v > 0]
    log = len(pos) == len(x) and len(x) > 1 and max(x) / min(x) >= DECADES
    return x, log, None


def _panel(ax, g, spec, protocols, kind, ylabel):
    values = [p["value"] for p in spec["points"]]
    x, log, labels = positions(values)
    xs = dict(zip([p["experiment"] for p in spec["points"]], x))
    for i, protocol in enumerate(protocols):
        gp = g[g["protocol"] == protocol]
        for head, gh in gp.groupby("head", sort=False):
            c, style = color(protocol, i), HEAD_STYLE.get(head, "-")
            base = gh[gh["is_base"]]
            pts = gh[~gh["is_base"]].copy()
            pts["x"] = pts["experiment"].map(xs)
            pts = pts.sort_values("x")
            lab = protocol + ("" if head == "acc" else f" {head[4:]}")
            if len(base) and math.isfinite(base[f"{kind}_mean"].iloc[0]):
                b = base.iloc[0]
                ax.axhline(b[f"{kind}_mean"], color=c, ls=":", lw=1)
                if math.isfinite(b[f"{kind}_lo"]):
                    ax.axhspan(b[f"{kind}_lo"], b[f"{kind}_hi"], color=c, alpha=0.12, lw=0)
            m, lo, hi = (pts[f"{kind}_{s}"].to_numpy(float) for s in ("mean", "lo", "hi"))
            ax.plot(pts["x"], m, style, marker="o", ms=4, color=c, label=lab)
            ok = np.isfinite(lo)
            if ok.sum() == 1:       # one point (e.g. a net on/off): a band has no width
                ax.errorbar(pts["x"][ok], m[ok], yerr=[m[ok] - lo[ok], hi[ok] - m[ok]],
                            fmt="none", color=c, capsize=4)
            elif ok.any():
                ax.fill_between(pts["x"][ok], lo[ok], hi[ok], color=c, alpha=0.2, lw=0)
            ch = pts[pts["chosen"]]
            if len(ch):
                ax.plot(ch["x"], ch[f"{kind}_mean"], "*", ms=13, color=c, mec="k",
                        label=f"{lab}: chosen on validation")
    if log:
        ax.set_xscale("log")
    if labels:
        ax.set_xticks(x, labels)
    ax.set_xlabel(spec["vary"], fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    ax.grid(True, alpha=0.3)


def draw(points, specs, names, protocols, title, ncols=NCOLS):
    """The figure of the sweeps `names` side by side, `ncols` to a row, each a pair of
    panels (test accuracy above the gap), from sweep_results.sweep_points; dotted line and
    band: the base's mean and 95% interval. Constrained layout, so the title and every
    panel's labels keep clear of each other at any number of sweeps."""
    n = max(1, len(names))
    groups, cols = grid(n, ncols)
    fig, axes = plt.subplots(2 * groups, cols, figsize=(PANEL_W * cols, PANEL_H * 2 * groups),
                             squeeze=False, layout="constrained")
    for j, name in enumerate(names):
        g = points[points["sweep"] == name]
        r0, c = 2 * (j // cols), j % cols
        for r, (kind, ylabel) in enumerate(PANELS):
            _panel(axes[r0 + r][c], g, specs[name], protocols, kind, ylabel)
        axes[r0][c].set_title(f"{name}\n(base {specs[name]['base']})", fontsize=FONT)
    for j in range(len(names), groups * cols):
        for r in (0, 1):
            axes[2 * (j // cols) + r][j % cols].set_visible(False)
    if names:
        axes[0][0].legend(fontsize=FONT - 2, loc="best")
    fig.suptitle(f"{title}\nmean and 95% interval over seeds; dotted line and band: the base",
                 fontsize=FONT + 1)
    return fig


def sweep_figure(points, specs, names, protocols, out, title, ncols=NCOLS):
    """draw(...) saved as the PNG `out`."""
    save(draw(points, specs, names, protocols, title, ncols), out)
