"""Full (dense) layer: y = act(x @ w + b). An image input (C, N, H, W) is flattened per
sample first (channel-major), so a full layer can follow conv/pool layers.

A big weight matrix (the MLP's first, 27,648 x 30) makes the layer memory-bound on
reading w and writing its gradient. Built with `map_slices`, a layer with more than
SPLIT_ABOVE weights cuts its products along w's rows: map_slices(fn, n, min_size) must
return [fn(s) for s in contiguous slices covering range(n)], in order, and may run the
calls on other threads (engine.shards.ShardedNetwork.map_slices does); each call reads
and writes its own block of w, and the forward adds the partial products in slice order.

The forward product is np.dot, not `@`: NumPy's matmul keeps the GIL while it computes
a product of at most 500 elements (the MLP's (10, 30) output), however long its sums,
so the other thread's half waited for it; np.dot makes the same BLAS call (same values)
and releases the GIL (docs/engine.md#measured-timings).
"""
import numpy as np

from . import activations
from .layer import Layer

SPLIT_ABOVE = 1 << 16     # weights; smaller matrices are not worth a thread handoff


class Dense(Layer):
    def __init__(self, options, in_shape, need_dx=True, map_slices=None):
        super().__init__(options, in_shape, need_dx)
        self.map_slices = map_slices
        n_in = int(np.prod(in_shape))
        width = options["width"]
        self.act = options["actfunc"]
        self.param_shapes = {"w": ((n_in, width), "weight"), "b": ((width,), "bias")}
        self.out_shape = (width,)

    def _split(self, w):
        return self.map_slices if self.map_slices is not None and w.size > SPLIT_ABOVE \
            else None

    def forward(self, x, params, train, rng):
        image_shape = None
        if x.ndim == 4:                       # (C, N, H, W) -> (N, C*H*W)
            image_shape = x.shape
            x = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1)
        w = params["w"]
        split = self._split(w)
        if split is None:
            y = np.dot(x, w)
        else:
            parts = split(lambda rows: np.dot(x[:, rows], w[rows]), w.shape[0], 0)
            y = parts[0]
            for p in parts[1:]:
                y += p
        y += params["b"]
        activations.forward(self.act, y)
        return y, (x, y, image_shape)

    def backward(self, dout, cache, params, grads):
        x, y, image_shape = cache
        dz = activations.backward(self.act, y, dout)
        gw = grads["w"]
        split = self._split(gw)
        if split is None:
            np.matmul(x.T, dz, out=gw)
        else:
            split(lambda rows: np.matmul(x[:, rows].T, dz, out=gw[rows]), gw.shape[0], 0)
        np.sum(dz, axis=0, out=grads["b"])
        if not self.need_dx:
            return None
        dx = dz @ params["w"].T
        if image_shape is not None:
            c, n, h, w = image_shape
            dx = dx.reshape(n, c, h, w).transpose(1, 0, 2, 3)
        return dx
