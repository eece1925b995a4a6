"""Conv2d (functional and layer) and PatchEmbedding against plain NumPy loops, gradcheck in
float64, PyTorch's init bounds, errors at the boundary, and PyTorch itself when installed."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_arch import functional as F
from neural_arch import nn
from neural_arch.core import Tensor
from neural_arch.testing import gradcheck


def conv2d_loop(x, w, b, stride, padding):
    """The definition, one output element at a time."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, h_out, w_out))
    for i_n in range(n):
        for i_o in range(o):
            for i in range(h_out):
                for j in range(w_out):
                    patch = xp[i_n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[i_n, i_o, i, j] = np.sum(patch * w[i_o]) + (0.0 if b is None else b[i_o])
    return out


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    h = draw(st.integers(max(kh - 2 * ph, 1), 6))
    w = draw(st.integers(max(kw - 2 * pw, 1), 6))
    return dict(n=draw(st.integers(1, 2)), c=draw(st.integers(1, 3)), o=draw(st.integers(1, 3)),
                h=h, w=w, kernel=(kh, kw), padding=(ph, pw),
                stride=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@given(conv_cases())
def test_conv2d_forward_matches_loop(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    w = rng.standard_normal((case["o"], case["c"]) + case["kernel"])
    b = rng.standard_normal(case["o"]) if case["bias"] else None
    out = F.conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b),
                   stride=case["stride"], padding=case["padding"])
    want = conv2d_loop(x, w, b, case["stride"], case["padding"])
    np.testing.assert_allclose(out.data, want, rtol=1e-10, atol=1e-12)


@given(conv_cases())
def test_conv2d_gradcheck(case):
    rng = np.random.default_rng(case["seed"])
    x = leaf(rng.standard_normal((case["n"], case["c"], case["h"], case["w"])))
    w = leaf(rng.standard_normal((case["o"], case["c"]) + case["kernel"]))
    inputs = [x, w] + ([leaf(rng.standard_normal(case["o"]))] if case["bias"] else [])

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=case["stride"], padding=case["padding"])

    assert gradcheck(fn, inputs)


def test_conv2d_input_without_grad_gives_weight_grad_only(rng):
    x = Tensor(rng.standard_normal((2, 3, 5, 5)))
    w = leaf(rng.standard_normal((4, 3, 3, 3)))
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad.shape == (4, 3, 3, 3)


def test_conv2d_layer_gradcheck_and_loop(rng):
    layer = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, rng=rng).double()
    x = leaf(rng.standard_normal((2, 2, 5, 4)))
    want = conv2d_loop(x.data, layer.weight.data, layer.bias.data, (2, 1), (1, 1))
    np.testing.assert_allclose(layer(x).data, want, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_conv2d_layer_init_follows_pytorch(rng):
    layer = nn.Conv2d(8, 16, 3, rng=rng)
    bound = 1.0 / math.sqrt(8 * 3 * 3)  # kaiming_uniform(a=√5) and the bias both give 1/√fan_in
    assert layer.weight.shape == (16, 8, 3, 3) and layer.weight.dtype == np.float32
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound  # uniform, so it fills the range
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert nn.Conv2d(8, 16, 3, bias=False, rng=rng).bias is None


def test_conv2d_output_shape_float32(rng):
    layer = nn.Conv2d(3, 8, 3, stride=2, padding=1, rng=rng)
    out = layer(Tensor(rng.standard_normal((4, 3, 32, 32)).astype(np.float32)))
    assert out.shape == (4, 8, 16, 16) and out.dtype == np.float32


def test_conv2d_errors(rng):
    layer = nn.Conv2d(3, 8, 3, rng=rng)
    with pytest.raises(ValueError, match=r"Conv2d.*4 channels.*expects 3"):
        layer(Tensor(np.zeros((1, 4, 8, 8), dtype=np.float32)))
    with pytest.raises(ValueError, match="Conv2d: input has 4 channels, weight expects 3"):
        F.conv2d(Tensor(np.zeros((1, 4, 8, 8))), layer.weight)
    with pytest.raises(ValueError, match="unbatched"):  # (C, H, W) is allowed, (H, W) is not
        layer(Tensor(np.zeros((8, 8), dtype=np.float32)))
    with pytest.raises(ValueError, match="does not fit"):
        layer(Tensor(np.zeros((1, 3, 2, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(Tensor(np.zeros((1, 3, 8, 8))), layer.weight, stride=0)


def test_patch_embedding_is_flatten_then_linear(rng):
    embed = nn.PatchEmbedding(image_size=(4, 6), patch_size=2, in_channels=3, embed_dim=5,
                              rng=rng).double()
    assert embed.num_patches == 6 and embed.grid_size == (2, 3)
    x = rng.standard_normal((2, 3, 4, 6))
    out = embed(Tensor(x))
    assert out.shape == (2, 6, 5)
    # Patch (i, j) in raster order, flattened as (C, ph, pw) like the conv weight.
    patches = x.reshape(2, 3, 2, 2, 3, 2).transpose(0, 2, 4, 1, 3, 5).reshape(2, 6, 12)
    want = patches @ embed.proj.weight.data.reshape(5, 12).T + embed.proj.bias.data
    np.testing.assert_allclose(out.data, want, rtol=1e-10, atol=1e-12)
    assert [n for n, _ in embed.named_parameters()] == ["proj.weight", "proj.bias"]


def test_patch_embedding_gradcheck_and_errors(rng):
    embed = nn.PatchEmbedding(4, 2, in_channels=1, embed_dim=3, rng=rng).double()
    x = leaf(rng.standard_normal((1, 1, 4, 4)))
    assert gradcheck(lambda x, w, b: embed(x), [x, embed.proj.weight, embed.proj.bias])
    with pytest.raises(ValueError, match="not divisible"):
        nn.PatchEmbedding(10, 4, in_channels=3, embed_dim=8)
    with pytest.raises(ValueError, match="expected images"):
        embed(Tensor(np.zeros((1, 1, 6, 6))))


def test_conv2d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    layer = nn.Conv2d(3, 4, 3, stride=2, padding=1, rng=rng).double()
    ref = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data))
        ref.bias.copy_(torch.from_numpy(layer.bias.data))
    x = rng.standard_normal((2, 3, 7, 6))
    g = rng.standard_normal((2, 4, 4, 3))
    xt, x_ours = torch.tensor(x, requires_grad=True), leaf(x)
    out = layer(x_ours)
    out.backward(g)
    ref_out = ref(xt)
    ref_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x_ours.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
