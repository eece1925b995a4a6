"""MultiHeadAttention against a plain NumPy reference, gradcheck in float64, the KV cache
against full recomputation, grouped-query heads, key padding, errors, and PyTorch's
nn.MultiheadAttention when installed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_arch import nn
from neural_arch.core import Tensor, no_grad
from neural_arch.testing import gradcheck


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def linear(x, layer):
    y = x @ layer.weight.data.T
    return y if layer.bias is None else y + layer.bias.data


def attention_reference(mha, x, context=None, mask=None, causal=False):
    """Head by head, query by query: softmax(q kᵀ/√hs) v with query head h reading K/V head
    h // (H / H_kv); causal keys j ≤ i + (Tk - Tq); mask (B, Tk) True = real key."""
    source = x if context is None else context
    b, t, e = x.shape
    tk, hs, h, h_kv = source.shape[1], mha.head_dim, mha.num_heads, mha.num_kv_heads
    q = linear(x, mha.q_proj).reshape(b, t, h, hs)
    k = linear(source, mha.k_proj).reshape(b, tk, h_kv, hs)
    v = linear(source, mha.v_proj).reshape(b, tk, h_kv, hs)
    heads = np.zeros((b, t, h, hs))
    for n in range(b):
        for head in range(h):
            g = head // (h // h_kv)
            for i in range(t):
                allowed = [j for j in range(tk) if (not causal or j <= i + tk - t)
                           and (mask is None or mask[n, j])]
                if not allowed:  # a query with no visible key outputs zeros (kernel's rule)
                    continue
                scores = np.array([q[n, i, head] @ k[n, j, g] for j in allowed]) / np.sqrt(hs)
                p = np.exp(scores - scores.max())
                heads[n, i, head] = (p / p.sum()) @ v[n, allowed, g]
    return linear(heads.reshape(b, t, e), mha.out_proj)


