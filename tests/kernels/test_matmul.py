"""Matmul kernels: the blocked Numba kernel against np.matmul, batched and broadcast."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch.kernels.matmul import BLOCK_K, BLOCK_M, BLOCK_N, matmul_numba, matmul_reference

SHAPES = [
    ((1, 1), (1, 1)),
    ((3, 5), (5, 7)),
    ((BLOCK_M + 1, BLOCK_K + 3), (BLOCK_K + 3, BLOCK_N + 5)),   # every block dim ragged
    ((4, 8, 8), (4, 8, 8)),                                     # many tiny matrices
    ((2, 3, 4, 5), (5, 6)),                                     # broadcast b over the batch
    ((1, 4, 5), (3, 5, 2)),                                     # size-1 batch dim broadcasts
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_numba_matches_numpy(rng, sa, sb, dtype):
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    got, want = matmul_numba(a, b), matmul_reference(a, b)
    assert got.dtype == dtype and got.shape == want.shape
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, want, **tol)


@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40),
       batch=st.integers(1, 3), seed=st.integers(0, 2**16))
@settings()
def test_random_shapes(m, k, n, batch, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((batch, m, k)), rng.standard_normal((k, n))
    np.testing.assert_allclose(matmul_numba(a, b), a @ b, rtol=1e-10, atol=1e-12)


def test_non_contiguous_inputs(rng):
    a = rng.standard_normal((6, 4)).T                  # (4, 6), Fortran order
    b = rng.standard_normal((6, 10))[:, ::2]           # (6, 5), strided
    np.testing.assert_allclose(matmul_numba(a, b), a @ b, rtol=1e-12)


@pytest.mark.parametrize("fn", [matmul_numba, matmul_reference])
def test_shape_errors(fn):
    with pytest.raises(ValueError, match="inner"):
        fn(np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="2 dims"):
        fn(np.zeros(3), np.zeros((3, 2)))
