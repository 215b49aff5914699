"""Finite-difference helpers for the gradient tests (float64, central differences)."""
import numpy as np


def numeric_grad(f, a, eps=1e-6, count=None, rng=None):
    """d f / d a at (up to `count` random) entries of array a, changed in place and restored.
    Returns (indices, numeric gradients)."""
    flat = a.reshape(-1)
    idx = np.arange(flat.size)
    if count is not None and count < flat.size:
        idx = (rng or np.random.default_rng(0)).choice(flat.size, count, replace=False)
    out = np.empty(len(idx))
    for n, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        out[n] = (fp - fm) / (2 * eps)
    return idx, out


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||): robust to single entries near zero."""
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    return float(np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b)))
