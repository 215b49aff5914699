"""Atomic file writes: an output is either complete or absent, never half-written.

Every writer in the package goes through these helpers, so a job killed at any moment
leaves nothing that Snakemake (or a later reader) would take as a finished file.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix="", size=None):
    """Yield a temporary path in the same folder; rename it onto `path` on success.

    The same folder keeps the final rename atomic (one file system). On error the
    temporary file is removed and `path` is left untouched. An OSError (disk full,
    permission denied) leaves with `filename` set to `path` (the temporary name means
    nothing to a user) and `bytes_needed` set to `size`, the size of what was being
    written, so that pipeline.runtime.faults can say which file and how much space.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp",
                                   dir=path.parent)
        os.close(fd)
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None:
            # mkstemp's name, made or not (mkstemp makes it absolute)
            prefix = os.path.abspath(path.parent / f".{path.name}.")
            if exc.filename is None or os.path.abspath(exc.filename).startswith(prefix):
                exc.filename = str(path)
            exc.bytes_needed = size
        raise


def write_text(path, text):
    data = text.encode()
    with atomic_path(path, size=len(data)) as tmp:
        tmp.write_bytes(data)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_npz(path, compressed=False, **arrays):
    """np.savez to a temporary name, then rename (np.savez appends .npz, so pass a file)."""
    import numpy as np

    # uncompressed size plus the zip headers: what a full disk would have to hold
    size = sum(np.asarray(a).nbytes + 200 + len(k) for k, a in arrays.items())
    with atomic_path(path, suffix=".npz", size=size) as tmp:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)


def remove_stale_temporaries(folder):
    """Delete temporary files that a killed writer left in `folder` (never outputs)."""
    for tmp in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
