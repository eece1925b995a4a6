"""The backward engine: accumulation, fan-out, linearity, deep graphs, graph freeing, memory,
shape assertions, errors and determinism."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neural_arch.ops as ops
from neural_arch.core import Function, Tensor
from neural_arch.testing import arrays, shapes


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def composite(x, w):
    """A graph with fan-out, broadcasting, a reduction and a matmul."""
    h = (x * x + x).tanh()                      # (n, 3)
    s = ops.softmax(h @ w, axis=-1)             # (n, 2)
    return s * h.sum(axis=-1, keepdims=True) + ops.exp(x).mean()


@given(data=st.data(), n=st.integers(1, 3), a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_backward_is_linear_in_the_upstream_gradient(data, n, a, b):
    x, w = leaf(data.draw(arrays((n, 3)))), leaf(data.draw(arrays((3, 2))))
    g1, g2 = data.draw(arrays((n, 2))), data.draw(arrays((n, 2)))
    out = composite(x, w)
    grads = []
    for g in (g1, g2, a * g1 + b * g2):
        x.grad = w.grad = None
        out.backward(g, retain_graph=True)
        grads.append((x.grad, w.grad))
    for k in range(2):
        np.testing.assert_allclose(grads[2][k], a * grads[0][k] + b * grads[1][k],
                                   rtol=1e-10, atol=1e-12)


def test_exact_gradient_of_10000_x_squared():
    for dtype in (np.float32, np.float64):
        x = Tensor(np.array(1.0, dtype=dtype), requires_grad=True)
        (10000 * x ** 2).backward()
        assert x.grad == 20000.0
        x = Tensor(np.array(1.0, dtype=dtype), requires_grad=True)
        (10000 * (x * x)).backward()
        assert x.grad == 20000.0


@given(data=st.data(), shape=shapes())
def test_fan_out_gradients_add(data, shape):
    x = leaf(data.draw(arrays(shape)))
    (x * x + x).backward(np.ones(shape))
    np.testing.assert_allclose(x.grad, 2 * x.data + 1, rtol=1e-15)


def test_diamond_graph_runs_each_backward_once():
    calls = []

    class Double(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, grad):
            calls.append(grad.copy())
            return 2 * grad

    x = leaf([1.0, 2.0])
    a = Double.apply(x)
    out = a * 3 + a * 4 + a                     # three consumers of a
    out.backward(np.ones(2))
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [8.0, 8.0])
    np.testing.assert_array_equal(x.grad, [16.0, 16.0])


def test_constants_receive_no_gradient():
    x, c = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_chain_of_10000_ops():
    x = leaf(0.5)
    y = x
    for i in range(10000):
        y = y * 1.0001 if i % 2 == 0 else y + 0.5
    y.backward()  # no RecursionError
    np.testing.assert_allclose(x.grad, 1.0001 ** 5000, rtol=1e-10)
    expected = 0.5
    for i in range(10000):
        expected = expected * 1.0001 if i % 2 == 0 else expected + 0.5
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


def test_intermediates_are_freed_after_backward():
    x = leaf(np.arange(4.0))
    h = x.exp()
    y = (h * 2.0).sum()
    ref_tensor, ref_fn = weakref.ref(h), weakref.ref(h._ctx)
    del h
    y.backward()
    gc.collect()
    assert ref_tensor() is None and ref_fn() is None
    assert y._ctx is None
    np.testing.assert_allclose(x.grad, 2 * np.exp(np.arange(4.0)), rtol=1e-15)


def test_retain_graph_keeps_intermediates_and_allows_second_backward():
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum()
    ref_tensor = weakref.ref(h)
    del h
    y.backward(retain_graph=True)
    gc.collect()
    assert ref_tensor() is not None            # still needed for the next backward
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)
    np.testing.assert_allclose(first, 2 * np.exp(2 * x.data), rtol=1e-14)


def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 3).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    # ...also when the freed part is reached through a new op on top of it.
    h = x.tanh()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 5).sum().backward()


def test_backward_errors():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"one-element.*\(2, 3\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(1)).backward()


def test_backward_on_a_leaf_and_one_element_output():
    x = leaf([[3.0]])
    x.backward()
    np.testing.assert_array_equal(x.grad, [[1.0]])
    y = leaf([2.0])
    (y * y).backward()                          # one element but not 0-d
    np.testing.assert_array_equal(y.grad, [4.0])


def test_leaf_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, -1.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 1.0])
    x.zero_grad()
    assert x.grad is None


class WrongShape(Function):
    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return grad.sum(axis=0)  # wrong: drops an axis


class ForgotInput(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, None


def test_shape_assertion_names_the_op():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"WrongShape.*\(3,\).*\(2, 3\)"):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="ForgotInput.*None.*input 1"):
        ForgotInput.apply(x, leaf(np.ones((2, 3)))).sum().backward()


def test_float32_leaf_keeps_float32_grad():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    ops.maximum(x, 1.5).sum().backward()       # the op's local share is float64
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])


def _memory_step(x, w):
    w.grad = None
    loss = ((x @ w).tanh() ** 2).mean() + ops.log_softmax(x @ w, axis=-1).sum() * 1e-3
    loss.backward()


def test_memory_stays_flat_over_1000_iterations():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((8, 16)).astype(np.float32))
    w = Tensor(rng.standard_normal((16, 16)).astype(np.float32), requires_grad=True)
    tracemalloc.start()
    try:
        for i in range(1, 1001):
            _memory_step(x, w)
            if i == 100:
                gc.collect()
                at_100 = tracemalloc.get_traced_memory()[0]
        gc.collect()
        at_1000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert at_1000 - at_100 < 200_000, (at_100, at_1000)


def test_same_computation_gives_bitwise_identical_grads():
    def run():
        rng = np.random.default_rng(7)
        x = leaf(rng.standard_normal((2, 5, 8)))
        w = leaf(rng.standard_normal((8, 8)))
        g, b = leaf(np.ones(8)), leaf(np.zeros(8))
        h = ops.layer_norm(x @ w, g, b).gelu()
        q = h.reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)          # (B, nh, T, hs)
        a = ops.scaled_dot_product_attention(q, q, q, causal=True)
        logits = a.transpose(0, 2, 1, 3).reshape(2, 5, 8)
        loss = ops.cross_entropy_rows(logits, np.arange(10).reshape(2, 5) % 8).mean()
        loss.backward()
        return [t.grad for t in (x, w, g, b)]

    first, second = run(), run()
    for u, v in zip(first, second):
        assert np.array_equal(u, v)
        assert np.all(np.isfinite(u)) and np.any(u != 0)
