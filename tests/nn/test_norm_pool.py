"""Pooling (max, average, adaptive) and BatchNorm2d against plain NumPy loops, gradcheck in
float64, the running statistics, and PyTorch itself when installed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_arch import functional as F
from neural_arch import nn
from neural_arch.core import Tensor, no_grad
from neural_arch.testing import gradcheck


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def pool_loop(x, kernel, stride, padding, kind):
    """Max or average pooling one window at a time; max pooling also returns the gradient of
    sum(out · g) routed to the first maximum of each window."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros((n, c, h_out, w_out))
    first_max = np.zeros((n, c, h_out, w_out, 2), dtype=int)
    for a in range(n):
        for b in range(c):
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[a, b, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    if kind == "max":
                        u, v = np.unravel_index(np.argmax(window), window.shape)
                        out[a, b, i, j] = window[u, v]
                        first_max[a, b, i, j] = (i * sh + u - ph, j * sw + v - pw)
                    else:
                        out[a, b, i, j] = window.sum() / (kh * kw)  # padded zeros counted
    return out, first_max


@st.composite
def pool_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(kernel[0], 6)),
             draw(st.integers(kernel[1], 6)))
    return dict(shape=shape, kernel=kernel, stride=stride, padding=padding,
                seed=draw(st.integers(0, 2**16)))


@given(pool_cases())
def test_max_pool_forward_and_routing_match_loop(case):
    rng = np.random.default_rng(case["seed"])
    # Few distinct values, so that ties are common: the gradient goes to the first maximum.
    x = leaf(rng.integers(0, 3, size=case["shape"]).astype(np.float64))
    out = F.max_pool2d(x, case["kernel"], case["stride"], case["padding"])
    want, first_max = pool_loop(x.data, case["kernel"], case["stride"], case["padding"], "max")
    np.testing.assert_array_equal(out.data, want)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros(x.shape)
    for index in np.ndindex(out.shape):
        a, b = index[:2]
        expected[a, b, first_max[index][0], first_max[index][1]] += g[index]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12, atol=1e-12)


@given(pool_cases())
def test_avg_pool_matches_loop_and_gradcheck(case):
    rng = np.random.default_rng(case["seed"])
    x = leaf(rng.standard_normal(case["shape"]))
    pool = nn.AvgPool2d(case["kernel"], case["stride"], case["padding"])
    want, _ = pool_loop(x.data, case["kernel"], case["stride"], case["padding"], "avg")
    np.testing.assert_allclose(pool(x).data, want, rtol=1e-12, atol=1e-12)
    assert gradcheck(pool, [x])


def test_max_pool_gradcheck_away_from_ties(rng):
    x = leaf(rng.permutation(np.arange(2 * 2 * 5 * 5)).reshape(2, 2, 5, 5) * 0.1)
    assert gradcheck(nn.MaxPool2d(3, stride=2, padding=1), [x])
    assert nn.MaxPool2d(2)(x).shape == (2, 2, 2, 2)  # stride defaults to the kernel size


def test_pool_errors():
    x = Tensor(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="4-D"):
        F.max_pool2d(Tensor(np.zeros((4, 4))), 2)
    with pytest.raises(ValueError, match="at most half"):
        F.avg_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="does not fit"):
        F.max_pool2d(x, 5)


def test_adaptive_avg_pool(rng):
    x = leaf(rng.standard_normal((2, 3, 4, 5)))
    pool = nn.AdaptiveAvgPool2d(1)
    out = pool(x)
    assert out.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(out.data, x.data.mean(axis=(2, 3), keepdims=True))
    assert gradcheck(pool, [x])
    assert nn.AdaptiveAvgPool2d((1, 1)).output_size == 1
    with pytest.raises(ValueError, match="output_size=1"):
        nn.AdaptiveAvgPool2d(2)


def batch_norm_loop(x, weight, bias, eps):
    """Per channel: normalise with the batch mean and the biased variance."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        values = x[:, c]
        mean = values.sum() / values.size
        var = ((values - mean) ** 2).sum() / values.size
        out[:, c] = (values - mean) / np.sqrt(var + eps) * weight[c] + bias[c]
    return out


def test_batch_norm_train_forward_and_running_stats(rng):
    bn = nn.BatchNorm2d(3, eps=1e-5, momentum=0.1).double()
    bn.weight.data[:] = rng.standard_normal(3)
    bn.bias.data[:] = rng.standard_normal(3)
    x1, x2 = rng.standard_normal((4, 3, 2, 3)) * 2 + 1, rng.standard_normal((4, 3, 2, 3))
    out = bn(Tensor(x1))
    np.testing.assert_allclose(out.data, batch_norm_loop(x1, bn.weight.data, bn.bias.data, 1e-5),
                               rtol=1e-10, atol=1e-12)
    with no_grad():
        bn(Tensor(x2))  # the running statistics update under no_grad too, as in PyTorch
    mean, var = np.zeros(3), np.ones(3)
    for x in (x1, x2):
        m = x.size // 3
        mean = 0.9 * mean + 0.1 * x.mean(axis=(0, 2, 3))
        var = 0.9 * var + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1)  # unbiased
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 2
    names = list(bn.state_dict())
    assert names == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_batch_norm_eval_uses_running_stats(rng):
    bn = nn.BatchNorm2d(2).double()
    bn._buffers["running_mean"][:] = [0.5, -1.0]
    bn._buffers["running_var"][:] = [2.0, 0.25]
    bn.eval()
    x = rng.standard_normal((3, 2, 2, 2))
    want = (x - np.array([0.5, -1.0]).reshape(1, 2, 1, 1)) / np.sqrt(
        np.array([2.0, 0.25]).reshape(1, 2, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(Tensor(x)).data, want, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 0


def test_batch_norm_cumulative_average_when_momentum_is_none(rng):
    bn = nn.BatchNorm2d(2, momentum=None).double()
    batches = [rng.standard_normal((2, 2, 3, 3)) for _ in range(3)]
    for x in batches:
        bn(Tensor(x))
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(axis=(0, 2, 3))
                                                         for x in batches], axis=0))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(rng, training):
    bn = nn.BatchNorm2d(2).double()
    bn.weight.data[:] = [1.5, -0.7]
    bn.bias.data[:] = [0.1, 0.2]
    bn._buffers["running_var"][:] = [0.5, 2.0]
    bn.train(training)
    x = leaf(rng.standard_normal((3, 2, 2, 2)))
    assert gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])


def test_batch_norm_errors():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*\(1, 4, 2, 2\)"):
        bn(Tensor(np.zeros((1, 4, 2, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(Tensor(np.zeros((1, 3, 1, 1), dtype=np.float32)))


def test_batch_norm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    bn = nn.BatchNorm2d(3, momentum=0.2).double()
    ref = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    bn.weight.data[:], bn.bias.data[:] = weight, bias
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(weight))
        ref.bias.copy_(torch.from_numpy(bias))
    for step in range(2):
        x = rng.standard_normal((4, 3, 3, 2)) * 3 + step
        g = rng.standard_normal(x.shape)
        x_ours, xt = leaf(x), torch.tensor(x, requires_grad=True)
        out, ref_out = bn(x_ours), ref(xt)
        out.backward(g)
        ref_out.backward(torch.from_numpy(g))
        np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x_ours.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(bn.weight.grad, ref.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.bias.grad, ref.bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
    bn.eval()
    ref.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(bn(Tensor(x)).data, ref(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
