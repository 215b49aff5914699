"""The reference train/validation/test split (docs/quirks.md#split)."""
from __future__ import annotations

import numpy as np


def split_counts(n, tr_ratio=0.8, va_ratio=0.05):
    """Counts as the reference computes them: train rounded down to a multiple of 10."""
    tr = int(n * tr_ratio / 10) * 10
    va = int(n * va_ratio)
    return tr, va, n - tr - va


def reference_split(n, rng, tr_ratio=0.8, va_ratio=0.05):
    """One permutation of all n samples: the first `tr` train, the next `va` validation,
    the rest test (not stratified, as the reference). Returns three index arrays."""
    tr, va, _ = split_counts(n, tr_ratio, va_ratio)
    perm = rng.permutation(n)
    return perm[:tr], perm[tr:tr + va], perm[tr + va:]
