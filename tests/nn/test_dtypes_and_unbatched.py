"""A float64 input to a float32 layer is computed in float32 (never silently in float64), its
gradient comes back in float64; Conv2d takes an unbatched (C, H, W) image as PyTorch does."""

import numpy as np
import pytest

from neural_arch import nn
from neural_arch.core import Tensor


@pytest.mark.parametrize("make", [lambda: nn.Linear(4, 3, rng=np.random.default_rng(0)), lambda: nn.LayerNorm(4),
                                  lambda: nn.RMSNorm(4)])
def test_float64_input_runs_in_the_layer_dtype(make):
    layer = make()
    x64 = np.random.default_rng(1).normal(size=(2, 4))                # float64
    x = Tensor(x64, requires_grad=True)
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, layer(x64.astype(np.float32)).data)
    out.sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.shape == (2, 4)


def test_integer_input_is_refused_naming_the_layer():
    with pytest.raises(TypeError, match="Linear"):
        nn.Linear(4, 3, rng=np.random.default_rng(0))(np.arange(8).reshape(2, 4))


def test_conv2d_unbatched_equals_a_batch_of_one():
    conv = nn.Conv2d(2, 3, 3, padding=1, rng=np.random.default_rng(0))
    image = np.random.default_rng(2).normal(size=(2, 5, 5)).astype(np.float32)
    x = Tensor(image, requires_grad=True)
    out = conv(x)
    assert out.shape == (3, 5, 5)
    np.testing.assert_allclose(out.data, conv(image[None]).data[0], rtol=1e-6)
    out.sum().backward()
    assert x.grad.shape == (2, 5, 5)
    with pytest.raises(ValueError, match="Conv2d"):
        conv(np.zeros((5, 5), dtype=np.float32))
