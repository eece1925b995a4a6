"""CLIP: the model contract, text-encoder causality, and the temperature cap."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from safetensors.numpy import load_file, save_file

from neural_arch import optim
from neural_arch.core import no_grad
from neural_arch.models.multimodal.clip import CLIP
from neural_arch.testing import gradcheck

TINY = dict(image_size=8, patch_size=4, vision_width=16, vision_layers=1, vision_heads=2,
            vocab_size=20, context_length=6, text_width=16, text_layers=2, text_heads=2,
            embed_dim=8)


def batch(n=6, seed=0):
    """Images, captions padded with 0 after an end-of-text token (id 19), and its positions."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
    eot = rng.integers(1, TINY["context_length"], n)
    eot[0] = TINY["context_length"] - 1                   # one caption fills the context
    ids = rng.integers(1, 19, (n, TINY["context_length"]))
    ids[np.arange(TINY["context_length"])[None, :] > eot[:, None]] = 0
    ids[np.arange(n), eot] = 19
    return images, ids, eot


def test_every_parameter_gets_a_gradient():
    model = CLIP(TINY)
    _, _, loss = model(*batch())
    loss.backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not dead, f"parameters without gradient: {dead}"


def test_loss_at_init_is_log_batch_size():
    _, _, loss = CLIP(TINY)(*batch())
    assert abs(loss.item() - np.log(6)) < 0.3


def test_overfits_one_batch():
    model = CLIP(TINY)
    images, ids, eot = batch()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(200):
        logits, _, loss = model(images, ids, eot)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    accuracy = (logits.data.argmax(-1) == np.arange(6)).mean()
    assert loss.item() < 0.05 * first, (first, loss.item(), accuracy)


def test_state_dict_round_trip_through_safetensors(tmp_path):
    model = CLIP(TINY)
    save_file(model.state_dict(), str(tmp_path / "clip.safetensors"))
    fresh = CLIP({**TINY, "seed": 1})
    images, ids, eot = batch()
    assert not np.array_equal(fresh(images, ids, eot)[0].data, model(images, ids, eot)[0].data)
    fresh.load_state_dict(load_file(str(tmp_path / "clip.safetensors")))
    assert np.array_equal(fresh(images, ids, eot)[0].data, model(images, ids, eot)[0].data)


def test_gradcheck_float64():
    model = CLIP({**TINY, "text_layers": 1}).double()
    images, ids, eot = batch(n=3)
    images = images.astype(np.float64)
    named = dict(model.named_parameters())
    names = ["logit_scale", "visual.pos_embed", "visual.blocks.0.attn.qkv.weight",
             "visual.norm.weight", "text.token_embedding.weight", "text.positional_embedding",
             "text.blocks.0.mlp.fc2.weight", "text.ln_final.bias", "image_projection.weight",
             "text_projection.weight"]

    def loss(*_):
        return model(images, ids, eot)[2]

    assert gradcheck(loss, [named[n] for n in names], mode="projection", names=names)


@given(st.integers(0, 2**31 - 1), st.integers(0, TINY["context_length"] - 2))
def test_text_encoder_is_causal(seed, t):
    """Changing tokens after position t never changes the hidden states at positions <= t."""
    model = CLIP(TINY)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, TINY["vocab_size"], (2, TINY["context_length"]))
    changed = ids.copy()
    changed[:, t + 1:] = rng.integers(0, TINY["vocab_size"], changed[:, t + 1:].shape)
    with no_grad():
        before, after = model.text(ids).data, model.text(changed).data
    np.testing.assert_allclose(after[:, :t + 1], before[:, :t + 1], atol=1e-6, rtol=0)


def test_temperature_is_capped_at_100_and_the_cap_stops_the_gradient():
    model = CLIP(TINY)
    assert abs(model.temperature() - 1 / 0.07) < 1e-4
    model.logit_scale.data[...] = math.log(100) + 0.5
    assert model.temperature() == 100.0
    logits, _, loss = model(*batch())
    loss.backward()
    assert model.logit_scale.grad is not None and model.logit_scale.grad == 0.0
    model.zero_grad()
    model.logit_scale.data[...] = math.log(50)
    model(*batch())[2].backward()
    assert model.logit_scale.grad != 0.0


def test_embeddings_are_unit_length_and_eot_defaults_to_the_largest_id():
    model = CLIP(TINY)
    images, ids, eot = batch()
    with no_grad():
        image = model.encode_image(images).data
        text = model.encode_text(ids, eot).data
        default = model.encode_text(ids).data
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(default, text)


def test_same_label_loss_matches_numpy_and_reduces_to_clip_for_distinct_labels():
    """With labels, every same-label pair is a positive: the loss equals a NumPy computation of
    ½(CE rows + CE columns) against targets spread over the positives, and with all labels
    different it is CLIP's own loss."""
    model = CLIP(TINY).double()
    images, ids, eot = batch(n=6, seed=3)
    labels = np.array([0, 1, 0, 2, 1, 0])
    logits, _, loss = model(images.astype(np.float64), ids, eot, labels=labels)
    L = logits.data
    same = (labels[:, None] == labels[None, :]).astype(np.float64)
    targets = same / same.sum(axis=1, keepdims=True)

    def log_softmax(x):
        x = x - x.max(axis=1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    expected = 0.5 * (-(log_softmax(L) * targets).sum(1).mean()
                      - (log_softmax(L.T) * targets).sum(1).mean())
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    plain = model(images.astype(np.float64), ids, eot)[2].item()
    distinct = model(images.astype(np.float64), ids, eot, labels=np.arange(6))[2].item()
    np.testing.assert_allclose(distinct, plain, rtol=1e-12)


def test_same_label_loss_gradients():
    model = CLIP(TINY).double()
    images, ids, eot = batch(n=5, seed=4)
    labels = np.array([1, 1, 0, 2, 0])
    named = dict(model.named_parameters())
    names = ["logit_scale", "image_projection.weight", "text_projection.weight"]

    def loss(*_):
        return model(images.astype(np.float64), ids, eot, labels=labels)[2]

    assert gradcheck(loss, [named[n] for n in names], mode="projection", names=names)
