"""nn.MultiheadAttention against a NumPy computation of PyTorch's formula (so CI checks values
without torch; tests/pytorch_api compares with torch itself), and its gradients."""

import numpy as np
import pytest

from neural_arch import nn
from neural_arch.core import Tensor
from neural_arch.testing import gradcheck


def numpy_mha(mha, q, k, v, key_padding_mask=None, attn_mask=None):
    """(B, L, E) inputs: project, split heads, softmax(q kᵀ/√d) with True-means-blocked masks,
    average the heads' weights, project out."""
    e, h = mha.embed_dim, mha.num_heads
    w, b = mha.in_proj_weight.data, mha.in_proj_bias.data
    proj = [x @ w[i * e:(i + 1) * e].T + b[i * e:(i + 1) * e] for i, x in enumerate((q, k, v))]
    heads = [p.reshape(p.shape[0], p.shape[1], h, e // h).transpose(0, 2, 1, 3) for p in proj]
    scores = heads[0] @ heads[1].transpose(0, 1, 3, 2) / np.sqrt(e // h)   # (B, h, L, S)
    blocked = np.zeros(scores.shape, dtype=bool)
    if attn_mask is not None:
        blocked |= attn_mask
    if key_padding_mask is not None:
        blocked |= key_padding_mask[:, None, None, :]
    scores = np.where(blocked, -np.inf, scores)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    out = (weights @ heads[2]).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], e)
    out = out @ mha.out_proj.weight.data.T + mha.out_proj.bias.data
    return out, weights.mean(axis=1)


@pytest.mark.parametrize("batch_first", [True, False])
def test_values_match_the_formula(batch_first):
    rng = np.random.default_rng(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first, rng=rng, dtype=np.float64)
    mha.in_proj_bias.data[...] = rng.normal(size=24)       # non-zero biases are checked too
    mha.out_proj.bias.data[...] = rng.normal(size=8)
    q, kv = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))
    pad = np.zeros((2, 5), dtype=bool)
    pad[1, -2:] = True
    causal = np.triu(np.ones((3, 5), dtype=bool), k=3)
    want, want_w = numpy_mha(mha, q, kv, kv, pad, causal)
    inputs = (q, kv, kv) if batch_first else tuple(x.transpose(1, 0, 2) for x in (q, kv, kv))
    got, got_w = mha(*(Tensor(x) for x in inputs), key_padding_mask=pad, attn_mask=causal)
    got = got.data if batch_first else got.data.transpose(1, 0, 2)
    np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(np.asarray(got_w.data if isinstance(got_w, Tensor) else got_w),
                               want_w, atol=1e-12)


def test_gradients_in_float64():
    rng = np.random.default_rng(1)
    mha = nn.MultiheadAttention(4, 2, batch_first=True, rng=rng, dtype=np.float64)
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    pad = np.array([[False, False, True], [False, False, False]])
    named = dict(mha.named_parameters())
    names = ["in_proj_weight", "in_proj_bias", "out_proj.weight"]

    def loss(*_):
        out, _ = mha(x, x, x, key_padding_mask=pad)
        return (out * out).sum()

    assert gradcheck(loss, [x] + [named[n] for n in names], names=["x"] + names)