@st.composite
def attention_cases(draw):
    num_heads = draw(st.sampled_from([1, 2, 4]))
    num_kv_heads = draw(st.sampled_from([d for d in (1, 2, 4) if num_heads % d == 0]))
    return dict(heads=num_heads, kv_heads=num_kv_heads, head_dim=draw(st.integers(1, 3)),
                b=draw(st.integers(1, 2)), t=draw(st.integers(1, 5)),
                tc=draw(st.integers(1, 4)), causal=draw(st.booleans()),
                cross=draw(st.booleans()), masked=draw(st.booleans()),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@given(attention_cases())
def test_forward_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    e = case["heads"] * case["head_dim"]
    mha = nn.MultiHeadAttention(e, case["heads"], case["kv_heads"], bias=case["bias"],
                                causal=case["causal"], rng=rng).double()
    x = rng.standard_normal((case["b"], case["t"], e))
    context = rng.standard_normal((case["b"], case["tc"], e)) if case["cross"] else None
    tk = case["tc"] if case["cross"] else case["t"]
    mask = None
    if case["masked"]:
        mask = rng.random((case["b"], tk)) < 0.7
        mask[:, -1] = True  # every query keeps at least the last key (also under causal)
    out = mha(Tensor(x), None if context is None else Tensor(context), key_padding_mask=mask)
    want = attention_reference(mha, x, context, mask, case["causal"])
    np.testing.assert_allclose(out.data, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kv_heads, cross", [(2, False), (1, True)])
def test_gradcheck(rng, kv_heads, cross):
    mha = nn.MultiHeadAttention(4, 2, kv_heads, causal=not cross, rng=rng).double()
    params = [p for _, p in mha.named_parameters()]
    x = leaf(rng.standard_normal((2, 3, 4)))
    context = leaf(rng.standard_normal((2, 2, 4))) if cross else None

    def fn(x, context, *params):
        return mha(x, context)

    assert gradcheck(fn, [x, context] + params, mode="projection")


def test_kv_cache_token_by_token_equals_full_causal(rng):
    mha = nn.MultiHeadAttention(8, 4, num_kv_heads=2, causal=True, layer_idx=1,
                                rng=rng).double()
    rotary = nn.RotaryEmbedding(2, max_seq_len=16, dtype=np.float64)
    x = rng.standard_normal((2, 6, 8))
    full = mha(Tensor(x), rotary=rotary).data
    cache = nn.KVCache(num_layers=2)
    with no_grad():
        first = mha(Tensor(x[:, :2]), kv_cache=cache, rotary=rotary).data  # a 2-token prompt
        steps = [mha(Tensor(x[:, i:i + 1]), kv_cache=cache, rotary=rotary).data
                 for i in range(2, 6)]
    np.testing.assert_allclose(np.concatenate([first] + steps, axis=1), full, rtol=1e-10,
                               atol=1e-12)
    assert cache.get_seq_length(1) == 6 and cache.get_seq_length(0) == 0
    assert cache.keys[1].shape == (2, 2, 6, 2)  # stored per K/V head
    cache.reset()
    assert cache.get_seq_length(1) == 0


def test_gqa_with_all_heads_is_standard_mha(rng):
    x = Tensor(rng.standard_normal((2, 4, 6)))
    standard = nn.MultiHeadAttention(6, 3, rng=np.random.default_rng(5))
    explicit = nn.MultiHeadAttention(6, 3, num_kv_heads=3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(standard(x).data, explicit(x).data)


def test_gqa_equals_explicit_repeat_of_kv_heads(rng):
    gqa = nn.MultiHeadAttention(8, 4, num_kv_heads=2, rng=rng).double()
    mha = nn.MultiHeadAttention(8, 4, rng=rng).double()
    state = gqa.state_dict()
    for name in ("k_proj", "v_proj"):
        # K/V head g serves query heads 2g and 2g + 1: repeat each head's rows twice.
        w = state[f"{name}.weight"].reshape(2, 1, 2, 8)
        state[f"{name}.weight"] = np.repeat(w, 2, axis=1).reshape(8, 8)
        state[f"{name}.bias"] = np.repeat(state[f"{name}.bias"].reshape(2, 1, 2), 2,
                                          axis=1).reshape(8)
    mha.load_state_dict(state)
    x = Tensor(rng.standard_normal((2, 5, 8)))
    np.testing.assert_allclose(gqa(x, causal=True).data, mha(x, causal=True).data, rtol=1e-12)


def test_repeat_kv_and_its_gradient(rng):
    x = leaf(rng.standard_normal((1, 2, 3, 2)))
    y = nn.repeat_kv(x, 3)
    np.testing.assert_array_equal(y.data, np.repeat(x.data, 3, axis=1))
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 3.0))
    assert nn.repeat_kv(x, 1) is x


@pytest.mark.parametrize("causal", [False, True])
def test_padding_appended_to_the_keys_changes_nothing(rng, causal):
    mha = nn.MultiHeadAttention(6, 2, causal=causal, rng=rng).double()
    x = rng.standard_normal((2, 4, 6))
    base = mha(Tensor(x)).data
    padded = np.concatenate([x, rng.standard_normal((2, 3, 6)) * 10], axis=1)
    mask = np.array([[True] * 4 + [False] * 3] * 2)
    out = mha(Tensor(padded), key_padding_mask=mask).data
    np.testing.assert_allclose(out[:, :4], base, rtol=1e-10, atol=1e-12)


def test_dropout_is_on_the_output_and_off_in_eval(rng):
    mha = nn.MultiHeadAttention(8, 2, dropout=0.5, rng=rng)
    x = Tensor(rng.standard_normal((2, 3, 8)).astype(np.float32))
    dropped = mha(x).data
    mha.eval()
    clean = mha(x).data
    kept = dropped != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(dropped[kept], 2.0 * clean[kept], rtol=1e-5)


def test_errors(rng):
    mha = nn.MultiHeadAttention(8, 2, rng=rng)
    with pytest.raises(ValueError, match=r"input must be \(B, T, 8\); got shape \(1, 3, 6\)"):
        mha(Tensor(np.zeros((1, 3, 6), dtype=np.float32)))
    with pytest.raises(ValueError, match="context"):
        mha(Tensor(np.zeros((1, 3, 8), dtype=np.float32)),
            Tensor(np.zeros((1, 2, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="key_padding_mask"):
        mha(Tensor(np.zeros((1, 3, 8), dtype=np.float32)), key_padding_mask=np.ones((1, 4), bool))
    with pytest.raises(ValueError, match="not divisible"):
        nn.MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="must divide"):
        nn.MultiHeadAttention(12, 4, num_kv_heads=3)
    with pytest.raises(ValueError, match="self-attention"):
        mha(Tensor(np.zeros((1, 3, 8), dtype=np.float32)),
            Tensor(np.zeros((1, 2, 8), dtype=np.float32)), kv_cache=nn.KVCache())


def test_matches_torch_multihead_attention(rng):
    torch = pytest.importorskip("torch")
    mha = nn.MultiHeadAttention(8, 2, rng=rng).double()
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
            [mha.q_proj.weight.data, mha.k_proj.weight.data, mha.v_proj.weight.data])))
        ref.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
            [mha.q_proj.bias.data, mha.k_proj.bias.data, mha.v_proj.bias.data])))
        ref.out_proj.weight.copy_(torch.from_numpy(mha.out_proj.weight.data))
        ref.out_proj.bias.copy_(torch.from_numpy(mha.out_proj.bias.data))
    x = rng.standard_normal((2, 5, 8))
    mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    xt = torch.from_numpy(x)
    causal_mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)  # True = blocked
    for causal in (False, True):
        want, _ = ref(xt, xt, xt, key_padding_mask=torch.from_numpy(~mask),
                      attn_mask=causal_mask if causal else None, need_weights=False)
        out = mha(Tensor(x), key_padding_mask=mask, causal=causal)
        np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-10, atol=1e-12)
