"""Rounding bounds for float32 sums taken in different orders.

A sum of n terms (or a dot product of length n) computed in floating point in any order,
pairwise, blocked or sequential, with or without fused multiply-adds, is within
gamma(n) * sum(|terms|) of the exact sum, gamma(n) = n u / (1 - n u), u = eps / 2 (Higham,
"Accuracy and Stability of Numerical Algorithms", 2nd ed., section 3.1). Two forms of
the same sums, say a BLAS kernel's order and another's, or one product against several
products added up, are each within that bound of the exact value, so the test compares
each with a float64 reference instead of with each other: this holds on every kernel,
while a fixed tolerance between two float32 forms holds only on the kernels it was tried on.
"""
import numpy as np


def gamma(n, dtype=np.float32):
    """gamma(n) for `dtype`'s unit roundoff."""
    u = np.finfo(dtype).eps / 2
    assert n * u < 1
    return n * u / (1 - n * u)


def sum_bound(magnitude, n, dtype=np.float32):
    """Entrywise bound on |computed - exact| for sums of n terms whose absolute values add
    up to `magnitude` (computed in float64), plus the float64 reference's own rounding."""
    return gamma(n, dtype) * magnitude + gamma(n, np.float64) * magnitude


def assert_sums_close(actual, exact, magnitude, n, dtype=np.float32, what="sums"):
    """`actual` (sums of at most n terms in `dtype`, in any order) within the bound of
    `exact` (the same sums in float64 from the same inputs); `magnitude` is the same
    computation on the inputs' absolute values, in float64."""
    actual, exact = np.asarray(actual, np.float64), np.asarray(exact, np.float64)
    bound = sum_bound(np.asarray(magnitude, np.float64), n, dtype)
    excess = np.abs(actual - exact) - bound
    worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.size else ()
    assert excess.size and (excess <= 0).all(), (
        f"{what}: {int((excess > 0).sum())} of {excess.size} entries outside "
        f"gamma({n}) * sum|terms|; worst at {worst}: |diff| "
        f"{abs(actual[worst] - exact[worst]):.3g} > bound {bound[worst]:.3g}")


def sum_length(layer):
    """The longest sum one of the layer's outputs takes, plus a few roundings for its
    elementwise work (transforms, batch norm's centring and scaling, a folded kernel)."""
    from pipeline.engine.conv import Conv
    from pipeline.engine.dense import Dense
    from pipeline.engine.pool import AvgPool

    if isinstance(layer, Conv):
        n = layer.in_shape[0] * layer.k[0] * layer.k[1]
    elif isinstance(layer, Dense):
        n = int(np.prod(layer.in_shape))
    elif isinstance(layer, AvgPool):
        n = layer.stride[0] * layer.stride[1]
    else:
        n = 0
    return n + 8


def twins(net, gain, offset):
    """Two float64 copies of the float32 `net` for bounding its evaluation: `exact` holds
    the same parameters and statistics; `magnitude` their absolute values, batch norm's
    mean negated so that x - mean adds magnitudes: fed |input|, each of its layers gives
    the sum of |terms| of that layer's outputs (ReLU and max pooling pass magnitudes on)."""
    from pipeline.engine.network import Network

    stats = {k: v for k, v in net.state_arrays().items() if k not in net.slices}
    out = []
    for flat, g, o, st in ((net.flat, gain, offset, stats),
                           (np.abs(net.flat), np.abs(gain), np.abs(offset),
                            {k: -np.abs(v) if k.endswith(".mavg") else v
                             for k, v in stats.items()})):
        t = Network(net.specs, net.input_shape, net.head_sizes, dtype=np.float64)
        t.flat[...] = flat
        t.load_state_arrays({**t.state_arrays(), **st})
        t.set_input_transform(g, o)
        out.append(t)
    return out
