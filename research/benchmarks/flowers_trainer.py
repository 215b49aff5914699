"""The training setup the step-level benchmarks share (step_ab, versions_ab, identity):
a Trainer for one of the study's networks on the first `images` images of a 96x96 cache
(3,450: the flowers training split's size), seed 0's streams, and minibatches of 10 in
a fixed order. Imports `pipeline` from wherever the caller's path finds it, so a
benchmark can run it against another version's src/ (PYTHONPATH)."""
import os

import numpy as np

from pipeline.data.cache import load_cache
from pipeline.engine.nets import NAMED_NETS
from pipeline.engine.network import Network
from pipeline.engine.protocol import resolve
from pipeline.train.streams import make_streams
from pipeline.train.trainer import Trainer


def flowers_trainer(data, net, threads, shards=None, protocol="corrected", l1=0.0, l2=0.0,
                    init="fan_in_uniform", images=3450):
    """(trainer, x, y, streams): the images and labels it trains on, the run's streams.
    `data`: a cache's path, or the cache itself (load_cache's result)."""
    cache = load_cache(data) if isinstance(data, (str, os.PathLike)) else data
    x, y = cache["x"][:images], cache["y"][:images]
    network = Network(NAMED_NETS[net], x.shape[1:], cache.head_sizes)
    streams = make_streams(0, "separate_streams")
    network.init_params(streams["init"], init)
    trainer = Trainer(network, resolve(protocol), l1=l1, l2=l2, train_images=x,
                      threads=threads, shards=shards)
    return trainer, x, y, streams


def minibatches(n, batch=10):
    """Index arrays of `batch` of range(n), in one fixed permutation, cycling forever."""
    order = np.random.default_rng(0).permutation(n)
    k = 0
    while True:
        i = (k * batch) % (n - batch)
        k += 1
        yield order[i:i + batch]
