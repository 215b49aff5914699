"""Convolution, stride 1, 'same' zero padding, cross-correlation (no kernel flip), as the
reference. im2col in the CNHW layout: kh*kw shifted slice copies of a padded input into
a preallocated (C*kh*kw, N*H*W) buffer, then one matrix product whose (O, N*H*W) result is
already the CNHW output. Kernels are stored (chn, C, kh, kw)."""
import numpy as np

from . import activations
from .layer import Layer


class Conv(Layer):
    def __init__(self, options, in_shape):
        super().__init__(options, in_shape)
        c, h, w = in_shape
        kh, kw = options["ksize"]
        o = options["chn"]
        self.act = options["actfunc"]
        self.k = (kh, kw)
        self.pad = ((kh - 1) // 2, (kw - 1) // 2)
        self.param_shapes = {"k": ((o, c, kh, kw), "weight"), "b": ((o,), "bias")}
        self.out_shape = (o, h, w)
        self._buffers = {}      # batch size -> (padded input, columns)

    def _buffers_for(self, n, dtype):
        key = (n, np.dtype(dtype).str)
        if key not in self._buffers:
            c, h, w = self.in_shape
            kh, kw = self.k
            xp = np.zeros((c, n, h + kh - 1, w + kw - 1), dtype)   # borders stay zero
            cols = np.empty((c, kh, kw, n, h, w), dtype)
            self._buffers[key] = (xp, cols)
        return self._buffers[key]

    def forward(self, x, params, train, rng):
        c, n, h, w = x.shape
        kh, kw = self.k
        ph, pw = self.pad
        xp, cols = self._buffers_for(n, x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w] = x
        for i in range(kh):
            for j in range(kw):
                cols[:, i, j] = xp[:, :, i:i + h, j:j + w]
        cols2 = cols.reshape(c * kh * kw, n * h * w)
        kmat = params["k"].reshape(params["k"].shape[0], -1)
        y = kmat @ cols2
        y += params["b"][:, None]
        activations.forward(self.act, y)
        y = y.reshape(-1, n, h, w)
        # The column buffer is reused by the next forward of this batch size, which in
        # training always comes after this step's backward.
        return y, (cols2, y, x.shape)

    def backward(self, dout, cache, params, grads):
        cols2, y, (c, n, h, w) = cache
        o = y.shape[0]
        dz = activations.backward(self.act, y, dout).reshape(o, -1)
        np.matmul(dz, cols2.T, out=grads["k"].reshape(o, -1))
        np.sum(dz, axis=1, out=grads["b"])
        if not self.need_dx:
            return None
        kh, kw = self.k
        ph, pw = self.pad
        dcols = (params["k"].reshape(o, -1).T @ dz).reshape(c, kh, kw, n, h, w)
        dxp = np.zeros((c, n, h + kh - 1, w + kw - 1), dz.dtype)
        for i in range(kh):
            for j in range(kw):
                dxp[:, :, i:i + h, j:j + w] += dcols[:, i, j]
        return dxp[:, :, ph:ph + h, pw:pw + w]
