"""Convolution, stride 1, 'same' zero padding, cross-correlation (no kernel flip), as the
reference. Kernels are stored (chn, C, kh, kw).

im2col in the CNHW layout: kh*kw shifted slice copies of a padded input into a
preallocated (C*kh*kw + 1, N*H*W) buffer whose last row is ones, so one matrix product
with [kernel | bias] gives the biased (chn, N*H*W) output, already in CNHW, and one
product in the backward pass gives the kernel and bias gradients together.

A batch norm that is the network's first layer, right before this conv, is folded in
(`fold`, set by the network): the batch norm passes xhat on, and the conv applies its
scale and shift through the kernel, as conv(scale*xhat + shift) = (k*scale) * xhat +
(k . shift) * valid + b, where `valid` (kh*kw, H*W) marks the taps that fall inside the
image (the shift's part is a small (chn, H*W) map added to every image). The
kernel-gradient product against xhat, and dz summed over the images times `valid`, then
give the kernel gradient and the batch norm's scale and shift gradients, so neither layer
computes an input gradient (the col2im and the batch norm backward, ~1/5 of a cnn4 step,
are skipped).
"""
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
        self.fold = None        # (params, grads) of a folded batch norm, see above

    def _buffers_for(self, n, dtype, train=True):
        """The forward's work arrays for batches of n: in training a workspace per batch
        size and dtype, kept; in evaluation fresh ones (evaluation chunks are big and come
        in many sizes, and their workspaces would stay allocated)."""
        def make():
            c, h, w = self.in_shape
            kh, kw = self.k
            o = self.out_shape[0]
            hp, wp = h + kh - 1, w + kw - 1
            cols = np.empty((c * kh * kw + 1, n * h * w), dtype)
            cols[-1] = 1.0                                  # the bias row
            return {
                "valid": self._valid_taps(dtype) if self.fold is not None else None,
                "xp": np.zeros((c, n, hp, wp), dtype),      # borders stay zero
                "cols": cols,
                "kb": np.empty((o, c * kh * kw + 1), dtype),
            }
        return self.workspace((n, np.dtype(dtype).str), make) if train else make()

    def _backward_buffers(self, n, dtype):
        """The input gradient's work arrays for batches of n (a workspace, made at the
        first backward of that size)."""
        def make():
            c, h, w = self.in_shape
            kh, kw = self.k
            hp, wp = h + kh - 1, w + kw - 1
            return {
                "dzp": np.zeros((self.out_shape[0], n, hp, wp), dtype),  # only [:h, :w] written
                "dxflat": np.empty((c, n * hp * wp + (kh - 1) * wp + kw - 1), dtype),
            }
        return self.workspace(("backward", n, np.dtype(dtype).str), make)

    def _valid_taps(self, dtype):
        """(kh*kw, H*W): 1 where tap (i, j) of an output position reads inside the image."""
        c, h, w = self.in_shape
        kh, kw = self.k
        ph, pw = self.pad
        inside = np.zeros((h + kh - 1, w + kw - 1), dtype)
        inside[ph:ph + h, pw:pw + w] = 1.0
        return np.stack([inside[i:i + h, j:j + w].reshape(-1)
                         for i in range(kh) for j in range(kw)])

    def forward(self, x, params, train, rng):
        c, n, h, w = x.shape
        kh, kw = self.k
        ph, pw = self.pad
        buf = self._buffers_for(n, x.dtype, train)
        xp, cols = buf["xp"], buf["cols"]
        xp[:, :, ph:ph + h, pw:pw + w] = x
        patches = cols[:-1].reshape(c, kh, kw, n, h, w)
        for i in range(kh):
            for j in range(kw):
                patches[:, i, j] = xp[:, :, i:i + h, j:j + w]
        kb = buf["kb"]
        o = kb.shape[0]
        k = params["k"]
        kb[:, -1] = params["b"]
        if self.fold is None:
            kb[:, :-1] = k.reshape(o, -1)
            y = kb @ cols
        else:
            bn = self.fold[0]
            np.multiply(k, bn["scale"].reshape(1, c, 1, 1), out=kb[:, :-1].reshape(k.shape))
            y = kb @ cols
            shift_map = np.einsum("ocij,c->oij", k, bn["shift"]).reshape(o, -1) @ buf["valid"]
            y.reshape(o, n, h * w)[...] += shift_map[:, None, :]
        activations.forward(self.act, y)
        y = y.reshape(o, n, h, w)
        # `cols` is reused by the next forward of this batch size, which in training
        # always comes after this step's backward.
        return y, (buf, y)

    def backward(self, dout, cache, params, grads):
        buf, y = cache
        o, n, h, w = y.shape
        cols = buf["cols"]
        dz = activations.backward(self.act, y, dout).reshape(o, -1)
        gkb = dz @ cols.T
        gk = grads["k"]
        grads["b"][...] = gkb[:, -1]
        if self.fold is None:
            gk[...] = gkb[:, :-1].reshape(gk.shape)
        else:
            # gkb holds G, the kernel gradient against xhat; G1, the one against
            # `valid`, is dz summed over the images times `valid`. With the input
            # y = scale*xhat + shift: dk = scale*G + shift*G1, and the batch norm's
            # dscale = sum(dy * xhat) = <k, G>, dshift = sum(dy) = <k, G1>.
            bn, bn_grads = self.fold
            c = gk.shape[1]
            g = gkb[:, :-1].reshape(gk.shape)
            g1 = (np.einsum("onp->op", dz.reshape(o, n, h * w)) @ buf["valid"].T
                  ).reshape(o, 1, *self.k)
            k = params["k"]
            np.multiply(g, bn["scale"].reshape(1, c, 1, 1), out=gk)
            gk += g1 * bn["shift"].reshape(1, c, 1, 1)
            bn_grads["scale"][...] = np.einsum("ocij,ocij->c", k, g)
            bn_grads["shift"][...] = np.einsum("ocij,oij->c", k, g1[:, 0])
        if not self.need_dx:
            return None
        return self._input_gradient(params["k"], dz.reshape(o, n, h, w))

    def _input_gradient(self, k, dz):
        """col2im on the padded grid: with dz placed at the top-left of a zero-bordered
        (Hp, Wp) grid, the column of kernel offset (i, j) lands on the flattened padded
        input shifted by i*Wp + j, so the kh*kw scatter-adds are contiguous 1-D adds
        instead of strided 2-D ones (measured 35-40% faster per layer)."""
        c = self.in_shape[0]
        o, n, h, w = dz.shape
        kh, kw = self.k
        ph, pw = self.pad
        back = self._backward_buffers(n, dz.dtype)
        dzp, flat = back["dzp"], back["dxflat"]
        hp, wp = dzp.shape[2:]
        dzp[:, :, :h, :w] = dz
        length = n * hp * wp
        dcols = (k.reshape(o, -1).T @ dzp.reshape(o, -1)).reshape(c, kh * kw, length)
        flat[:, :length] = dcols[:, 0]                  # offset (0, 0)
        flat[:, length:] = 0
        for t in range(1, kh * kw):
            off = (t // kw) * wp + t % kw
            flat[:, off:off + length] += dcols[:, t]
        return flat[:, :length].reshape(c, n, hp, wp)[:, :, ph:ph + h, pw:pw + w]
