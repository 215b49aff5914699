"""Full (dense) layer: y = act(x @ w + b). An image input (C, N, H, W) is flattened per
sample first (channel-major), so a full layer can follow conv/pool layers.

A big weight matrix (the MLP's first, 27,648 x 30) makes the layer memory-bound on
reading w and writing its gradient. Built with `map_slices`, a layer with more than
SPLIT_ABOVE weights cuts its products along w's rows: map_slices(fn, n, min_size) must
return [fn(s) for s in contiguous slices covering range(n)], in order, and may run the
calls on other threads (engine.shards.ShardedNetwork.map_slices does); each call reads
and writes its own block of w, and the forward adds the partial products in slice order.

`gradient_rows`, when a trainer sets it, is called as gradient_rows(rows) right after
each block of rows of the weight gradient is written (on the thread that wrote it), so
the optimizer can update those weights while their gradient is in cache instead of
reading it back from memory (pipeline.train.trainer). The blocks are row slices of the
same product (same values); the input gradient is computed before, from the weights as
they were.

The forward product is np.dot, not `@`: NumPy's matmul keeps the GIL while it computes
a product of at most 500 elements (the MLP's (10, 30) output), however long its sums,
so the other thread's half waited for it; np.dot makes the same BLAS call (same values)
and releases the GIL (docs/engine.md, "The GIL").
"""
import numpy as np

from . import activations
from .layer import Layer

SPLIT_ABOVE = 1 << 16     # weights; smaller matrices are not worth a thread handoff
GRADIENT_BLOCK = 1 << 16  # weight-gradient elements per block handed to `gradient_rows`


class Dense(Layer):
    def __init__(self, options, in_shape, need_dx=True, map_slices=None):
        super().__init__(options, in_shape, need_dx)
        self.map_slices = map_slices
        self.gradient_rows = None
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
        dx = None
        if self.need_dx:        # first: gradient_rows may update the weights
            dx = dz @ params["w"].T
            if image_shape is not None:
                c, n, h, w = image_shape
                dx = dx.reshape(n, c, h, w).transpose(1, 0, 2, 3)
        gw = grads["w"]
        hook = self.gradient_rows

        def weight_gradient(rows):
            if hook is None:
                np.matmul(x[:, rows].T, dz, out=gw[rows])
                return
            step = max(1, GRADIENT_BLOCK // gw.shape[1])
            for a in range(rows.start, rows.stop, step):
                block = slice(a, min(a + step, rows.stop))
                np.matmul(x[:, block].T, dz, out=gw[block])
                hook(block)
        split = self._split(gw)
        if split is None:
            weight_gradient(slice(0, gw.shape[0]))
        else:
            split(weight_gradient, gw.shape[0], 0)
        np.sum(dz, axis=0, out=grads["b"])
        return dx
