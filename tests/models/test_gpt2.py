"""GPT2LMHead: causality, KV-cache generation, tied embeddings, init, input checks (the shared
model contract is in test_language_model_contract.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_arch.models.language.gpt2 import GPT2Config, GPT2LMHead
from neural_arch.testing import gradcheck

TINY = dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4)


def tokens(batch=4, length=16, vocab=TINY["vocab_size"], seed=0):
    return np.random.default_rng(seed).integers(0, vocab, (batch, length))


_MODELS = {}


def cached_model(**overrides):
    """One model per config for the hypothesis tests (function fixtures do not mix with @given)."""
    key = tuple(sorted(overrides.items()))
    if key not in _MODELS:
        _MODELS[key] = GPT2LMHead({**TINY, **overrides}).eval()
    return _MODELS[key]


def test_gradcheck_float64():
    model = GPT2LMHead(dict(vocab_size=11, n_positions=6, n_embd=8, n_layer=1, n_head=2)).double()
    idx, targets = tokens(2, 6, vocab=11), tokens(2, 6, vocab=11, seed=1)
    named = dict(model.named_parameters())
    names = list(named)  # the tiny model is cheap enough to check every parameter

    def loss(*_):
        return model(idx, targets)[1]

    assert gradcheck(loss, [named[n] for n in names], mode="projection", names=names)


def test_same_seed_same_weights_and_config_round_trip():
    model = GPT2LMHead(GPT2Config(**TINY, seed=3))
    again = GPT2LMHead({**model.config.to_dict(), "batch_size": 8, "learning_rate": 1e-3})
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert np.array_equal(a, b), name
    assert GPT2Config.from_dict({"block_size": 32}).n_positions == 32


def test_hf_parameter_names_and_residual_init():
    model = GPT2LMHead(GPT2Config(n_embd=64, n_layer=4, n_head=4, vocab_size=300))
    named = dict(model.named_parameters())
    for name in ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.bias",
                 "transformer.h.3.attn.c_attn.weight", "transformer.h.0.attn.c_proj.bias",
                 "transformer.h.0.ln_2.weight", "transformer.h.0.mlp.c_fc.weight",
                 "transformer.h.0.mlp.c_proj.weight", "transformer.ln_f.weight"]:
        assert name in named, name
    assert named["transformer.h.0.attn.c_attn.weight"].shape == (3 * 64, 64)  # (out, in)
    assert not named["transformer.h.0.mlp.c_fc.bias"].data.any()  # zero biases
    residual_std = named["transformer.h.0.mlp.c_proj.weight"].data.std()
    assert abs(residual_std - 0.02 / np.sqrt(2 * 4)) < 1e-3
    assert abs(named["transformer.h.0.mlp.c_fc.weight"].data.std() - 0.02) < 1e-3


def test_lm_head_is_tied_to_the_token_embedding():
    model = GPT2LMHead(TINY)
    assert model.lm_head.weight is model.transformer.wte.weight
    names = [name for name, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and "lm_head.weight" not in model.state_dict()
    c, v, t, n = TINY["n_embd"], TINY["vocab_size"], TINY["n_positions"], TINY["n_layer"]
    # two LayerNorms, c_attn, attn.c_proj, c_fc, mlp.c_proj (weights and biases)
    per_layer = 4 * c + (3 * c * c + 3 * c) + (c * c + c) + (4 * c * c + 4 * c) + (4 * c * c + c)
    assert model.num_parameters() == v * c + t * c + n * per_layer + 2 * c


@given(seed=st.integers(0, 2**16), t=st.integers(0, TINY["n_positions"] - 2))
def test_changing_later_tokens_never_changes_earlier_logits(seed, t):
    model = cached_model()
    idx = tokens(2, TINY["n_positions"], seed=seed)
    changed = idx.copy()
    changed[:, t + 1:] = (changed[:, t + 1:] + 1 + seed % 7) % TINY["vocab_size"]
    before, after = model(idx)[0].data, model(changed)[0].data
    np.testing.assert_allclose(before[:, :t + 1], after[:, :t + 1], rtol=0, atol=1e-6)
    assert not np.allclose(before[:, t + 1:], after[:, t + 1:])


@pytest.mark.parametrize("prompt_len, new_tokens", [(3, 8), (5, 20)])  # 5 + 20 > 16: cropping
def test_kv_cache_greedy_generation_equals_full_recompute(prompt_len, new_tokens):
    model = cached_model()
    prompt = tokens(3, prompt_len, seed=prompt_len)
    cached = model.generate(prompt, new_tokens, temperature=0, kv_cache=True)
    full = model.generate(prompt, new_tokens, temperature=0, kv_cache=False)
    assert cached.shape == (3, prompt_len + new_tokens)
    assert np.array_equal(cached[:, :prompt_len], prompt)
    assert np.array_equal(cached, full)


def test_top_k_one_and_tiny_top_p_equal_greedy():
    model = cached_model()
    prompt = tokens(2, 4, seed=5)
    greedy = model.generate(prompt, 10, temperature=0)
    assert np.array_equal(model.generate(prompt, 10, temperature=1.0, top_k=1, seed=7), greedy)
    assert np.array_equal(model.generate(prompt, 10, temperature=1.0, top_p=1e-9, seed=7), greedy)


def test_sampling_is_reproducible_and_restores_training_mode():
    model = GPT2LMHead(TINY)
    prompt = tokens(2, 4, seed=6)
    a = model.generate(prompt, 12, temperature=1.5, top_k=20, top_p=0.9, seed=11)
    b = model.generate(prompt, 12, temperature=1.5, top_k=20, top_p=0.9, seed=11)
    assert np.array_equal(a, b)
    assert ((a >= 0) & (a < TINY["vocab_size"])).all()
    assert model.training and all(m.training for m in model.modules())


def test_too_long_sequence_raises():
    with pytest.raises(ValueError, match="sequence length 17.*at most 16"):
        cached_model()(tokens(1, 17))


@pytest.mark.parametrize("bad", [-1, TINY["vocab_size"]])
def test_token_ids_outside_the_vocabulary_raise(bad):
    idx = tokens(2, 5)
    idx[1, 3] = bad
    with pytest.raises(ValueError, match=r"token ids .*\[0, 64\)"):
        cached_model()(idx)
    with pytest.raises(ValueError, match=r"\[0, 64\)"):
        cached_model().generate(idx, 2)


def test_float_ids_and_bad_config_raise():
    with pytest.raises(TypeError, match="integer token ids"):
        cached_model()(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPT2Config(n_embd=30, n_head=4)
