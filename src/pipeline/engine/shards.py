"""Data-parallel training steps: a minibatch is cut into S contiguous shards, and each
shard runs forward and backward on its own thread, through a replica of the network
that shares the parameters but has its own workspaces and gradient buffer. The shard
gradients are then added in shard order.

Why: at batch 10 the study's layers are too small for BLAS threads to help (a conv
product is memory-bound, and most of a step is elementwise work BLAS never sees), but
NumPy releases the GIL inside its loops, so two shards keep two cores busy through the
whole step (docs/engine.md has the timings).

The numbers depend on S (the order of the gradient sums, one random stream per shard)
but not on how many cores run the threads: S is a run setting, recorded with the run.

The threads a run may use in all (the calling thread included) are a run setting too,
`threads` (`regstudy train --threads`, a workflow job's `threads:`). With fewer threads
than shards or slices, the pool runs the surplus parts one after another, in their
order and with their boundaries unchanged, so the numbers are bit-identical; with one
thread there is no pool. Batch norm's shards must run at once (they meet at a
barrier): a network with batch norm needs threads >= shards, else ConfigError.

Batch normalization needs statistics of the whole minibatch: each shard's pass gets an
engine.step.Step whose `sync` is the step's `Allreduce` (a barrier), where the replicas
add their partial sums, in shard order.

Unsharded (S = 1), the threads split the big full layers' products by rows instead: the
network's full layers are rebuilt with this object's `map_slices` (engine.dense).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import book_draws
from .config import ConfigError
from .draws import Draws
from .step import Step

# Elementwise work over the flat buffers (gradient sums, penalties, Adam) is cut into
# this many slices, run in parallel. A constant, not the machine's core count: the
# penalty's partial sums, added in slice order, must not depend on the machine.
SLICES = 2


def default_shards(net):
    """2 for networks with a layer that shards pay off for (convolutions). An MLP's step
    is dominated by its first weight matrix, which every shard would read and whose
    gradient every shard would write: slower with 2 shards (docs/engine.md), so 1."""
    return 2 if any(layer.shards_pay_off for layer in net.layers) else 1


def _with_errstate(fn):
    """fn under the calling thread's NumPy error state (which is per thread)."""
    errstate = np.geterr()

    def call(*args):
        with np.errstate(**errstate):
            return fn(*args)
    return call


class Allreduce:
    """Sums arrays over the shards of one step; every shard gets the same float64 total.

    One barrier per call: calls alternate between two sets of slots, and no shard can
    write a set again before every shard has passed the next call's barrier, that is,
    has finished reading it. (Each wait is a thread wake-up.) One Allreduce serves every
    batch norm of a step: their calls come in the same order in every shard."""

    def __init__(self, parties):
        self.parties = parties
        self._slots = [[None] * parties, [None] * parties]
        self._calls = [0] * parties             # per shard: which set to use next
        self._barrier = threading.Barrier(parties)

    def __call__(self, shard, *parts):
        slots = self._slots[self._calls[shard] % 2]
        self._calls[shard] += 1
        slots[shard] = parts
        self._barrier.wait()
        totals = []
        for k in range(len(parts)):
            t = np.array(slots[0][k], np.float64)
            for s in slots[1:]:
                t += s[k]
            totals.append(t)
        return totals

    def abort(self):
        self._barrier.abort()

    def reset(self):
        self._barrier.reset()
        self._calls = [0] * self.parties


def step_draws(rng, shards):
    """One fresh 63-bit seed from `rng` (the layers' stream) per step -> one Draws per
    shard. Child streams are seeded from (seed, shard), so they are independent."""
    seed = int(rng.integers(2 ** 63))
    return [Draws(np.random.default_rng([seed]), np.random.default_rng([seed, k + 1]))
            for k in range(shards)]


