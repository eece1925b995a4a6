"""Reductions and (log-)softmax: every axis form, keepdims, forward against NumPy, gradients by
finite differences in float64."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neural_arch.ops as ops
from neural_arch.core import Tensor
from neural_arch.testing import arrays, distinct_arrays, shapes

from ._check import check_op, grads_of


@st.composite
def axes(draw, ndim):
    """None, an int (maybe negative) or a tuple of distinct axes (maybe negative, any order)."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


def np_axis(axis):
    return axis if axis is None or isinstance(axis, int) else tuple(axis)


REDUCTIONS = {
    "sum": (ops.sum, np.sum, arrays),
    "mean": (ops.mean, np.mean, arrays),
    "var": (ops.var, np.var, arrays),
    "max": (ops.max, np.max, distinct_arrays),
    "min": (ops.min, np.min, distinct_arrays),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=shapes(), keepdims=st.booleans())
def test_reduction(name, data, shape, keepdims):
    op, expected, values = REDUCTIONS[name]
    x = data.draw(values(shape))
    axis = data.draw(axes(len(shape)))
    check_op(lambda t: op(t, axis=axis, keepdims=keepdims),
             lambda a: expected(a, axis=np_axis(axis), keepdims=keepdims), x)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_methods_match_functions(name):
    x = Tensor(np.arange(12.0).reshape(3, 4) ** 1.5)
    op = REDUCTIONS[name][0]
    for axis in (None, 0, -1, (0, 1)):
        np.testing.assert_array_equal(getattr(x, name)(axis=axis, keepdims=True).data,
                                      op(x, axis=axis, keepdims=True).data)


def test_sum_gradient_is_ones_and_mean_is_one_over_n():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(grads_of(lambda t: t.sum(axis=1), x)[0], np.ones((2, 3)))
    np.testing.assert_array_equal(grads_of(lambda t: t.mean(axis=0), x)[0], np.full((2, 3), 0.5))


def test_var_ddof_one_matches_numpy():
    x = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    check_op(lambda t: ops.var(t, axis=1, ddof=1), lambda a: np.var(a, axis=1, ddof=1), x)
    # d var / dx_i = 2 (x_i - mean) / (n - ddof)
    grad, = grads_of(lambda t: ops.var(t, axis=1, ddof=1), x)
    np.testing.assert_allclose(grad, (x - x.mean(1, keepdims=True)), rtol=1e-12)


@pytest.mark.parametrize("op", [ops.max, ops.min])
def test_max_min_ties_share_the_gradient(op):
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]]) * (1 if op is ops.max else -1)
    grad, = grads_of(lambda t: op(t, axis=1), x)
    np.testing.assert_array_equal(grad, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    grad, = grads_of(lambda t: op(t), x)  # global extreme: 3 appears twice
    np.testing.assert_array_equal(grad, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])


def test_reduction_axis_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="out of range"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="repeats"):
        x.sum(axis=(1, -1))


def np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


@given(data=st.data(), shape=shapes(min_dims=1))
def test_softmax_and_log_softmax_every_axis(data, shape):
    x = data.draw(arrays(shape, low=-4.0, high=4.0))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    y = check_op(lambda t: ops.softmax(t, axis=axis), lambda a: np_softmax(a, axis), x)
    np.testing.assert_allclose(y.data.sum(axis=axis), 1.0, rtol=1e-12)
    assert np.all(y.data > 0)
    check_op(lambda t: t.log_softmax(axis=axis), lambda a: np_log_softmax(a, axis), x)
    np.testing.assert_allclose(np.exp(ops.log_softmax(Tensor(x), axis).data), y.data,
                               rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_sum_to_one_for_extreme_logits(dtype):
    x = Tensor(np.array([[1e4, -1e4, 0.0], [5.0, 5.0, 5.0], [-1e4, -1e4, -1e4]], dtype=dtype))
    y = ops.softmax(x, axis=-1).data
    assert y.dtype == dtype
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(y[1], [1 / 3] * 3, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_finite_for_logits_of_1e4(dtype):
    x = Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype), requires_grad=True)
    y = ops.log_softmax(x, axis=-1)
    assert np.all(np.isfinite(y.data))
    np.testing.assert_allclose(y.data, [[0.0, -2e4, -1e4], [-2e4, -2e4, 0.0]], atol=1e-3)
    g = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=dtype)
    y.backward(g)
    assert np.all(np.isfinite(x.grad))
    # d/dx (g · log_softmax) = g - softmax · Σg; softmax is one-hot here.
    expected = g - np.array([[1.0, 0, 0], [0, 0, 1.0]]) * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, expected, atol=1e-6)
