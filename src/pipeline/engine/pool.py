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
        """The sh*sw window positions; together they partition x."""
        sh, sw = self.stride
        return [x[:, :, i::sh, j::sw] for i in range(sh) for j in range(sw)]


class MaxPool(_Pool):
    # Set by the network when the layer before is a ReLU conv/full layer: max pooling
    # commutes with ReLU, so the ReLU is applied here, on the pooled map (stride^2 times
    # smaller), and its mask folds into this layer's backward. Same values, same gradients.
    relu = False

    def forward(self, x, params, train, rng):
        views = self._views(x)
        if len(views) == 4:
            # 2x2 windows: a pairwise tournament that also records where the maximum
            # was (strict > keeps the first of equals), so the backward pass needs no
            # second look at x.
            v0, v1, v2, v3 = views
            right_a = v1 > v0
            right_b = v3 > v2
            a = np.maximum(v0, v1)
            b = np.maximum(v2, v3)
            lower = b > a
            np.maximum(a, b, out=a)
            where = (right_a, right_b, lower)
        else:
            a = views[0].copy()
            for v in views[1:]:
                np.maximum(a, v, out=a)
            where = None
        pooled = a.copy() if self.relu else a
        if self.relu:
            np.maximum(a, 0, out=a)
        return a, (x, pooled, where)

    def backward(self, dout, cache, params, grads):
        # The whole gradient goes to the first maximum in row-major window order.
        x, pooled, where = cache
        g = dout * (pooled > 0) if self.relu else dout.copy()
        dx = self.workspace((x.shape, x.dtype.str), lambda: np.empty_like(x))
        dviews = self._views(dx)
        if where is not None:
            right_a, right_b, lower = where
            upper = ~lower
            np.multiply(g, upper & ~right_a, out=dviews[0])
            np.multiply(g, upper & right_a, out=dviews[1])
            np.multiply(g, lower & ~right_b, out=dviews[2])
            np.multiply(g, lower & right_b, out=dviews[3])
            return dx
        views = self._views(x)
        for k, (v, dv) in enumerate(zip(views, dviews)):
            hit = v == pooled
            np.multiply(g, hit, out=dv)
            if k < len(views) - 1:
                g -= dv                 # a later tie gets nothing
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
