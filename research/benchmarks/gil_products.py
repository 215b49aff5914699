"""Does a matrix product let another thread run? NumPy's matmul (`@`) keeps the GIL
while it computes a product of at most 500 elements, however long its sums; np.dot makes
the same BLAS call and releases it. The engine's shards and slices run on threads, so a
product that keeps the GIL makes the other thread wait.

For each product of the study's networks whose output is small, ten calls on one thread
and ten on each of two threads at once, `@` against np.dot: "2 threads / 1" is how much
more work two threads did in the same time (2.0: they ran side by side; 1.0: one waited).
Then the threshold itself, on products whose sums are 20,000 long.

    python research/benchmarks/gil_products.py
"""
import os

from pipeline.runtime.threads import limit_blas  # noqa: E402

limit_blas(1)  # as regstudy train: the engine's threads over 1-thread BLAS

import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402

CASES = {   # name: (left shape, right shape, right transposed)
    "MLP first layer forward, one slice: (10, 13824) x (13824, 30)":
        ((10, 13824), (13824, 30), False),
    "cnn1 first conv kernel gradient, one shard: (6, 46080) x (46080, 28)":
        ((6, 46080), (28, 46080), True),
    "cnn1 full layer forward, one shard: (5, 1536) x (1536, 5)":
        ((5, 1536), (1536, 5), False),
}


def median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def scaling(op, pool, repeats=25):
    """(ms per call on one thread, work of two threads at once / work of one)."""
    one = median_seconds(lambda: [op() for _ in range(10)], repeats)

    def both():
        other = pool.submit(lambda: [op() for _ in range(10)])
        [op() for _ in range(10)]
        other.result()
    return one / 10 * 1e3, 2 * one / median_seconds(both, repeats)


def main():
    rng = np.random.default_rng(0)
    pool = ThreadPoolExecutor(1)
    print(f"load {os.getloadavg()[0]:.2f}")
    print("| product | `@` ms | `@` 2 threads / 1 | np.dot ms | np.dot 2 threads / 1 "
          "| same values |")
    print("|---|---|---|---|---|---|")
    for name, (sa, sb, transposed) in CASES.items():
        a = rng.standard_normal(sa).astype(np.float32)
        b = rng.standard_normal(sb).astype(np.float32)
        b = b.T if transposed else b
        mm, mm_x = scaling(lambda: a @ b, pool)
        dt, dt_x = scaling(lambda: np.dot(a, b), pool)
        same = np.array_equal(a @ b, np.dot(a, b))
        print(f"| {name} | {mm:.3f} | {mm_x:.2f} | {dt:.3f} | {dt_x:.2f} | {same} |")
    print("\n| `@` output (sums of 20,000) | elements | 2 threads / 1 |")
    print("|---|---|---|")
    for m, n in ((20, 24), (20, 25), (20, 26), (10, 50), (10, 51)):
        a = rng.standard_normal((m, 20000)).astype(np.float32)
        b = rng.standard_normal((20000, n)).astype(np.float32)
        print(f"| ({m}, {n}) | {m * n} | {scaling(lambda: a @ b, pool)[1]:.2f} |")
    pool.shutdown()


if __name__ == "__main__":
    main()
