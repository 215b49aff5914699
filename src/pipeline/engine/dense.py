"""Full (dense) layer: y = act(x @ w + b). An image input (C, N, H, W) is flattened per
sample first (channel-major), so a full layer can follow conv/pool layers."""
import numpy as np

from . import activations
from .layer import Layer


class Dense(Layer):
    def __init__(self, options, in_shape):
        super().__init__(options, in_shape)
        n_in = int(np.prod(in_shape))
        width = options["width"]
        self.act = options["actfunc"]
        self.param_shapes = {"w": ((n_in, width), "weight"), "b": ((width,), "bias")}
        self.out_shape = (width,)

    def forward(self, x, params, train, rng):
        image_shape = None
        if x.ndim == 4:                       # (C, N, H, W) -> (N, C*H*W)
            image_shape = x.shape
            x = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1)
        y = x @ params["w"]
        y += params["b"]
        activations.forward(self.act, y)
        return y, (x, y, image_shape)

    def backward(self, dout, cache, params, grads):
        x, y, image_shape = cache
        dz = activations.backward(self.act, y, dout)
        np.matmul(x.T, dz, out=grads["w"])
        np.sum(dz, axis=0, out=grads["b"])
        if not self.need_dx:
            return None
        dx = dz @ params["w"].T
        if image_shape is not None:
            c, n, h, w = image_shape
            dx = dx.reshape(n, c, h, w).transpose(1, 0, 2, 3)
        return dx
