"""The Tensor: a NumPy array plus what autograd needs to differentiate through it.

A tensor made by the user is a *leaf*; a tensor made by an op keeps that op in ``_ctx`` (a
``Function`` holding its inputs and whatever its backward needs). ``backward()`` walks those
links in reverse topological order (see ``engine.py``) and accumulates into the ``grad`` of every
leaf that has ``requires_grad=True``.

Dtypes: Python floats and lists become float32 (the training dtype); NumPy arrays keep float32 /
float64 (float64 is the gradient-check dtype); other float widths become float32; integer and bool
arrays are kept for indices and masks but can never require grad.

The methods under PyTorch's names (``size()``, ``dim()``, ``split``, ``to``, ...) live in
``tensor_torch.py``; ``size()`` is PyTorch's (the shape), ``numel()`` the element count.
"""

import numpy as np

from neural_arch.core.tensor_torch import TorchTensorMethods

_FLOAT_DTYPES = (np.float32, np.float64)


def _ops():
    # Imported lazily: ops import Function, which imports this module.
    from neural_arch import ops
    return ops


def _to_array(data, dtype):
    if isinstance(data, Tensor):
        data = data.data
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"Tensor(data): got {type(data).__name__}; expected an array, a number "
                        f"or a (nested) list of numbers")
    if dtype is not None:
        array = np.asarray(data, dtype=dtype)
    elif isinstance(data, np.ndarray) or isinstance(data, np.generic):
        array = np.asarray(data)
        if array.dtype.kind == "f" and array.dtype not in _FLOAT_DTYPES:
            array = array.astype(np.float32)
    elif isinstance(data, bool):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data, dtype=np.float32)
        except (TypeError, ValueError) as error:  # ragged lists, None inside a list, ...
            raise TypeError(f"Tensor(data): cannot read {type(data).__name__} as numbers "
                            f"({error})") from None
    if array.dtype.kind not in "biuf":  # objects, strings, complex: no autograd for them
        raise TypeError(f"Tensor(data): dtype {array.dtype} is not supported; expected bool, "
                        f"integer or float numbers")
    return array


class Tensor(TorchTensorMethods):
    """An n-dimensional array that records the operations applied to it.

    Args:
        data: array-like. Python scalars and lists become float32.
        requires_grad: track operations on this tensor so that ``backward`` fills ``grad``.
        dtype: optional NumPy dtype to convert ``data`` to.
    """

    # Makes ``ndarray @ Tensor`` and ``ndarray + Tensor`` call our reflected operators.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._graph_freed = False
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, data, ctx):
        """Wrap an op's output without copying or converting it (the hot path)."""
        out = cls.__new__(cls)
        out.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        out.grad = None
        out._ctx = ctx
        out._graph_freed = False
        out._requires_grad = ctx is not None
        return out

    # ----- attributes -------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor; got dtype {self.data.dtype} "
                f"(integer and bool tensors hold indices and masks)"
            )
        self._requires_grad = bool(flag)

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        return self._ctx is None and not self._graph_freed

    @property
    def grad_fn(self):
        return None if self._ctx is None else type(self._ctx).__name__

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def numpy(self):
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.data.item()

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data, requires_grad=False)

    def zero_grad(self):
        self.grad = None

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``grad`` (see ``engine.backward``)."""
        from neural_arch.core.engine import backward
        backward(self, grad, retain_graph=retain_graph)

    def __repr__(self):
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ")
        extra = f", grad_fn=<{self.grad_fn}>" if self._ctx is not None else ""
        if self.requires_grad and self._ctx is None:
            extra = ", requires_grad=True"
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra})"

    # ----- arithmetic (Python scalars and arrays mix in on either side) -----------------------
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __pow__(self, exponent):
        return _ops().pow(self, exponent)

    def __rpow__(self, base):
        return _ops().pow(base, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    # Comparisons give plain (non-differentiable) bool tensors, used as masks.
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(fn(self.data, other))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    __hash__ = object.__hash__

    # ----- methods that forward to ops --------------------------------------------------------
    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def sqrt(self):
        return _ops().sqrt(self)

    def abs(self):
        return _ops().abs(self)

    def tanh(self):
        return _ops().tanh(self)

    def sigmoid(self):
        return _ops().sigmoid(self)

    def relu(self):
        return _ops().relu(self)

    def gelu(self, approximate="none"):
        return _ops().gelu(self, approximate=approximate)

    def silu(self):
        return _ops().silu(self)

    # NumPy's axis/keepdims or PyTorch's dim/keepdim; max(dim=d) gives (values, indices).
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops().sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops().mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, unbiased=None,
            correction=None):
        return _ops().var(self, axis, keepdims, ddof, dim=dim, keepdim=keepdim,
                          unbiased=unbiased, correction=correction)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops().max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops().min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def softmax(self, axis=-1, *, dim=None):
        return _ops().softmax(self, axis, dim=dim)

    def log_softmax(self, axis=-1, *, dim=None):
        return _ops().log_softmax(self, axis, dim=dim)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _ops().reshape(self, shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def flatten(self, start_axis=0, end_axis=-1, *, start_dim=None, end_dim=None):
        start = (start_axis if start_dim is None else start_dim) % max(self.ndim, 1)
        end = (end_axis if end_dim is None else end_dim) % max(self.ndim, 1)
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def transpose(self, *axes):
        return _ops().transpose(self, *axes)

    def permute(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _ops().permute(self, axes)

    def swapaxes(self, axis1, axis2):
        return _ops().swapaxes(self, axis1, axis2)

    @property
    def T(self):
        return _ops().permute(self, tuple(reversed(range(self.ndim))))

    def broadcast_to(self, shape):
        return _ops().broadcast_to(self, shape)

    def squeeze(self, axis=None):
        return _ops().squeeze(self, axis)

    def unsqueeze(self, axis):
        return _ops().unsqueeze(self, axis)

    def clip(self, min_value=None, max_value=None):
        return _ops().clip(self, min_value, max_value)

    def masked_fill(self, mask, value):
        return _ops().masked_fill(self, mask, value)
