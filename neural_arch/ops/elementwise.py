"""Elementwise ops. Each forward formula sits above its local derivative.

Binary ops broadcast like NumPy; their backward sums the gradient back to each input's shape
with ``sum_to_shape``. Unary ops whose derivative is cheapest from the output (exp, tanh,
sigmoid, relu) save the output instead of the input.
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.core.shapes import broadcast_shape, sum_to_shape
from neural_arch.ops._convert import as_pair


class _Binary(Function):
    name = "binary op"

    def check(self, a, b):
        if a.shape != b.shape:
            broadcast_shape(self.name, a.shape, b.shape)
        self.shapes = (a.shape, b.shape)

    def unbroadcast(self, grad_a, grad_b):
        shape_a, shape_b = self.shapes
        return (sum_to_shape(grad_a, shape_a) if self.needs_input_grad[0] else None,
                sum_to_shape(grad_b, shape_b) if self.needs_input_grad[1] else None)


class Add(_Binary):
    name = "add"

    def forward(self, a, b):
        self.check(a, b)
        return a + b  # d/da = 1, d/db = 1

    def backward(self, grad):
        return self.unbroadcast(grad, grad)


class Sub(_Binary):
    name = "sub"

    def forward(self, a, b):
        self.check(a, b)
        return a - b  # d/da = 1, d/db = -1

    def backward(self, grad):
        return self.unbroadcast(grad, -grad)


class Mul(_Binary):
    name = "mul"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return a * b  # d/da = b, d/db = a

    def backward(self, grad):
        return self.unbroadcast(grad * self.b, grad * self.a)


class Div(_Binary):
    name = "div"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return a / b  # d/da = 1/b, d/db = -a/b²

    def backward(self, grad):
        grad_a = grad / self.b
        grad_b = -grad_a * self.a / self.b if self.needs_input_grad[1] else grad_a
        return self.unbroadcast(grad_a, grad_b)


class Pow(_Binary):
    name = "pow"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        self.out = a ** b
        return self.out  # d/da = b·a^(b-1), d/db = a^b·ln a

    def backward(self, grad):
        a, b = self.a, self.b
        grad_a = grad * b * a ** (b - 1) if self.needs_input_grad[0] else grad
        grad_b = grad * self.out * np.log(a) if self.needs_input_grad[1] else grad
        return self.unbroadcast(grad_a, grad_b)


class Maximum(_Binary):
    name = "maximum"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return np.maximum(a, b)  # the larger input gets the gradient; a tie splits it

    def backward(self, grad):
        share_a = (self.a > self.b) + 0.5 * (self.a == self.b)
        return self.unbroadcast(grad * share_a, grad * (1.0 - share_a))


class Minimum(_Binary):
    name = "minimum"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, grad):
        share_a = (self.a < self.b) + 0.5 * (self.a == self.b)
        return self.unbroadcast(grad * share_a, grad * (1.0 - share_a))


class Neg(Function):
    def forward(self, x):
        return -x  # d/dx = -1

    def backward(self, grad):
        return -grad


class Exp(Function):
    def forward(self, x):
        self.out = np.exp(x)
        return self.out  # d/dx = exp(x), the output

    def backward(self, grad):
        return grad * self.out


class Log(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)  # d/dx = 1/x

    def backward(self, grad):
        return grad / self.x


class Sqrt(Function):
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out  # d/dx = 1 / (2·sqrt(x))

    def backward(self, grad):
        return grad / (2.0 * self.out)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return np.abs(x)  # d/dx = sign(x) (0 at 0, as in PyTorch)

    def backward(self, grad):
        return grad * np.sign(self.x)


class Tanh(Function):
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out  # d/dx = 1 - tanh²

    def backward(self, grad):
        return grad * (1.0 - self.out * self.out)


def _sigmoid(x):
    # Stable for large |x|: exp only ever sees a non-positive argument.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out  # d/dx = s·(1 - s)

    def backward(self, grad):
        return grad * self.out * (1.0 - self.out)


class Relu(Function):
    def forward(self, x):
        self.out = np.maximum(x, 0)
        return self.out  # d/dx = 1 where x > 0

    def backward(self, grad):
        return grad * (self.out > 0)


class Silu(Function):
    def forward(self, x):
        self.x = x
        self.s = _sigmoid(x)
        return x * self.s  # d/dx = s + x·s·(1 - s)

    def backward(self, grad):
        return grad * (self.s * (1.0 + self.x * (1.0 - self.s)))


class Gelu(Function):
    """GELU through the kernel registry: exact ``x·Φ(x)`` or the tanh approximation."""

    def forward(self, x, approximate="none"):
        from neural_arch import kernels
        out, self.cache = kernels.gelu_forward(x, approximate)
        return out

    def backward(self, grad):
        from neural_arch import kernels
        return kernels.gelu_backward(grad, self.cache)


class Clip(Function):
    def forward(self, x, min_value=None, max_value=None):
        self.inside = np.ones(x.shape, dtype=bool)
        if min_value is not None:
            self.inside &= x >= min_value
        if max_value is not None:
            self.inside &= x <= max_value
        return np.clip(x, min_value, max_value)  # d/dx = 1 inside [min, max], else 0

    def backward(self, grad):
        return grad * self.inside


class Where(Function):
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


def add(a, b):
    return Add.apply(*as_pair(a, b))


def sub(a, b):
    return Sub.apply(*as_pair(a, b))


def mul(a, b):
    return Mul.apply(*as_pair(a, b))


def div(a, b):
    return Div.apply(*as_pair(a, b))


def pow(base, exponent):
    return Pow.apply(*as_pair(base, exponent))


def maximum(a, b):
    return Maximum.apply(*as_pair(a, b))


def minimum(a, b):
    return Minimum.apply(*as_pair(a, b))


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):
    return Abs.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def relu(x):
    return Relu.apply(x)


def silu(x):
    return Silu.apply(x)


def gelu(x, approximate="none"):
    """GELU. ``approximate="none"``: x·Φ(x) with the exact erf; ``"tanh"``: GPT-2's form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")
    return Gelu.apply(x, approximate=approximate)


def clip(x, min_value=None, max_value=None):
    return Clip.apply(x, min_value=min_value, max_value=max_value)


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
    return Where.apply(a, b, condition=cond)


def masked_fill(x, mask, value):
    """``x`` with ``value`` written wherever the bool ``mask`` (broadcast to x) is True."""
    mask_array = _condition_array(mask, "masked_fill")
    broadcast_shape("masked_fill", x.shape, mask_array.shape)
    fill = np.asarray(value, dtype=x.dtype)
    return Where.apply(fill, x, condition=mask_array)
