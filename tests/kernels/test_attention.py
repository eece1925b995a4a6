"""Attention kernels: flash (Numba) vs reference, reference vs finite differences and vs a plain
softmax(q k^T) v, masks, all-masked rows, and input errors."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch.kernels import attention_flash
from neural_arch.kernels.attention import (
    attention_backward_numba,
    attention_backward_reference,
    attention_forward_numba,
    attention_forward_reference,
)

from ._fd import assert_grads_match

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
BQ = attention_flash.BLOCK_Q


def make(rng, b, h, tq, tk, d, dtype, mask_p=0.0, empty_batch=None):
    q = rng.standard_normal((b, h, tq, d)).astype(dtype)
    k = rng.standard_normal((b, h, tk, d)).astype(dtype)
    v = rng.standard_normal((b, h, tk, d)).astype(dtype)
    mask = None
    if mask_p > 0.0 or empty_batch is not None:
        mask = rng.random((b, tk)) >= mask_p
        if empty_batch is not None:
            mask[empty_batch] = False                     # every key of this batch is padding
    return q, k, v, mask


def plain_attention(q, k, v, causal, mask):
    """softmax(q k^T / sqrt(D)) v with explicit loops over (b, h), for small inputs."""
    b, h, tq, d = q.shape
    tk = k.shape[2]
    out = np.zeros_like(q, dtype=np.float64)
    for bi in range(b):
        for hi in range(h):
            s = q[bi, hi] @ k[bi, hi].T / np.sqrt(d)
            ok = np.ones((tq, tk), dtype=bool)
            if causal:
                ok &= np.arange(tk)[None, :] <= np.arange(tq)[:, None] + tk - tq
            if mask is not None:
                ok &= mask[bi][None, :]
            for i in range(tq):
                if ok[i].any():
                    e = np.exp(s[i, ok[i]] - s[i, ok[i]].max())
                    out[bi, hi, i] = (e / e.sum()) @ v[bi, hi][ok[i]]
    return out


def assert_same(a_outs, b_outs, dtype):
    for a, b in zip(a_outs, b_outs):
        assert a.dtype == dtype and b.dtype == dtype
        assert not np.isnan(b).any()
        np.testing.assert_allclose(b, a, **TOL[dtype])


GRID = [
    # (B, H, Tq, Tk, D)
    (1, 1, 1, 1, 4),
    (2, 3, 1, 37, 8),             # decoding: one query, a KV cache of odd length
    (1, 2, 17, 17, 5),            # odd sizes below one tile
    (2, 1, BQ, BQ, 16),           # exactly one tile
    (1, 2, BQ + 3, BQ + 3, 8),    # not a multiple of the tile
    (2, 2, 70, 131, 8),           # Tq < Tk, several key tiles
    (1, 1, 131, 70, 4),           # Tq > Tk: with causal, early queries see no key
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", GRID)
def test_numba_matches_reference(rng, shape, causal, dtype):
    b, h, tq, tk, d = shape
    q, k, v, mask = make(rng, b, h, tq, tk, d, dtype, mask_p=0.3, empty_batch=b - 1)
    for m in (None, mask):
        out_r, cache_r = attention_forward_reference(q, k, v, causal, m)
        out_n, cache_n = attention_forward_numba(q, k, v, causal, m)
        assert_same([out_r, cache_r[4]], [out_n, cache_n[4]], dtype)   # out and lse may be -inf
        dout = rng.standard_normal(out_r.shape).astype(dtype)
        assert_same(attention_backward_reference(dout, cache_r),
                    attention_backward_numba(dout, cache_n), dtype)


@given(b=st.integers(1, 2), h=st.integers(1, 2), tq=st.integers(1, 80), tk=st.integers(1, 80),
       d=st.integers(1, 9), causal=st.booleans(), mask_p=st.sampled_from([0.0, 0.5, 1.0]),
       seed=st.integers(0, 2**16))
@settings()
def test_numba_matches_reference_random_shapes(b, h, tq, tk, d, causal, mask_p, seed):
    rng = np.random.default_rng(seed)
    q, k, v, mask = make(rng, b, h, tq, tk, d, np.float64, mask_p=mask_p)
    out_r, cache_r = attention_forward_reference(q, k, v, causal, mask)
    out_n, cache_n = attention_forward_numba(q, k, v, causal, mask)
    np.testing.assert_allclose(out_n, out_r, **TOL[np.float64])
    dout = rng.standard_normal(out_r.shape)
    for gr, gn in zip(attention_backward_reference(dout, cache_r),
                      attention_backward_numba(dout, cache_n)):
        np.testing.assert_allclose(gn, gr, **TOL[np.float64])


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("tq,tk", [(3, 3), (2, 5), (4, 3)])
def test_reference_backward_matches_finite_differences(rng, tq, tk, causal):
    q, k, v, mask = make(rng, 2, 1, tq, tk, 3, np.float64, mask_p=0.3)
    mask[:, -1] = True                                   # keep at least one key per row alive

    def f(q, k, v):
        return attention_forward_reference(q, k, v, causal, mask)[0]

    out, cache = attention_forward_reference(q, k, v, causal, mask)
    dout = rng.standard_normal(out.shape)
    grads = attention_backward_reference(dout, cache)
    assert_grads_match(f, [q, k, v], dout, grads, wrt=[0, 1, 2])


@pytest.mark.parametrize("forward", [attention_forward_reference, attention_forward_numba])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_plain_softmax_attention(rng, forward, causal):
    q, k, v, mask = make(rng, 2, 2, 6, 9, 4, np.float64, mask_p=0.4, empty_batch=1)
    out, _ = forward(q, k, v, causal, mask)
    np.testing.assert_allclose(out, plain_attention(q, k, v, causal, mask), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("kernels", [(attention_forward_reference, attention_backward_reference),
                                     (attention_forward_numba, attention_backward_numba)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_masked_rows_give_zeros_not_nan(rng, kernels, dtype):
    forward, backward = kernels
    q, k, v, mask = make(rng, 2, 2, 5, 7, 4, dtype, empty_batch=0)
    with np.errstate(all="raise"):                       # no inf - inf, no 0/0 anywhere
        out, cache = forward(q, k, v, False, mask)
        dq, dk, dv = backward(np.ones_like(out), cache)
    assert np.all(out[0] == 0) and np.all(dq[0] == 0) and np.all(dk[0] == 0) and np.all(dv[0] == 0)
    assert np.isfinite(out).all() and np.abs(out[1]).sum() > 0


@pytest.mark.parametrize("forward", [attention_forward_reference, attention_forward_numba])
def test_causal_decoding_query_sees_every_key(rng, forward):
    q, k, v, _ = make(rng, 1, 2, 1, 10, 4, np.float64)
    causal_out, _ = forward(q, k, v, True)
    full_out, _ = forward(q, k, v, False)
    np.testing.assert_allclose(causal_out, full_out, rtol=1e-12)


def test_custom_scale_and_mixed_backend_caches(rng):
    q, k, v, _ = make(rng, 1, 2, 9, 9, 4, np.float64)
    out_r, cache_r = attention_forward_reference(q, k, v, True, None, scale=0.3)
    out_n, cache_n = attention_forward_numba(q, k, v, True, None, scale=0.3)
    np.testing.assert_allclose(out_n, out_r, rtol=1e-10)
    dout = rng.standard_normal(out_r.shape)
    for a, b in zip(attention_backward_reference(dout, cache_n),
                    attention_backward_numba(dout, cache_r)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("forward", [attention_forward_reference, attention_forward_numba])
def test_bad_shapes_raise_value_error(forward):
    q = np.zeros((1, 2, 3, 4))
    with pytest.raises(ValueError, match="4-D"):
        forward(q[0], q[0], q[0])
    with pytest.raises(ValueError, match="k, v"):
        forward(q, np.zeros((1, 2, 3, 5)), np.zeros((1, 2, 3, 5)))
    with pytest.raises(ValueError, match="key_padding_mask"):
        forward(q, q, q, key_padding_mask=np.ones((1, 4), dtype=bool))