def bounds(n, shards):
    """Contiguous [start, stop) of each non-empty shard of n rows (np.array_split's)."""
    k = max(1, min(shards, n))
    edges = [i * (n // k) + min(i, n % k) for i in range(k + 1)]
    return list(zip(edges[:-1], edges[1:]))


def thread_budget(shards, threads=None):
    """Threads a ShardedNetwork uses in all: `threads`, or by default as many as its
    shards or slices could use at once (max(shards, SLICES))."""
    return max(shards, SLICES) if threads is None else threads


class ShardedNetwork:
    """Training forward/backward of `net` over shards; gradients end in net.grad. At most
    `threads` threads (this one included) run its work; see thread_budget."""

    def __init__(self, net, shards=None, threads=None):
        shards = default_shards(net) if shards is None else shards
        if shards < 1:
            raise ValueError(f"shards: must be >= 1, got {shards}")
        threads = thread_budget(shards, threads)
        if threads < 1:
            raise ConfigError(f"threads: must be >= 1, got {threads}")
        if shards > threads and any(layer.uses_step for layer in net.layers):
            raise ConfigError(
                f"shards: {shards} > threads {threads}: a network with batch normalization "
                f"runs its shards at once (they meet at a barrier for the batch "
                f"statistics); use shards <= threads (--shards {threads}) or more threads "
                f"(--threads {shards})")
        self.threads = threads
        self.net, self.shards = net, shards
        self.replicas = [net] + [net.replica() for _ in range(shards - 1)]
        self.random = any(layer.draws_per_step for layer in net.layers)
        self._bn = any(layer.uses_step for layer in net.layers)     # shards meet
        self._syncs = {}            # active shards -> Allreduce
        self._pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="shard") \
            if threads > 1 else None
        self._closed = False
        self._caches = [None] * shards
        self._rows = []
        if shards == 1:         # the threads are free to split big layers instead
            net.split_rows(self.map_slices)

    def close(self):
        """Stop the threads; the network keeps working, unsplit, on the caller's."""
        if self.shards == 1:
            self.net.split_rows(None)
        if self._pool is not None:
            self._pool.shutdown()
        self._closed = True

    def predict_logits(self, x, chunk=200):
        """Evaluation-mode logits of x, its shards' rows predicted on their threads in
        chunks of chunk/S images (the memory of one chunk). Evaluation treats every
        image alone, so this is net.predict_logits(x), faster (docs/engine.md)."""
        parts = bounds(len(x), self.shards)
        if len(parts) == 1 or self._closed:
            return self.net.predict_logits(x, chunk)
        per = max(1, chunk // len(parts))
        return np.concatenate(self._parallel(
            lambda k: self.replicas[k].predict_logits(x[slice(*parts[k])], per),
            range(len(parts))))

    def _steps(self, active):
        """The Step of each of `active` shards: with batch norm and more than one shard,
        they meet in the Allreduce kept for that many shards."""
        sync = self._syncs.setdefault(active, Allreduce(active)) \
            if self._bn and active > 1 else None
        return [Step(k, sync) for k in range(active)]

    def _parallel(self, fn, items):
        """[fn(item) for item in items]: the first on this thread, the others on the
        pool (or, without one, after it on this thread, in order). Waits for all of
        them; on failure releases every shard from any barrier and re-raises the cause
        (not the BrokenBarrierError it led to elsewhere)."""
        if self._pool is None:
            results, errors = [], []
            for item in items:
                try:
                    results.append(fn(item))
                except BaseException as exc:       # noqa: BLE001 - re-raised below
                    errors.append(exc)
            if errors:
                raise errors[0]
            return results
        fn = _with_errstate(fn)

        def guarded(item):
            try:
                return fn(item)
            except BaseException:
                for s in self._syncs.values():
                    s.abort()
                raise
        futures = [self._pool.submit(guarded, item) for item in items[1:]]
        results, errors = [], []
        for f in [None, *futures]:
            try:
                results.append(guarded(items[0]) if f is None else f.result())
            except BaseException as exc:       # noqa: BLE001 - re-raised below
                errors.append(exc)
        if errors:
            for s in self._syncs.values():
                s.reset()
            raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                       errors[0])
        return results

    def _run(self, job):
        """job(k) for every active shard k."""
        return self._parallel(job, range(len(self._rows)))

    def forward(self, xb, rng):
        """Training-mode logits of the minibatch xb ((N, H, W, C) images)."""
        self._rows = bounds(len(xb), self.shards)
        steps = self._steps(len(self._rows))
        if not self.random:
            draws = [None] * len(self._rows)
        elif isinstance(rng, np.random.RandomState):    # the reference's own calls, replayed
            draws = book_draws.step_draws(rng, self.net.layers, self._rows)
        else:
            draws = step_draws(rng, len(self._rows))

        def job(k):
            a, b = self._rows[k]
            rep = self.replicas[k]
            logits, self._caches[k] = rep.forward(rep.to_input(xb[a:b]), train=True,
                                                  rng=draws[k], step=steps[k])
            return logits
        parts = self._run(job)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def backward(self, dlogits, reduce=True):
        """Gradients of the last forward's minibatch; with `reduce`, summed over the
        shards into net.grad (else call reduce_gradients over slices yourself)."""
        def job(k):
            a, b = self._rows[k]
            self.replicas[k].backward(dlogits[a:b], self._caches[k])
            self._caches[k] = None
        self._run(job)
        if reduce:
            self.map_slices(self.reduce_gradients, self.net.grad.size)

    def reduce_gradients(self, sl):
        """net.grad[sl] += the other active shards' gradients, in shard order."""
        g = self.net.grad[sl]
        for rep in self.replicas[1:len(self._rows)]:
            g += rep.grad[sl]

    def map_slices(self, fn, n, min_size=1 << 16):
        """[fn(slice) for SLICES contiguous slices covering range(n)], run in parallel
        (one slice below min_size elements, where a thread handoff costs more than it
        saves). For elementwise work over the flat buffers (Adam,
        penalties, gradient sums) and the row blocks of a big dense layer. The slices
        are the same whatever the threads."""
        parts = bounds(n, SLICES if n >= min_size else 1)
        return self._parallel(lambda ab: fn(slice(*ab)), parts)
