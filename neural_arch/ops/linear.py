"""The affine map of a Linear layer as one op: y = x Wᵀ + b.

x (..., in), W (out, in) as in PyTorch, b (out,). All leading axes of x are folded into one, so
the forward is a single 2-D GEMM and the weight gradient another (a batched matmul would run one
GEMM per batch element and then sum them), and the bias is added in place:

    Y = X Wᵀ + b          X: (N, in), N = product of the leading axes
    dX = dY W             dW = dYᵀ X            db = Σ_rows dY
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.kernels import KERNELS


class LinearFn(Function):
    def forward(self, x, weight, bias=None):
        self.x_shape, self.weight = x.shape, weight
        self.x2 = x.reshape(-1, x.shape[-1])                # (N, in)
        out = KERNELS["matmul"](self.x2, weight.T)              # (N, out)
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))  # (..., out)

    def backward(self, grad):
        g2 = grad.reshape(-1, grad.shape[-1])               # (N, out)
        grads = [None, None]
        if self.needs_input_grad[0]:
            grads[0] = KERNELS["matmul"](g2, self.weight).reshape(self.x_shape)
        if self.needs_input_grad[1]:
            grads[1] = KERNELS["matmul"](g2.T, self.x2)         # (out, in)
        if len(self.needs_input_grad) == 3:
            grads.append(None)
            if self.needs_input_grad[2]:
                # db = sum of g2's rows, as the product 1ᵀ g2: BLAS's gemv reads g2 once with
                # every SIMD lane busy, twice as fast as g2.sum(axis=0) at the models' shapes.
                grads[2] = np.ones(g2.shape[0], dtype=g2.dtype) @ g2       # (out,)
        return tuple(grads)


def linear(x, weight, bias=None):
    """y = x Wᵀ + b (bias optional); see the module docstring."""
    if bias is None:
        return LinearFn.apply(x, weight)
    return LinearFn.apply(x, weight, bias)
