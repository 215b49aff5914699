"""Parallel decoding of many files into one preallocated uint8 array.

A thread pool (Pillow releases the GIL while it decodes JPEG/PNG): threads need no
pickling of arrays and no forking inside Snakemake jobs (docs/engine.md#measured-timings
for why not processes). Each worker takes a contiguous chunk and writes its rows in place.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .images import DEFAULT_RESAMPLE, file_sha1, parse_size, read_image

_CHUNK = 64


def default_workers():
    """The CPUs this process may use (not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Decoded:
    x: np.ndarray        # uint8 (N, H, W, 3); rows of skipped files are zero
    ok: np.ndarray       # bool (N,)
    sha1: list           # per file, None if unreadable
    reasons: list        # per file, None if decoded


def _chunks(n, workers):
    step = max(1, min(_CHUNK, -(-n // max(1, workers))))
    return [range(i, min(n, i + step)) for i in range(0, n, step)]


def decode_files(root, files, size, resample=DEFAULT_RESAMPLE, workers=None, jpeg_quality=None):
    """Decode root/files[i] into row i; never raises for a bad file (see `reasons`)."""
    h, w = parse_size(size)
    n = len(files)
    x = np.zeros((n, h, w, 3), dtype=np.uint8)
    ok = np.zeros(n, dtype=bool)
    sha1 = [None] * n
    reasons = [None] * n
    root = Path(root)

    def work(idx):
        for i in idx:
            arr, sha1[i], reasons[i] = read_image(root / files[i], (h, w), resample,
                                                  jpeg_quality)
            if arr is not None:
                x[i] = arr
                ok[i] = True

    _run(work, _chunks(n, workers or default_workers()), workers)
    return Decoded(x, ok, sha1, reasons)


def hash_files(root, files, workers=None):
    """Content hashes (sha1 hex) of root/files, in order; None for an unreadable file."""
    root = Path(root)
    out = [None] * len(files)

    def work(idx):
        for i in idx:
            out[i] = file_sha1(root / files[i])

    _run(work, _chunks(len(files), workers or default_workers()), workers)
    return out


def _run(work, chunks, workers):
    workers = workers or default_workers()
    if workers == 1 or len(chunks) <= 1:
        for c in chunks:
            work(c)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in [pool.submit(work, c) for c in chunks]:
            fut.result()
