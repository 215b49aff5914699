"""Per-epoch checkpoints: everything a run needs to continue exactly where it stopped
(parameters, batch-norm statistics, optimizer state, random-stream states, history).

A checkpoint carries a fingerprint of the run's settings; one that does not match is
ignored (with a message), never silently resumed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pipeline import atomic

NAME = "checkpoint.npz"


def fingerprint(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def save(run_dir, *, fp, epoch, net_arrays, trainer_state, rng_states, history, clock):
    arrays = {f"net/{k}": v for k, v in net_arrays.items()}
    scalars = {}
    for k, v in trainer_state.items():
        if np.ndim(v):
            arrays[f"trainer/{k}"] = v
        else:
            scalars[k] = int(v)
    meta = {"fingerprint": fp, "epoch": epoch, "rng": rng_states, "history": history,
            "clock": clock, "trainer": scalars}
    arrays["meta"] = np.asarray(json.dumps(meta))
    atomic.save_npz(Path(run_dir) / NAME, **arrays)


def load(run_dir, fp):
    """(meta, net_arrays, trainer_state) or None, with the reason when unusable."""
    path = Path(run_dir) / NAME
    if not path.exists():
        return None, None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            net_arrays = {k[4:]: z[k] for k in z.files if k.startswith("net/")}
            state = {k[8:]: z[k] for k in z.files if k.startswith("trainer/")}
            state.update(meta["trainer"])
    except Exception as exc:     # a checkpoint is an optimisation: never fatal
        return None, f"{path} is unreadable ({type(exc).__name__}); starting from scratch"
    if meta.get("fingerprint") != fp:
        return None, f"{path} was written with other settings; starting from scratch"
    return (meta, net_arrays, state), None


def remove(run_dir):
    (Path(run_dir) / NAME).unlink(missing_ok=True)
