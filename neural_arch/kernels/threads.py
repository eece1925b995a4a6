"""How many threads the kernels use: one setting for both runtimes that do the work.

A training step alternates between BLAS (every matrix product, through np.matmul) and Numba's
compiled kernels. Each has its own thread pool, and each must be told the count: Numba through
``numba.set_num_threads``, NumPy's BLAS (OpenBLAS in the NumPy wheels) through threadpoolctl,
the one portable way to change a running BLAS's thread count. ``set_num_threads(1)`` without
the BLAS part left OpenBLAS on every core while Numba ran on one: a "1 thread" run that was
really 2, with the idle BLAS thread spinning against the next kernel.

``neural_arch.set_num_threads`` / ``get_num_threads`` are these functions (as in PyTorch).
"""

import threadpoolctl


def set_num_threads(n):
    """Use ``n`` threads for BLAS and for Numba's parallel kernels (n >= 1)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be an int >= 1, got {n!r}")
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")  # in force until changed again
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def get_num_threads():
    """The thread count BLAS uses now (the largest, if several BLAS libraries are loaded)."""
    counts = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
              if pool["user_api"] == "blas"]
    return max(counts) if counts else 1
