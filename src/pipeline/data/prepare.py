"""Image folder -> cache + manifest (`regstudy prepare`), reusing an up-to-date cache.

A cache is up to date when its settings (data set, size, resize filter, JPEG re-encode)
match and every source file, used or skipped, is still there with the same content hash
and no file was added: the check reads contents, not mtimes
(docs/engine.md#measured-timings).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL

from . import detail as detail_check
from .cache import changed_since_prepared, identity, load_cache, save_cache
from .decode import decode_files, default_workers, hash_files
from .errors import CacheError, DataError
from .images import DEFAULT_RESAMPLE, check_jpeg_quality, parse_size, resample_filter
from .layouts import LAYOUTS, discover
from .manifest import STANDIN_MARKER, manifest_path, read_manifest, write_manifest

_SHOW_SKIPPED = 20   # console lines; the manifest lists all


@dataclass
class PrepareResult:
    path: Path                    # the cache
    manifest: Path
    reused: bool                  # True: an up-to-date cache was kept as it was
    n: int                        # images in the cache
    counts: dict                  # head -> {name: count}
    skipped: list = field(default_factory=list)   # [(relative file, reason)]
    seconds: float = 0.0
    detail: dict | None = None    # pipeline.data.detail.measure of the cached images


def prepare(dataset, root, out, size=96, *, resample=DEFAULT_RESAMPLE, jpeg_quality=None,
            workers=None, force=False, log=print):
    """Build (or reuse) the cache `out` (.npz) from the image folder `root`. Images are
    resized with `resample`, then, with a `jpeg_quality` (1..100), re-encoded once as JPEG.

    Bad files are skipped and listed in the manifest; a layout problem, or a label folder
    left without any usable image, raises a DataError naming the path."""
    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"{out}: the cache file name must end in .npz")
    size = parse_size(size)
    resample = resample.lower()
    resample_filter(resample)                    # validate early
    jpeg_quality = check_jpeg_quality(jpeg_quality)
    workers = workers or default_workers()
    src = discover(dataset, root)
    settings = {"dataset": dataset, "size": list(size), "resample": resample,
                "jpeg_quality": jpeg_quality}

    if out.exists() and not force:
        why = stale_reason(src, out, settings, workers)
        if why is None:
            cache, m = load_cache(out), read_manifest(out)
            counts = m.get("counts", {})
            log(f"{out}: up to date with {src.root} ({cache.n} images, "
                f"{len(m.get('skipped', []))} skipped); reusing it")
            if "detail" not in m:           # a cache from before the check: add it
                m["detail"] = detail_check.measure(cache["x"])
                m.pop("format", None)
                write_manifest(out, m)
            _warn_detail(log, m)
            return PrepareResult(out, manifest_path(out), True, cache.n, counts,
                                 [(s["file"], s["reason"]) for s in m.get("skipped", [])],
                                 time.perf_counter() - t0, m["detail"])
        log(f"{out}: rebuilding ({why})")

    dec = decode_files(src.root, src.files, size, resample, workers, jpeg_quality)
    seconds = time.perf_counter() - t0
    skipped = [(f, r, h) for f, r, h, ok in zip(src.files, dec.reasons, dec.sha1, dec.ok) if not ok]
    folders = _folder_counts(src.folders, dec.ok)
    manifest = {
        "status": "ok", **settings, "root": str(src.root.resolve()),
        "standin": (src.root / STANDIN_MARKER).is_file(),   # a generated stand-in?
        "layout": LAYOUTS[dataset], "pillow": PIL.__version__,
        "n_images": int(dec.ok.sum()), "n_skipped": len(skipped), "n_ignored": len(src.ignored),
        "counts": _counts(src, dec.ok), "folders": folders,
        "skipped": [{"file": f, "reason": r, "sha1": h} for f, r, h in skipped],
        "ignored": [{"path": p, "reason": r} for p, r in src.ignored],
        "workers": workers, "seconds": round(seconds, 3),
    }
    empty = [f for f, c in folders.items() if c["images"] == 0]
    if empty:
        manifest["status"] = "failed"
        msg = (f"{src.root}: no usable image left in {len(empty)} label folder(s): "
               f"{', '.join(str(src.root / f) for f in empty[:5])}"
               f"{' ...' if len(empty) > 5 else ''}; every file there was skipped "
               f"(see {manifest_path(out)}): "
               + "; ".join(f"{f}: {r}" for f, r, _ in skipped[:5]))
        manifest["error"] = msg
        write_manifest(out, manifest)
        raise DataError(msg)

    ok = dec.ok
    x = dec.x if ok.all() else dec.x[ok]
    manifest["detail"] = detail_check.measure(x)
    save_cache(out, x=x, y=src.labels[ok], heads=src.heads, names=src.names,
               files=[f for f, k in zip(src.files, ok) if k],
               sha1=[h for h, k in zip(dec.sha1, ok) if k],
               dataset=dataset, size=size,
               decoding={"resample": resample, "jpeg_quality": jpeg_quality})
    manifest["cache"] = identity(out)
    mpath = write_manifest(out, manifest)
    _report(log, src, manifest, skipped, out, mpath, seconds, workers)
    return PrepareResult(out, mpath, False, int(ok.sum()), manifest["counts"],
                         [(f, r) for f, r, _ in skipped], time.perf_counter() - t0,
                         manifest["detail"])


def stale_reason(src, out, settings, workers=None):
    """Why the cache `out` must be rebuilt from `src`, or None if it is up to date."""
    m = read_manifest(out)
    if m is None:
        return f"no readable manifest {manifest_path(out).name}"
    if m.get("status") != "ok":
        return "the last build failed"
    for key, val in settings.items():
        if m.get(key) != val:
            return f"{key} changed: {m.get(key)} -> {val}"
    try:
        cache = load_cache(out)
    except CacheError as exc:
        return f"existing cache unreadable: {exc}"
    if changed_since_prepared(out):
        return "the cache file changed since it was prepared"
    decoding = {k: settings[k] for k in ("resample", "jpeg_quality")}
    if cache.dataset != settings["dataset"] or list(cache.size) != settings["size"] \
            or cache.decoding not in ({}, decoding):      # {}: a cache from before
        return "cache settings differ from its manifest"
    if cache.heads != src.heads or cache.names != src.names:
        return "label names changed"
    old = dict(zip((str(f) for f in cache["files"]), (str(h) for h in cache["sha1"])))
    old.update({s["file"]: s.get("sha1") for s in m.get("skipped", [])})
    cur = dict(zip(src.files, hash_files(src.root, src.files, workers)))
    added = sorted(set(cur) - set(old))
    removed = sorted(set(old) - set(cur))
    changed = sorted(f for f in set(cur) & set(old) if cur[f] != old[f])
    if added or removed or changed:
        parts = [f"{len(v)} {k} (e.g. {v[0]})" for k, v in
                 (("added", added), ("removed", removed), ("changed", changed)) if v]
        return "source files changed: " + ", ".join(parts)
    return None


def _counts(src, ok):
    out = {}
    for k, head in enumerate(src.heads):
        c = np.bincount(src.labels[ok, k], minlength=len(src.names[k]))
        out[head] = {name: int(v) for name, v in zip(src.names[k], c)}
    return out


def _folder_counts(folders, ok):
    total = Counter(folders)
    good = Counter(f for f, k in zip(folders, ok) if k)
    return {f: {"images": good[f], "skipped": total[f] - good[f]} for f in total}


def _report(log, src, manifest, skipped, out, mpath, seconds, workers):
    n = manifest["n_images"]
    size = "x".join(str(s) for s in manifest["size"])
    jpeg = f", JPEG re-encoded at {manifest['jpeg_quality']}" if manifest["jpeg_quality"] else ""
    log(f"{src.dataset}: {n} images from {src.root} ({size}, {manifest['resample']}{jpeg}, "
        f"{workers} thread{'s' if workers != 1 else ''}, {seconds:.1f} s)")
    for head, counts in manifest["counts"].items():
        log(f"  {head} ({len(counts)}): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    log(f"  skipped {len(skipped)} file(s)" + (":" if skipped else ""))
    for f, r, _ in skipped[:_SHOW_SKIPPED]:
        log(f"    {f}: {r}")
    if len(skipped) > _SHOW_SKIPPED:
        log(f"    ... and {len(skipped) - _SHOW_SKIPPED} more (see {mpath})")
    if src.ignored:
        log(f"  ignored {len(src.ignored)} path(s) outside the layout (listed in the manifest)")
    d = manifest["detail"]
    if d is not None:
        log(f"  detail: {d['median']:.1f} grey levels ({d['measure']}; "
            f"10-90%: {d['p10']:.1f}-{d['p90']:.1f})")
    _warn_detail(log, manifest)
    mb = out.stat().st_size / 1e6
    log(f"wrote {out} ({mb:.1f} MB) and {mpath.name}")


def _warn_detail(log, manifest):
    text = detail_check.warning(manifest.get("detail"), manifest["size"],
                                standin=bool(manifest.get("standin")))
    if text:
        log(f"warning: {manifest['dataset']}: {text}")
