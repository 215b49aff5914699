"""Inverted dropout: a fresh element-wise Bernoulli(keep_prob) mask each training step,
output x*mask/keep_prob; identity at evaluation. The mask comes from the shard's own
draws (see engine.shards)."""
import numpy as np

from .draws import Draws
from .layer import Layer


class Dropout(Layer):
    def forward(self, x, params, train, rng):
        if not train:
            return x, None
        rng = Draws.of(rng)
        p = self.options["keep_prob"]
        scaled_mask = rng.local.random(x.shape, dtype=x.dtype)   # uniforms, then the mask
        np.multiply(scaled_mask < p, x.dtype.type(1.0 / p), out=scaled_mask)
        return x * scaled_mask, scaled_mask

    def backward(self, dout, cache, params, grads):
        return dout if cache is None else dout * cache
