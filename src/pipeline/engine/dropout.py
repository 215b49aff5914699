"""Inverted dropout: a fresh element-wise Bernoulli(keep_prob) mask each training step,
output x*mask/keep_prob; identity at evaluation. The mask comes from the shard's own
draws (see engine.shards).

The mask compares raw 32-bit draws with keep_prob * 2^32 (exact to 2^-32): the bit
generator fills whole arrays of them, where NumPy makes float32 uniforms one call at a
time (docs/engine.md has the timing)."""
import numpy as np

from .draws import Draws
from .layer import Layer


def keep_mask(rng, shape, keep_prob):
    """A boolean array of `shape`, each entry True with probability keep_prob."""
    n = int(np.prod(shape))
    threshold = round(keep_prob * 2.0 ** 32)
    if threshold >= 2 ** 32:                # keep_prob within 2^-33 of 1: keep all
        return np.ones(shape, bool)
    bits = rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
    return (bits < np.uint32(threshold)).reshape(shape)


class Dropout(Layer):
    def forward(self, x, params, train, rng):
        if not train:
            return x, None
        rng = Draws.of(rng)
        p = self.options["keep_prob"]
        scaled_mask = np.empty(x.shape, x.dtype)
        np.multiply(keep_mask(rng.local, x.shape, p), x.dtype.type(1.0 / p), out=scaled_mask)
        return x * scaled_mask, scaled_mask

    def backward(self, dout, cache, params, grads):
        return dout if cache is None else dout * cache
