"""LayerNorm and RMSNorm kernels: Numba vs reference, reference vs finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch.kernels.layer_norm import (
    layer_norm_backward_numba,
    layer_norm_backward_reference,
    layer_norm_forward_numba,
    layer_norm_forward_reference,
    rms_norm_backward_numba,
    rms_norm_backward_reference,
    rms_norm_forward_numba,
    rms_norm_forward_reference,
)

from ._fd import assert_grads_match

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
SHAPES = [(1, 1), (3, 1), (1, 7), (5, 33), (2, 3, 17), (65, 64), (2, 2, 2, 9)]


def check_equal(ref, got, dtype):
    for a, b in zip(ref, got):
        if a is None:
            assert b is None
            continue
        assert b.dtype == dtype and b.shape == a.shape
        np.testing.assert_allclose(b, a, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_numba_matches_reference(rng, shape, dtype, affine):
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    w = rng.standard_normal(shape[-1]).astype(dtype) if affine else None
    b = rng.standard_normal(shape[-1]).astype(dtype) if affine else None
    out_r, cache_r = layer_norm_forward_reference(x, w, b, 1e-5)
    out_n, cache_n = layer_norm_forward_numba(x, w, b, 1e-5)
    check_equal([out_r], [out_n], dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    check_equal(layer_norm_backward_reference(dout, cache_r),
                layer_norm_backward_numba(dout, cache_n), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm_numba_matches_reference(rng, shape, dtype, affine):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(shape[-1]).astype(dtype) if affine else None
    out_r, cache_r = rms_norm_forward_reference(x, w, 1e-6)
    out_n, cache_n = rms_norm_forward_numba(x, w, 1e-6)
    check_equal([out_r], [out_n], dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    check_equal(rms_norm_backward_reference(dout, cache_r),
                rms_norm_backward_numba(dout, cache_n), dtype)


@given(rows=st.integers(1, 70), cols=st.integers(1, 40), seed=st.integers(0, 2**16))
@settings()
def test_norms_random_shapes(rows, cols, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols))
    w, b = rng.standard_normal(cols), rng.standard_normal(cols)
    dout = rng.standard_normal((rows, cols))
    ln_r, ln_n = layer_norm_forward_reference(x, w, b), layer_norm_forward_numba(x, w, b)
    check_equal([ln_r[0]], [ln_n[0]], np.float64)
    check_equal(layer_norm_backward_reference(dout, ln_r[1]),
                layer_norm_backward_numba(dout, ln_n[1]), np.float64)
    rms_r, rms_n = rms_norm_forward_reference(x, w), rms_norm_forward_numba(x, w)
    check_equal([rms_r[0]], [rms_n[0]], np.float64)
    check_equal(rms_norm_backward_reference(dout, rms_r[1]),
                rms_norm_backward_numba(dout, rms_n[1]), np.float64)


@pytest.mark.parametrize("shape", [(1, 4), (3, 5), (2, 2, 3)])
def test_layer_norm_reference_backward_finite_differences(rng, shape):
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])

    def f(x, w, b):
        return layer_norm_forward_reference(x, w, b, 1e-5)[0]

    out, cache = layer_norm_forward_reference(x, w, b, 1e-5)
    dout = rng.standard_normal(shape)
    assert_grads_match(f, [x, w, b], dout, layer_norm_backward_reference(dout, cache), [0, 1, 2])


@pytest.mark.parametrize("shape", [(1, 4), (3, 5), (2, 2, 3)])
def test_rms_norm_reference_backward_finite_differences(rng, shape):
    x, w = rng.standard_normal(shape), rng.standard_normal(shape[-1])

    def f(x, w):
        return rms_norm_forward_reference(x, w, 1e-6)[0]

    out, cache = rms_norm_forward_reference(x, w, 1e-6)
    dout = rng.standard_normal(shape)
    assert_grads_match(f, [x, w], dout, rms_norm_backward_reference(dout, cache), [0, 1])


def test_layer_norm_output_is_normalised(rng):
    x = rng.standard_normal((4, 50)) * 5 + 3
    out, _ = layer_norm_forward_numba(x, None, None, 1e-12)
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=-1), 1, rtol=1e-9)
    out, _ = rms_norm_forward_numba(x, None, 1e-12)
    np.testing.assert_allclose(np.sqrt((out ** 2).mean(axis=-1)), 1, rtol=1e-9)
