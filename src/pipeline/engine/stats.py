"""Parameter statistics as the reference defines them
(docs/quirks.md#parameter-statistics): over every weight and kernel (biases, batch-norm
scale/shift/statistics excluded)."""
import numpy as np

NEAR_ZERO = 1e-5


def parameter_statistics(values):
    v = np.asarray(values, dtype=np.float64).ravel()
    near = int(np.count_nonzero(np.abs(v) <= NEAR_ZERO))
    var = float(v.var()) if v.size else 0.0
    return {
        "count": int(v.size),
        "near_zero": near,
        "near_zero_frac": near / v.size if v.size else 0.0,
        "mean": float(v.mean()) if v.size else 0.0,
        "var": var,
        "std": float(np.sqrt(var)),
    }


def weights_from_npz(path):
    """All weights and kernels of a saved params.npz, as one flat float array."""
    with np.load(path) as z:
        keys = [k for k in z.files if k.rsplit(".", 1)[-1] in ("w", "k")]
        return np.concatenate([z[k].ravel() for k in keys]) if keys else np.zeros(0)
