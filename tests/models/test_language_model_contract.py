"""The model contract for both decoder-only language models (GPT-2 and the modern transformer):
every parameter learns, the loss starts at ln(vocab), one batch is overfit, and weights survive
a safetensors round trip into a differently seeded model."""

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from neural_arch import optim
from neural_arch.models.language.gpt2 import GPT2LMHead
from neural_arch.models.language.modern_transformer import ModernTransformer

MODELS = {
    "gpt2": (GPT2LMHead, dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4)),
    "modern_transformer": (ModernTransformer, dict(vocab_size=64, max_seq_len=16, dim=32,
                                                   n_layer=2, n_head=4, n_kv_head=2)),
}


def next_token_batch(batch=4, length=16, vocab=64, seed=0):
    """Inputs and their next-token targets, cut from one random sequence per row."""
    seq = np.random.default_rng(seed).integers(0, vocab, (batch, length + 1))
    return seq[:, :-1], seq[:, 1:]


@pytest.fixture(params=sorted(MODELS))
def build(request):
    cls, tiny = MODELS[request.param]
    return lambda **overrides: cls({**tiny, **overrides})


def test_every_parameter_gets_a_gradient(build):
    model = build()
    _, loss = model(*next_token_batch())
    loss.backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not dead, f"parameters without gradient: {dead}"


def test_loss_at_init_is_log_vocab(build):
    _, loss = build()(*next_token_batch())
    assert abs(loss.item() - np.log(64)) < 0.3


def test_overfits_one_batch(build):
    model = build()
    idx, targets = next_token_batch()
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    first = None
    for _ in range(200):  # about 25 steps are needed at this learning rate
        _, loss = model(idx, targets)
        first = loss.item() if first is None else first
        if loss.item() < 0.05 * first:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first, (first, loss.item())


def test_state_dict_round_trip_through_safetensors(build, tmp_path):
    model = build()
    save_file(model.state_dict(), str(tmp_path / "model.safetensors"))
    fresh = build(seed=1)
    idx, _ = next_token_batch()
    assert not np.array_equal(fresh(idx)[0].data, model(idx)[0].data)
    fresh.load_state_dict(load_file(str(tmp_path / "model.safetensors")))
    assert np.array_equal(fresh(idx)[0].data, model(idx)[0].data)
