"""The reference split (docs/quirks.md#split, quirk Q14): counts, and fixed by its seed."""
import numpy as np
import pytest

from pipeline.data.split import reference_split, split_counts


@pytest.mark.parametrize("n, counts", [(4317, (3450, 215, 652)), (4110, (3280, 205, 625)),
                                       (4323, (3450, 216, 657)), (500, (400, 25, 75))])
def test_counts_follow_the_reference(n, counts):
    assert split_counts(n) == counts
    tr, va, te = reference_split(n, np.random.default_rng(0))
    assert (len(tr), len(va), len(te)) == counts


def test_a_partition_of_all_samples():
    tr, va, te = reference_split(4317, np.random.default_rng(1))
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(4317))


def test_same_seed_same_split_other_seed_other_split():
    a = reference_split(4110, np.random.default_rng(7))
    b = reference_split(4110, np.random.default_rng(7))
    c = reference_split(4110, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
