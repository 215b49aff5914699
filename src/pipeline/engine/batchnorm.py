"""Batch normalization per channel (per feature for flat input), with running averages
for evaluation: mavg += exp_ratio*(mu_B - mavg), likewise mvar (biased batch variance).

The running averages start at 0 and 1 (the reference's); with `debias` evaluation
divides out that start, as Adam does for its moments: with k training steps and
d = (1 - exp_ratio)^k, mu = mavg / (1 - d) and var = (mvar - d) / (1 - d). With the
reference's slow exp_ratio 0.001 the plain averages are still far from the data after a
few hundred steps (Q4).

Two backward forms (book-model.md 4.3):
- "exact": the true training-mode gradient,
  dx = (1/std) * (g - mean(g) - xhat * mean(g * xhat)),  g = dout * scale;
- "simplified" (the reference's): dx = g / std, treating the batch statistics as
  constants (exact only in evaluation mode).

In a sharded step (engine.shards) each shard holds part of the minibatch: the sums
behind the batch mean and variance, and the two sums of the exact backward, are added
over the shards (`sync`) so every shard uses the whole minibatch's, as one would.
"""
import numpy as np

from .layer import Layer


class BatchNorm(Layer):
    def __init__(self, options, in_shape, backward_form="exact", debias=False):
        super().__init__(options, in_shape)
        c = in_shape[0]
        self.rescale = options["rescale"]
        if self.rescale:
            self.param_shapes = {"scale": ((c,), "affine"), "shift": ((c,), "affine")}
        self.backward_form = backward_form
        self.debias = debias
        self.mavg = np.zeros(c, np.float32)
        self.mvar = np.ones(c, np.float32)
        self.steps = np.zeros(1, np.int64)      # training forwards (an array: checkpointed)
        self.sync, self.shard = None, 0         # set by engine.shards

    def _total(self, *parts):
        """Per-channel sums over the whole minibatch (float64) from this shard's."""
        if self.sync is None:
            return [np.asarray(p, np.float64) for p in parts]
        return self.sync(self.shard, *parts)

    def init_params(self, params, rng, std):
        if self.rescale:
            params["scale"][...] = 1.0
            params["shift"][...] = 0.0

    def state(self):
        return {"mavg": self.mavg, "mvar": self.mvar, "steps": self.steps}

    def running_statistics(self):
        """(mean, var) that evaluation uses."""
        if not self.debias or not self.steps[0]:
            return self.mavg, self.mvar
        d = (1.0 - self.options["exp_ratio"]) ** int(self.steps[0])
        if d >= 1.0:
            return self.mavg, self.mvar
        return self.mavg / (1.0 - d), (self.mvar - d) / (1.0 - d)

    @staticmethod
    def _axes(x):
        # (N, F): statistics over the batch; (C, N, H, W): over everything but C.
        return (0,) if x.ndim == 2 else (1, 2, 3)

    def _per_channel(self, v, x):
        return v if x.ndim == 2 else v.reshape(-1, 1, 1, 1)

    def forward(self, x, params, train, rng):
        axes = self._axes(x)
        per_channel = self._per_channel
        m = x.size // self.in_shape[0]          # positions per channel in this shard
        if train:
            total, count = self._total(x.sum(axis=axes), m)
            mu = total / count
            xhat = x - per_channel(mu.astype(x.dtype), x)
            var = self._total(np.square(xhat).sum(axis=axes))[0] / count
            if self.shard == 0:                  # one update per step
                rho = self.options["exp_ratio"]
                self.mavg += (rho * (mu - self.mavg)).astype(self.mavg.dtype)
                self.mvar += (rho * (var - self.mvar)).astype(self.mvar.dtype)
                self.steps += 1
        else:
            mu, var = self.running_statistics()
            xhat = x - per_channel(np.asarray(mu).astype(x.dtype), x)
        std = np.sqrt(var + self.options["epsilon"]).astype(x.dtype)
        xhat /= per_channel(std, x)
        if not self.rescale:
            return xhat, (xhat, std, m)
        y = xhat * per_channel(params["scale"], x)
        y += per_channel(params["shift"], x)
        return y, (xhat, std, m)

    def backward(self, dout, cache, params, grads):
        xhat, std, m = cache
        axes = self._axes(dout)
        sum_dout = dout.sum(axis=axes)                   # = the shift gradient
        sum_dout_xhat = (dout * xhat).sum(axis=axes)     # = the scale gradient
        # (a shard's gradients hold its own sums; the shards' gradients are added later)
        if self.rescale:
            grads["scale"][...] = sum_dout_xhat
            grads["shift"][...] = sum_dout
            gain = params["scale"] / std
        else:
            gain = 1.0 / std
        if self.backward_form == "simplified":
            return dout * self._per_channel(gain.astype(dout.dtype), dout)
        # exact: with g = dout*scale, (1/std)(g - mean(g) - xhat mean(g xhat)); the means
        # are the two sums above over the minibatch's positions of a channel.
        sum_dout, sum_dout_xhat, m = self._total(sum_dout, sum_dout_xhat, m)
        dx = xhat * self._per_channel((sum_dout_xhat / m).astype(dout.dtype), dout)
        np.subtract(dout, dx, out=dx)
        dx -= self._per_channel((sum_dout / m).astype(dout.dtype), dout)
        dx *= self._per_channel(gain.astype(dout.dtype), dout)
        return dx
