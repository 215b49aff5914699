"""Seeded subsets of the training split: the images a run trains on (`train_size`), and
the fixed images of its evaluation-mode curves (`eval_train_size`).

The `train_size` subset is the first N of a seeded permutation of the training split,
drawn from a stream of its own: deterministic per seed, nested as N grows (the 500-image subset lies
inside the 1000-image one), and never touching the validation or test split. The
training streams (split, initialisation, shuffles, masks) draw exactly as without it.
"""
from __future__ import annotations

import numpy as np

# Entropy words of the two subsets' streams ("subs", "curv"), distinct from each other and
# from every training stream of a seed (default_rng(seed) or SeedSequence(seed) children).
SUBSET_STREAM = 0x73756273
CURVE_STREAM = 0x63757276


def train_subset(seed, train_idx, size):
    """The first `size` images of a seeded permutation of `train_idx`, kept in the
    split's order. Raises ValueError if the split holds fewer than `size` images."""
    train_idx = np.asarray(train_idx)
    if size < 1 or size > len(train_idx):
        raise ValueError(f"train_size {size} must be from 1 to the training split's "
                         f"{len(train_idx)} images")
    order = np.random.default_rng([seed, SUBSET_STREAM]).permutation(len(train_idx))
    return train_idx[np.sort(order[:size])]


def curve_subset(seed, train_idx, size):
    """The fixed training images of the evaluation-mode curves: `size` of the training
    split (all of it if smaller), drawn once from a stream of their own so that the
    split, initialisation, shuffles and masks draw exactly as without them."""
    rng = np.random.default_rng([seed, CURVE_STREAM])
    pick = rng.choice(len(train_idx), size=min(size, len(train_idx)), replace=False)
    return np.sort(train_idx[pick])
