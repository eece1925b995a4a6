"""GELU kernels (erf and tanh forms): Numba vs reference, finite differences, known values."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch.kernels.gelu import (
    gelu_backward_numba,
    gelu_backward_reference,
    gelu_forward_numba,
    gelu_forward_reference,
)

from ._fd import assert_grads_match

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 33), (3, 2500)])  # > CHUNK
def test_numba_matches_reference(rng, shape, approximate, dtype):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    out_r, cache_r = gelu_forward_reference(x, approximate)
    out_n, cache_n = gelu_forward_numba(x, approximate)
    assert out_n.dtype == dtype and out_r.dtype == dtype
    np.testing.assert_allclose(out_n, out_r, **TOL[dtype])
    dout = rng.standard_normal(shape).astype(dtype)
    dx_r, dx_n = gelu_backward_reference(dout, cache_r), gelu_backward_numba(dout, cache_n)
    assert dx_n.dtype == dtype
    np.testing.assert_allclose(dx_n, dx_r, **TOL[dtype])


@given(x=st.lists(st.floats(-200, 200), min_size=1, max_size=30),
       approximate=st.sampled_from(["none", "tanh"]),
       dtype=st.sampled_from([np.float32, np.float64]))
@settings()
def test_random_values(x, approximate, dtype):
    """Far tails included: the float32 tanh kernel returns tanh = +-1 exactly there and must
    still agree."""
    x = np.array(x, dtype=dtype)
    out_r, cache = gelu_forward_reference(x, approximate)
    out_n, cache_n = gelu_forward_numba(x, approximate)
    np.testing.assert_allclose(out_n, out_r, **TOL[dtype])
    np.testing.assert_allclose(gelu_backward_numba(np.ones_like(x), cache_n),
                               gelu_backward_reference(np.ones_like(x), cache), **TOL[dtype])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_reference_backward_finite_differences(rng, approximate):
    x = rng.standard_normal((3, 4)) * 2
    out, cache = gelu_forward_reference(x, approximate)
    dout = rng.standard_normal(x.shape)

    def f(x):
        return gelu_forward_reference(x, approximate)[0]

    assert_grads_match(f, [x], dout, [gelu_backward_reference(dout, cache)], [0])


def test_known_values():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(gelu_forward_numba(x, "none")[0], exact, rtol=1e-14)
    # the tanh form stays within 1e-3 of the exact one
    np.testing.assert_allclose(gelu_forward_numba(x, "tanh")[0], exact, atol=1e-3)


def test_bad_mode_raises():
    with pytest.raises(ValueError, match="approximate"):
        gelu_forward_numba(np.zeros(3), "sigmoid")


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("approximate, dtype", [("tanh", np.float32), ("none", np.float32),
                                                ("none", np.float64)])
def test_parts_on_threads_give_the_one_piece_result(rng, monkeypatch, threads, approximate,
                                                     dtype):
    """Cut into one part per thread (each on its own thread), forward and backward give
    exactly the one-piece values: each element is computed alone."""
    from neural_arch.kernels import gelu
    x = rng.standard_normal((37, 29)).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    want, cache = gelu_forward_numba(x, approximate)
    want_dx = gelu_backward_numba(dout, cache)
    monkeypatch.setattr(gelu, "PARALLEL_ELEMENTS", 0)
    monkeypatch.setattr(gelu, "blas_threads", lambda: threads)
    got, cache = gelu_forward_numba(x, approximate)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gelu_backward_numba(dout, cache), want_dx)
