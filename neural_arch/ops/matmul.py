"""Matrix product with NumPy's rules: 1-D, 2-D and batched with broadcast batch dims.

Forward:  C = A @ B
Backward: dA = dC @ Bᵀ,  dB = Aᵀ @ dC   (then summed over any broadcast batch dims)

A 1-D operand is treated as a row (left) or column (right) vector and the added axis is removed
from its gradient again. The product itself goes through the kernel registry (BLAS by default).
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.kernels import KERNELS
from neural_arch.core.shapes import sum_to_shape
from neural_arch.ops._convert import as_pair


class MatMulFn(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        # The kernel takes (..., M, K) @ (..., K, N): promote 1-D operands, then drop the axis.
        out = KERNELS["matmul"](a[None, :] if a.ndim == 1 else a, b[:, None] if b.ndim == 1 else b)
        if a.ndim == 1:
            out = np.squeeze(out, -2)
        if b.ndim == 1:
            out = np.squeeze(out, -1)
        return out

    def backward(self, grad):
        a, b = self.a, self.b
        # Promote 1-D operands so that one formula covers every case.
        a2 = a[None, :] if a.ndim == 1 else a  # (1, n) row vector
        b2 = b[:, None] if b.ndim == 1 else b  # (n, 1) column vector
        g = grad
        if b.ndim == 1:  # first: for 1-D @ 1-D the 0-d grad becomes (1,), then (1, 1)
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = KERNELS["matmul"](g, np.swapaxes(b2, -1, -2))
            grad_a = sum_to_shape(grad_a, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            grad_b = KERNELS["matmul"](np.swapaxes(a2, -1, -2), g)
            grad_b = sum_to_shape(grad_b, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def _check_matmul_shapes(a_shape, b_shape):
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension; got shapes "
                         f"{a_shape} and {b_shape}")
    inner_a = a_shape[-1]
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {a_shape} and {b_shape} are not aligned: "
                         f"{inner_a} (last dim of the first) != {inner_b} (the second's "
                         f"{'only' if len(b_shape) == 1 else 'second-to-last'} dim)")
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {a_shape} and {b_shape} cannot "
                         f"be broadcast together") from None


def matmul(a, b):
    a, b = as_pair(a, b)
    _check_matmul_shapes(a.shape, b.shape)
    return MatMulFn.apply(a, b)
