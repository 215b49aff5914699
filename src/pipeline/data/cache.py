"""The cache file (docs/architecture.md): writing it atomically and reading it back with
checks, so that a truncated or foreign file gives a CacheError naming it, not a NumPy
traceback deep inside training."""
from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from pipeline import atomic

from .errors import CacheError

REQUIRED_KEYS = ("x", "y", "heads", "files", "sha1", "dataset", "size")


class Cache(dict):
    """The arrays of one cache (plain dict of key -> ndarray) plus a few conveniences."""

    def __init__(self, arrays, path):
        super().__init__(arrays)
        self.path = Path(path)

    @property
    def n(self):
        return int(self["x"].shape[0])

    @property
    def heads(self):
        return [str(h) for h in self["heads"]]

    @property
    def names(self):
        """names[k] = label names of head k (index = label value)."""
        return [[str(s) for s in self[f"names_{k}"]] for k in range(len(self["heads"]))]

    @property
    def head_sizes(self):
        return [len(self[f"names_{k}"]) for k in range(len(self["heads"]))]

    @property
    def dataset(self):
        return str(self["dataset"])

    @property
    def size(self):
        return tuple(int(s) for s in self["size"])

    @property
    def decoding(self):
        """How the images were made: {"resample": filter, "jpeg_quality": None or 1..100};
        {} for a cache written before these were recorded."""
        return json.loads(str(self["decoding"])) if "decoding" in self else {}


def save_cache(path, *, x, y, heads, names, files, sha1, dataset, size, decoding=None):
    """Write the cache contract as one uncompressed npz, via a temporary file + rename.
    `decoding` (optional): the resize filter and JPEG re-encode, stored as JSON."""
    arrays = {
        "x": np.ascontiguousarray(x, dtype=np.uint8),
        "y": np.asarray(y, dtype=np.int64),
        "heads": np.asarray(list(heads), dtype=str),
        "files": np.asarray(list(files), dtype=str),
        "sha1": np.asarray(list(sha1), dtype=str),
        "dataset": np.asarray(dataset, dtype=str),
        "size": np.asarray(size, dtype=np.int64),
    }
    for k, nm in enumerate(names):
        arrays[f"names_{k}"] = np.asarray(list(nm), dtype=str)
    if decoding is not None:
        arrays["decoding"] = np.asarray(json.dumps(decoding, sort_keys=True), dtype=str)
    _check(arrays, path)
    atomic.save_npz(path, **arrays)


def identity(path):
    """What the manifest records of the cache it describes (bytes, sha256): a training job
    compares it with the file it loads, so a cache replaced after `prepare` is noticed."""
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"bytes": Path(path).stat().st_size, "sha256": digest}


def changed_since_prepared(path):
    """Why the cache at `path` is not the file its manifest describes, or None (also when
    there is no manifest, or an old one without the record: nothing to compare with)."""
    from .manifest import manifest_path, read_manifest

    m = read_manifest(path)
    want = (m or {}).get("cache")
    if not want:
        return None
    have = identity(path)
    if have == want:
        return None
    return (f"{path}: the cache was replaced or changed after `regstudy prepare` wrote it "
            f"({have['bytes']} bytes, sha256 {have['sha256'][:12]}; its manifest "
            f"{manifest_path(path).name} records {want['bytes']} bytes, sha256 "
            f"{want['sha256'][:12]}); rerun `regstudy prepare` (in the workflow: "
            "`snakemake --forcerun prepare`, which retrains on the new cache)")


def load_cache(path, check_manifest=False):
    """Read a cache -> Cache (dict of arrays: x, y, heads, names_0.., files, sha1, dataset,
    size). Raises CacheError, naming the file, if it is missing, unreadable or inconsistent,
    or (check_manifest) not the file its manifest describes. A permission error stays an
    OSError (pipeline.runtime.faults: fix the permissions, not the cache)."""
    path = Path(path)
    if not path.is_file():
        raise CacheError(f"{path}: cache file not found; build it with `regstudy prepare` "
                         "(in the workflow: run snakemake again, which rebuilds it)")
    if check_manifest:
        why = changed_since_prepared(path)
        if why:
            raise CacheError(why)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except PermissionError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise CacheError(f"{path}: cache file is corrupt or truncated ({type(exc).__name__}: "
                         f"{exc}); delete it and run `regstudy prepare` again") from None
    _check(arrays, path)
    return Cache(arrays, path)


def _check(a, path):
    """The contract's keys, dtypes and shapes, and labels within their name lists."""
    def bad(what):
        raise CacheError(f"{path}: not a valid data cache: {what}")

    missing = [k for k in REQUIRED_KEYS if k not in a]
    if missing:
        bad(f"missing keys {', '.join(missing)}")
    x, y = a["x"], a["y"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3:
        bad(f"x must be uint8 (N, H, W, 3), found {x.dtype} {x.shape}")
    n = x.shape[0]
    if y.ndim != 2 or y.shape[0] != n or not np.issubdtype(y.dtype, np.integer):
        bad(f"y must be integer (N={n}, K), found {y.dtype} {y.shape}")
    k = y.shape[1]
    if a["heads"].shape != (k,):
        bad(f"heads must have K={k} names, found shape {a['heads'].shape}")
    for key in ("files", "sha1"):
        if a[key].shape != (n,):
            bad(f"{key} must have N={n} entries, found shape {a[key].shape}")
    if tuple(a["size"].shape) != (2,) or tuple(int(s) for s in a["size"]) != x.shape[1:3]:
        bad(f"size {a['size'].tolist()} does not match x {x.shape}")
    for j in range(k):
        key = f"names_{j}"
        if key not in a:
            bad(f"missing {key} (label names of head {j})")
        m = len(a[key])
        if n and (y[:, j].min() < 0 or y[:, j].max() >= m):
            bad(f"labels of head {j} outside 0..{m - 1}")
