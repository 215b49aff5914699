"""Data sets: image folders -> cached arrays, the reference split, generated stand-ins.

Public entry points (see docs/data.md): `load_cache`, `prepare`, `synthesize`,
`reference_split`, and the errors `DataError`, `LayoutError`, `CacheError`.
"""
from .cache import load_cache
from .errors import CacheError, DataError, LayoutError
from .split import reference_split, split_counts

__all__ = ["load_cache", "prepare", "synthesize", "reference_split", "split_counts",
           "DataError", "LayoutError", "CacheError"]


def __getattr__(name):
    # Pillow-heavy modules load only when used (the trainer needs just load_cache).
    if name == "prepare":
        from .prepare import prepare
        return prepare
    if name == "synthesize":
        from .synth import synthesize
        return synthesize
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
