"""Parameter statistics of one run (docs/quirks.md#parameter-statistics): the weights and
kernels (biases, batch-norm parameters and buffers excluded), their near-zero count
(|w| <= 1e-5), mean, variance, standard deviation, and the histogram data the reference
draws (100 bins over the values' range, density; drawn on x in [-0.2, 0.2])."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from pipeline.atomic import write_json

HIST_BINS = 100
NEAR_ZERO = 1e-5


def _engine_stats():
    try:
        from pipeline.engine.stats import parameter_statistics, weights_from_npz
    except ImportError:  # the engine is not installed: the same definitions, locally
        return _parameter_statistics, _weights_from_npz
    return parameter_statistics, weights_from_npz


def _weights_from_npz(path):
    with np.load(path, allow_pickle=False) as z:
        keys = [k for k in z.files if k.startswith("L") and k.rsplit(".", 1)[-1] in ("w", "k")]
        keys.sort(key=lambda k: int(k[1:].split(".", 1)[0]))
        if not keys:
            return np.zeros(0)
        return np.concatenate([np.asarray(z[k], dtype=np.float64).ravel() for k in keys])


def _parameter_statistics(values):
    v = np.asarray(values, dtype=np.float64).ravel()
    n = int(v.size)
    near = int(np.count_nonzero(np.abs(v) <= NEAR_ZERO))
    var = float(v.var()) if n else math.nan
    return {
        "count": n,
        "near_zero": near,
        "near_zero_frac": near / n if n else math.nan,
        "mean": float(v.mean()) if n else math.nan,
        "var": var,
        "std": math.sqrt(var) if n else math.nan,
    }


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


def run_statistics(params_npz, metrics_json=None):
    """Statistics and histogram of one run's weights; a diverged run gives what it can."""
    metrics = json.loads(Path(metrics_json).read_text()) if metrics_json else {}
    status = metrics.get("status", "ok")
    parameter_statistics, weights_from_npz = _engine_stats()
    error = None
    try:
        values = np.asarray(weights_from_npz(params_npz), dtype=np.float64).ravel()
    except Exception as e:  # a diverged run may leave no usable parameters
        if status == "ok":
            raise
        values, error = np.zeros(0), f"{type(e).__name__}: {e}"
    finite = values[np.isfinite(values)]
    if values.size and finite.size == values.size:
        stats = dict(parameter_statistics(values))
    else:  # non-finite weights (diverged): no meaningful statistics
        stats = {"count": int(values.size), "near_zero": None, "near_zero_frac": None,
                 "mean": None, "var": None, "std": None}
    hist = None
    if finite.size:
        density, edges = np.histogram(finite, bins=HIST_BINS, density=True)
        hist = {"bins": HIST_BINS, "edges": edges.tolist(), "density": density.tolist()}
    out = {
        "status": status,
        "experiment": metrics.get("experiment"),
        "protocol": metrics.get("protocol"),
        "seed": metrics.get("seed"),
        **{k: stats.get(k) for k in ("count", "near_zero", "near_zero_frac", "mean", "var", "std")},
        "nonfinite": int(values.size - finite.size),
        "near_zero_threshold": NEAR_ZERO,
        "histogram": hist,
    }
    if error:
        out["error"] = error
    return _clean(out)


def write_run_stats(params_npz, metrics_json, out):
    write_json(out, run_statistics(params_npz, metrics_json))
