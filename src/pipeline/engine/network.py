"""A network built from the study's vocabulary: hidden layers, then the output layer
(a full layer of width sum(head_sizes), no activation), as the reference.

All learnables live in one flat buffer laid out as [weights and kernels | biases |
batch-norm scale/shift], and their gradients in a second buffer of the same layout; each
layer gets dicts of views under its parameter names. That makes L1/L2 one slice, Adam a
few whole-buffer operations, and a checkpoint two arrays.

`build_layers` is the one place that chooses the layer kinds, fused ones included.
"""
from __future__ import annotations

import copy

import numpy as np

from . import book_draws
from .batchnorm import BatchNorm
from .config import LayerSpec, parse_hidden, output_shapes
from .conv import Conv, FoldedConv
from .dense import Dense
from .draws import Draws
from .dropout import Dropout
from .noise import Noise
from .pool import AvgPool, MaxPool, ReluMaxPool
from .step import ALONE

LAYER_CLASSES = {"full": Dense, "conv": Conv, "max": MaxPool, "avg": AvgPool,
                 "dropout": Dropout, "noise": Noise, "batch_normal": BatchNorm}
ROLE_ORDER = ("weight", "bias", "affine")
INIT_STD = 0.03     # the reference's rand_std for every weight and kernel
EVAL_IMAGES = 25    # images per evaluation pass of the layers before the first full layer


