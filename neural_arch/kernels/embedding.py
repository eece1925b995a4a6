"""Embedding backward: add each position's gradient row into the weight row it read.

    forward:   out[n] = weight[idx[n]]                      (a gather; NumPy indexing)
    backward:  dweight[r] = sum over n with idx[n] = r of dout[n]

A row read by several positions (a repeated token) must receive the sum, so plain assignment
``dweight[idx] = dout`` is wrong: it keeps only the last. The reference uses ``np.add.at``, which
is correct but unbuffered (element by element through the ufunc machinery: 0.35 ms for the seed
GPT-2's 256 x 128 gradient); the Numba kernel adds whole rows in one pass (vectorised along D).
"""

import numpy as np

from neural_arch.kernels._jit import FASTMATH, njit


def embedding_backward_reference(dout, indices, num_rows):
    """dweight (num_rows, D) from dout (N, D) and int indices (N,)."""
    dweight = np.zeros((num_rows, dout.shape[1]), dtype=dout.dtype)
    np.add.at(dweight, indices, dout)
    return dweight


@njit(cache=True, fastmath=FASTMATH)
def _add_rows(indices, dout, dweight):
    for n in range(indices.shape[0]):
        row = dweight[indices[n]]                              # negative indices wrap, as in NumPy
        grad = dout[n]
        for d in range(grad.shape[0]):
            row[d] += grad[d]


def embedding_backward_numba(dout, indices, num_rows):
    """dweight (num_rows, D) from dout (N, D) and int indices (N,)."""
    dweight = np.zeros((num_rows, dout.shape[1]), dtype=dout.dtype)
    _add_rows(np.ascontiguousarray(indices, dtype=np.int64), np.ascontiguousarray(dout), dweight)
    return dweight
