"""Gaussian noise injection, training only. As the reference, one coin per forward call
(per minibatch) decides with probability `ratio` whether N(mean, std) noise is added;
the backward pass is the identity. The coin comes from the step's shared draws, so all
shards of a minibatch agree; the samples from the shard's own (see engine.shards)."""
from .draws import Draws
from .layer import Layer


class Noise(Layer):
    draws_per_step = True
    def forward(self, x, params, train, rng):
        if not train:
            return x, None
        rng = Draws.of(rng)
        o = self.options
        out = rng.noise(x.shape, o, x.dtype)
        if out is not None:
            if o["mean"]:
                out += x.dtype.type(o["mean"])
            out += x
            return out, None
        return x, None

    def backward(self, dout, cache, params, grads):
        return dout
