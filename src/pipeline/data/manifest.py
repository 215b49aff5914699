"""The manifest beside a cache: where it came from, counts per label, and every file that
was skipped or ignored with its reason (so nothing is lost silently)."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import atomic

MANIFEST_FORMAT = 1


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
