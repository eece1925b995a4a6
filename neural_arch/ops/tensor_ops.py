"""Two small primitives that PyTorch's Tensor methods need: a dtype cast and ``repeat``.

* ``CastFn``: ``x.to(float64)``. Between float dtypes the gradient is cast back to the input's
  dtype; a cast to an integer or bool dtype makes a constant (no gradient flows through it).
* ``RepeatFn``: ``x.repeat(2, 3)`` tiles x (NumPy's ``tile``). Each input element appears once
  per tile, so its gradient is the sum over the tiles: reshape the gradient to
  (r0, n0, r1, n1, ...) and sum the r axes.
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.core.tensor import Tensor


class CastFn(Function):
    def forward(self, x, dtype=None):
        self.dtype = x.dtype
        return x.astype(dtype)  # d/dx = 1, in the input's dtype

    def backward(self, grad):
        return grad.astype(self.dtype)


class RepeatFn(Function):
    def forward(self, x, reps=None):
        self.shape = (1,) * (len(reps) - x.ndim) + x.shape  # leading new axes have size 1
        self.reps = reps
        return np.tile(x, reps)

    def backward(self, grad):
        split = [n for pair in zip(self.reps, self.shape) for n in pair]  # (r0, n0, r1, n1, ...)
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(self.shape[len(self.shape) - len(self.parents[0].shape):])


def cast(x, dtype):
    """``x`` converted to ``dtype``; a no-op (the same tensor) when it already has it."""
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind != "f":
        return Tensor(x.data.astype(dtype))  # indices and masks carry no gradient
    return CastFn.apply(x, dtype=dtype)


def repeat(x, reps):
    """PyTorch's ``Tensor.repeat``: tile ``x`` ``reps[i]`` times along axis i; ``reps`` may be
    longer than ``x.ndim`` (new leading axes), never shorter."""
    reps = tuple(int(r) for r in reps)
    if len(reps) < x.ndim or any(r < 0 for r in reps):
        raise ValueError(f"repeat: needs at least {x.ndim} non-negative repeat counts for a "
                         f"tensor of shape {x.shape}; got {reps}")
    return RepeatFn.apply(x, reps=reps)
