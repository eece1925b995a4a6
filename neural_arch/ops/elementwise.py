"""Elementwise ops. Each forward formula sits above its local derivative.

Binary ops broadcast like NumPy; their backward sums the gradient back to each input's shape
with ``sum_to_shape``. Unary ops whose derivative is cheapest from the output (exp, tanh,
sigmoid, relu) save the output instead of the input.
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.kernels import KERNELS
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


class AddFn(_Binary):
    name = "add"

    def forward(self, a, b):
        self.check(a, b)
        return a + b  # d/da = 1, d/db = 1

    def backward(self, grad):
        return self.unbroadcast(grad, grad)


class SubFn(_Binary):
    name = "sub"

    def forward(self, a, b):
        self.check(a, b)
        return a - b  # d/da = 1, d/db = -1

    def backward(self, grad):
        return self.unbroadcast(grad, -grad)


class MulFn(_Binary):
    name = "mul"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return a * b  # d/da = b, d/db = a

    def backward(self, grad):
        return self.unbroadcast(grad * self.b, grad * self.a)


class DivFn(_Binary):
    name = "div"

    def forward(self, a, b):
        self.check(a, b)
        self.a, self.b = a, b
        return a / b  # d/da = 1/b, d/db = -a/b²

    def backward(self, grad):
        grad_a = grad / self.b
        grad_b = -grad_a * self.a / self.b if self.needs_input_grad[1] else grad_a
        return self.unbroadcast(grad_a, grad_b)


class PowFn(_Binary):
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


class NegFn(Function):
    def forward(self, x):
        return -x  # d/dx = -1

    def backward(self, grad):
        return -grad


class ExpFn(Function):
    def forward(self, x):
        self.out = np.exp(x)
        return self.out  # d/dx = exp(x), the output

    def backward(self, grad):
        return grad * self.out


class LogFn(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)  # d/dx = 1/x

    def backward(self, grad):
        return grad / self.x


class SqrtFn(Function):
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out  # d/dx = 1 / (2·sqrt(x))

    def backward(self, grad):
        return grad / (2.0 * self.out)


class AbsFn(Function):
    def forward(self, x):
        self.x = x
        return np.abs(x)  # d/dx = sign(x) (0 at 0, as in PyTorch)

    def backward(self, grad):
        return grad * np.sign(self.x)


class TanhFn(Function):
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out  # d/dx = 1 - tanh²

    def backward(self, grad):
        return grad * (1.0 - self.out * self.out)


def _sigmoid(x):
    # Stable for large |x|: exp only ever sees a non-positive argument.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class SigmoidFn(Function):
    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out  # d/dx = s·(1 - s)

    def backward(self, grad):
        return grad * self.out * (1.0 - self.out)


class ReluFn(Function):
    def forward(self, x):
        self.out = np.maximum(x, 0)
        return self.out  # d/dx = 1 where x > 0

    def backward(self, grad):
        return grad * (self.out > 0)


class SiluFn(Function):
    def forward(self, x):
        self.x = x
        self.s = _sigmoid(x)
        return x * self.s  # d/dx = s + x·s·(1 - s)

    def backward(self, grad):
        return grad * (self.s * (1.0 + self.x * (1.0 - self.s)))


class GeluFn(Function):
    """GELU through the kernel registry: exact ``x·Φ(x)`` or the tanh approximation."""

    def forward(self, x, approximate="none"):
        out, self.cache = KERNELS["gelu_forward"](x, approximate)
        return out

    def backward(self, grad):
        return KERNELS["gelu_backward"](grad, self.cache)


def add(a, b):
    return AddFn.apply(*as_pair(a, b))


def sub(a, b):
    return SubFn.apply(*as_pair(a, b))


def mul(a, b):
    return MulFn.apply(*as_pair(a, b))


def div(a, b):
    return DivFn.apply(*as_pair(a, b))


def pow(base, exponent):
    return PowFn.apply(*as_pair(base, exponent))


def neg(x):
    return NegFn.apply(x)


def exp(x):
    return ExpFn.apply(x)


def log(x):
    return LogFn.apply(x)


def sqrt(x):
    return SqrtFn.apply(x)


def abs(x):
    return AbsFn.apply(x)


def tanh(x):
    return TanhFn.apply(x)


def sigmoid(x):
    return SigmoidFn.apply(x)


def relu(x):
    return ReluFn.apply(x)


def silu(x):
    return SiluFn.apply(x)


def gelu(x, approximate="none"):
    """GELU. ``approximate="none"``: x·Φ(x) with the exact erf; ``"tanh"``: GPT-2's form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")
    return GeluFn.apply(x, approximate=approximate)
