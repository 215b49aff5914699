"""Random streams. One seed fixes everything; the protocol decides how it is split.

- single_stream (reference, Q13): one Generator for split, init, shuffles, dropout and
  noise, and validation sampling, consumed in program order;
- separate_streams (corrected): one independent Generator per purpose, spawned from the
  seed, so adding a dropout layer does not change the shuffles or the split;
- replay: the reference's own legacy RandomState(seed), walked through the study's
  chapter (pipeline.train.replay builds it; make_streams does not).
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
    """JSON-able states of the streams (a legacy RandomState's with its cached normal)."""
    return {p: _legacy_state(g) if isinstance(g, np.random.RandomState)
            else g.bit_generator.state for p, g in streams.items()}


def load_stream_states(streams, states):
    for p, g in streams.items():
        if isinstance(g, np.random.RandomState):
            st = dict(states[p])
            st["state"] = {**st["state"], "key": np.asarray(st["state"]["key"], np.uint32)}
            g.set_state(st)
        else:
            g.bit_generator.state = states[p]


def _legacy_state(rs):
    st = rs.get_state(legacy=False)
    return {**st, "state": {"key": st["state"]["key"].tolist(),
                            "pos": int(st["state"]["pos"])},
            "has_gauss": int(st["has_gauss"]), "gauss": float(st["gauss"])}
