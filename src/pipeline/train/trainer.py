"""One training step and one epoch, under a protocol's quirks.

The step is: forward (training mode, the minibatch in shards on threads, see
engine.shards) -> loss and accuracy -> backward into the shards' gradient buffers -> one
parallel pass over slices of the flat buffers that adds the shards' gradients, takes the
L1/L2 sums, (corrected) adds the penalty gradient and applies Adam. Adam runs over
weights, biases and (corrected) batch-norm scale/shift; in the reference protocol the
scale/shift take plain SGD steps and L1/L2 are a decoupled decay after Adam.
"""
from __future__ import annotations

import math
import time

import numpy as np

from pipeline.engine.losses import head_slices, softmax_cross_entropy
from pipeline.engine.optim import Adam, sgd_step
from pipeline.engine.regularizers import add_penalty_gradient, penalty_terms
from pipeline.engine.shards import ShardedNetwork

# Subnormal guard: Adam's moments of dead units and L1/L2-shrunk weights decay into
# float32's subnormal range, where arithmetic is many times slower. Every FLUSH_EVERY
# steps, values below FLUSH_BELOW in magnitude are set to zero (and counted).
FLUSH_EVERY = 50
FLUSH_BELOW = 1e-30
# Elements per chunk of the step's elementwise passes (gradient sums, penalty gradient,
# Adam): the five arrays of a chunk (params, gradient, two moments, workspace, 5 MB)
# stay in L2/L3 between passes. Not smaller: with two threads every ufunc call is a GIL
# handoff (the timings: docs/engine.md#measured-timings).
CHUNK = 1 << 18


class Diverged(RuntimeError):
    def __init__(self, epoch, step, cost):
        super().__init__(f"cost is {cost} at epoch {epoch}, step {step}")
        self.epoch, self.step, self.cost = epoch, step, cost


def flush_tiny(a):
    """Zero |a| < FLUSH_BELOW in place; return how many nonzero values were flushed."""
    tiny = np.abs(a) < FLUSH_BELOW
    n = int(np.count_nonzero(tiny)) - int(np.count_nonzero(a == 0))
    a[tiny] = 0
    return n


def input_transform(mode, train_images=None, index=None):
    """(gain, offset) per channel for the `input_scale` option (Q1): raw 0..255 pixels,
    divided by 255, or standardized with the training split's channel mean and std.
    The split is train_images, or train_images[index] (index sorted) without a copy of
    it."""
    if mode == "raw":
        return 1.0, 0.0
    if mode == "unit":
        return 1.0 / 255.0, 0.0
    total, sums, squares = (_pixel_counts if train_images.dtype == np.uint8
                            else _pixel_sums)(train_images, index)
    mean = sums / total
    std = np.sqrt(np.maximum(squares / total - mean * mean, 1e-12))
    return 1.0 / std, -mean / std


def _pixel_counts(images, index, block=128):
    """(pixels per channel, sum, sum of squares per channel) of uint8 images, from a
    histogram of each channel, `block` images at a time. Every float64 sum of integers
    below 2**53 is exact, so these are the values _pixel_sums gives, ~5x faster (the
    flowers split: 0.4 s against 2.1 s)."""
    c = images.shape[-1]
    counts = np.zeros((c, 256), np.int64)
    n = len(images) if index is None else len(index)
    for a in range(0, n, block):
        imgs = images[a:a + block] if index is None else images[index[a:a + block]]
        pixels = imgs.reshape(-1, c)
        for k in range(c):
            counts[k] += np.bincount(pixels[:, k], minlength=256)
    v = np.arange(256, dtype=np.float64)
    return counts[0].sum(), counts @ v, counts @ (v * v)


def _pixel_sums(images, index, step=1 << 20):
    """(pixels per channel, sum, sum of squares per channel) as float64 sums over
    chunks of `step` pixels (bounded memory)."""
    n_img = len(images) if index is None else len(index)
    c = images.shape[-1]
    per = int(np.prod(images.shape[1:-1]))      # pixels per image
    total = n_img * per
    sums = np.zeros(c)
    squares = np.zeros(c)
    for i in range(0, total, step):
        a, b = i // per, -(-min(i + step, total) // per)       # images holding the chunk
        imgs = images[a:b] if index is None else images[index[a:b]]
        chunk = imgs.reshape(-1, c)[i - a * per:min(i + step, total) - a * per]
        chunk = chunk.astype(np.float64)
        sums += chunk.sum(0)
        squares += (chunk * chunk).sum(0)
    return total, sums, squares


