"""Ops that move or select elements without arithmetic.

Their backward routes each gradient element back to where it came from: the inverse reshape or
permutation, a sum over broadcast axes, or a scatter-add for indexing (so that an index that
appears twice receives both gradients).
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.core.shapes import sum_to_shape
from neural_arch.core.tensor import Tensor


class ReshapeFn(Function):
    def forward(self, x, shape=None):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    def backward(self, grad):
        return grad.reshape(self.shape)


class PermuteFn(Function):
    def forward(self, x, axes=None):
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"permute: axes {tuple(axes)} are not a permutation of the "
                             f"{x.ndim} dimensions of a tensor of shape {x.shape}")
        self.axes = tuple(a % max(x.ndim, 1) for a in axes)  # argsort needs them non-negative
        return np.transpose(x, self.axes)

    def backward(self, grad):
        return np.transpose(grad, np.argsort(self.axes))


class BroadcastToFn(Function):
    def forward(self, x, shape=None):
        self.shape = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to "
                             f"{tuple(shape)}") from None

    def backward(self, grad):
        return sum_to_shape(grad, self.shape)


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


class GetItemFn(Function):
    """``x[index]`` for ints, slices, None, Ellipsis, integer arrays and bool masks."""

    def forward(self, x, index=None):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, grad):
        full = np.zeros(self.shape, dtype=grad.dtype)
        if _is_advanced(self.index):
            np.add.at(full, self.index, grad)  # repeated indices accumulate
        else:
            full[self.index] = grad  # basic indexing selects each element at most once
        return full


class ConcatenateFn(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(grad, cuts, axis=self.axis))


class StackFn(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad):
        n = grad.shape[self.axis]
        return tuple(np.take(grad, i, axis=self.axis) for i in range(n))


def reshape(x, shape):
    return ReshapeFn.apply(x, shape=tuple(int(s) for s in shape))


def permute(x, axes):
    return PermuteFn.apply(x, axes=tuple(int(a) for a in axes))


def transpose(x, *axes):
    """No axes: reverse all dims. Two int axes: swap them (PyTorch's ``transpose(dim0, dim1)``;
    on a 2-D tensor NumPy's ``transpose(1, 0)`` is the same swap). A tuple, or more axes: a full
    permutation, as in NumPy."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        return permute(x, tuple(axes[0]))
    if not axes:
        return permute(x, tuple(reversed(range(x.ndim))))
    if len(axes) == 2:
        return swapaxes(x, axes[0], axes[1])
    return permute(x, axes)


def swapaxes(x, axis1, axis2):
    order = list(range(x.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return permute(x, order)


def broadcast_to(x, shape):
    return BroadcastToFn.apply(x, shape=tuple(shape))


def squeeze(x, axis=None):
    """Drop size-1 axes (all of them, or the given ones, which must have size 1)."""
    if axis is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    else:
        axes = [a for a in ((axis,) if isinstance(axis, int) else axis)]
        if any(not -x.ndim <= a < x.ndim for a in axes):
            raise ValueError(f"squeeze: axis {axis} is out of range for shape {x.shape}")
        axes = [a % x.ndim for a in axes]
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1 "
                                 f"(tensor shape {x.shape})")
    return reshape(x, [n for i, n in enumerate(x.shape) if i not in axes])


def unsqueeze(x, axis):
    """Insert a size-1 axis at ``axis`` (negative counts from the end of the new shape)."""
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays (indices are constants)."""
    if isinstance(index, tuple):
        return tuple(_index_arrays(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    return index


def getitem(x, index):
    return GetItemFn.apply(x, index=_index_arrays(index))


def _check_same_rank(name, tensors):
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    shapes = [t.shape for t in tensors]
    if len({len(s) for s in shapes}) != 1:
        raise ValueError(f"{name}: all tensors need the same number of dimensions; got {shapes}")
    return shapes


def concatenate(tensors, axis=0, *, dim=None):
    axis = axis if dim is None else dim
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    shapes = _check_same_rank("concatenate", tensors)
    axis = axis % len(shapes[0])
    rest = {s[:axis] + s[axis + 1:] for s in shapes}
    if len(rest) != 1:
        raise ValueError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    return ConcatenateFn.apply(*tensors, axis=axis)


def stack(tensors, axis=0, *, dim=None):
    axis = axis if dim is None else dim
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    shapes = _check_same_rank("stack", tensors)
    if len(set(shapes)) != 1:
        raise ValueError(f"stack: all tensors need the same shape; got {shapes}")
    return StackFn.apply(*tensors, axis=axis % (len(shapes[0]) + 1))


def split(x, sections, axis=0, *, dim=None):
    """Split into equal ``sections`` (an int) or at the given indices (a list), like NumPy.
    (``Tensor.split`` follows PyTorch instead: see ``split_sizes``.)"""
    axis = axis if dim is None else dim
    n = x.shape[axis]
    if isinstance(sections, int):
        if sections <= 0 or n % sections:
            raise ValueError(f"split: axis {axis} of size {n} cannot be split into "
                             f"{sections} equal sections")
        cuts = list(range(0, n, n // sections))[1:]
    else:
        cuts = list(sections)
    bounds = [0] + cuts + [n]
    prefix = (slice(None),) * (axis % x.ndim)
    return [getitem(x, prefix + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


class PadFn(Function):
    """Constant padding; backward slices the padded border away again."""

    def forward(self, x, pad_width=None, value=0.0):
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, grad):
        return np.ascontiguousarray(grad[self.inner])


def pad(x, pad_width, value=0.0):
    """Pad with a constant. ``pad_width``: NumPy style, one (before, after) pair per axis."""
    pad_width = tuple((int(lo), int(hi)) for lo, hi in pad_width)
    if len(pad_width) != x.ndim or any(lo < 0 or hi < 0 for lo, hi in pad_width):
        raise ValueError(f"pad: pad_width needs {x.ndim} non-negative (before, after) pairs "
                         f"for shape {x.shape}; got {pad_width}")
    return PadFn.apply(x, pad_width=pad_width, value=value)


def split_sizes(x, split_size_or_sections, dim=0):
    """PyTorch's ``split``: pieces of ``split_size`` along ``dim`` (the last may be shorter),
    or pieces of the listed sizes, which must add up to the size of ``dim``."""
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be > 0; got {step}")
        cuts = list(range(step, n, step))
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} must be >= 0 and add up to {n}, the size "
                             f"of dim {dim} (tensor shape {x.shape})")
        cuts = list(np.cumsum(sizes)[:-1])
    return split(x, cuts, axis=dim)


def chunk(x, chunks, dim=0):
    """PyTorch's ``chunk``: ``chunks`` pieces of size ceil(n / chunks) (fewer if n is small)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be > 0; got {chunks}")
    return split_sizes(x, max(1, -(-x.shape[dim] // chunks)), dim)


def take_along_axis(x, indices, axis):
    """``np.take_along_axis`` as a differentiable gather (repeated indices add up)."""
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    axis = axis % x.ndim
    grid = np.ogrid[tuple(slice(0, n) for n in indices.shape)]
    index = tuple(indices if i == axis else grid[i] for i in range(x.ndim))
    return GetItemFn.apply(x, index=index)
