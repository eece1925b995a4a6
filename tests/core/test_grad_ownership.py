"""A leaf may keep the gradient array its consumer made for it (no copy), but never one that is
shared: with another input, with the incoming gradient, or as a view of another array."""

import numpy as np

from neural_arch import ops
from neural_arch.core import Tensor


def leaf(shape, seed):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_one_array_for_two_inputs_is_not_shared():
    a, b = leaf((3, 4), 0), leaf((3, 4), 1)
    (a + b).sum().backward()                      # AddFn hands the same array to both
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 5.0
    np.testing.assert_array_equal(b.grad, np.ones((3, 4)))


def test_pass_through_gradient_is_not_shared_with_the_next_leaf():
    a, w = leaf((2, 3), 2), leaf((3, 3), 3)
    h = ops.matmul(a, w)                          # h's gradient reaches a and w as new arrays
    y = h + a                                     # a also gets the incoming gradient itself
    y.sum().backward()
    np.testing.assert_allclose(a.grad, np.ones((2, 3)) @ w.data.T + 1.0, rtol=1e-12)
    np.testing.assert_allclose(w.grad, a.data.T @ np.ones((2, 3)), rtol=1e-12)


def test_kept_arrays_accumulate_correctly_over_two_backwards():
    x, w = leaf((5, 3), 4), leaf((3, 2), 5)
    for _ in range(2):
        ops.matmul(x, w).sum().backward()         # w.grad: kept the first time, += the second
    np.testing.assert_allclose(w.grad, 2 * x.data.T @ np.ones((5, 2)), rtol=1e-12)
    np.testing.assert_allclose(x.grad, 2 * np.ones((5, 2)) @ w.data.T, rtol=1e-12)
    assert not np.shares_memory(x.grad, w.grad)
