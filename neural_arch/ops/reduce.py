"""Reductions and the (log-)softmax.

``axis`` is None (all axes), an int or a tuple; ``keepdims`` keeps reduced axes as size 1.
Every backward first puts the reduced axes back (``expand_reduced``) and then applies the local
derivative elementwise.
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.core.shapes import expand_reduced, normalize_axis, torch_axis
from neural_arch.core.tensor import Tensor


class SumFn(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        return np.sum(x, axis=self.axes, keepdims=keepdims)  # d/dx_i = 1

    def backward(self, grad):
        return np.array(expand_reduced(grad, self.shape, self.axes, self.keepdims))


class MeanFn(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        self.count = int(np.prod([x.shape[a] for a in self.axes]))
        return np.mean(x, axis=self.axes, keepdims=keepdims)  # d/dx_i = 1/n

    def backward(self, grad):
        return expand_reduced(grad, self.shape, self.axes, self.keepdims) / self.count


class VarFn(Function):
    """var = Σ(x - mean)² / (n - ddof); d/dx_i = 2(x_i - mean) / (n - ddof)."""

    def forward(self, x, axis=None, keepdims=False, ddof=0):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        self.denominator = int(np.prod([x.shape[a] for a in self.axes])) - ddof
        self.centered = x - np.mean(x, axis=self.axes, keepdims=True)
        return np.sum(self.centered ** 2, axis=self.axes, keepdims=keepdims) / self.denominator

    def backward(self, grad):
        full = expand_reduced(grad, self.shape, self.axes, self.keepdims)
        return full * (2.0 / self.denominator) * self.centered


class _Extreme(Function):
    """max / min: the gradient goes to the extreme element; ties share it equally."""

    reduce = None

    def forward(self, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{type(self).__name__.lower()} of an empty tensor")
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        out_kept = self.reduce(x, axis=self.axes, keepdims=True)
        hits = (x == out_kept).astype(x.dtype)
        self.share = hits / np.sum(hits, axis=self.axes, keepdims=True)
        return out_kept if keepdims else np.squeeze(out_kept, axis=self.axes)

    def backward(self, grad):
        return expand_reduced(grad, self.shape, self.axes, self.keepdims) * self.share


class MaxFn(_Extreme):
    reduce = staticmethod(np.max)


class MinFn(_Extreme):
    reduce = staticmethod(np.min)


def softmax_array(x, axis=-1):
    """Stable softmax on an array: subtract the row max before exp."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_array(x, axis=-1):
    """Stable log-softmax: x - max - log Σ exp(x - max), finite for logits of ±1e4."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class SoftmaxFn(Function):
    def forward(self, x, axis=-1):
        self.axis = axis
        self.out = softmax_array(x, axis)
        return self.out  # dx = y · (g - Σ g·y)

    def backward(self, grad):
        y = self.out
        return y * (grad - np.sum(grad * y, axis=self.axis, keepdims=True))


class LogSoftmaxFn(Function):
    def forward(self, x, axis=-1):
        self.axis = axis
        self.out = log_softmax_array(x, axis)
        return self.out  # dx = g - softmax · Σ g

    def backward(self, grad):
        return grad - np.exp(self.out) * np.sum(grad, axis=self.axis, keepdims=True)


# The wrappers accept NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim``.

def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    axis, keepdims = torch_axis("sum", axis, keepdims, dim, keepdim)
    return SumFn.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    axis, keepdims = torch_axis("mean", axis, keepdims, dim, keepdim)
    return MeanFn.apply(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, unbiased=None,
        correction=None):
    """Variance with NumPy's convention: ``ddof=0`` (biased) unless asked otherwise (PyTorch's
    ``unbiased=True`` or ``correction=1`` set ddof=1)."""
    axis, keepdims = torch_axis("var", axis, keepdims, dim, keepdim)
    if unbiased is not None:
        ddof = 1 if unbiased else 0
    if correction is not None:
        ddof = int(correction)
    return VarFn.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)


class ValuesIndices(tuple):
    """``(values, indices)``, as ``torch.max(x, dim=d)`` and ``torch.topk`` return."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _extreme(fn, arg, name, x, axis, keepdims, dim, keepdim):
    if dim is None:
        axis, keepdims = torch_axis(name, axis, keepdims, None, keepdim)
        return fn.apply(x, axis=axis, keepdims=keepdims)
    # PyTorch style: one dim, and the positions of the extremes beside the values.
    axis, keepdims = torch_axis(name, axis, keepdims, dim, keepdim)
    values = fn.apply(x, axis=axis, keepdims=keepdims)
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    indices = arg(array, axis=axis, keepdims=keepdims).astype(np.int64)
    return ValuesIndices((values, Tensor(indices)))


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest element over ``axis``; with PyTorch's ``dim=`` a ``(values, indices)`` pair."""
    return _extreme(MaxFn, np.argmax, "max", x, axis, keepdims, dim, keepdim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest element over ``axis``; with PyTorch's ``dim=`` a ``(values, indices)`` pair."""
    return _extreme(MinFn, np.argmin, "min", x, axis, keepdims, dim, keepdim)


def softmax(x, axis=-1, *, dim=None):
    return SoftmaxFn.apply(x, axis=axis if dim is None else dim)


def log_softmax(x, axis=-1, *, dim=None):
    return LogSoftmaxFn.apply(x, axis=axis if dim is None else dim)
