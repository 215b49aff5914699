"""Non-overlapping pooling, window = stride (the reference's only form). Works on the
(C, N, H, W) layout through strided views of the window positions.

ReluMaxPool is ReLU then max pooling as one layer: max pooling commutes with ReLU, so
the ReLU is applied to the pooled map (stride^2 times smaller) and its mask folds into
the pooling's backward. Same values, same gradients as a ReLU layer (conv or full with
actfunc relu) before a MaxPool, when that layer runs with actfunc none instead.
"""
import numpy as np

from .layer import Layer


class _Pool(Layer):
    def __init__(self, options, in_shape, need_dx=True):
        super().__init__(options, in_shape, need_dx)
        c, h, w = in_shape
        self.stride = sh, sw = options["stride"]
        self.out_shape = (c, h // sh, w // sw)

    def _views(self, x):
        """The sh*sw window positions; together they partition x."""
        sh, sw = self.stride
        return [x[:, :, i::sh, j::sw] for i in range(sh) for j in range(sw)]


class MaxPool(_Pool):
    def _pool(self, x):
        """(the pooled map, where each window's maximum was), the map a fresh array."""
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
            return a, (right_a, right_b, lower)
        a = views[0].copy()
        for v in views[1:]:
            np.maximum(a, v, out=a)
        return a, None

    def forward(self, x, params, train, rng):
        pooled, where = self._pool(x)
        return pooled, (x, pooled, where)

    def backward(self, dout, cache, params, grads):
        return self._route(dout.copy(), cache)

    def _route(self, g, cache):
        """dx: the gradient g of each window to its first maximum in row-major window
        order (g is consumed)."""
        x, pooled, where = cache
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


class ReluMaxPool(MaxPool):
    """max_pool(relu(x)) = relu(max_pool(x)) (see above)."""

    def forward(self, x, params, train, rng):
        pooled, where = self._pool(x)
        return np.maximum(pooled, 0), (x, pooled, where)

    def backward(self, dout, cache, params, grads):
        return self._route(dout * (cache[1] > 0), cache)


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
