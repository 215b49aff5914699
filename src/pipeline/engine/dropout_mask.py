"""Dropout's Bernoulli mask from a Generator.

The mask compares raw 32-bit draws with keep_prob * 2^32 (exact to 2^-32): the bit
generator fills whole arrays of them, where NumPy makes float32 uniforms one call at a
time (docs/engine.md has the timing)."""
import numpy as np


def keep_mask(rng, shape, keep_prob):
    """A boolean array of `shape`, each entry True with probability keep_prob."""
    n = int(np.prod(shape))
    threshold = round(keep_prob * 2.0 ** 32)
    if threshold >= 2 ** 32:                # keep_prob within 2^-33 of 1: keep all
        return np.ones(shape, bool)
    bits = rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
    return (bits < np.uint32(threshold)).reshape(shape)
