"""The dense float32 attention kernel (BLAS products, Numba softmax rows, causal query blocks)
against the float64 NumPy reference: values, gradients, masks, blocks, caches, fallbacks."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch.kernels import attention_dense
from neural_arch.kernels.attention import attention_backward_reference, attention_forward_reference
from neural_arch.kernels.attention_dense import attention_backward_dense, attention_forward_dense

from .test_attention import make

BR = attention_dense.BLOCK_ROWS


def reference64(q, k, v, causal, mask, dout, scale=None):
    """Output, lse and (dq, dk, dv) from the float64 reference."""
    q, k, v, dout = (a.astype(np.float64) for a in (q, k, v, dout))
    out, cache = attention_forward_reference(q, k, v, causal, mask, scale)
    return out, cache[4], attention_backward_reference(dout, cache)


def assert_close32(got, want):
    """float32 result against a float64 one: errors of float32 rounding, relative to the scale."""
    assert got.dtype == np.float32 and np.isfinite(got).all()
    if want.size == 0:
        return
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5 * (1 + np.abs(want).max()))


GRID = [
    (1, 1, 1, 1, 4),
    (2, 3, 1, 37, 8),                 # decoding: one query, a KV cache
    (1, 2, BR, BR, 16),               # exactly one block
    (2, 2, BR + 5, BR + 5, 8),        # two blocks, the second short
    (1, 2, 3 * BR, 3 * BR, 8),        # three blocks: causal products stop at each block's end
    (2, 1, 70, 150, 8),               # Tq < Tk
    (1, 1, 150, 70, 4),               # Tq > Tk: with causal, early queries see no key
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", GRID)
def test_dense_matches_float64_reference(rng, shape, causal):
    b, h, tq, tk, d = shape
    q, k, v, mask = make(rng, b, h, tq, tk, d, np.float32, mask_p=0.3, empty_batch=b - 1)
    for m in (None, mask):
        out, cache = attention_forward_dense(q, k, v, causal, m)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        want_out, want_lse, want_grads = reference64(q, k, v, causal, m, dout)
        assert_close32(out, want_out)
        finite = np.isfinite(want_lse)
        assert np.array_equal(np.isfinite(cache[4]), finite)   # rows with no key: lse = -inf
        assert_close32(cache[4][finite], want_lse[finite])
        for got, want in zip(attention_backward_dense(dout, cache), want_grads):
            assert_close32(got, want)


@given(b=st.integers(1, 2), h=st.integers(1, 3), tq=st.integers(1, 150), tk=st.integers(1, 150),
       d=st.integers(1, 9), causal=st.booleans(), mask_p=st.sampled_from([0.0, 0.5, 1.0]),
       seed=st.integers(0, 2**16))
@settings(deadline=None)
def test_dense_matches_reference_random_shapes(b, h, tq, tk, d, causal, mask_p, seed):
    rng = np.random.default_rng(seed)
    q, k, v, mask = make(rng, b, h, tq, tk, d, np.float32, mask_p=mask_p)
    out, cache = attention_forward_dense(q, k, v, causal, mask)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    want_out, _, want_grads = reference64(q, k, v, causal, mask, dout)
    assert_close32(out, want_out)
    for got, want in zip(attention_backward_dense(dout, cache), want_grads):
        assert_close32(got, want)


def test_all_masked_rows_are_zero_without_warnings(rng):
    q, k, v, mask = make(rng, 2, 2, 5, 7, 4, np.float32, empty_batch=0)
    with np.errstate(all="raise"):
        out, cache = attention_forward_dense(q, k, v, False, mask)
        dq, dk, dv = attention_backward_dense(np.ones_like(out), cache)
    assert np.all(out[0] == 0) and np.all(dq[0] == 0) and np.all(dk[0] == 0)
    assert np.all(dv[0] == 0) and np.all(cache[4][0] == -np.inf)
    assert np.abs(out[1]).sum() > 0


def test_caches_cross_backends(rng):
    """A dense forward differentiates with the reference, and a reference forward with dense."""
    q, k, v, _ = make(rng, 1, 2, 9, 9, 4, np.float32)
    dout = rng.standard_normal(q.shape).astype(np.float32)
    _, cache_d = attention_forward_dense(q, k, v, True, None, scale=0.3)
    _, cache_r = attention_forward_reference(q, k, v, True, None, scale=0.3)
    _, _, want = reference64(q, k, v, True, None, dout, scale=0.3)
    for grads in (attention_backward_reference(dout, cache_d),
                  attention_backward_dense(dout, cache_r)):
        for got, w in zip(grads, want):
            assert_close32(got, w)


def test_float64_goes_to_the_exact_reference(rng):
    q, k, v, mask = make(rng, 2, 2, 6, 9, 4, np.float64, mask_p=0.3)
    out, cache = attention_forward_dense(q, k, v, True, mask)
    out_r, cache_r = attention_forward_reference(q, k, v, True, mask)
    assert np.array_equal(out, out_r) and len(cache) == 8
    dout = rng.standard_normal(out.shape)
    for a, b in zip(attention_backward_dense(dout, cache),
                    attention_backward_reference(dout, cache_r)):
        assert np.array_equal(a, b)


def test_large_scores_go_to_the_flash_kernel(rng, monkeypatch):
    """Above DENSE_MAX_BYTES the scores are never held: the flash kernel's cache has no P."""
    monkeypatch.setattr(attention_dense, "DENSE_MAX_BYTES", 100)
    q, k, v, _ = make(rng, 1, 1, 8, 8, 4, np.float32)
    out, cache = attention_forward_dense(q, k, v, True)
    assert len(cache) == 8
    dout = rng.standard_normal(out.shape).astype(np.float32)
    want_out, _, want_grads = reference64(q, k, v, True, None, dout)
    assert_close32(out, want_out)
    for got, want in zip(attention_backward_dense(dout, cache), want_grads):
        assert_close32(got, want)


