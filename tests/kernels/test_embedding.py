"""Embedding backward: the Numba row scatter against the np.add.at reference and a loop."""

import numpy as np
from hypothesis import given, settings, strategies as st

from neural_arch.kernels.embedding import embedding_backward_numba, embedding_backward_reference


@given(rows=st.integers(1, 20), n=st.integers(0, 60), d=st.integers(1, 9),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
@settings(deadline=None)
def test_numba_matches_reference_and_a_plain_loop(rows, n, d, dtype, seed):
    rng = np.random.default_rng(seed)
    indices = rng.integers(-rows, rows, size=n)                 # repeats and negative indices
    dout = rng.standard_normal((n, d)).astype(dtype)
    expected = np.zeros((rows, d))
    for i, r in enumerate(indices):
        expected[r] += dout[i]
    ref = embedding_backward_reference(dout, indices, rows)
    got = embedding_backward_numba(dout, indices, rows)
    assert got.dtype == dtype and ref.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ref, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
