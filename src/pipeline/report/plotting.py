"""What the figure modules share: the Agg backend, protocol colours, atomic PNG saving,
run paths by (protocol, experiment, seed), panel grids."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.atomic import atomic_path  # noqa: E402
from pipeline.analysis.runs import run_key  # noqa: E402

PROTOCOL_COLORS = {"reference": "tab:blue", "corrected": "tab:orange"}
DPI = 100


def color(protocol, i=0):
    return PROTOCOL_COLORS.get(protocol, f"C{i + 2}")


def save(fig, out):
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def by_run(paths):
    """{(protocol, experiment, seed): path}"""
    return {run_key(p): p for p in paths}


def protocols_of(keys):
    seen = []
    for p, _, _ in sorted(keys, key=lambda k: (k[0] != "reference", k[0])):
        if p not in seen:
            seen.append(p)
    return seen


def grid(n, ncols):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols
