"""What every layer provides (the cs231n pair, plus parameter declarations).

A layer declares its learnables in `param_shapes` as name -> (shape, role), where role is
"weight" (w, k: initialised by the network's rule, counted in the statistics, penalised by L1/L2),
"bias" or "affine" (batch-norm scale/shift). The network owns the arrays and hands each
layer dicts of views under the same keys:

    out, cache = layer.forward(x, params, train, rng)
    dx = layer.backward(dout, cache, params, grads)   # fills grads[name] in place

`rng` is a Generator or the shard's engine.draws.Draws (None outside training).
`backward` never updates parameters: the optimizer does, afterwards.

What a layer needs of a training step it declares, and the code that runs steps
(engine.shards, engine.book_draws) asks, instead of knowing the kinds:

- `uses_step = True`: it needs the whole minibatch of a sharded step (batch norm); its
  forward takes a fifth argument, `step`, an engine.step.Step (where this pass runs;
  ALONE by default), and its shards meet at a barrier;
- `draws_per_step = True`: it draws random numbers in every training step (dropout
  masks, noise), from the step's draws (`rng`);
- `shards_pay_off = True`: a step cut into shards on threads is faster for it
  (convolutions: their products leave cores idle at batch 10; docs/engine.md).

Everything a layer does is decided when it is built, by its constructor's arguments;
nothing is set on it afterwards. Each kind, fused ones included (conv.FoldedConv,
pool.ReluMaxPool), is one class in its own module; engine.network.build_layers chooses
the kinds of a network.
"""
import copy

import numpy as np

# Initialisation rules by the fan-in of a layer's weight (inputs feeding one unit):
INIT_RULES = {
    "he": "weights N(0, 2/fan_in), biases 0",
    "lecun": "weights N(0, 1/fan_in), biases 0",
    "fan_in_uniform": "weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) "
                      "(PyTorch's default for Linear and Conv2d)",
}


class Layer:
    param_shapes = {}
    uses_step = False       # True: forward(x, params, train, rng, step), see above
    draws_per_step = False  # True: draws from the step's rng in training
    shards_pay_off = False  # True: sharded steps are faster for this layer

    def __init__(self, options, in_shape, need_dx=True):
        """need_dx: whether backward returns the input gradient. A layer with nothing
        learnable before it has no use for one: conv and full layers then skip it (the
        first conv's col2im, for instance) and return None."""
        self.options = options
        self.need_dx = need_dx
        self.in_shape = tuple(in_shape)
        self.out_shape = self.in_shape
        self._workspaces = {}

    def fan_in(self, name):
        """Inputs feeding one output unit of weight `name` (for the fan-in rules)."""
        shape = self.param_shapes[name][0]
        return shape[0] if len(shape) == 2 else int(np.prod(shape[1:]))

    def init_params(self, params, rng, init):
        """Fill params in place by `init` (see INIT_RULES): a number is N(0, init) weights
        with zero biases; the rules scale by the fan-in of the layer's weight. Layers with
        other parameters override this."""
        weight = next((n for n, (_, role) in self.param_shapes.items() if role == "weight"),
                      None)
        fan_in = self.fan_in(weight) if weight is not None else 1
        if not isinstance(init, str):
            sd = float(init)
        elif init == "he":
            sd = np.sqrt(2.0 / fan_in)
        elif init == "lecun":
            sd = np.sqrt(1.0 / fan_in)
        elif init == "fan_in_uniform":
            sd = None
        else:
            raise ValueError(f"init: expected a number or one of {', '.join(INIT_RULES)}, "
                             f"got {init!r}")
        bound = 1.0 / np.sqrt(fan_in)
        for name, (_, role) in self.param_shapes.items():
            if role == "weight" and sd is not None:
                params[name][...] = rng.normal(0.0, sd, params[name].shape)
            elif role in ("weight", "bias") and sd is None:
                params[name][...] = rng.uniform(-bound, bound, params[name].shape)
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
