"""BLAS and OpenMP threads, set in one place.

A training job computes with its own threads (pipeline.engine.shards) over one-thread
BLAS; every other job gives BLAS the job's threads. threadpoolctl sets the pools already
loaded in this process; the environment variables carry the count to the processes it
starts (and to a BLAS loaded later, which reads them when it loads).
"""
from __future__ import annotations

import os

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_blas(threads):
    """Every BLAS/OpenMP pool of this process and of the processes it starts at `threads`."""
    n = int(threads)
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    for var in ENV_VARS:
        os.environ[var] = str(n)
    import numpy  # noqa: F401  (loads the BLAS, reading the variables above)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