class Trainer:
    def __init__(self, net, quirks, lr=0.001, l1=0.0, l2=0.0, batch_size=10, train_images=None,
                 shards=None, threads=None, train_index=None, label_smoothing=0.0):
        self.net, self.q = net, quirks
        self.lr, self.l1, self.l2, self.batch_size = lr, l1, l2, batch_size
        self.label_smoothing = label_smoothing      # of the training loss only
        # the training split: train_images, or train_images[train_index] (see input_transform)
        net.set_input_transform(*input_transform(quirks["input_scale"], train_images,
                                                 train_index))
        # shards: minibatch parts run in parallel (engine.shards); None: the network's default;
        # threads: how many threads run them in all (None: as many as they can use)
        self.sharded = ShardedNetwork(net, shards, threads)  # after the input transform is set
        # Adam covers everything but the batch-norm affine tail when that takes SGD.
        self.n_adam = net.flat.size - (net.n_affine if quirks["bn_affine_optimizer"] == "sgd" else 0)
        # One workspace for the step's elementwise pass: the penalty's sign, then Adam's
        # intermediate values, slice by slice (no second weight-sized array)
        self.work = np.empty(self.n_adam, net.dtype)
        self.opt = Adam(self.n_adam, lr=lr, dtype=net.dtype, work=self.work)
        self.steps = 0
        self.flushed = 0
        self.penalty_gradient = bool(l1 or l2) and quirks["decay"] == "loss_gradient"

    # -- one step ----------------------------------------------------------------------
    def _penalty_sums(self, sl):
        """(sum w^2 / 2, sum |w|) of the weights in one slice of the flat buffer, taken
        before the update (as the reference), over the whole slice; leaves l1*sign(w)
        in the step's workspace there (free until the slice's update)."""
        ws = slice(sl.start, min(sl.stop, self.net.n_weights))
        if not (self.l1 or self.l2) or ws.start >= ws.stop:
            return 0.0, 0.0
        return penalty_terms(self.net.flat[ws], self.l1, self.l2, self.work[ws])

    def _finish_chunk(self, c, update):
        """The elementwise rest of a step over one cache-sized chunk c: add up the
        shards' gradients, add the penalty gradient (when it is part of the loss), apply
        the optimizer; one chunk at a time, its arrays stay in cache between passes."""
        self.sharded.reduce_gradients(c)
        if self.penalty_gradient:
            cw = slice(c.start, min(c.stop, self.net.n_weights))
            if cw.start < cw.stop:
                work = self.work[cw]
                add_penalty_gradient(self.net.grad[cw], self.net.flat[cw], self.l1, self.l2,
                                     work, l1_sign=work)
        if c.start < self.n_adam:
            update(slice(c.start, min(c.stop, self.n_adam)))

    def step(self, xb, yb, rng):
        net, sharded = self.net, self.sharded
        logits = sharded.forward(xb, rng)
        data_loss, dlogits, correct = softmax_cross_entropy(logits, yb, net.head_sizes,
                                                            self.label_smoothing)
        sharded.backward(dlogits, reduce=False)
        decay = {} if self.q["decay"] == "loss_gradient" else \
            {"n_weights": net.n_weights, "l1": self.l1, "l2": self.l2}
        update = self.opt.updater(net.flat[:self.n_adam], net.grad[:self.n_adam], **decay)

        def finish(sl):
            # One pass of threads does it all: each slice's penalty sums are taken before
            # that slice's update, and slices are disjoint. Elementwise work goes chunk
            # by chunk (same values: nothing crosses elements).
            sums = self._penalty_sums(sl)
            for a in range(sl.start, sl.stop, CHUNK):
                self._finish_chunk(slice(a, min(a + CHUNK, sl.stop)), update)
            return sums
        parts = sharded.map_slices(finish, net.flat.size)
        sq, ab = sum(p[0] for p in parts), sum(p[1] for p in parts)
        scaled = self.l2 * sq + self.l1 * ab
        cost = data_loss + (scaled if self.q["penalty_cost"] == "scaled" else sq + ab)
        if self.n_adam < net.flat.size:
            sgd_step(net.flat[self.n_adam:], net.grad[self.n_adam:], self.lr)
        self.steps += 1
        if self.steps % FLUSH_EVERY == 0:
            self.flushed += sum(flush_tiny(a) for a in (self.opt.u, self.opt.w, net.flat))
        return cost, data_loss, scaled, correct

    # -- one epoch ---------------------------------------------------------------------
    def batches(self, n_train, rng):
        """Minibatch index arrays into the training split for one epoch (Q12)."""
        b = self.batch_size
        if self.q["leftover"] == "never_trained":
            order = rng.permutation((n_train // b) * b)
        else:
            order = rng.permutation(n_train)
        return [order[i:i + b] for i in range(0, len(order), b)]

    def epoch(self, x, y, train_idx, streams, epoch_no):
        """Train one epoch on x[train_idx]; returns the epoch's means and its seconds."""
        t0 = time.perf_counter()
        sums = np.zeros(3)
        correct = np.zeros(len(self.net.head_sizes))
        batches = self.batches(len(train_idx), streams["shuffle"])
        with np.errstate(over="ignore", invalid="ignore"):   # divergence is checked below
            self._steps(x, y, train_idx, batches, streams, epoch_no, sums, correct)
        n = len(batches)
        return {"cost": sums[0] / n, "data_loss": sums[1] / n, "penalty": sums[2] / n,
                "train_acc": (correct / n).tolist(),
                "train_seconds": time.perf_counter() - t0}

    def _steps(self, x, y, train_idx, batches, streams, epoch_no, sums, correct):
        for k, bi in enumerate(batches):
            idx = train_idx[bi]
            cost, data_loss, pen, corr = self.step(x[idx], y[idx], streams["layers"])
            if not math.isfinite(cost):
                raise Diverged(epoch_no, k + 1, cost)
            sums += (cost, data_loss, pen)
            correct += np.asarray(corr) / len(idx)   # mean of minibatch accuracies

    # -- evaluation --------------------------------------------------------------------
    def predict_logits(self, x, chunk=200):
        """Evaluation-mode logits, on the step's threads (engine.shards), `chunk` images
        at a time (the last bits of a CNN's logits depend on it)."""
        return self.sharded.predict_logits(x, chunk)

    def accuracy(self, x, y, logits=None):
        """Per-head evaluation-mode accuracy of x (or of its already computed logits)."""
        logits = self.predict_logits(x) if logits is None else logits
        return [float((logits[:, s].argmax(axis=1) == y[:, k]).mean()) if len(y) else 0.0
                for k, s in enumerate(head_slices(self.net.head_sizes))]

    def evaluate(self, x, y, chunk=200):
        """(loss, per-head accuracies, logits) in evaluation mode (dropout and noise off,
        batch norm on its running statistics), forward only: the clean learning curves.
        The loss is the training loss's data term, the sum over heads of the mean
        cross-entropy. chunk=batch_size reuses the training step's conv buffers and holds
        no other buffers (docs/engine.md#measured-timings)."""
        logits = self.predict_logits(x, chunk)
        loss = softmax_cross_entropy(logits, y, self.net.head_sizes)[0] if len(y) else math.nan
        return loss, self.accuracy(x, y, logits), logits

    def validation_indices(self, val_idx, rng):
        if self.q["validation"] == "sample100":
            return val_idx[rng.permutation(len(val_idx))[:100]]
        return val_idx

    # -- checkpoint state --------------------------------------------------------------
    def state(self):
        return {"steps": self.steps, "flushed": self.flushed, **self.opt.state()}

    def close(self):
        """Release the step's threads (the network stays usable)."""
        self.sharded.close()

    def load_state(self, st):
        self.steps, self.flushed = int(st["steps"]), int(st["flushed"])
        self.opt.load_state(st)
