"""The reference's own random calls on a legacy `np.random.RandomState`, in its array
layouts, permuted into the engine's (Q13, docs/reproduction.md#replaying-the-study-draw-for-draw).

The reference draws every random number from NumPy's global legacy stream, with calls
whose shapes are those of its own layouts: images (N, H, W, C), flattened per sample in
(H, W, C) order, kernels (kh, kw, C_in, C_out). The legacy generator consumes its state
differently for each call (`normal` caches the second Box-Muller value, `binomial`
draws by inversion), so only the same calls with the same shapes replay the stream.
This module makes those calls and permutes the arrays into the engine's layouts
(images (C, N, H, W), kernels (C_out, C_in, kh, kw), a full layer after images flattened
per sample in (C, H, W) order); it never redraws.

- `init_params(net, rs, std)`: every weight and kernel, in layer order (the output
  layer last), `rs.normal(0, std, book_shape)`; biases and batch-norm scale/shift as the
  layers set them (no draw).
- `step_draws(rs, layers, rows)`: one training step's dropout masks and noise, drawn
  for the whole minibatch in forward order as the reference does
  (`rs.binomial(1, keep_prob, x.shape)`; `rs.rand() < ratio`, then
  `rs.normal(mean, std, x.shape)`), cut into the shards' rows: one `BookDraws` per
  shard, which hands its layers their arrays in the same order.

A RandomState given where the engine takes a Generator means these calls
(engine.network.Network.init_params, engine.shards.ShardedNetwork.forward).
"""
from __future__ import annotations

import numpy as np

from .conv import Conv
from .dense import Dense
from .draws import Draws
from .dropout import Dropout
from .noise import Noise


def _book_shape(shape):
    """The engine's per-sample shape (C, H, W) or (F,) -> the reference's (H, W, C) or (F,)."""
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else tuple(shape)


def _to_engine(a):
    """A reference-layout batch (N, H, W, C) or (N, F) -> the engine's (C, N, H, W) or (N, F)."""
    return a.transpose(3, 0, 1, 2) if a.ndim == 4 else a


def weight_draws(layer):
    """[(name, book shape)] of the weights and kernels a layer draws, in the reference's
    order (one per layer: its `w` or `k`)."""
    if isinstance(layer, Conv):
        o, c, kh, kw = layer.param_shapes["k"][0]
        return [("k", (kh, kw, c, o))]
    if isinstance(layer, Dense):
        return [("w", (int(np.prod(layer.in_shape)), layer.param_shapes["w"][0][1]))]
    return []


def book_to_engine(layer, a, first=False):
    """A weight drawn in the reference's layout -> the layer's own layout. A full layer
    that is the network's first gets the pixels flattened in (H, W, C) order already
    (engine.network.Network.to_input)."""
    if isinstance(layer, Conv):
        return a.transpose(3, 2, 0, 1)                   # (kh, kw, C, O) -> (O, C, kh, kw)
    if len(layer.in_shape) == 3 and not first:           # a full layer after image layers
        c, h, w = layer.in_shape
        return a.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
    return a


def init_params(layers, params, rs, std):
    """Fill `params` (one dict per layer) as the reference initialises: N(0, std)
    weights and kernels drawn in layer order, in its layouts."""
    for i, (layer, p) in enumerate(zip(layers, params)):
        roles = {role for _, role in layer.param_shapes.values()}
        if "affine" in roles:
            layer.init_params(p, None, None)             # batch norm: scale 1, shift 0
        for name, (_, role) in layer.param_shapes.items():
            if role == "bias":
                p[name][...] = 0.0
        for name, shape in weight_draws(layer):
            p[name][...] = book_to_engine(layer, rs.normal(0.0, std, shape), first=i == 0)


def skip_init(layers, rs, std):
    """The draws of init_params without a network (a model fast-forwarded)."""
    for layer in layers:
        for _, shape in weight_draws(layer):
            rs.normal(0.0, std, shape)


class BookDraws(Draws):
    """One shard's share of a step's reference draws, handed out in forward order:
    `keep_mask` to each dropout layer, `noise` to each noise layer (the engine.draws.Draws
    interface)."""

    def __init__(self, items):
        super().__init__(None, None)
        self._items = iter(items)

    def _next(self, kind, shape):
        got, a = next(self._items)
        if got != kind or (a is not None and a.shape != tuple(shape)):
            raise RuntimeError(f"replayed draws out of step: a {kind} of {tuple(shape)} "
                               f"asked, a {got} of {None if a is None else a.shape} drawn")
        return a

    def keep_mask(self, shape, keep_prob):
        return self._next("mask", shape)

    def noise(self, shape, options, dtype):
        a = self._next("noise", shape)
        return None if a is None else a.astype(dtype, copy=False)


def _draw_step(rs, layers, n):
    """The reference's calls of one training step on a minibatch of n, in forward order:
    [(kind, array in the reference's layout or None)]."""
    out = []
    for layer in layers:
        if isinstance(layer, Dropout):
            shape = (n, *_book_shape(layer.in_shape))
            out.append(("mask", rs.binomial(1, layer.options["keep_prob"], shape)))
        elif isinstance(layer, Noise):
            o = layer.options
            if rs.rand() < o["ratio"]:
                # legacy normal(loc, scale) is loc + scale * gauss: the mean draws nothing,
                # and the layer adds it (as with the engine's own draws)
                shape = (n, *_book_shape(layer.in_shape))
                out.append(("noise", rs.normal(0.0, o["std"], shape)))
            else:
                out.append(("noise", None))
    return out


def skip_step(rs, layers, n):
    """One step's draws without a forward pass (a model fast-forwarded)."""
    _draw_step(rs, layers, n)


def step_draws(rs, layers, rows):
    """One BookDraws per shard ([start, stop) rows of the minibatch), from the whole
    minibatch's draws in the engine's layouts."""
    n = rows[-1][1]
    drawn = []
    for kind, a in _draw_step(rs, layers, n):
        if a is not None:
            a = _to_engine(a.astype(bool) if kind == "mask" else a)
        drawn.append((kind, a))
    if len(rows) == 1:
        return [BookDraws(drawn)]
    return [BookDraws([(k, None if a is None else
                        (a[:, r0:r1] if a.ndim == 4 else a[r0:r1])) for k, a in drawn])
            for r0, r1 in rows]
