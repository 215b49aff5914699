"""Inverted dropout: a fresh element-wise Bernoulli(keep_prob) mask each training step,
output x*mask/keep_prob; identity at evaluation. The mask comes from the shard's own
draws (see engine.shards and engine.draws)."""
import numpy as np

from .draws import Draws
from .dropout_mask import keep_mask  # noqa: F401  (where the tests and benchmarks find it)
from .layer import Layer


class Dropout(Layer):
    draws_per_step = True
    def forward(self, x, params, train, rng):
        if not train:
            return x, None
        rng = Draws.of(rng)
        p = self.options["keep_prob"]
        scaled_mask = np.empty(x.shape, x.dtype)
        np.multiply(rng.keep_mask(x.shape, p), x.dtype.type(1.0 / p), out=scaled_mask)
        return x * scaled_mask, scaled_mask

    def backward(self, dout, cache, params, grads):
        return dout if cache is None else dout * cache
