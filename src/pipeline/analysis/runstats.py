"""Parameter statistics of one run (docs/quirks.md#parameter-statistics) for the tables
and figures: the weights and kernels (biases, batch-norm parameters and buffers
excluded), their near-zero count (|w| <= 1e-5), mean, variance, standard deviation, and
the histogram data the reference draws (100 bins over the values' range, density; drawn
on x in [-0.2, 0.2]).

The statistics are the engine's (pipeline.engine.stats), computed once when the run
ended and kept in its metrics.json (`params`); this adds the histogram, and no
statistics for non-finite (diverged) weights."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from pipeline.atomic import write_json
from pipeline.engine.stats import NEAR_ZERO, weights_from_npz

HIST_BINS = 100
STAT_KEYS = ("count", "near_zero", "near_zero_frac", "mean", "var", "std")


def _clean(x):
    """JSON-safe: NaN/inf become None."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def run_statistics(params_npz, metrics_json):
    """Statistics and histogram of one run's weights; a diverged run gives what it can."""
    metrics = json.loads(Path(metrics_json).read_text())
    status = metrics.get("status", "ok")
    error = None
    try:
        values = np.asarray(weights_from_npz(params_npz), dtype=np.float64).ravel()
    except Exception as e:  # a diverged run may leave no usable parameters
        if status == "ok":
            raise
        values, error = np.zeros(0), f"{type(e).__name__}: {e}"
    finite = values[np.isfinite(values)]
    if values.size and finite.size == values.size:
        stats = metrics["params"]
    else:  # non-finite weights (diverged): no meaningful statistics
        stats = {"count": int(values.size)}
    hist = None
    if finite.size:
        density, edges = np.histogram(finite, bins=HIST_BINS, density=True)
        hist = {"bins": HIST_BINS, "edges": edges.tolist(), "density": density.tolist()}
    out = {
        "status": status,
        "experiment": metrics.get("experiment"),
        "protocol": metrics.get("protocol"),
        "seed": metrics.get("seed"),
        **{k: stats.get(k) for k in STAT_KEYS},
        "nonfinite": int(values.size - finite.size),
        "near_zero_threshold": NEAR_ZERO,
        "histogram": hist,
    }
    if error:
        out["error"] = error
    return _clean(out)


def write_run_stats(params_npz, metrics_json, out):
    write_json(out, run_statistics(params_npz, metrics_json))
