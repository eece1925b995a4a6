"""F.qkv_attention (one fused op) against the composition it replaces: split, heads, SDPA,
merge. Values and gradients in float32 and float64, masks, and a float64 finite-difference
gradient check."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch import functional as F, ops
from neural_arch.core import Tensor
from neural_arch.testing import gradcheck


def composed(qkv, n_head, causal, mask):
    """The unfused path, op by op (what GPT-2 and ViT ran before)."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    q, k, v = (t.reshape(B, T, n_head, C // n_head).transpose(1, 2)
               for t in ops.split(qkv, 3, axis=2))                          # (B, nh, T, hs)
    y = F.scaled_dot_product_attention(q, k, v, causal=causal, key_padding_mask=mask)
    return y.transpose(1, 2).reshape(B, T, C)


def run(fn, data, n_head, causal, mask, dy):
    qkv = Tensor(data, requires_grad=True)
    y = fn(qkv, n_head, causal, mask)
    (y * Tensor(dy)).sum().backward()
    return y.data, qkv.grad


@given(b=st.integers(1, 3), t=st.integers(1, 70), n_head=st.integers(1, 3), hs=st.integers(1, 6),
       causal=st.booleans(), masked=st.booleans(), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
@settings(deadline=None)
def test_fused_equals_the_composition(b, t, n_head, hs, causal, masked, seed, dtype):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((b, t, 3 * n_head * hs)).astype(dtype)
    dy = rng.standard_normal((b, t, n_head * hs)).astype(dtype)
    mask = None
    if masked:
        mask = rng.random((b, t)) > 0.3
        mask[:, 0] = True                               # every row keeps a key (causal or not)
    fused = run(lambda x, n, c, m: F.qkv_attention(x, n, causal=c, key_padding_mask=m),
                data, n_head, causal, mask, dy)
    plain = run(composed, data, n_head, causal, mask, dy)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    for got, want in zip(fused, plain):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck_float64(causal):
    rng = np.random.default_rng(0)
    qkv = Tensor(rng.standard_normal((2, 5, 12)), requires_grad=True)
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    assert gradcheck(lambda x: F.qkv_attention(x, 2, causal=causal, key_padding_mask=mask),
                     [qkv])


@pytest.mark.parametrize("shape,n_head", [((2, 4, 10), 2), ((2, 4), 1), ((2, 4, 12), 5)])
def test_bad_shapes_name_the_argument(shape, n_head):
    with pytest.raises(ValueError, match="qkv_attention: qkv must be"):
        F.qkv_attention(Tensor(np.zeros(shape)), n_head)


def test_bad_mask_shape():
    with pytest.raises(ValueError, match="key_padding_mask has shape"):
        F.qkv_attention(Tensor(np.zeros((2, 4, 6))), 1, key_padding_mask=np.ones((2, 3), bool))
