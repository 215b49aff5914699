"""Gaussian noise injection, training only. As the reference, one coin per forward call
(per minibatch) decides with probability `ratio` whether N(mean, std) noise is added;
the backward pass is the identity."""
from .layer import Layer


class Noise(Layer):
    def forward(self, x, params, train, rng):
        if not train:
            return x, None
        o = self.options
        if rng.random() < o["ratio"]:
            out = rng.standard_normal(x.shape, dtype=x.dtype)
            out *= x.dtype.type(o["std"])
            if o["mean"]:
                out += x.dtype.type(o["mean"])
            out += x
            return out, None
        return x, None

    def backward(self, dout, cache, params, grads):
        return dout
