"""Elementwise ops: forward against NumPy, gradients by finite differences (float64)."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neural_arch.ops as ops
from neural_arch.core import Tensor
from neural_arch.testing import arrays, broadcastable_shape_pairs, positive_arrays, shapes

from ._check import check_op, grads_of, np_sum_to

_erf = np.vectorize(math.erf)


def gelu_exact(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


BINARY = {
    "add": (ops.add, np.add),
    "sub": (ops.sub, np.subtract),
    "mul": (ops.mul, np.multiply),
    "operator+": (lambda a, b: a + b, np.add),
    "operator-": (lambda a, b: a - b, np.subtract),
    "operator*": (lambda a, b: a * b, np.multiply),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), pair=broadcastable_shape_pairs())
def test_binary_broadcasting(name, data, pair):
    op, expected = BINARY[name]
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    check_op(op, expected, a, b)


@given(data=st.data(), pair=broadcastable_shape_pairs())
def test_div_broadcasting(data, pair):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1], away_from=(0.0,), margin=0.3))
    check_op(ops.div, np.divide, a, b)
    check_op(lambda x, y: x / y, np.divide, a, b)


@given(data=st.data(), pair=broadcastable_shape_pairs())
def test_maximum_minimum_broadcasting(data, pair):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    wide_a, wide_b = np.broadcast_arrays(a, b)
    assume(np.all(np.abs(wide_a - wide_b) > 1e-3))  # no ties: the max is differentiable
    check_op(ops.maximum, np.maximum, a, b)
    check_op(ops.minimum, np.minimum, a, b)


def test_maximum_minimum_ties_split_gradient():
    a, b = np.array([1.0, 2.0, 3.0, -1.0]), np.array([1.0, 0.0, 3.0, 5.0])
    ga, gb = grads_of(ops.maximum, a, b)
    np.testing.assert_array_equal(ga, [0.5, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0, 0.5, 1.0])
    ga, gb = grads_of(ops.minimum, a, b)
    np.testing.assert_array_equal(ga, [0.5, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 1.0, 0.5, 0.0])


@given(data=st.data(), shape=shapes(), n=st.sampled_from([2, 3, 0.5, -1.5, 2.5, -2]))
def test_pow_scalar_exponent(data, shape, n):
    x = data.draw(positive_arrays(shape))
    check_op(lambda t: t ** n, lambda a: a ** n, x)
    check_op(lambda t: ops.pow(t, n), lambda a: a ** n, x)


@given(data=st.data(), pair=broadcastable_shape_pairs())
def test_pow_tensor_exponent(data, pair):
    base = data.draw(positive_arrays(pair[0]))
    exponent = data.draw(arrays(pair[1]))
    check_op(ops.pow, np.power, base, exponent)


@given(data=st.data(), shape=shapes())
def test_pow_scalar_base(data, shape):
    x = data.draw(arrays(shape))
    check_op(lambda t: 2 ** t, lambda a: 2.0 ** a, x)
    grad, = grads_of(lambda t: 2 ** t, x)
    np.testing.assert_allclose(grad, np.log(2.0) * 2.0 ** x, rtol=1e-12)


UNARY = {
    "neg": (ops.neg, np.negative, {}),
    "operator-": (lambda t: -t, np.negative, {}),
    "exp": (ops.exp, np.exp, {}),
    "log": (ops.log, np.log, {"low": 0.2, "high": 3.0}),
    "sqrt": (ops.sqrt, np.sqrt, {"low": 0.2, "high": 3.0}),
    "abs": (ops.abs, np.abs, {"away_from": (0.0,)}),
    "tanh": (ops.tanh, np.tanh, {}),
    "sigmoid": (ops.sigmoid, lambda a: 1.0 / (1.0 + np.exp(-a)), {}),
    "relu": (ops.relu, lambda a: np.maximum(a, 0.0), {"away_from": (0.0,)}),
    "silu": (ops.silu, lambda a: a / (1.0 + np.exp(-a)), {}),
    "gelu_none": (lambda t: ops.gelu(t, approximate="none"), gelu_exact, {}),
    "gelu_tanh": (lambda t: ops.gelu(t, approximate="tanh"), gelu_tanh, {}),
    "method_exp": (lambda t: t.exp(), np.exp, {}),
    "method_gelu": (lambda t: t.gelu(), gelu_exact, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=shapes())
def test_unary(name, data, shape):
    op, expected, domain = UNARY[name]
    x = data.draw(arrays(shape, low=domain.get("low", -3.0), high=domain.get("high", 3.0),
                         away_from=domain.get("away_from", ())))
    check_op(op, expected, x)


def test_relu_abs_gradient_values():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    np.testing.assert_array_equal(grads_of(ops.relu, x)[0], [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(grads_of(ops.abs, x)[0], [-1.0, -1.0, 1.0, 1.0])


def test_gelu_known_values():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    out = ops.gelu(Tensor(x), approximate="none").data
    np.testing.assert_allclose(out, [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x],
                               rtol=1e-12, atol=1e-15)
    out = ops.gelu(Tensor(x), approximate="tanh").data
    np.testing.assert_allclose(out, gelu_tanh(x), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="approximate"):
        ops.gelu(Tensor(x), approximate="fast")


def test_sigmoid_and_silu_stable_for_large_inputs():
    x = Tensor(np.array([-1000.0, -50.0, 50.0, 1000.0]), requires_grad=True)
    s = ops.sigmoid(x)
    assert np.all(np.isfinite(s.data))
    np.testing.assert_allclose(s.data, [0.0, math.exp(-50), 1.0, 1.0], rtol=1e-12, atol=1e-300)
    s.sum().backward()
    assert np.all(np.isfinite(x.grad))
    assert np.all(np.isfinite(ops.silu(Tensor(np.array([-1000.0, 1000.0]))).data))


@given(data=st.data(), shape=shapes(),
       bounds=st.sampled_from([(-0.5, 1.0), (None, 0.3), (-0.7, None)]))
def test_clip(data, shape, bounds):
    lo, hi = bounds
    kinks = tuple(b for b in bounds if b is not None)
    x = data.draw(arrays(shape, away_from=kinks, margin=0.05))
    check_op(lambda t: ops.clip(t, lo, hi), lambda a: np.clip(a, lo, hi), x)
    grad, = grads_of(lambda t: t.clip(lo, hi), x)
    inside = np.ones(np.shape(x), bool)
    if lo is not None:
        inside &= x > lo
    if hi is not None:
        inside &= x < hi
    np.testing.assert_array_equal(grad, inside.astype(float))


@given(data=st.data(), pair=broadcastable_shape_pairs())
def test_where(data, pair):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    condition = data.draw(hnp.arrays(np.bool_, np.broadcast_shapes(pair[0], pair[1])))
    check_op(lambda x, y: ops.where(condition, x, y), lambda x, y: np.where(condition, x, y),
             a, b)
    ga, gb = grads_of(lambda x, y: ops.where(condition, x, y), a, b)
    np.testing.assert_array_equal(ga, np_sum_to(np.where(condition, 1.0, 0.0), pair[0]))
    np.testing.assert_array_equal(gb, np_sum_to(np.where(condition, 0.0, 1.0), pair[1]))


@given(data=st.data(), shape=shapes(), value=st.sampled_from([0.0, -1e9, 7.5]))
def test_masked_fill(data, shape, value):
    x = data.draw(arrays(shape))
    # A mask that broadcasts to x: some leading axes dropped, some sides set to 1.
    kept = shape[data.draw(st.integers(0, len(shape))):]
    mask_shape = tuple(n if data.draw(st.booleans()) else 1 for n in kept)
    mask = data.draw(hnp.arrays(np.bool_, mask_shape))
    check_op(lambda t: ops.masked_fill(t, mask, value), lambda a: np.where(mask, value, a), x)
    grad, = grads_of(lambda t: t.masked_fill(Tensor(mask), value), x)
    np.testing.assert_array_equal(grad, np.broadcast_to(~mask, shape).astype(float))


def test_where_and_masked_fill_reject_non_bool_conditions():
    x = Tensor(np.ones(3))
    with pytest.raises(TypeError, match="bool"):
        ops.where(np.array([1, 0, 1]), x, x)
    with pytest.raises(TypeError, match="bool"):
        ops.masked_fill(x, np.array([1, 0, 1]), 0.0)


def test_binary_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"mul.*\(2, 3\).*\(2,\)"):
        ops.mul(Tensor(np.ones((2, 3))), Tensor(np.ones(2)))


@pytest.mark.parametrize("op", [ops.add, ops.sub, ops.mul, ops.div, ops.maximum])
def test_float32_stays_float32(op):
    a = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    out = op(a, 3)
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32
