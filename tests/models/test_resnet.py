"""ResNet (CIFAR-style): the model contract, running statistics in eval mode, depth checks."""

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from neural_arch.core import no_grad
from neural_arch.models.vision.resnet import ResNet, ResNetConfig
from neural_arch.testing import gradcheck
from _contract import assert_overfits_one_batch

TINY = dict(depth=8, num_classes=5, in_channels=3, base_width=4)


def batch(n=10, seed=0, size=8):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, 3, size, size)).astype(np.float32)
    return images, rng.integers(0, TINY["num_classes"], n)


def test_every_parameter_gets_a_gradient():
    model = ResNet(TINY)
    _, loss = model(*batch())
    loss.backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not dead, f"parameters without gradient: {dead}"


def test_loss_at_init_is_log_num_classes():
    _, loss = ResNet(TINY)(*batch())
    assert abs(loss.item() - np.log(TINY["num_classes"])) < 0.3


def test_overfits_one_batch():
    model = ResNet(TINY)
    images, labels = batch()
    assert_overfits_one_batch(model, lambda: model(images, labels), labels, lr=1e-2, steps=100)


def test_state_dict_round_trip_through_safetensors(tmp_path):
    model = ResNet(TINY)
    model(*batch())                                     # move the running statistics
    model.eval()
    save_file(model.state_dict(), str(tmp_path / "resnet.safetensors"))
    assert "layer1.0.bn1.running_mean" in model.state_dict()
    fresh = ResNet({**TINY, "seed": 1}).eval()
    images, _ = batch()
    assert not np.array_equal(fresh(images)[0].data, model(images)[0].data)
    fresh.load_state_dict(load_file(str(tmp_path / "resnet.safetensors")))
    assert np.array_equal(fresh(images)[0].data, model(images)[0].data)


def test_gradcheck_float64():
    model = ResNet({**TINY, "base_width": 2}).double()
    images, labels = batch(n=4, size=4)
    images = images.astype(np.float64)
    named = dict(model.named_parameters())
    names = ["conv1.weight", "bn1.weight", "layer1.0.conv2.weight", "layer2.0.bn2.bias",
             "layer2.0.downsample.0.weight", "layer3.0.downsample.1.weight", "fc.weight"]

    def loss(*_):
        return model(images, labels)[1]

    assert gradcheck(loss, [named[n] for n in names], mode="projection", names=names)


def test_eval_mode_uses_running_statistics():
    """In eval mode an image's logits do not depend on which other images share its batch."""
    model = ResNet(TINY)
    for seed in range(3):
        model(*batch(seed=seed))                        # train mode: update running stats
    model.eval()
    images, _ = batch(seed=7)
    with no_grad():
        alone = model(images[:3])[0].data
        mixed = model(np.concatenate([images[:3], 5.0 * images[3:]]))[0].data[:3]
    np.testing.assert_allclose(mixed, alone, atol=1e-5, rtol=0)


def test_depth_must_be_6n_plus_2():
    assert ResNet(ResNetConfig(depth=20, base_width=4)).config.depth == 20
    with pytest.raises(ValueError, match="6n \\+ 2"):
        ResNet({"depth": 10})


def test_wrong_channels_raise():
    with pytest.raises(ValueError, match=r"images must be \(N, 3, H, W\)"):
        ResNet(TINY)(np.zeros((2, 1, 8, 8), dtype=np.float32))
