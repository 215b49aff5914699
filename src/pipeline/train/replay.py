"""The study's chapter, replayed draw for draw (`rng: replay`, Q13;
docs/reproduction.md#replaying-the-study-draw-for-draw).

The reference seeds NumPy's global legacy stream once (`np.random.seed(1234)`) and
every random number of the chapter comes from it, in program order. None depends on a
pixel, so the whole stream follows from the seed, the data sets' sizes and the
chapter's program:

1. the flowers split: a shuffle of all N images (train the first int(N*0.8/10)*10,
   validation the next int(N*0.05), test the rest);
2. the Office-31 split, the same over its 4,110 images;
3. each model in the chapter's order: its initial weights (engine.book_draws), then
   per epoch a shuffle of the training positions and every step's dropout masks and
   noise, per report epoch a shuffle of the validation split (the first 100
   validated), after training, when it shows samples, a shuffle of the validation
   split (the first `show_cnt` shown). The four Office-31 models are all built (their
   weights drawn) before the first of them trains.

A run of one model walks this program on a `RandomState(seed)`: every event before its
own is fast-forwarded (the same NumPy calls with the same shapes, nothing trained), its
own split, initial weights and training draw from the stream as the chapter did. So
each model is still an independent job. The sizes of the data set a run trains on come
from its cache; the other data set's from the chapter (CHAPTER_SIZES).
"""
from __future__ import annotations

import numpy as np

from pipeline.data.split import split_counts
from pipeline.engine import book_draws
from pipeline.engine.config import ConfigError, LayerSpec, parse_hidden
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import INIT_STD, build_layers

from .chapter import (CHAPTER_IMAGE, CHAPTER_SEED, CHAPTER_SIZES, HEAD_SIZES,  # noqa: F401
                      MODEL_NAMES, MODELS, Model, model_named, program, reports)


def model_layers(m, image_shape):
    """The engine layers of a chapter model (output layer included), for its draws."""
    specs = parse_hidden(NAMED_NETS[m.net])
    specs.append(LayerSpec("full", {"width": sum(HEAD_SIZES[m.dataset]), "actfunc": "none"}))
    shape = (image_shape[2], image_shape[0], image_shape[1])
    return build_layers(specs, shape)


class Replay:
    """The chapter's stream for one model's run.

    sizes: images per data set (the run's own from its cache); image_shape: (H, W, C)
    of every model's input. `until(event)` fast-forwards every event before `event`
    and returns the split of the run's data set if it was among them; the run then
    makes its own event's draws from `rs` and calls `until` for the next one."""

    def __init__(self, seed, model, sizes, image_shape, models=MODELS,
                 datasets=("flowers", "office31")):
        self.rs = np.random.RandomState(seed)
        self.model = model
        self.sizes = dict(sizes)
        self.image_shape = tuple(image_shape)
        self.events = program(models, datasets)
        self._pos = 0
        self._layers = {}
        self.split = None

    def counts(self, dataset):
        """(train, validation, test) images of a data set in the replayed program."""
        return split_counts(self.sizes[dataset])

    def layers(self, m):
        if m.name not in self._layers:
            self._layers[m.name] = model_layers(m, self.image_shape)
        return self._layers[m.name]

    def until(self, kind):
        """Fast-forward to the run's own event `kind` ("init", "train", "show"); the
        splits on the way are drawn, the run's own data set's kept in `self.split`."""
        target = (kind, self.model)
        while self.events[self._pos] != target:
            self.skip(self.events[self._pos])
            self._pos += 1
        self._pos += 1
        return self.rs

    def skip(self, event):
        """Make one event's draws and discard them (the run's own split is kept)."""
        kind, what = event
        rs = self.rs
        if kind == "split":
            tr, va, _ = self.counts(what)
            perm = rs.permutation(self.sizes[what])
            if what == self.model.dataset:
                self.split = (perm[:tr], perm[tr:tr + va], perm[tr + va:])
        elif kind == "init":
            book_draws.skip_init(self.layers(what), rs, INIT_STD)
        elif kind == "train":
            skip_training(rs, what, self.layers(what), *self.counts(what.dataset)[:2])
        elif kind == "show":
            rs.permutation(self.counts(what.dataset)[1])


def skip_training(rs, m, layers, n_train, n_val):
    """A model's training draws, nothing trained: per epoch the shuffle and every
    step's masks and noise, per report epoch the validation sample."""
    steps = n_train // m.batch_size
    random = any(layer.draws_per_step for layer in layers)
    for epoch in range(1, m.epochs + 1):
        rs.permutation(steps * m.batch_size)
        if random:
            for _ in range(steps):
                book_draws.skip_step(rs, layers, m.batch_size)
        if reports(m, epoch):
            rs.permutation(n_val)


def validation_sample(rs, val_idx, count=100):
    """The chapter's validation (and visualization) draw: a shuffle of the whole
    validation split, its first `count`."""
    return val_idx[rs.permutation(len(val_idx))[:count]]


def differences(m, *, n, image_shape, net, epochs, batch_size, quirks, seed):
    """How a run departs from the chapter's model m (empty: it replays the study)."""
    out = []
    if n != CHAPTER_SIZES[m.dataset]:
        out.append(f"{n} images, the chapter's {m.dataset} has {CHAPTER_SIZES[m.dataset]}")
    if tuple(image_shape) != CHAPTER_IMAGE:
        out.append(f"images {tuple(image_shape)}, the chapter's {CHAPTER_IMAGE}")
    if [s.to_config() for s in parse_hidden(net)] != \
            [s.to_config() for s in parse_hidden(NAMED_NETS[m.net])]:
        out.append(f"another net than the chapter's {m.net}")
    if (epochs, batch_size) != (m.epochs, m.batch_size):
        out.append(f"{epochs} epochs of batch {batch_size}, the chapter's "
                   f"{m.epochs} of {m.batch_size}")
    for key, value in (("leftover", "never_trained"), ("validation", "sample100")):
        if quirks[key] != value:
            out.append(f"quirk {key}={quirks[key]}, the chapter's {value}")
    if seed != CHAPTER_SEED:
        out.append(f"seed {seed}, the chapter's {CHAPTER_SEED}")
    return out


def check_quirks(quirks):
    """The replayed stream draws the reference's N(0, 0.03) weights."""
    if quirks["rng"] == "replay" and quirks["init"] != "normal0.03":
        raise ConfigError(f"quirk rng=replay draws the reference's initial weights: it "
                          f"needs init=normal0.03, got init={quirks['init']}")
