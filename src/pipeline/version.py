"""Engine identity for the workflow: Snakemake cannot see imported code, so the training
rule puts this hash in its params and a change of engine reruns the study deliberately."""
from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline import __version__

_ROOT = Path(__file__).parent
# Everything that can change a training result.
_RESULT_CODE = ("engine", "train", "data/split.py")


def source_hash(length=12):
    h = hashlib.sha256()
    files = []
    for part in _RESULT_CODE:
        p = _ROOT / part
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    for f in files:
        h.update(str(f.relative_to(_ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:length]


def engine_version():
    return f"{__version__}+{source_hash()}"
