"""L1/L2 on weights and kernels only (the network's flat weight slice), vectorized.

penalty(w) = l2 * sum(w^2)/2 + l1 * sum|w|  (the reference's forms, times lambda)
gradient   = l2 * w + l1 * sign(w)
"""
import numpy as np


def penalty_terms(w):
    """(sum(w^2)/2, sum|w|) of a flat float array; float64 accumulation."""
    w64 = w.astype(np.float64, copy=False)
    return 0.5 * float(np.dot(w64, w64)), float(np.abs(w64).sum())


def add_penalty_gradient(g, w, l1, l2, scratch):
    """g += l2*w + l1*sign(w), in place, using `scratch` (same shape) as workspace."""
    if l2:
        np.multiply(w, l2, out=scratch)
        g += scratch
    if l1:
        np.sign(w, out=scratch)
        scratch *= l1
        g += scratch
