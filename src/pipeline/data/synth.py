"""Generated stand-in data sets (`regstudy synth`), written as JPEG folders in the real
layouts so that the very same loader runs on them, and a fresh clone needs no download.

Every image comes from its own RNG stream, seeded by (seed, data set, label, index), so a
folder is the same whatever the number of workers. The folder is written under a
temporary name and renamed into place: an interrupted run leaves no half data set.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline import __version__

from .decode import default_workers
from .errors import DataError
from .manifest import STANDIN_MARKER
from .synth_flowers import CLASSES as FLOWER_CLASSES, draw_flower
from .synth_office31 import DOMAIN_COUNTS, DOMAINS, OBJECTS, draw_office

FLOWERS_COUNTS = {"daisy": 764, "dandelion": 1052, "rose": 784, "sunflower": 733, "tulip": 984}
MARKER = STANDIN_MARKER      # written at the root; marks a folder this command may replace
FLOWERS_QUALITY = 90
_SERIAL_BELOW = 300          # images; a process pool costs more than it saves below this


@dataclass
class SynthResult:
    path: Path
    n: int
    counts: dict      # label folder (relative) -> images
    seconds: float


def folder_counts(dataset, per_class=None):
    """Images per label folder. Defaults: the real per-class counts for flowers; for
    Office-31 each domain's real count spread evenly over the 31 objects."""
    if per_class is not None and int(per_class) < 1:
        raise ValueError(f"--per-class must be at least 1, got {per_class}")
    if dataset == "flowers":
        return {c: int(per_class or FLOWERS_COUNTS[c]) for c in FLOWER_CLASSES}
    if dataset == "office31":
        out = {}
        for d in DOMAINS:
            base, extra = divmod(DOMAIN_COUNTS[d], len(OBJECTS))
            for j, o in enumerate(OBJECTS):
                out[f"{d}/images/{o}"] = int(per_class or base + (j < extra))
        return out
    raise ValueError(f"unknown data set {dataset!r}: expected flowers or office31")


def _jobs(dataset, counts):
    """(relative file, label indices, image index) for every image, in a fixed order."""
    jobs = []
    for folder, n in counts.items():
        if dataset == "flowers":
            lab = (FLOWER_CLASSES.index(folder),)
            jobs += [(f"{folder}/synth_{i:04d}.jpg", lab, i) for i in range(n)]
        else:
            dom, _, obj = folder.split("/")
            lab = (DOMAINS.index(dom), OBJECTS.index(obj))
            # the real archive numbers frames from 0001 within each object folder
            jobs += [(f"{folder}/frame_{i:04d}.jpg", lab, i) for i in range(1, n + 1)]
    return jobs


def render(dataset, seed, size, label, index):
    """One stand-in image -> (uint8 array, JPEG quality); deterministic in its arguments."""
    if dataset == "flowers":
        rng = np.random.default_rng([int(seed), 0, label[0], index])
        return draw_flower(FLOWER_CLASSES[label[0]], rng, size), FLOWERS_QUALITY
    rng = np.random.default_rng([int(seed), 1, label[0], label[1], index])
    return draw_office(DOMAINS[label[0]], label[1], rng, size)


def _write_chunk(dataset, seed, size, root, jobs):
    for rel, label, index in jobs:
        img, quality = render(dataset, seed, size, label, index)
        Image.fromarray(img).save(Path(root) / rel, "JPEG", quality=quality)
    return len(jobs)


def synthesize(dataset, outdir, *, seed=0, per_class=None, size=96, workers=None, log=print):
    """Write a stand-in data set folder at `outdir` (replacing an earlier stand-in there,
    never any other folder). Returns a SynthResult."""
    t0 = time.perf_counter()
    outdir = Path(outdir)
    size = int(size)
    if size < 8:
        raise ValueError(f"--size must be at least 8 pixels, got {size}")
    counts = folder_counts(dataset, per_class)
    if outdir.exists() and not _replaceable(outdir):
        raise DataError(f"{outdir}: exists and is not a stand-in written by `regstudy synth` "
                        f"(no {MARKER}); refusing to replace it, choose another OUTDIR")
    jobs = _jobs(dataset, counts)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".tmp", dir=outdir.parent))
    try:
        for folder in counts:
            (tmp / folder).mkdir(parents=True)
        workers = workers or default_workers()
        step = max(16, -(-len(jobs) // (4 * workers)))
        chunks = [jobs[i:i + step] for i in range(0, len(jobs), step)]
        if workers == 1 or len(jobs) < _SERIAL_BELOW:
            for c in chunks:
                _write_chunk(dataset, seed, size, tmp, c)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futs = [pool.submit(_write_chunk, dataset, seed, size, str(tmp), c) for c in chunks]
                for f in futs:
                    f.result()
        marker = {"generator": "regstudy synth", "version": __version__, "dataset": dataset,
                  "seed": int(seed), "size": size, "per_class": per_class, "images": len(jobs),
                  "counts": counts}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        _swap_in(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - t0
    log(f"{dataset} stand-in: {len(jobs)} images in {len(counts)} folders at {size} px, "
        f"seed {seed}, written to {outdir} ({seconds:.1f} s)")
    return SynthResult(outdir, len(jobs), counts, seconds)


def _replaceable(outdir):
    return outdir.is_dir() and ((outdir / MARKER).is_file() or not any(outdir.iterdir()))


def _swap_in(tmp, outdir):
    """Rename the finished folder into place; an earlier stand-in goes only afterwards."""
    old = None
    if outdir.exists():
        old = outdir.with_name(f".{outdir.name}.old-{os.getpid()}")
        os.replace(outdir, old)
    os.replace(tmp, outdir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
