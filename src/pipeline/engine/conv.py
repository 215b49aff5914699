"""Convolution, stride 1, 'same' zero padding, cross-correlation (no kernel flip), as the
reference. Kernels are stored (chn, C, kh, kw).

im2col in the CNHW layout: kh*kw shifted slice copies of a padded input into a
preallocated (C*kh*kw + 1, N*H*W) buffer whose last row is ones, so one matrix product
with [kernel | bias] gives the biased (chn, N*H*W) output, already in CNHW, and one
product in the backward pass gives the kernel and bias gradients together.

FoldedConv is a convolution with a batch norm folded in: its input is the batch norm's
xhat together with that batch norm's scale and shift (a `Standardized`), and it applies
them through the kernel, as conv(scale*xhat + shift) = (k*scale) * xhat +
(k . shift) * valid + b, where `valid` (kh*kw, H*W) marks the taps that fall inside the
image (the shift's part is a small (chn, H*W) map added to every image). Its backward
returns no input gradient but a `FoldGradient`: the kernel-gradient product against
xhat, G, and dz summed over the images times `valid`, G1, from which the kernel gradient
is dk = scale*G + shift*G1 and the batch norm gets its scale and shift gradients,
<k, G> and <k, G1> (engine.batchnorm). So neither layer computes an input gradient (the
col2im and the batch norm backward are skipped). Given a plain
array, FoldedConv is a Conv.
"""
from typing import NamedTuple

import numpy as np

from . import activations
from .layer import Layer


# Bytes of col2im columns above which the input gradient takes one product per kernel
# offset (into a buffer that stays in cache) instead of one product for all: about this
# machine's 2 MB of L2 per core (the timings: docs/engine.md#measured-timings).
TAP_PRODUCTS_ABOVE = 1 << 21


class Standardized(NamedTuple):
    """A folded batch norm's output: y = scale*xhat + shift per channel, unapplied."""
    xhat: np.ndarray        # (C, N, H, W)
    scale: np.ndarray       # (C,)
    shift: np.ndarray       # (C,)


class FoldGradient(NamedTuple):
    """What a FoldedConv's backward hands its batch norm: the kernel k, and the kernel
    gradients G against xhat and G1 against `valid`; dscale = <k, G>, dshift = <k, G1>."""
    k: np.ndarray           # (chn, C, kh, kw)
    g: np.ndarray           # (chn, C, kh, kw)
    g1: np.ndarray          # (chn, kh, kw)


