"""Shared harness for op tests (after chainer's ``testing/function_link.py``): every op test
states a plain NumPy expectation; ``check_op`` compares the forward against it and then checks
the gradient of every float input with ``gradcheck`` in float64."""

import numpy as np

from neural_arch.core import Tensor
from neural_arch.testing import gradcheck


def leaf(array):
    """A float64 leaf that requires grad, owning a private copy of ``array``."""
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def check_op(fn, expected, *arrays, rtol=1e-10, atol=1e-12, mode="auto"):
    """``fn(*tensors)`` must equal ``expected(*arrays)`` and pass ``gradcheck``."""
    tensors = [leaf(a) for a in arrays]
    out = fn(*tensors)
    want = np.asarray(expected(*[np.array(a, dtype=np.float64) for a in arrays]))
    assert isinstance(out, Tensor)
    assert out.shape == want.shape, (out.shape, want.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, want, rtol=rtol, atol=atol)
    assert gradcheck(fn, tensors, mode=mode)
    return out


def grads_of(fn, *arrays, upstream=None):
    """Run ``fn`` on fresh float64 leaves and backprop ``upstream`` (ones by default)."""
    tensors = [leaf(a) for a in arrays]
    out = fn(*tensors)
    out.backward(np.ones(out.shape) if upstream is None else upstream)
    return [t.grad for t in tensors]


def np_sum_to(grad, shape):
    """Plain NumPy unbroadcast (independent of the engine's ``sum_to_shape``)."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
