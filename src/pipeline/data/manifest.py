"""The manifest beside a cache: where it came from, counts per label, and every file that
was skipped or ignored with its reason (so nothing is lost silently)."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import atomic

MANIFEST_FORMAT = 1
# Written by `regstudy synth` at the root of a generated stand-in (pipeline.data.synth).
STANDIN_MARKER = "SYNTHETIC.json"


def manifest_path(cache_path):
    """FILE.npz -> FILE.manifest.json (beside the cache)."""
    p = Path(cache_path)
    stem = p.name[:-4] if p.name.endswith(".npz") else p.name
    return p.with_name(stem + ".manifest.json")


def write_manifest(cache_path, manifest):
    path = manifest_path(cache_path)
    atomic.write_json(path, {"format": MANIFEST_FORMAT, **manifest})
    return path


def read_manifest(cache_path):
    """The manifest as a dict, or None if absent or unreadable (the cache is then rebuilt)."""
    try:
        m = json.loads(manifest_path(cache_path).read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and m.get("format") == MANIFEST_FORMAT else None


def is_standin(manifest):
    """Whether the cache was made from a generated stand-in: the manifest's `standin`
    flag, or for a manifest written before the flag, the synth marker among the files
    it ignored at the root."""
    if "standin" in manifest:
        return bool(manifest["standin"])
    return any(i.get("path") == STANDIN_MARKER for i in manifest.get("ignored", []))
