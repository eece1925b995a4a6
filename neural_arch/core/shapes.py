"""Shape helpers shared by every broadcasting op.

``sum_to_shape`` is the one unbroadcast helper (after chainer's ``utils/array.py`` ``sum_to``):
when a forward op broadcast an input of shape ``shape`` up to ``grad.shape``, the chain rule sums
the gradient over every axis the broadcast created or stretched.
"""

import numpy as np


def sum_to_shape(grad, shape):
    """Sum ``grad`` down to ``shape`` (the inverse of ``np.broadcast_to(x, grad.shape)``).

    Leading axes that broadcasting added are summed away; axes where ``shape`` has size 1 but
    ``grad`` does not are summed with ``keepdims=True``. One ``sum`` call, then a reshape.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    lead_axes = tuple(range(lead))
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    summed = grad.sum(axis=lead_axes + stretched, keepdims=True)
    return summed.reshape(shape)


def broadcast_shape(op_name, shape_a, shape_b):
    """The broadcast result shape, or a ValueError that names the op and both shapes."""
    try:
        return np.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        raise ValueError(
            f"{op_name}: shapes {tuple(shape_a)} and {tuple(shape_b)} cannot be broadcast "
            f"together (trailing dimensions must be equal or 1)"
        ) from None


def normalize_axis(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis} repeats a dimension")
    return tuple(sorted(out))


def expand_reduced(grad, input_shape, axes, keepdims):
    """Broadcast the gradient of a reduction back over the reduced ``axes`` of ``input_shape``."""
    if not keepdims:
        grad = np.expand_dims(grad, axes) if axes else grad
    return np.broadcast_to(grad, input_shape)


def torch_axis(name, axis, keepdims, dim=None, keepdim=None):
    """PyTorch's ``dim``/``keepdim`` name the same arguments as NumPy's ``axis``/``keepdims``:
    return (axis, keepdims) whichever spelling the caller used (both at once is an error)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r}; pass one")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)
