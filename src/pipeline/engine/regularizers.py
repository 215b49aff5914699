"""L1/L2 on weights and kernels only (the network's flat weight slice), vectorized.

penalty(w) = l2 * sum(w^2)/2 + l1 * sum|w|  (the reference's forms, times lambda)
gradient   = l2 * w + l1 * sign(w)

sign(w) is taken from w's sign bit (two integer ufuncs instead of NumPy's `sign`; the
timing is in docs/engine.md); at w = +-0 this gives +-l1, a valid subgradient where the
reference's sign() gives 0. Exact zeros only arise from the subnormal flush, below 1e-30.
"""
import numpy as np

_SIGN = {4: (np.uint32, np.uint32(0x80000000)), 8: (np.uint64, np.uint64(0x8000000000000000))}


def signed_constant(c, w, out):
    """out = copysign(c, w) through the bit patterns; returns out."""
    utype, bit = _SIGN[w.dtype.itemsize]
    o = out.view(utype)
    np.bitwise_and(w.view(utype), bit, out=o)
    o |= np.asarray(c, w.dtype).view(utype)
    return out


def penalty_terms(w, l1, l2, l1_sign):
    """(sum(w^2)/2 if l2, sum|w| if l1) of a flat array; leaves l1*sign(w) in `l1_sign`
    for the gradient (sum|w| = w . (l1 sign w) / l1)."""
    sq = 0.5 * float(np.dot(w, w)) if l2 else 0.0
    if not l1:
        return sq, 0.0
    return sq, float(np.dot(w, signed_constant(l1, w, l1_sign))) / l1


def add_penalty_gradient(g, w, l1, l2, scratch, l1_sign=None):
    """g += l2*w + l1*sign(w), in place; `scratch` is workspace of w's shape and
    `l1_sign`, if given, already holds l1*sign(w) (from penalty_terms). The L1 term is
    added first, so `scratch` may be the same array as `l1_sign`."""
    if l1:
        g += signed_constant(l1, w, scratch) if l1_sign is None else l1_sign
    if l2:
        np.multiply(w, w.dtype.type(l2), out=scratch)
        g += scratch