class Conv(Layer):
    shards_pay_off = True

    def __init__(self, options, in_shape, need_dx=True):
        super().__init__(options, in_shape, need_dx)
        c, h, w = in_shape
        kh, kw = options["ksize"]
        o = options["chn"]
        self.act = options["actfunc"]
        self.k = (kh, kw)
        self.pad = ((kh - 1) // 2, (kw - 1) // 2)
        self.param_shapes = {"k": ((o, c, kh, kw), "weight"), "b": ((o,), "bias")}
        self.out_shape = (o, h, w)

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
                "xp": np.zeros((c, n, hp, wp), dtype),      # borders stay zero
                "cols": cols,
                "kb": np.empty((o, c * kh * kw + 1), dtype),
            }
        return self.workspace((n, np.dtype(dtype).str), make) if train else make()

    def _backward_buffers(self, n, dtype):
        """The input gradient's work arrays for batches of n (a workspace, made at the
        first backward of that size); with "tap", a buffer for one kernel offset's
        columns, when all of them would be more than TAP_PRODUCTS_ABOVE bytes."""
        def make():
            c, h, w = self.in_shape
            kh, kw = self.k
            hp, wp = h + kh - 1, w + kw - 1
            length = n * hp * wp
            buffers = {
                "dzp": np.zeros((self.out_shape[0], n, hp, wp), dtype),  # only [:h, :w] written
                "dxflat": np.empty((c, length + (kh - 1) * wp + kw - 1), dtype),
            }
            if c * kh * kw * length * np.dtype(dtype).itemsize > TAP_PRODUCTS_ABOVE:
                buffers["tap"] = np.empty((c, length), dtype)
            return buffers
        return self.workspace(("backward", n, np.dtype(dtype).str), make)

    def _products(self, x, kernel, bias, train):
        """im2col of x and [kernel | bias] @ cols, the pre-activation (chn, N*H*W);
        also the work arrays (the cache's `cols`)."""
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
        kb[:, -1] = bias
        kernel(kb[:, :-1].reshape(self.param_shapes["k"][0]))
        return kb @ cols, buf

    def _activate(self, y, buf, n):
        o, h, w = self.out_shape
        activations.forward(self.act, y)
        y = y.reshape(o, n, h, w)
        # `cols` is reused by the next forward of this batch size, which in training
        # always comes after this step's backward.
        return y, (buf, y)

    def forward(self, x, params, train, rng):
        k = params["k"]

        def kernel(out):
            out[...] = k
        y, buf = self._products(x, kernel, params["b"], train)
        return self._activate(y, buf, x.shape[1])

    def _gradients(self, dout, cache, grads):
        """(dz, gkb): the pre-activation gradient (chn, N*H*W) and [dk | db] against the
        cache's cols; fills grads["b"]."""
        buf, y = cache
        o = y.shape[0]
        dz = activations.backward(self.act, y, dout).reshape(o, -1)
        # cols @ dz.T, transposed: the same sums in the same order (same values) as
        # dz @ cols.T, and faster for these shapes (docs/engine.md). np.dot, not `@`:
        # matmul keeps the GIL for outputs of at most 500 elements (the first
        # convolution's 28 x 6), and this is a step's longest product (engine.dense).
        gkb = np.dot(buf["cols"], dz.T).T
        grads["b"][...] = gkb[:, -1]
        return dz, gkb

    def backward(self, dout, cache, params, grads):
        dz, gkb = self._gradients(dout, cache, grads)
        gk = grads["k"]
        gk[...] = gkb[:, :-1].reshape(gk.shape)
        if not self.need_dx:
            return None
        return self._input_gradient(params["k"], dz.reshape(cache[1].shape))

    def _input_gradient(self, k, dz):
        """col2im on the padded grid: with dz placed at the top-left of a zero-bordered
        (Hp, Wp) grid, the column of kernel offset (i, j) lands on the flattened padded
        input shifted by i*Wp + j, so the kh*kw scatter-adds are contiguous 1-D adds
        instead of strided 2-D ones."""
        c = self.in_shape[0]
        o, n, h, w = dz.shape
        kh, kw = self.k
        ph, pw = self.pad
        back = self._backward_buffers(n, dz.dtype)
        dzp, flat = back["dzp"], back["dxflat"]
        hp, wp = dzp.shape[2:]
        dzp[:, :, :h, :w] = dz
        length = n * hp * wp
        taps = kh * kw
        d2 = dzp.reshape(o, -1)
        tap = back.get("tap")
        if tap is not None:
            # The columns would not stay in cache between the product and the adds: one
            # product per kernel offset into a cache-sized buffer instead. Each column
            # element is the same sum over the output channels (same values).
            kt = np.ascontiguousarray(k.reshape(o, c, taps).transpose(2, 1, 0))

            def column(t):
                return np.dot(kt[t], d2, out=tap)
        else:
            dcols = (k.reshape(o, -1).T @ d2).reshape(c, taps, length)

            def column(t):
                return dcols[:, t]
        flat[:, :length] = column(0)                    # offset (0, 0)
        flat[:, length:] = 0
        for t in range(1, taps):
            off = (t // kw) * wp + t % kw
            flat[:, off:off + length] += column(t)
        return flat[:, :length].reshape(c, n, hp, wp)[:, :, ph:ph + h, pw:pw + w]


class FoldedConv(Conv):
    """A Conv whose input is a batch norm's Standardized output (see above): it applies
    the scale and shift, and its backward returns a FoldGradient for the batch norm
    instead of an input gradient (whatever need_dx says). A plain array input makes it a
    plain Conv."""

    def _valid_taps(self, dtype):
        """(kh*kw, H*W): 1 where tap (i, j) of an output position reads inside the image."""
        def make():
            c, h, w = self.in_shape
            kh, kw = self.k
            ph, pw = self.pad
            inside = np.zeros((h + kh - 1, w + kw - 1), dtype)
            inside[ph:ph + h, pw:pw + w] = 1.0
            return np.stack([inside[i:i + h, j:j + w].reshape(-1)
                             for i in range(kh) for j in range(kw)])
        return self.workspace(("valid", np.dtype(dtype).str), make)

    def forward(self, x, params, train, rng):
        if not isinstance(x, Standardized):
            return super().forward(x, params, train, rng)
        xhat, scale, shift = x
        c, n, h, w = xhat.shape
        k = params["k"]

        def kernel(out):
            np.multiply(k, scale.reshape(1, c, 1, 1), out=out)
        y, buf = self._products(xhat, kernel, params["b"], train)
        o = y.shape[0]
        shift_map = np.einsum("ocij,c->oij", k, shift).reshape(o, -1) \
            @ self._valid_taps(xhat.dtype)
        y.reshape(o, n, h * w)[...] += shift_map[:, None, :]
        y, (buf, y) = self._activate(y, buf, n)
        return y, (buf, y, scale, shift)

    def backward(self, dout, cache, params, grads):
        if len(cache) == 2:
            return super().backward(dout, cache, params, grads)
        buf, y, scale, shift = cache
        o, n, h, w = y.shape
        dz, gkb = self._gradients(dout, (buf, y), grads)
        # gkb holds G, the kernel gradient against xhat; G1, the one against `valid`,
        # is dz summed over the images times `valid`. With the input
        # y = scale*xhat + shift: dk = scale*G + shift*G1.
        gk = grads["k"]
        c = gk.shape[1]
        g = np.ascontiguousarray(gkb[:, :-1]).reshape(gk.shape)   # batch norm's einsums
        g1 = np.dot(np.einsum("onp->op", dz.reshape(o, n, h * w)),
                    self._valid_taps(y.dtype).T).reshape(o, 1, *self.k)
        np.multiply(g, scale.reshape(1, c, 1, 1), out=gk)
        gk += g1 * shift.reshape(1, c, 1, 1)
        return FoldGradient(params["k"], g, g1[:, 0])
