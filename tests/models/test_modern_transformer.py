"""ModernTransformer: causality, KV cache with RoPE offsets, GQA, SwiGLU width, tied embeddings,
input checks (the shared model contract is in test_language_model_contract.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_arch import nn
from neural_arch.models.language.modern_transformer import (ModernTransformer,
                                                            ModernTransformerConfig)
from neural_arch.testing import gradcheck

TINY = dict(vocab_size=64, max_seq_len=16, dim=32, n_layer=2, n_head=4, n_kv_head=2)


def tokens(batch=4, length=16, vocab=TINY["vocab_size"], seed=0):
    return np.random.default_rng(seed).integers(0, vocab, (batch, length))


_MODELS = {}


def cached_model(**overrides):
    """One model per config for the hypothesis tests (function fixtures do not mix with @given)."""
    key = tuple(sorted(overrides.items()))
    if key not in _MODELS:
        _MODELS[key] = ModernTransformer({**TINY, **overrides}).eval()
    return _MODELS[key]


def test_gradcheck_float64():
    config = dict(vocab_size=11, max_seq_len=6, dim=8, n_layer=1, n_head=2, n_kv_head=1,
                  multiple_of=4)
    model = ModernTransformer(config).double()
    idx, targets = tokens(2, 6, vocab=11), tokens(2, 6, vocab=11, seed=1)
    named = dict(model.named_parameters())
    names = list(named)  # the tiny model is cheap enough to check every parameter

    def loss(*_):
        return model(idx, targets)[1]

    assert gradcheck(loss, [named[n] for n in names], mode="projection", names=names)


def test_same_seed_same_weights_and_config_round_trip():
    model = ModernTransformer(ModernTransformerConfig(**TINY, seed=3))
    again = ModernTransformer({**model.config.to_dict(), "batch_size": 8})
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert np.array_equal(a, b), name


def test_llama_names_no_biases_and_gqa_shapes():
    model = ModernTransformer(TINY)
    named = dict(model.named_parameters())
    head_dim = TINY["dim"] // TINY["n_head"]
    assert named["layers.0.attention.wq.weight"].shape == (TINY["dim"], TINY["dim"])
    assert named["layers.0.attention.wk.weight"].shape == (TINY["n_kv_head"] * head_dim,
                                                           TINY["dim"])
    assert named["layers.1.attention.wv.weight"].shape == (TINY["n_kv_head"] * head_dim,
                                                           TINY["dim"])
    for name in ["layers.0.feed_forward.w1.weight", "layers.0.feed_forward.w2.weight",
                 "layers.0.feed_forward.w3.weight", "layers.0.attention_norm.weight",
                 "layers.0.ffn_norm.weight", "layers.1.attention.wo.weight", "norm.weight"]:
        assert name in named, name
    assert not [name for name in named if name.endswith("bias")]


def test_swiglu_hidden_size_follows_llama():
    assert ModernTransformerConfig().hidden_dim == 352  # 2/3 · 512 = 341, rounded up to 32s
    assert ModernTransformerConfig(dim=4096, multiple_of=256, n_head=32, n_kv_head=32,
                                   ).hidden_dim == 11008  # Llama 2 7B
    assert ModernTransformerConfig(ffn_hidden=100).hidden_dim == 100
    model = ModernTransformer(TINY)
    assert model.layers[0].feed_forward.w1.weight.shape == (96, TINY["dim"])  # 85 -> 96


def test_output_is_tied_to_the_token_embedding():
    model = ModernTransformer(TINY)
    assert model.output.weight is model.tok_embeddings.weight
    assert "output.weight" not in model.state_dict()
    c, v, n, hidden = TINY["dim"], TINY["vocab_size"], TINY["n_layer"], 96
    kv = TINY["n_kv_head"] * (c // TINY["n_head"])
    per_layer = 2 * c * c + 2 * c * kv + 3 * c * hidden + 2 * c
    assert model.num_parameters() == v * c + n * per_layer + c


@given(seed=st.integers(0, 2**16), t=st.integers(0, TINY["max_seq_len"] - 2))
def test_changing_later_tokens_never_changes_earlier_logits(seed, t):
    model = cached_model()
    idx = tokens(2, TINY["max_seq_len"], seed=seed)
    changed = idx.copy()
    changed[:, t + 1:] = (changed[:, t + 1:] + 1 + seed % 7) % TINY["vocab_size"]
    before, after = model(idx)[0].data, model(changed)[0].data
    np.testing.assert_allclose(before[:, :t + 1], after[:, :t + 1], rtol=0, atol=1e-6)
    assert not np.allclose(before[:, t + 1:], after[:, t + 1:])


@pytest.mark.parametrize("n_kv_head", [1, 2, 4])  # multi-query, grouped, multi-head
@pytest.mark.parametrize("prompt_len, new_tokens", [(3, 8), (5, 20)])  # 5 + 20 > 16: cropping
def test_kv_cache_greedy_generation_equals_full_recompute(n_kv_head, prompt_len, new_tokens):
    model = cached_model(n_kv_head=n_kv_head)
    prompt = tokens(3, prompt_len, seed=prompt_len)
    cached = model.generate(prompt, new_tokens, temperature=0, kv_cache=True)
    full = model.generate(prompt, new_tokens, temperature=0, kv_cache=False)
    assert cached.shape == (3, prompt_len + new_tokens)
    assert np.array_equal(cached[:, :prompt_len], prompt)
    assert np.array_equal(cached, full)


def test_cached_step_logits_match_the_full_forward():
    """With RoPE, the cached token must be rotated by its true position (the cache length)."""
    model = cached_model()
    idx = tokens(2, 9, seed=3)
    full = model(idx)[0].data
    cache = nn.KVCache(model.config.n_layer)
    model(idx[:, :8], cache=cache)
    step = model(idx[:, 8:], cache=cache)[0].data  # (2, 1, V)
    np.testing.assert_allclose(step[:, 0], full[:, 8], rtol=0, atol=1e-5)


def test_top_k_one_and_tiny_top_p_equal_greedy():
    model = cached_model()
    prompt = tokens(2, 4, seed=5)
    greedy = model.generate(prompt, 10, temperature=0)
    assert np.array_equal(model.generate(prompt, 10, temperature=1.0, top_k=1, seed=7), greedy)
    assert np.array_equal(model.generate(prompt, 10, temperature=1.0, top_p=1e-9, seed=7), greedy)


def test_too_long_sequence_raises():
    with pytest.raises(ValueError, match="sequence length 17.*at most 16"):
        cached_model()(tokens(1, 17))


@pytest.mark.parametrize("bad", [-1, TINY["vocab_size"]])
def test_token_ids_outside_the_vocabulary_raise(bad):
    idx = tokens(2, 5)
    idx[0, 1] = bad
    with pytest.raises(ValueError, match=r"token ids .*\[0, 64\)"):
        cached_model()(idx)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="n_kv_head=3 must divide n_head=4"):
        ModernTransformerConfig(n_head=4, n_kv_head=3)
    with pytest.raises(ValueError, match="heads of even size"):
        ModernTransformerConfig(dim=12, n_head=4, n_kv_head=4)
