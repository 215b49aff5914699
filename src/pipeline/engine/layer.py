"""What every layer provides (the cs231n pair, plus parameter declarations).

A layer declares its learnables in `param_shapes` as name -> (shape, role), where role is
"weight" (w, k: initialised N(0, std), counted in the statistics, penalised by L1/L2),
"bias" or "affine" (batch-norm scale/shift). The network owns the arrays and hands each
layer dicts of views under the same keys:

    out, cache = layer.forward(x, params, train, rng)
    dx = layer.backward(dout, cache, params, grads)   # fills grads[name] in place

`backward` never updates parameters: the optimizer does, afterwards.
"""
import copy

import numpy as np


class Layer:
    param_shapes = {}
    # Set by the network: False for layers with nothing learnable before them, which
    # then skip computing their input gradient (the first conv's col2im, for instance).
    need_dx = True

    def __init__(self, options, in_shape):
        self.options = options
        self.in_shape = tuple(in_shape)
        self.out_shape = self.in_shape
        self._workspaces = {}

    def fan_in(self, name):
        """Inputs feeding one output unit of weight `name` (for He initialisation)."""
        shape = self.param_shapes[name][0]
        return shape[0] if len(shape) == 2 else int(np.prod(shape[1:]))

    def init_params(self, params, rng, std):
        """Fill params in place: weights N(0, std) (std "he": sqrt(2 / fan_in)), biases
        zero; layers with other parameters override this."""
        for name, (_, role) in self.param_shapes.items():
            if role == "weight":
                sd = np.sqrt(2.0 / self.fan_in(name)) if std == "he" else std
                params[name][...] = rng.normal(0.0, sd, params[name].shape)
            else:
                params[name][...] = 0.0

    def clone(self):
        """A copy for another shard of a step (pipeline.engine.shards): same options and
        shapes, shared running statistics, its own workspaces."""
        twin = copy.copy(self)
        twin._workspaces = {}
        return twin

    def workspace(self, key, make):
        """Arrays this layer (this replica) reuses from step to step instead of
        allocating them again: make() once per key (e.g. batch size and dtype)."""
        if key not in self._workspaces:
            self._workspaces[key] = make()
        return self._workspaces[key]

    def state(self):
        """Non-learnable arrays that evaluation needs (batch-norm running statistics)."""
        return {}

    def forward(self, x, params, train, rng):
        raise NotImplementedError

    def backward(self, dout, cache, params, grads):
        raise NotImplementedError
