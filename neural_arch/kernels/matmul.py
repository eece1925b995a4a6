"""Batched matrix multiply: NumPy (BLAS) reference and a cache-blocked Numba kernel.

    C[..., i, j] = sum_k A[..., i, k] * B[..., k, j]      A: (..., M, K), B: (..., K, N)

Leading (batch) dimensions broadcast as in np.matmul. No backward kernel is needed: the gradients
of C = A @ B are dA = dC @ B^T and dB = A^T @ dC, themselves matmuls.

The Numba kernel is the textbook loop order i-k-j (the innermost loop walks a row of B and a row
of C, both contiguous, so LLVM turns it into SIMD), blocked so that a BLOCK_K x BLOCK_N panel of B
stays in cache while every row of the A block streams past it. ``prange`` runs over
(batch, row block) pairs, so both one large product and many tiny ones keep all threads busy.

Measured with benchmarks/kernels.py on the 2-core development machine, float32, 1 thread
(median of 7; 2-thread numbers on that shared machine were dominated by other processes):

    (1024, 1024) @ (1024, 1024)       numba 113 ms (19 GFLOP/s)    BLAS 30 ms (71 GFLOP/s)
    (512, 8, 8) @ (512, 8, 8)         numba 0.13 ms                BLAS 0.03 ms

BLAS wins at every size we measured, so the registry routes ``matmul`` to np.matmul under both
backends; ``matmul_numba`` stays as a readable, tested example of how a blocked matmul works.
"""

import numpy as np

from neural_arch.kernels._jit import FASTMATH, njit, prange

BLOCK_M = 64     # rows of A (and C) per parallel task
BLOCK_K = 128    # depth of the B panel kept in cache
BLOCK_N = 256    # width of the B panel (and of the C strip updated by one inner loop)


def _check(a, b):
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul needs arrays of at least 2 dims, got {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul inner dimensions differ: {a.shape} @ {b.shape}")


def matmul_reference(a, b):
    """A @ B with broadcasting batch dims. a: (..., M, K), b: (..., K, N) -> (..., M, N)."""
    _check(a, b)
    return np.matmul(a, b)


@njit(cache=True, fastmath=FASTMATH)
def _block(a, b, c, i0, i1, k0, k1, j0, j1):
    """c[i0:i1, j0:j1] += a[i0:i1, k0:k1] @ b[k0:k1, j0:j1] for 2-D a, b, c."""
    for i in range(i0, i1):
        c_row = c[i, j0:j1]
        for k in range(k0, k1):
            aik = a[i, k]
            b_row = b[k, j0:j1]
            # Counting from 0 lets Numba drop its negative-index check, so LLVM can turn this
            # contiguous axpy into SIMD code (measured 6x faster than range(j0, j1)).
            for j in range(c_row.shape[0]):
                c_row[j] += aik * b_row[j]


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _matmul_blocked(a, b, c):
    """c[p] = a[p] @ b[p] for every batch index p; a (P, M, K), b (P, K, N), c (P, M, N) zeroed."""
    nbatch, m, kdim = a.shape
    n = b.shape[2]
    row_blocks = (m + BLOCK_M - 1) // BLOCK_M
    for task in prange(nbatch * row_blocks):
        p = task // row_blocks
        i0 = (task % row_blocks) * BLOCK_M
        i1 = min(i0 + BLOCK_M, m)
        for k0 in range(0, kdim, BLOCK_K):
            for j0 in range(0, n, BLOCK_N):
                _block(a[p], b[p], c[p], i0, i1, k0, min(k0 + BLOCK_K, kdim),
                       j0, min(j0 + BLOCK_N, n))


def matmul_numba(a, b):
    """A @ B with broadcasting batch dims. a: (..., M, K), b: (..., K, N) -> (..., M, N)."""
    _check(a, b)
    dtype = np.result_type(a.dtype, b.dtype)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    # Broadcast and flatten the batch dims: a3 (P, M, K), b3 (P, K, N).
    a3 = np.ascontiguousarray(np.broadcast_to(a, batch + (m, k)), dtype=dtype).reshape(-1, m, k)
    b3 = np.ascontiguousarray(np.broadcast_to(b, batch + (k, n)), dtype=dtype).reshape(-1, k, n)
    c = np.zeros((a3.shape[0], m, n), dtype=dtype)
    _matmul_blocked(a3, b3, c)
    return c.reshape(batch + (m, n))
