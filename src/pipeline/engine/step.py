"""Where one pass of a training step runs: alone, or as one shard of a minibatch cut
into S shards that run at once on their own threads (engine.shards builds these).

The layers that need the whole minibatch (batch normalization) declare
`uses_step = True` and take one in their forward, `forward(x, params, train, rng,
step=ALONE)` (engine.layer).
"""
from __future__ import annotations

import numpy as np


class Step:
    """shard: this pass's index among the step's shards (0..S-1), in minibatch order;
    shard 0 alone updates state the shards share (batch norm's running averages).

    sync: None when the pass is alone, else a callable, sync(shard, *parts) -> totals,
    that every active shard calls at the same points of its pass, in the same order,
    with arrays of the same shapes: it waits until all have called and gives each the
    float64 sums of their parts, added in shard order (engine.shards.Allreduce)."""

    def __init__(self, shard=0, sync=None):
        self.shard, self.sync = shard, sync

    def total(self, *parts):
        """The float64 sums of `parts` over the step's shards (alone: parts themselves)."""
        if self.sync is None:
            return [np.asarray(p, np.float64) for p in parts]
        return self.sync(self.shard, *parts)


ALONE = Step()
