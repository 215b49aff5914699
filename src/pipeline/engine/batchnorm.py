"""Batch normalization per channel (per feature for flat input), with running averages
for evaluation: mavg += exp_ratio*(mu_B - mavg), likewise mvar (biased batch variance).

The running averages start at 0 and 1 (the reference's); with `debias` evaluation
divides out that start, as Adam does for its moments: with k training steps and
d = (1 - exp_ratio)^k, mu = mavg / (1 - d) and var = (mvar - d) / (1 - d). With the
reference's slow exp_ratio 0.001 the plain averages are still far from the data after a
few hundred steps (Q4).

Two backward forms (docs/quirks.md#batch-norm):
- "exact": the true training-mode gradient,
  dx = (1/std) * (g - mean(g) - xhat * mean(g * xhat)),  g = dout * scale;
- "simplified" (the reference's): dx = g / std, treating the batch statistics as
  constants (exact only in evaluation mode).

In a sharded step each shard holds part of the minibatch: the sums behind the batch
mean and variance (one meeting), and the two sums of the exact backward (another), are
added over the shards (the forward's engine.step.Step) so every shard uses the whole
minibatch's, as one would; only shard 0 updates the running averages.

Folded (`folded=True`, for a batch norm with scale and shift right before an
engine.conv.FoldedConv): the output is a conv.Standardized, xhat with the scale and
shift unapplied, which the conv applies through its kernel; the backward takes the
conv's conv.FoldGradient and gives the scale and shift gradients from it, <k, G> and
<k, G1>, and no input gradient (a folded batch norm is a network's first layer).
"""
import numpy as np

from .conv import FoldGradient, Standardized
from .layer import Layer
from .step import ALONE


class BatchNorm(Layer):
    uses_step = True

    def __init__(self, options, in_shape, backward_form="exact", debias=False,
                 dtype=np.float32, need_dx=True, folded=False):
        super().__init__(options, in_shape, need_dx)
        c = in_shape[0]
        self.rescale = options["rescale"]
        if self.rescale:
            self.param_shapes = {"scale": ((c,), "affine"), "shift": ((c,), "affine")}
        self.backward_form = backward_form
        self.debias = debias
        self.mavg = np.zeros(c, dtype)          # the network's dtype
        self.mvar = np.ones(c, dtype)
        self.steps = np.zeros(1, np.int64)      # training forwards (an array: checkpointed)
        if folded and not self.rescale:
            raise ValueError("folded: only a batch norm with scale and shift folds")
        self.folded = folded                    # see above

    def init_params(self, params, rng, init):
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
    def _sums(a, b=None):
        """Per channel (feature), the sum of a, or of a*b, over this shard's positions;
        einsum reads strided views without copies or temporaries."""
        spec = "nf" if a.ndim == 2 else "cnhw"
        out = spec[1] if a.ndim == 2 else "c"
        if b is None:
            return np.einsum(f"{spec}->{out}", a)
        return np.einsum(f"{spec},{spec}->{out}", a, b)

    @staticmethod
    def _per_channel(v, x):
        return v.astype(x.dtype) if x.ndim == 2 else v.astype(x.dtype).reshape(-1, 1, 1, 1)

    def forward(self, x, params, train, rng, step=ALONE):
        # The cache keeps xc = x - mu and 1/std (xhat = xc / std is never stored): the
        # output is one multiply-add of xc, the backward two sums and two of them.
        pc = self._per_channel
        m = x.size // self.in_shape[0]          # positions per channel in this shard
        if train:
            # Centred on this shard's own mean (two passes, no cancellation), the shards
            # meet once: sum x and sum x^2 = M2_k + m*mu_k^2 give the minibatch's mean and
            # variance (the difference in float64). xc keeps the shard's centring; `delta`
            # (mu_k - mu, zero unsharded) corrects it per channel where xc is used.
            s1 = self._sums(x)
            mu_k = np.asarray(s1, np.float64) / m
            xc = x - pc(mu_k, x)
            s2 = np.asarray(self._sums(xc, xc), np.float64) + mu_k * mu_k * m
            total, sq, count = step.total(s1, s2, m)
            mu = total / count
            var = np.maximum(sq / count - mu * mu, 0.0)
            delta = mu_k - mu
            if step.shard == 0:                  # one update per step
                rho = self.options["exp_ratio"]
                self.mavg += (rho * (mu - self.mavg)).astype(self.mavg.dtype)
                self.mvar += (rho * (var - self.mvar)).astype(self.mvar.dtype)
                self.steps += 1
        else:
            mu, var = self.running_statistics()
            xc = x - pc(np.asarray(mu, np.float64), x)
            delta = 0.0
        inv_std = 1.0 / np.sqrt(np.asarray(var, np.float64) + self.options["epsilon"])
        affine = self.rescale and not self.folded     # scale/shift applied here
        gain = params["scale"] * inv_std if affine else inv_std
        offset = delta * gain + (params["shift"] if affine else 0.0)
        y = xc * pc(gain, x)
        if np.any(offset):
            y += pc(offset, x)
        if self.folded:
            y = Standardized(y, params["scale"], params["shift"])
        return y, (xc, inv_std, m, delta, step)

    def backward(self, dout, cache, params, grads):
        if isinstance(dout, FoldGradient):      # from the FoldedConv after this
            k, g, g1 = dout
            grads["scale"][...] = np.einsum("ocij,ocij->c", k, g)
            grads["shift"][...] = np.einsum("ocij,oij->c", k, g1)
            return None
        xc, inv_std, m, delta, step = cache     # x - mu = xc + delta
        pc = self._per_channel
        sum_dout = self._sums(dout)                              # = the shift gradient
        sum_dout_xhat = (self._sums(dout, xc) + delta * sum_dout) * inv_std  # = the scale's
        # (a shard's gradients hold its own sums; the shards' gradients are added later)
        if self.rescale:
            grads["scale"][...] = sum_dout_xhat
            grads["shift"][...] = sum_dout
            gain = params["scale"] * inv_std
        else:
            gain = inv_std
        if self.backward_form == "simplified":
            return dout * pc(gain, dout)
        # exact: with g = dout*scale, (1/std)(g - mean(g) - xhat mean(g xhat)); the means
        # are the two sums above over the minibatch's positions of a channel. As one
        # per-channel multiply-add: dx = gain*dout - a*(xc + delta) - gain*mean_d, with
        # a = gain*mean_dxhat/std.
        sum_dout, sum_dout_xhat, total = step.total(sum_dout, sum_dout_xhat, m)
        a = gain * inv_std * sum_dout_xhat / total
        dx = dout * pc(gain, dout)
        dx -= xc * pc(a, dout)
        dx -= pc(a * delta + gain * sum_dout / total, dout)
        return dx
