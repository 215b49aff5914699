"""Normal samples for noise injection, by the Box-Muller transform.

Instead of NumPy's `Generator.standard_normal` (a ziggurat), which is slower here,
Box-Muller over whole arrays is one uniform draw plus vectorized log, sqrt, cos and sin
(the timing is in docs/engine.md). Each pair (u1, u2) of uniforms gives two independent
normals sqrt(-2 ln u1) * (cos, sin)(2 pi u2). With float32 uniforms (multiples of 2^-24)
the largest magnitude is sqrt(2 * 24 ln 2) = 5.77, so the tails beyond 5.77 sigma
(probability 8e-9) are cut. The uniforms are float32 whatever the output dtype, so runs
at either precision (pipeline.train.run's dtype) use the same random numbers.
"""
import numpy as np


def normal(rng, shape, std=1.0, dtype=np.float32):
    """An array of `shape` of N(0, std^2) samples drawn from Generator `rng` (std scales
    the radius: half the multiplications of scaling the samples)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    h = (n + 1) // 2
    # float32 uniforms at any dtype: a float64 run draws the same noise as a float32 one
    u = rng.random(2 * h, dtype=np.float32).astype(dtype, copy=False)
    radius, angle = u[:h], u[h:]
    np.subtract(dtype.type(1.0), radius, out=radius)      # (0, 1]: log is finite
    np.log(radius, out=radius)
    radius *= dtype.type(-2.0 * std * std)
    np.sqrt(radius, out=radius)
    angle *= dtype.type(2.0 * np.pi)
    out = np.empty(2 * h, dtype)
    np.cos(angle, out=out[:h])
    np.sin(angle, out=out[h:])
    out[:h] *= radius
    out[h:] *= radius
    return out[:n].reshape(shape)