def padded_inputs(rng, shape):
    """float32 q, k, v of (B, H, Tq|Tk, D), a padding mask (the last sequence all padding) and
    an upstream gradient of the output's shape."""
    b, h, tq, tk, d = shape
    q, k, v, mask = make(rng, b, h, tq, tk, d, np.float32, mask_p=0.3, empty_batch=b - 1)
    return q, k, v, mask, rng.standard_normal((b, h, tq, d)).astype(np.float32)


@pytest.mark.parametrize("backend", ["reference", "flash", "dense"])
@pytest.mark.parametrize("shape", [(2, 3, 9, 9, 4), (1, 2, BR + 5, BR + 5, 8)])
def test_out_views_take_the_results(rng, backend, shape):
    """``out=``: every backend writes the output and dq, dk, dv into the caller's arrays, here
    the heads of packed (B, T, 3, H, D) buffers as QKVAttentionFn passes them (strided views),
    with exactly the values it returns without ``out``."""
    forward, backward = {
        "reference": (attention_forward_reference, attention_backward_reference),
        "flash": (attention_dense.attention_forward_numba,
                  attention_dense.attention_backward_numba),
        "dense": (attention_forward_dense, attention_backward_dense)}[backend]
    b, h, tq, tk, d = shape
    q, k, v, mask, dout = padded_inputs(rng, shape)
    for causal in (False, True):
        want_out, want_cache = forward(q, k, v, causal, mask)
        want_grads = backward(dout, want_cache)
        y = np.full((b, tq, h, d), np.nan, np.float32)
        out, cache = forward(q, k, v, causal, mask, out=y.transpose(0, 2, 1, 3))
        assert np.shares_memory(out, y) and np.array_equal(y.transpose(0, 2, 1, 3), want_out)
        packed = np.full((b, tq, 3, h, d), np.nan, np.float32)
        views = tuple(packed[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        grads = backward(dout, cache, out=views)
        for got, view, want in zip(grads, views, want_grads):
            assert got is view
            np.testing.assert_array_equal(view, want)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("shape", [(4, 2, 20, 20, 8), (1, 3, BR + 5, BR + 5, 8)])
def test_parts_on_threads_give_the_one_part_result(rng, monkeypatch, threads, shape):
    """A call cut into parts of the batch (or, for one sequence, of the heads) that run on
    parallel threads gives exactly the single-part result, forward and backward, causal or
    not, with padding; backward follows the parts the forward's cache recorded."""
    b, h = shape[:2]
    q, k, v, mask, dout = padded_inputs(rng, shape)
    for causal in (False, True):
        want_out, want_cache = attention_forward_dense(q, k, v, causal, mask)
        want_grads = attention_backward_dense(dout, want_cache)
        with monkeypatch.context() as patch:
            patch.setattr(attention_dense, "PARALLEL_SCORES", 0)
            patch.setattr(attention_dense, "blas_threads", lambda: threads)
            out, cache = attention_forward_dense(q, k, v, causal, mask)
            grads = attention_backward_dense(dout, cache)
        assert len(cache[8]) == (threads if b >= threads else min(threads, h))
        np.testing.assert_array_equal(out, want_out)
        np.testing.assert_array_equal(cache[4], want_cache[4])
        for got, want in zip(grads, want_grads):
            np.testing.assert_array_equal(got, want)
