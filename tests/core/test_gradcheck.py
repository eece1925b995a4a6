"""gradcheck itself: it must catch a wrong derivative in both modes, pass correct ops, restore
its inputs, and reject misuse."""

import numpy as np
import pytest

import neural_arch.ops as ops
from neural_arch.core import Function, Tensor
from neural_arch.testing import FULL_JACOBIAN_LIMIT, gradcheck


class WrongSquare(Function):
    """x² with the derivative x instead of 2x."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return grad * self.x


class WrongSecondInput(Function):
    """a·b whose gradient for b is off by a sign."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, -grad * self.a


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("mode", ["full", "projection"])
def test_wrong_backward_is_caught(mode, rng):
    x = leaf(rng.uniform(0.5, 1.5, size=(3, 4)))
    with pytest.raises(AssertionError, match=r"input 0.*analytic.*numeric"):
        gradcheck(WrongSquare.apply, [x], mode=mode)


@pytest.mark.parametrize("mode", ["full", "projection"])
def test_wrong_backward_names_the_input(mode, rng):
    a, b = leaf(rng.uniform(0.5, 1.5, 5)), leaf(rng.uniform(0.5, 1.5, 5))
    with pytest.raises(AssertionError, match=r"weight.*analytic.*numeric"):
        gradcheck(WrongSecondInput.apply, [a, b], mode=mode, names=["x", "weight"])
    with pytest.raises(AssertionError, match=r"input 1 \(shape \(5,\)\)"):
        gradcheck(WrongSecondInput.apply, [a, b], mode=mode)


def test_wrong_backward_is_caught_on_a_large_input(rng):
    x = leaf(rng.uniform(0.5, 1.5, size=(64, 80)))
    with pytest.raises(AssertionError, match="random projection"):
        gradcheck(lambda t: WrongSquare.apply(t).sum(axis=0), [x])  # auto: projection


def test_projection_mode_passes_correct_ops_on_a_large_input(rng):
    x = leaf(rng.standard_normal((64, 80)))
    w = leaf(rng.standard_normal((80, 3)))
    fn = lambda x, w: ops.softmax((x @ w).tanh(), axis=-1) * x[:, :3]  # noqa: E731
    assert x.numel() * 64 * 3 > FULL_JACOBIAN_LIMIT
    assert gradcheck(fn, [x, w])                            # auto picks projection
    assert gradcheck(fn, [x, w], mode="projection", projections=5, seed=3)


def test_full_mode_passes_and_restores_inputs(rng):
    a = rng.standard_normal((3, 2))
    x = leaf(a)
    c = Tensor(rng.standard_normal(2))                     # a constant input passes through
    assert gradcheck(lambda x, c: (x * c).exp().sum(axis=1), [x, c], mode="full")
    assert np.array_equal(x.data, a)
    assert gradcheck(lambda x: x.sum(), [leaf(2.0)], mode="full")


def test_non_contiguous_input():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3).T, requires_grad=True)  # a transposed view
    assert not x.data.flags.c_contiguous
    assert gradcheck(lambda t: t * t * np.arange(6.0).reshape(3, 2), [x], mode="full")
    assert gradcheck(lambda t: t * t, [x], mode="projection")


def test_misuse_is_rejected():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2, np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2))])
    with pytest.raises(ValueError, match="mode"):
        gradcheck(lambda t: t * 2, [leaf(np.ones(2))], mode="fast")
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda t: t.data * 2, [leaf(np.ones(2))])


class _NaNBackward(Function):
    def forward(self, x):
        return x * 2.0

    def backward(self, grad):
        return grad * np.nan


@pytest.mark.parametrize("mode,size", [("full", 3), ("projection", 3000)])
def test_gradcheck_fails_on_a_nan_gradient(mode, size):
    x = Tensor(np.ones(size), requires_grad=True)
    with pytest.raises(AssertionError, match="gradcheck failed"):
        gradcheck(lambda t: _NaNBackward.apply(t), [x], mode=mode)
