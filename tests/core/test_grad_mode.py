"""Grad mode: no_grad / enable_grad / set_grad_enabled restore state, nest, decorate, and
record nothing while disabled."""

import gc
import weakref

import numpy as np
import pytest

import neural_arch.ops as ops
from neural_arch.core import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled


def test_default_is_enabled():
    assert is_grad_enabled()


def test_nesting_restores_each_level():
    with no_grad():
        assert not is_grad_enabled()
        with enable_grad():
            assert is_grad_enabled()
            with no_grad():
                assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
        with set_grad_enabled(True):
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_state_restored_after_an_exception():
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert is_grad_enabled()


def test_decorators():
    @no_grad()
    def inference(x):
        assert not is_grad_enabled()
        return x * 2

    @enable_grad()
    def training(x):
        assert is_grad_enabled()
        return x * 2

    @set_grad_enabled(False)
    def recursive(n):
        assert not is_grad_enabled()
        return 0 if n == 0 else 1 + recursive(n - 1)

    x = Tensor(np.ones(2), requires_grad=True)
    out = inference(x)
    assert out._ctx is None and not out.requires_grad
    assert is_grad_enabled()
    with no_grad():
        out = training(x)
        assert not is_grad_enabled()
    assert out.requires_grad and out.grad_fn == "MulFn"
    assert recursive(3) == 3 and is_grad_enabled()
    assert inference.__name__ == "inference"


def test_nothing_recorded_under_no_grad():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with no_grad():
        outs = [x * 2, x.exp(), ops.matmul(x, x), x[1:], x.sum(), ops.softmax(x), x.gelu()]
    for out in outs:
        assert out._ctx is None and not out.requires_grad and out.grad_fn is None
    np.testing.assert_allclose(outs[0].data, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(outs[2].data, 14.0)
    with pytest.raises(RuntimeError):
        outs[4].backward()
    assert x.grad is None


def test_no_grad_keeps_no_reference_to_inputs():
    x = Tensor(np.ones(3), requires_grad=True)
    ref = weakref.ref(x)
    with no_grad():
        out = x.exp() * 2
    del x
    gc.collect()
    assert ref() is None
    np.testing.assert_allclose(out.data, 2 * np.e)


def test_set_grad_enabled_as_a_flag():
    x = Tensor(np.ones(2), requires_grad=True)
    for mode in (False, True):
        with set_grad_enabled(mode):
            assert (x * 2).requires_grad is mode
    assert is_grad_enabled()
