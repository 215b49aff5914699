"""Batch normalization per channel (per feature for flat input), with running averages
for evaluation: mavg += exp_ratio*(mu_B - mavg), likewise mvar (biased batch variance).

Two backward forms (book-model.md 4.3):
- "exact": the true training-mode gradient,
  dx = (1/std) * (g - mean(g) - xhat * mean(g * xhat)),  g = dout * scale;
- "simplified" (the reference's): dx = g / std, treating the batch statistics as
  constants (exact only in evaluation mode).
"""
import numpy as np

from .layer import Layer


class BatchNorm(Layer):
    def __init__(self, options, in_shape, backward_form="exact"):
        super().__init__(options, in_shape)
        c = in_shape[0]
        self.rescale = options["rescale"]
        if self.rescale:
            self.param_shapes = {"scale": ((c,), "affine"), "shift": ((c,), "affine")}
        self.backward_form = backward_form
        self.mavg = np.zeros(c, np.float32)
        self.mvar = np.ones(c, np.float32)

    def init_params(self, params, rng, std):
        if self.rescale:
            params["scale"][...] = 1.0
            params["shift"][...] = 0.0

    def state(self):
        return {"mavg": self.mavg, "mvar": self.mvar}

    @staticmethod
    def _axes(x):
        # (N, F): statistics over the batch; (C, N, H, W): over everything but C.
        return (0,) if x.ndim == 2 else (1, 2, 3)

    def _per_channel(self, v, x):
        return v if x.ndim == 2 else v.reshape(-1, 1, 1, 1)

    def forward(self, x, params, train, rng):
        axes = self._axes(x)
        if train:
            mu = x.mean(axis=axes)
            var = x.var(axis=axes)
            rho = self.options["exp_ratio"]
            self.mavg += rho * (mu - self.mavg)
            self.mvar += rho * (var - self.mvar)
        else:
            mu, var = self.mavg, self.mvar
        std = np.sqrt(var + self.options["epsilon"]).astype(x.dtype)
        xhat = (x - self._per_channel(mu.astype(x.dtype), x)) / self._per_channel(std, x)
        if not self.rescale:
            return xhat, (xhat, std)
        y = xhat * self._per_channel(params["scale"], x)
        y += self._per_channel(params["shift"], x)
        return y, (xhat, std)

    def backward(self, dout, cache, params, grads):
        xhat, std = cache
        axes = self._axes(dout)
        if self.rescale:
            np.sum(dout * xhat, axis=axes, out=grads["scale"])
            np.sum(dout, axis=axes, out=grads["shift"])
            g = dout * self._per_channel(params["scale"], dout)
        else:
            g = dout
        if self.backward_form == "exact":
            g = g - self._per_channel(g.mean(axis=axes), g) \
                - xhat * self._per_channel((g * xhat).mean(axis=axes), g)
        return g / self._per_channel(std, g)
