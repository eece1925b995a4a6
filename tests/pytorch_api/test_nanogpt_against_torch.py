"""The same nanoGPT-shaped code (``nanogpt.py``) runs on PyTorch and on neural_arch; from the
same weights the losses of several AdamW steps agree to 1e-4, and so does greedy generation.

Skipped when PyTorch is not installed."""

import numpy as np
import pytest

import neural_arch
from neural_arch import nn as na_nn

from .nanogpt import GPTConfig, make

torch = pytest.importorskip("torch")

STEPS = 8


def _batches(config, rng, count=3, batch=4):
    out = []
    for _ in range(count):
        rows = rng.integers(0, config.vocab_size, size=(batch, config.block_size + 1))
        x, y = rows[:, :-1].copy(), rows[:, 1:].copy()
        y[0, :3] = -1  # ignored targets, as nanoGPT's ignore_index=-1
        out.append((x, y))
    return out


def _both(config):
    """The torch model and the neural_arch model holding the torch model's weights."""
    torch.manual_seed(0)
    GPT, train = make(torch, torch.nn, torch.nn.functional)
    reference = GPT(config)
    NaGPT, na_train = make(neural_arch, na_nn, na_nn.functional)
    neural_arch.manual_seed(0)
    ours = NaGPT(config)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    assert "lm_head.weight" in state  # the tied key PyTorch saves, accepted with strict=True
    ours.load_state_dict(state, strict=True)
    assert ours.get_num_params() == reference.get_num_params()
    return (reference, train), (ours, na_train)


@pytest.mark.parametrize("flash", [True, False], ids=["sdpa", "tril-mask"])
def test_adamw_losses_match_torch_step_for_step(flash):
    config = GPTConfig(flash=flash)
    batches = _batches(config, np.random.default_rng(1))
    (reference, train), (ours, na_train) = _both(config)
    want = train(reference, batches, STEPS)
    got = na_train(ours, batches, STEPS)
    diff = np.max(np.abs(np.array(got) - np.array(want)))
    print(f"max |loss difference| over {STEPS} AdamW steps ({'sdpa' if flash else 'tril'}): "
          f"{diff:.2e}")
    assert diff < 1e-4, (got, want)
    assert got[-1] < got[0]  # it learns
    for name, p in reference.state_dict().items():
        np.testing.assert_allclose(ours.state_dict().get(name, ours.lm_head.weight.data),
                                   p.numpy(), atol=1e-4, err_msg=name)


def test_greedy_generation_matches_torch():
    config = GPTConfig()
    (reference, _), (ours, _) = _both(config)
    reference.eval()
    ours.eval()
    start = np.array([[1, 2, 3]])
    want = reference.generate(torch.tensor(start), 10, top_k=1).numpy()
    got = ours.generate(neural_arch.tensor(start), 10, top_k=1).numpy()
    np.testing.assert_array_equal(got, want)


def test_a_model_trained_here_round_trips_through_safetensors_into_torch(tmp_path):
    """Train here, ``neural_arch.save`` the state_dict, load it into the PyTorch module, and
    back: logits agree to 1e-5 both ways. The tied output weight is saved once, under the
    embedding's name; torch fills ``lm_head.weight`` from it through the tie."""
    from safetensors.torch import load_file as torch_load_file, save_file as torch_save_file
    config = GPTConfig()
    neural_arch.manual_seed(3)
    NaGPT, na_train = make(neural_arch, na_nn, na_nn.functional)
    ours = NaGPT(config)
    na_train(ours, _batches(config, np.random.default_rng(4)), 3)  # trained here
    neural_arch.save(ours.state_dict(), tmp_path / "ours.safetensors")

    GPT, _ = make(torch, torch.nn, torch.nn.functional)
    theirs = GPT(config)
    missing, unexpected = theirs.load_state_dict(torch_load_file(tmp_path / "ours.safetensors"),
                                                 strict=False)
    assert missing == ["lm_head.weight"] and unexpected == []  # the tie, filled by wte
    assert theirs.lm_head.weight is theirs.transformer.wte.weight
    idx = np.random.default_rng(5).integers(0, config.vocab_size, size=(2, config.block_size))
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        want = theirs(torch.tensor(idx))[0].numpy()
    got = ours(neural_arch.tensor(idx))[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)

    # ... and back: torch's own file, with both names of the tied weight, loads strictly.
    torch_save_file({k: v.contiguous() for k, v in theirs.state_dict().items()
                     if k != "lm_head.weight"}, str(tmp_path / "theirs.safetensors"))
    again = NaGPT(config)
    again.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()}, strict=True)
    again.eval()
    np.testing.assert_allclose(again(neural_arch.tensor(idx))[0].numpy(), want, atol=1e-5,
                               rtol=0)
    reread = NaGPT(config)
    reread.load_state_dict(neural_arch.load(tmp_path / "theirs.safetensors"), strict=True)
    reread.eval()
    np.testing.assert_allclose(reread(neural_arch.tensor(idx))[0].numpy(), want, atol=1e-5,
                               rtol=0)
