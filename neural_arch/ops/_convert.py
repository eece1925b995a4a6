"""Turning the operands of a binary op into Tensors of a matching dtype."""

import numpy as np

from neural_arch.core.tensor import Tensor


def as_operand(x, like):
    """``x`` as a Tensor; a Python number takes the float dtype of ``like`` (so that
    ``2 * float64_tensor`` stays float64 and ``2 * float32_tensor`` stays float32)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, bool, np.number)) and not isinstance(x, np.ndarray):
        dtype = like.dtype if like.dtype.kind == "f" else np.float32
        return Tensor(np.asarray(x, dtype=dtype))
    return Tensor(x)


def as_pair(a, b):
    """Both operands of a binary op as Tensors."""
    if isinstance(a, Tensor):
        return a, as_operand(b, a)
    if isinstance(b, Tensor):
        return as_operand(a, b), b
    return Tensor(a), Tensor(b)
