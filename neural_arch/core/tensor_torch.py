"""The Tensor methods that PyTorch code calls, under PyTorch's names and conventions.

``Tensor`` (tensor.py) inherits them, so ``x.size(-1)``, ``x.dim()``, ``x.split(n, dim=2)`` or
``x.float()`` work on every tensor. Each is a line or two on top of an op or of the array:
what differs from the NumPy spelling is said in its docstring. There are no devices: ``to``
accepts ``"cpu"`` and dtypes, and says clearly that CUDA is not available.
"""

import numpy as np


def _ops():
    # Imported lazily, as in tensor.py: the ops import the Tensor.
    from neural_arch import ops
    return ops


def _tensor(array):
    from neural_arch.core.tensor import Tensor  # tensor.py imports this file
    return Tensor(array)


def _array_of(x):
    """A Tensor's array (indices and values given as tensors); anything else as it is."""
    from neural_arch.core.tensor import Tensor
    return x.data if isinstance(x, Tensor) else x


def _dims(args):
    """``f(2, 3)`` and ``f((2, 3))`` both mean the sizes (2, 3)."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


class TorchTensorMethods:
    device = "cpu"  # the only device: PyTorch code that reads x.device gets an answer

    def __setitem__(self, index, value):
        """In-place assignment, as ``logits[logits < v] = -inf`` in sampling code: allowed on
        tensors outside the graph (under ``no_grad`` or without ``requires_grad``) only."""
        from neural_arch.core.grad_mode import is_grad_enabled
        if self._ctx is not None or (self.requires_grad and is_grad_enabled()):
            raise RuntimeError("in-place assignment into a tensor that autograd tracks; use "
                               "masked_fill/where, or assign under no_grad()")
        parts = index if isinstance(index, tuple) else (index,)
        parts = tuple(_array_of(i) for i in parts)
        self.data[parts if isinstance(index, tuple) else parts[0]] = _array_of(value)

    # ----- shape ------------------------------------------------------------------------------
    def size(self, dim=None):
        """The shape (a tuple, like ``torch.Size``), or the size of one dimension."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def t(self):
        """Transpose a 2-D tensor (0-D and 1-D tensors are returned as they are)."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions; got shape {self.shape}")
        return self if self.ndim < 2 else self.transpose(1, 0)

    def contiguous(self):
        """Returns self: ops make their own contiguous copies where a kernel needs one."""
        return self

    def expand(self, *sizes):
        """Broadcast to ``sizes``; -1 keeps that dimension's size (PyTorch's ``expand``)."""
        sizes = _dims(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return _ops().broadcast_to(self, shape)

    def repeat(self, *reps):
        return _ops().repeat(self, _dims(reps))

    def split(self, split_size_or_sections, dim=0):
        """PyTorch's split: pieces of a *size* (not a count, as in ``np.split``)."""
        return _ops().split_sizes(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return _ops().chunk(self, chunks, dim)

    # ----- copies, dtypes, gradients ----------------------------------------------------------
    def clone(self):
        """A copy of the data that stays in the graph (gradients flow back to self)."""
        if not self.requires_grad:
            return _tensor(self.data.copy())
        return self * 1

    def tolist(self):
        return self.data.tolist()

    def to(self, *args, dtype=None, device=None):
        """``to(dtype)``, ``to("cpu")`` or ``to(device, dtype)``: cast (no devices here)."""
        for arg in args:
            if isinstance(arg, str) or device is not None and arg is device:
                device = arg
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to: neural_arch runs on the CPU only; got device {device!r}")
        return self if dtype is None else _ops().cast(self, dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def zero_(self):
        self.data[...] = 0
        return self

    def fill_(self, value):
        self.data[...] = value
        return self

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is "
                             f"ambiguous; use .any() or .all()")
        return bool(self.data.item())

    # ----- arithmetic under PyTorch's names ---------------------------------------------------
    def pow(self, exponent):
        return self ** exponent

    def clamp(self, min=None, max=None):
        return _ops().clip(self, min, max)

    def std(self, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, unbiased=None,
            correction=None):
        """sqrt(var): NumPy's ddof=0 unless ``ddof``, ``unbiased=True`` or ``correction=1``."""
        return _ops().var(self, axis, keepdims, ddof, dim=dim, keepdim=keepdim,
                          unbiased=unbiased, correction=correction).sqrt()

    def norm(self, p=2, dim=None, keepdim=False):
        """The L2 (Frobenius) norm over ``dim`` (all elements by default)."""
        if p not in (2, "fro"):
            raise ValueError(f"norm: only p=2 ('fro') is supported; got p={p!r}")
        return _ops().sum(self * self, dim=dim, keepdim=keepdim).sqrt()

    def argmax(self, dim=None, keepdim=False):
        """Indices (int64, no gradient) of the largest elements; over all elements if no dim."""
        return _tensor(np.argmax(self.data, axis=dim, keepdims=keepdim))

    def argmin(self, dim=None, keepdim=False):
        return _tensor(np.argmin(self.data, axis=dim, keepdims=keepdim))

    def any(self):
        return _tensor(np.any(self.data))

    def all(self):
        return _tensor(np.all(self.data))
