"""Inverted dropout: a fresh element-wise Bernoulli(keep_prob) mask each training step,
output x*mask/keep_prob; identity at evaluation."""
from .layer import Layer


class Dropout(Layer):
    def forward(self, x, params, train, rng):
        if not train:
            return x, None
        p = self.options["keep_prob"]
        scaled_mask = (rng.random(x.shape, dtype=x.dtype) < p) * x.dtype.type(1.0 / p)
        return x * scaled_mask, scaled_mask

    def backward(self, dout, cache, params, grads):
        return dout if cache is None else dout * cache
