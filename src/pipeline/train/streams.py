"""Random streams. One seed fixes everything; the protocol decides how it is split.

- single_stream (reference, Q13): one Generator for split, init, shuffles, dropout and
  noise, and validation sampling, consumed in program order;
- separate_streams (corrected): one independent Generator per purpose, spawned from the
  seed, so adding a dropout layer does not change the shuffles or the split.
"""
import numpy as np

PURPOSES = ("split", "init", "shuffle", "layers", "eval")


def make_streams(seed, mode):
    if mode == "single_stream":
        g = np.random.default_rng(seed)
        return {p: g for p in PURPOSES}
    children = np.random.SeedSequence(seed).spawn(len(PURPOSES))
    return {p: np.random.default_rng(c) for p, c in zip(PURPOSES, children)}


def stream_states(streams):
    return {p: g.bit_generator.state for p, g in streams.items()}


def load_stream_states(streams, states):
    for p, g in streams.items():
        g.bit_generator.state = states[p]
