"""Selection ops: each output element is one of the inputs' elements, chosen elementwise.

maximum / minimum pick the larger / smaller input (a tie splits the gradient equally), clip keeps
x inside [min, max], where / masked_fill choose by a constant bool condition. The gradient goes
to whichever input was chosen.
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.core.shapes import broadcast_shape, sum_to_shape
from neural_arch.ops._convert import as_pair
from neural_arch.ops.elementwise import _Binary


class MaximumFn(_Binary):
    name = "maximum"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return np.maximum(a, b)  # the larger input gets the gradient; a tie splits it

    def backward(self, grad):
        share_a = (self.a > self.b) + 0.5 * (self.a == self.b)
        return self.unbroadcast(grad * share_a, grad * (1.0 - share_a))


class MinimumFn(_Binary):
    name = "minimum"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, grad):
        share_a = (self.a < self.b) + 0.5 * (self.a == self.b)
        return self.unbroadcast(grad * share_a, grad * (1.0 - share_a))


class ClipFn(Function):
    def forward(self, x, min_value=None, max_value=None):
        self.inside = np.ones(x.shape, dtype=bool)
        if min_value is not None:
            self.inside &= x >= min_value
        if max_value is not None:
            self.inside &= x <= max_value
        return np.clip(x, min_value, max_value)  # d/dx = 1 inside [min, max], else 0

    def backward(self, grad):
        return grad * self.inside


class WhereFn(Function):
    """``where(condition, a, b)``; the condition is a constant bool array."""

    def forward(self, a, b, condition=None):
        self.condition = condition
        self.shapes = (a.shape, b.shape)
        return np.where(condition, a, b)

    def backward(self, grad):
        zero = np.zeros((), dtype=grad.dtype)
        grad_a = sum_to_shape(np.where(self.condition, grad, zero), self.shapes[0])
        grad_b = sum_to_shape(np.where(self.condition, zero, grad), self.shapes[1])
        return grad_a, grad_b


def maximum(a, b):
    return MaximumFn.apply(*as_pair(a, b))


def minimum(a, b):
    return MinimumFn.apply(*as_pair(a, b))


def clip(x, min_value=None, max_value=None):
    return ClipFn.apply(x, min_value=min_value, max_value=max_value)


def _condition_array(condition, name):
    from neural_arch.core.tensor import Tensor
    array = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if array.dtype != np.bool_:
        raise TypeError(f"{name}: the condition/mask must be a bool array; got dtype {array.dtype}")
    return array


def where(condition, a, b):
    """Elementwise ``a`` where ``condition`` is True, else ``b`` (condition: bool, constant)."""
    cond = _condition_array(condition, "where")
    a, b = as_pair(a, b)
    broadcast_shape("where", cond.shape, broadcast_shape("where", a.shape, b.shape))
    return WhereFn.apply(a, b, condition=cond)


def masked_fill(x, mask, value):
    """``x`` with ``value`` written wherever the bool ``mask`` (broadcast to x) is True."""
    mask_array = _condition_array(mask, "masked_fill")
    broadcast_shape("masked_fill", x.shape, mask_array.shape)
    fill = np.asarray(value, dtype=x.dtype)
    return WhereFn.apply(fill, x, condition=mask_array)
