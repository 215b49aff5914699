"""The derived float32 bounds (tests/float_bounds.py) hold for the same sums taken in
shuffled orders, and are tight enough to catch a wrong sum."""
import numpy as np
import pytest

from float_bounds import assert_sums_close, gamma, sum_bound


def _terms(rng, n, rows):
    # mixed signs and magnitudes over six decades: cancellation, the hard case
    mag = 10.0 ** rng.uniform(-3, 3, (rows, n))
    return (rng.choice([-1.0, 1.0], (rows, n)) * mag).astype(np.float32)


@pytest.mark.parametrize("n", [7, 72, 1000, 27648])
def test_every_order_of_a_float32_sum_is_within_the_bound(n):
    rng = np.random.default_rng(n)
    t = _terms(rng, n, 16)
    exact = t.astype(np.float64).sum(1)
    magnitude = np.abs(t.astype(np.float64)).sum(1)
    for _ in range(6):
        p = t[:, rng.permutation(n)]
        h = n // 2
        for got in (p.sum(1),                                       # pairwise (numpy)
                    np.cumsum(p, axis=1, dtype=np.float32)[:, -1],  # left to right
                    p[:, :h].sum(1) + p[:, h:].sum(1)):             # two blocks
            assert_sums_close(got, exact, magnitude, n)


@pytest.mark.parametrize("n", [9, 72, 576])
def test_products_through_blas_in_shuffled_inner_order_are_within_the_bound(n):
    rng = np.random.default_rng(n)
    a, b = _terms(rng, n, 12), _terms(rng, n, 10).T.copy()
    exact = a.astype(np.float64) @ b.astype(np.float64)
    magnitude = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    for _ in range(6):
        p = rng.permutation(n)
        assert_sums_close(a[:, p] @ b[p], exact, magnitude, n)
        # the same products as a sum of column blocks, as per-offset kernels take them
        k = max(1, n // 3)
        blocks = sum(a[:, p[i:i + k]] @ b[p[i:i + k]] for i in range(0, n, k))
        assert_sums_close(blocks, exact, magnitude, n)


def test_the_bound_catches_a_wrong_sum():
    rng = np.random.default_rng(0)
    t = np.abs(_terms(rng, 72, 50))
    exact = t.astype(np.float64).sum(1)
    magnitude = np.abs(t.astype(np.float64)).sum(1)
    dropped = t[:, 1:].sum(1)                     # one term left out
    with pytest.raises(AssertionError, match="outside gamma"):
        assert_sums_close(dropped, exact, magnitude, 72)
    # and the bound is small: 72 terms, about 4e-6 of their absolute sum
    assert sum_bound(1.0, 72) < 5e-6 and gamma(72) > 72 * np.finfo(np.float32).eps / 2
