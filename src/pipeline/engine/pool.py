"""Non-overlapping pooling, window = stride (the reference's only form). Works on the
(C, N, H, W) layout through strided views of the window positions."""
import numpy as np

from .layer import Layer


class _Pool(Layer):
    def __init__(self, options, in_shape):
        super().__init__(options, in_shape)
        c, h, w = in_shape
        self.stride = sh, sw = options["stride"]
        self.out_shape = (c, h // sh, w // sw)

    def _views(self, x):
        sh, sw = self.stride
        return [x[:, :, i::sh, j::sw] for i in range(sh) for j in range(sw)]


class MaxPool(_Pool):
    def forward(self, x, params, train, rng):
        views = self._views(x)
        y = views[0].copy()
        for v in views[1:]:
            np.maximum(y, v, out=y)
        return y, (x, y)

    def backward(self, dout, cache, params, grads):
        # The whole gradient goes to the first maximum in row-major window order.
        x, y = cache
        dx = np.zeros_like(x)
        taken = np.zeros(y.shape, bool)
        for v, dv in zip(self._views(x), self._views(dx)):
            hit = v == y
            hit &= ~taken
            taken |= hit
            np.multiply(dout, hit, out=dv)
        return dx


class AvgPool(_Pool):
    def forward(self, x, params, train, rng):
        views = self._views(x)
        y = views[0].copy()
        for v in views[1:]:
            y += v
        y *= 1.0 / len(views)
        return y, x.shape

    def backward(self, dout, cache, params, grads):
        dx = np.empty(cache, dout.dtype)
        share = dout * (1.0 / (self.stride[0] * self.stride[1]))
        for dv in self._views(dx):
            dv[...] = share
        return dx