def _internal(shape):
    """(H, W, C) per-sample image shape -> the engine's (C, H, W); flat shapes unchanged."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def build_layers(specs, shape, bn_backward="exact", bn_debias=False, dtype=np.float32,
                 map_slices=None):
    """The layers that run `specs` on per-sample input `shape` (C, H, W or flat), each
    kind as the specs say except where a fusion gives the same values and gradients
    for less work:

    - a conv or full layer with ReLU right before a max pooling runs without activation,
      and the pooling is a pool.ReluMaxPool (the ReLU on the smaller pooled map);
    - a batch norm with scale and shift that is the first layer, right before a conv,
      is folded into it: BatchNorm(folded=True) then conv.FoldedConv (neither computes
      an input gradient: no col2im, no batch-norm backward);
    - full layers get `map_slices` (dense.py: big products cut by rows over threads);
    - a layer with nothing learnable before it computes no input gradient (need_dx).
    """
    specs = list(specs)
    kinds = [LAYER_CLASSES[s.type] for s in specs]
    options = [s.options for s in specs]
    for i in range(len(specs) - 1):
        if kinds[i] in (Conv, Dense) and options[i]["actfunc"] == "relu" \
                and kinds[i + 1] is MaxPool:
            options[i] = {**options[i], "actfunc": "none"}
            kinds[i + 1] = ReluMaxPool
    fold = len(specs) > 1 and kinds[0] is BatchNorm and options[0]["rescale"] \
        and kinds[1] is Conv
    if fold:
        kinds[1] = FoldedConv
    layers, learnable = [], False
    for i, (cls, opts) in enumerate(zip(kinds, options)):
        if cls is BatchNorm:
            layer = cls(opts, shape, bn_backward, bn_debias, dtype, need_dx=learnable,
                        folded=fold and i == 0)
        elif cls is Dense:
            layer = cls(opts, shape, need_dx=learnable, map_slices=map_slices)
        else:
            layer = cls(opts, shape, need_dx=learnable)
        layers.append(layer)
        learnable = learnable or bool(layer.param_shapes)
        shape = layer.out_shape
    return layers


class Network:
    def __init__(self, hidden, input_shape, head_sizes, bn_backward="exact", bn_debias=False,
                 dtype=np.float32):
        self.specs = parse_hidden(hidden) if not all(isinstance(s, LayerSpec) for s in hidden) \
            else list(hidden)
        output_shapes(self.specs, input_shape)          # shape errors name the layer
        self.input_shape = tuple(input_shape)
        self.head_sizes = list(head_sizes)
        self.dtype = np.dtype(dtype)
        self._bn_options = (bn_backward, bn_debias)
        self.layers = build_layers(self._all_specs(), _internal(input_shape), bn_backward,
                                   bn_debias, self.dtype)
        self._allocate()
        self.set_input_transform()

    def _allocate(self):
        entries = [(role, i, name, shp) for role in ROLE_ORDER
                   for i, layer in enumerate(self.layers)
                   for name, (shp, r) in layer.param_shapes.items() if r == role]
        sizes = [int(np.prod(shp)) for *_, shp in entries]
        self.flat = np.zeros(sum(sizes), self.dtype)
        self.grad = np.zeros_like(self.flat)
        self.params = [dict() for _ in self.layers]
        self.grads = [dict() for _ in self.layers]
        self.slices = {}
        offset = 0
        for (role, i, name, shp), size in zip(entries, sizes):
            sl = slice(offset, offset + size)
            self.params[i][name] = self.flat[sl].reshape(shp)
            self.grads[i][name] = self.grad[sl].reshape(shp)
            self.slices[f"L{i}.{name}"] = sl
            offset += size
        counts = {r: sum(s for (role, *_), s in zip(entries, sizes) if role == r)
                  for r in ROLE_ORDER}
        self.n_weights = counts["weight"]
        self.n_affine = counts["affine"]

    def _all_specs(self):
        """The hidden layers' specs, then the output layer's."""
        out_spec = LayerSpec("full", {"width": int(sum(self.head_sizes)), "actfunc": "none"})
        return [*self.specs, out_spec]

    def split_rows(self, map_slices):
        """Rebuild the full layers with `map_slices` (dense.py; None: unsplit), through
        build_layers; the other layers, and their state, stay."""
        fresh = build_layers(self._all_specs(), _internal(self.input_shape),
                             *self._bn_options, self.dtype, map_slices)
        self.layers = [new if isinstance(new, Dense) else old
                       for old, new in zip(self.layers, fresh)]

    def init_params(self, rng, init=INIT_STD):
        """Every layer's parameters by one rule: a number is N(0, init) weights and zero
        biases (the reference: 0.03 everywhere), a name one of layer.INIT_RULES. A legacy
        RandomState draws them with the reference's own calls (engine.book_draws)."""
        if isinstance(rng, np.random.RandomState):
            if isinstance(init, str):
                raise ValueError(f"init: the reference's draws are N(0, std) weights, "
                                 f"got the rule {init!r}")
            book_draws.init_params(self.layers, self.params, rng, float(init))
            return
        for layer, params in zip(self.layers, self.params):
            layer.init_params(params, rng, init)

    @property
    def weights(self):
        """Every weight and kernel, one flat view (what L1/L2 and the statistics use)."""
        return self.flat[:self.n_weights]

    def set_input_transform(self, gain=1.0, offset=0.0):
        """Pixels enter as x * gain + offset, per channel (scalars or (C,) arrays): raw,
        divided by 255, or standardized (see pipeline.train.trainer.input_transform)."""
        c = self.input_shape[-1]
        gain = np.broadcast_to(np.asarray(gain, self.dtype), (c,))
        offset = np.broadcast_to(np.asarray(offset, self.dtype), (c,))
        if isinstance(self.layers[0], Dense):        # HWC-flattened: channel is fastest
            n = int(np.prod(self.input_shape[:-1]))
            self._gain, self._offset = np.tile(gain, n), np.tile(offset, n)
        else:                                         # CNHW
            self._gain, self._offset = gain.reshape(c, 1, 1, 1), offset.reshape(c, 1, 1, 1)
        self._plain = not offset.any() and (gain == 1).all()

    def to_input(self, x):
        """A (N, H, W, C) batch (uint8 or float) -> the first layer's layout and dtype,
        through the input transform."""
        if isinstance(self.layers[0], Dense):
            x = x.reshape(x.shape[0], -1)
        else:
            x = x.transpose(3, 0, 1, 2)
        out = np.empty(x.shape, self.dtype)
        out[...] = x
        if not self._plain:
            # in place after the cast: the same float32 arithmetic as a mixed-type
            # multiply, without its buffered casting loop
            out *= self._gain
            out += self._offset
        return out

    def replica(self):
        """A network for another shard of a training step: the same parameters (shared
        flat buffer), input transform and running statistics; its own layer workspaces
        and gradient buffer."""
        twin = copy.copy(self)
        twin.layers = [layer.clone() for layer in self.layers]
        twin.grad = np.zeros_like(self.grad)
        twin.grads = [{name: twin.grad[self.slices[f"L{i}.{name}"]].reshape(g.shape)
                       for name, g in grads.items()} for i, grads in enumerate(self.grads)]
        return twin

    def forward(self, x, train=False, rng=None, step=ALONE):
        """rng: a Generator, or the shard's Draws; step: where this pass runs
        (engine.step; pipeline.engine.shards makes both)."""
        rng = Draws.of(rng)
        caches = []
        for layer, params in zip(self.layers, self.params):
            x, cache = layer.forward(x, params, train, rng, step) if layer.uses_step \
                else layer.forward(x, params, train, rng)
            caches.append(cache)
        return x, caches

    def backward(self, dlogits, caches):
        """Fill self.grad; parameters are not touched."""
        d = dlogits
        for layer, params, grads, cache in zip(reversed(self.layers), reversed(self.params),
                                               reversed(self.grads), reversed(caches)):
            d = layer.backward(d, cache, params, grads)
            if d is None:
                break

    def predict_logits(self, x, chunk=200):
        """Evaluation-mode logits in chunks of `chunk` images (bounded memory, Q18). The
        layers before the first full layer take the chunk EVAL_IMAGES images at a time:
        in evaluation they treat every image alone, and their products give the same
        values at any batch size, while a full layer's product can change in the last
        bits with its row count, so the full layers take the whole chunk."""
        first = next(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        pairs = list(zip(self.layers, self.params))
        head, tail = pairs[:first], pairs[first:]
        out = []
        for i in range(0, len(x), chunk):
            xc = x[i:i + chunk]
            if head:
                a = np.concatenate([_evaluate(head, self.to_input(xc[j:j + EVAL_IMAGES]))
                                    for j in range(0, len(xc), EVAL_IMAGES)], axis=1)
            else:
                a = self.to_input(xc)
            out.append(_evaluate(tail, a))
        return np.concatenate(out) if out else np.zeros((0, sum(self.head_sizes)), self.dtype)

    # -- saving ------------------------------------------------------------------------
    def state_arrays(self):
        """Parameters (keys L{i}.{name}) and running statistics, as copies."""
        arrays = {f"L{i}.{name}": p.copy()
                  for i, params in enumerate(self.params) for name, p in params.items()}
        for i, layer in enumerate(self.layers):
            for name, arr in layer.state().items():
                arrays[f"L{i}.{name}"] = arr.copy()
        return arrays

    def load_state_arrays(self, arrays):
        for key, sl in self.slices.items():
            self.flat[sl] = np.asarray(arrays[key]).ravel()
        for i, layer in enumerate(self.layers):
            for name, arr in layer.state().items():
                arr[...] = arrays[f"L{i}.{name}"]

    def config(self):
        return [s.to_config() for s in self.specs]


def _evaluate(layers, x):
    """x through (layer, params) pairs in evaluation mode."""
    for layer, params in layers:
        x = layer.forward(x, params, False, None)[0]
    return x
