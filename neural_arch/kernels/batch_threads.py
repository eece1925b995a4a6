"""Run one batched kernel call on several threads, each thread on its own slice of the batch.

Dense attention is a loop of small products, one per (batch, head): q kᵀ is 256 x 256 x 64 for
GPT-2 *small*. At two threads BLAS splits every such product in two, and at that size the
hand-over costs more than it saves: GPT-2 small's (8, 6, 256, 64) causal attention took
16.0 + 22.7 ms (forward + backward) at two threads, more than at one (9.5 + 16.8 ms). Giving
each thread whole heads instead (BLAS on one thread, the batch cut in two, two Python threads)
took 6.8 + 11.1 ms. The threads really run at once: np.matmul releases the GIL inside BLAS, and
the Numba kernels they call are compiled with ``nogil=True``.

    parts = split(batch, heads, n)       # [(batch slice, head slice), ...]
    results = run(fn, parts)             # [fn(part) for part in parts], in parallel

An elementwise kernel (GELU) cuts its flat arrays the same way, ``ranges(size, n)``: at two
threads GELU's tanh form on GPT-2 small's (2048, 1536) activations took 1.5-1.9 + 1.7-1.9 ms
(forward + backward) in one piece and 1.0-1.1 + 1.1 ms in two. Waking a pool thread costs tens
of microseconds, so small calls stay in one piece (each caller sets its own threshold).

The pool is made on first use and again after a fork (a child cannot use its parent's threads)
or when the thread count changes.
"""

import os
from concurrent.futures import ThreadPoolExecutor, wait

from neural_arch.kernels._jit import single_threaded_blas

_pool = None
_pool_key = None          # (process id, workers) the pool was made for


def split(batch, heads, n):
    """``n`` (batch slice, head slice) pairs that tile a (batch, heads, ...) array in nearly equal
    parts: along the batch, or along the heads when the batch has fewer than ``n`` entries."""
    if batch >= n:
        edges = [batch * i // n for i in range(n + 1)]
        return [(slice(a, b), slice(None)) for a, b in zip(edges, edges[1:])]
    n = min(n, heads)
    edges = [heads * i // n for i in range(n + 1)]
    return [(slice(None), slice(a, b)) for a, b in zip(edges, edges[1:])]


def ranges(size, n, align=16):
    """``n`` slices that tile range(size) in nearly equal parts, each boundary a multiple of
    ``align`` (16 float32 = one 64-byte cache line, so no two threads write the same line)."""
    edges = [min(size, (size * i // n) // align * align) for i in range(n)] + [size]
    return [slice(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _workers(n):
    global _pool, _pool_key
    key = (os.getpid(), n)
    if _pool_key != key:
        if _pool is not None and _pool_key[0] == key[0]:
            _pool.shutdown(wait=False)    # a new thread count: let the old threads end
        _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="neural_arch")
        _pool_key = key
    return _pool


def run(fn, parts):
    """``[fn(part) for part in parts]``: the first part on the calling thread, each other part
    on a pool thread, with BLAS kept on one thread while they run (each thread's products are
    whole heads). A single part runs here, as is."""
    if len(parts) == 1:
        return [fn(parts[0])]
    with single_threaded_blas():
        pool = _workers(len(parts) - 1)
        others = [pool.submit(fn, part) for part in parts[1:]]
        try:
            first = fn(parts[0])
        finally:
            # Every part has finished before BLAS gets its threads back, whichever part raised.
            wait(others)
        return [first] + [future.result() for future in others]
