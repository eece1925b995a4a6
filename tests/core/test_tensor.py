"""Tensor construction, dtype rules, operator overloads, and the small accessors."""

import numpy as np
import pytest

from neural_arch.core import Tensor


@pytest.mark.parametrize("data,dtype", [
    (1.5, np.float32),
    (3, np.float32),
    ([1.0, 2.0], np.float32),
    ([[1, 2], [3, 4]], np.float32),
    (np.ones(3), np.float64),
    (np.ones(3, dtype=np.float32), np.float32),
    (np.ones(3, dtype=np.float16), np.float32),
    (np.float64(2.0), np.float64),
    (np.arange(3), np.arange(3).dtype),
    (np.array([True, False]), np.bool_),
])
def test_dtype_rules(data, dtype):
    t = Tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.asarray(data).astype(dtype))


def test_explicit_dtype_and_tensor_input():
    t = Tensor([1, 2], dtype=np.float64)
    assert t.dtype == np.float64
    assert Tensor(t).dtype == np.float64
    np.testing.assert_array_equal(Tensor(t).data, [1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_scalars_keep_the_tensor_dtype(dtype):
    t = Tensor(np.array([1.0, 2.0], dtype=dtype))
    for out, expected in [(2 * t, [2.0, 4.0]), (t * 2, [2.0, 4.0]), (1 - t, [0.0, -1.0]),
                          (t + 0.5, [1.5, 2.5]), (1.0 / t, [1.0, 0.5]), (t / 2, [0.5, 1.0]),
                          (t ** 2, [1.0, 4.0]), (2 ** t, [2.0, 4.0]), (-t, [-1.0, -2.0]),
                          (t - 1, [0.0, 1.0])]:
        assert isinstance(out, Tensor)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.data, expected, rtol=1e-7)


def test_ndarray_on_the_left_gives_tensors():
    t = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    for out, expected in [(a @ t, a @ t.data), (a + t, a + t.data), (a * t, a * t.data),
                          (a - t, a - t.data)]:
        assert isinstance(out, Tensor)
        assert out.requires_grad
        np.testing.assert_array_equal(out.data, expected)
    (a @ t).sum().backward()
    np.testing.assert_array_equal(t.grad, a.T @ np.ones((2, 2)))


def test_requires_grad_needs_a_float_tensor():
    with pytest.raises(TypeError, match="int64|integer"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        Tensor(np.array([True]), requires_grad=True)
    t = Tensor(np.arange(3))
    with pytest.raises(TypeError, match="floating"):
        t.requires_grad = True
    assert Tensor([1.0], requires_grad=True).requires_grad


def test_item():
    assert Tensor(np.float64(2.5)).item() == 2.5
    value = Tensor([[7.0]]).item()
    assert value == 7.0 and isinstance(value, float)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        Tensor([1.0, 2.0]).item()


def test_detach_cuts_the_graph_and_shares_data():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d._ctx is None and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (x * x.detach()).sum().backward()          # d/dx (x · const) = const, not 2x
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad


def test_numpy_returns_the_data():
    x = Tensor(np.array([1.0, 2.0]))
    arr = x.numpy()
    assert isinstance(arr, np.ndarray)
    assert np.shares_memory(arr, x.data)
    np.testing.assert_array_equal(arr, [1.0, 2.0])


def test_repr():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    r = repr(x * 2)
    assert "shape=(2, 3)" in r and "dtype=float64" in r and "grad_fn=<MulFn>" in r
    assert "2." in r
    assert "requires_grad=True" in repr(x)
    assert "grad_fn" not in repr(Tensor([1.0]))
    assert "dtype=float32" in repr(Tensor([1.0]))


def test_attributes():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert (x.shape, x.ndim, x.numel(), x.size(), len(x)) == ((2, 3, 4), 3, 24, (2, 3, 4), 2)
    assert x.is_leaf and x.grad_fn is None
    y = x.sum(axis=0)
    assert not y.is_leaf and y.grad_fn == "SumFn" and y.requires_grad
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(np.float64(1.0)))


def test_comparisons_give_constant_bool_tensors():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    for mask, expected in [(x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]),
                           (x <= Tensor(np.array([1.0, 1.0, 1.0])), [1, 0, 0])]:
        assert mask.dtype == np.bool_ and not mask.requires_grad
        np.testing.assert_array_equal(mask.data, np.array(expected, bool))


def test_view_and_flatten():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    np.testing.assert_array_equal(x.view(6, 4).data, np.arange(24.0).reshape(6, 4))
    np.testing.assert_array_equal(x.flatten(1).data, np.arange(24.0).reshape(2, 12))
    x.flatten().sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3, 4)))


@pytest.mark.parametrize("bad", [None, "1.0", np.array([1, None], dtype=object), [[1, 2], [3]],
                                 np.array([1j])])
def test_non_numeric_data_is_a_clear_type_error(bad):
    with pytest.raises(TypeError, match=r"Tensor\(data\)"):
        Tensor(bad)
