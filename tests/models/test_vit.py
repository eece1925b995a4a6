"""VisionTransformer: the model contract, timm's parameter count and names, input checks."""

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from neural_arch.models.vision.vision_transformer import VisionTransformer, ViTConfig
from neural_arch.testing import gradcheck
from _contract import assert_overfits_one_batch

TINY = dict(image_size=8, patch_size=4, in_channels=3, num_classes=5, embed_dim=16, depth=2,
            num_heads=2, mlp_ratio=2.0)


def batch(n=10, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
    return images, rng.integers(0, TINY["num_classes"], n)


def test_every_parameter_gets_a_gradient():
    model = VisionTransformer(**TINY)
    _, loss = model(*batch())
    loss.backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not dead, f"parameters without gradient: {dead}"


def test_loss_at_init_is_log_num_classes():
    _, loss = VisionTransformer(**TINY)(*batch())
    assert abs(loss.item() - np.log(TINY["num_classes"])) < 0.3


def test_overfits_one_batch():
    model = VisionTransformer(**TINY)
    images, labels = batch()
    assert_overfits_one_batch(model, lambda: model(images, labels), labels, lr=3e-3, steps=150)


def test_state_dict_round_trip_through_safetensors(tmp_path):
    model = VisionTransformer(**TINY)
    save_file(model.state_dict(), str(tmp_path / "vit.safetensors"))
    fresh = VisionTransformer(**TINY, seed=1)
    images, _ = batch()
    assert not np.array_equal(fresh(images)[0].data, model(images)[0].data)
    fresh.load_state_dict(load_file(str(tmp_path / "vit.safetensors")))
    assert np.array_equal(fresh(images)[0].data, model(images)[0].data)


def test_gradcheck_float64():
    model = VisionTransformer(**{**TINY, "depth": 1, "embed_dim": 8}).double()
    images, labels = batch(n=3)
    images = images.astype(np.float64)
    named = dict(model.named_parameters())
    names = ["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.norm1.weight",
             "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.bias", "blocks.0.mlp.fc1.weight",
             "norm.bias", "head.weight"]

    def loss(*_):
        return model(images, labels)[1]

    assert gradcheck(loss, [named[n] for n in names], mode="projection", names=names)


def test_vit_base_patch16_224_matches_timm():
    model = VisionTransformer(image_size=224, patch_size=16, num_classes=1000, embed_dim=768,
                              depth=12, num_heads=12)
    assert model.num_parameters() == 86_567_656
    names = dict(model.named_parameters())
    assert names["pos_embed"].shape == (1, 197, 768)
    assert names["cls_token"].shape == (1, 1, 768)
    assert names["patch_embed.proj.weight"].shape == (768, 3, 16, 16)
    for name in ["blocks.11.norm1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.bias",
                 "blocks.0.norm2.bias", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.weight",
                 "norm.weight", "head.weight"]:
        assert name in names, name


def test_config_round_trip_and_same_seed_same_weights():
    model = VisionTransformer(**TINY, seed=3)
    assert isinstance(model.config, ViTConfig)
    again = VisionTransformer.from_config({**model.config.to_dict(), "batch_size": 4})
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert np.array_equal(a, b), name


def test_wrong_image_shape_raises():
    with pytest.raises(ValueError, match=r"images must be \(N, 3, 8, 8\)"):
        VisionTransformer(**TINY)(np.zeros((2, 3, 16, 16), dtype=np.float32))
