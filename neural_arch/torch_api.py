"""The top-level names of PyTorch, so that PyTorch code runs after changing its imports::

    import neural_arch as torch          # torch.tensor, torch.zeros, torch.cat, torch.no_grad...
    from neural_arch import nn           # nn.Module, nn.Linear, nn.functional, nn.utils, nn.init
    F = nn.functional

``neural_arch/__init__.py`` hands every public name it does not own to this module on first use
(PEP 562), so ``import neural_arch`` alone still loads nothing. Each function here is a thin
layer over the ops, the Tensor or NumPy; what differs from PyTorch on purpose (no devices, NumPy
random numbers, safetensors instead of pickle) is listed in ``docs/pytorch.md``.
"""

import builtins

import numpy as np

from neural_arch import ops
from neural_arch.core import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from neural_arch.core.random import default_generator, manual_seed, resolve_rng
from neural_arch.kernels.threads import get_num_threads, set_num_threads  # noqa: F401
# The ops whose names and arguments are already PyTorch's are served as they are.
from neural_arch.ops import (exp, log, matmul, maximum, minimum, sigmoid,  # noqa: F401
                             sqrt, tanh, where)
from neural_arch.ops.reduce import ValuesIndices

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty",
    "zeros_like", "ones_like", "randn", "rand", "randint", "arange", "tril", "triu", "cat",
    "concat", "stack", "split", "chunk", "where", "maximum", "minimum", "clamp", "softmax",
    "log_softmax", "argmax", "topk", "multinomial", "matmul", "exp", "log", "sqrt", "tanh",
    "sigmoid", "sum", "mean", "max", "min", "numel", "allclose", "is_tensor", "manual_seed",
    "set_num_threads", "get_num_threads", "default_generator", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "save", "load", "float32", "float64", "int64", "int32", "long", "double", "float", "int",
    "bool", "uint8",
]

# Dtypes are NumPy's. ``float``, ``int`` and ``bool`` would shadow the builtins in this file,
# so every dtype is served by ``__getattr__`` below.
_DTYPES = {"float32": np.float32, "float": np.float32, "float64": np.float64,
           "double": np.float64, "int64": np.int64, "long": np.int64, "int32": np.int32,
           "int": np.int32, "bool": np.bool_, "uint8": np.uint8}


def __getattr__(name):
    if name in _DTYPES:
        return _DTYPES[name]
    raise AttributeError(f"module 'neural_arch' has no attribute {name!r}")


def _check_device(device):
    """There is one device, the CPU: ``device="cpu"`` is accepted, anything else is refused."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"neural_arch runs on the CPU only; got device {device!r}")


# ----- making tensors ------------------------------------------------------------------------
def _shape(size):
    """``zeros(2, 3)`` and ``zeros((2, 3))`` both mean the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor (a copy). Python floats give float32, Python ints int64, bools bool, as in
    PyTorch; a NumPy array keeps its dtype."""
    _check_device(device)
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)
        dtype = {"f": np.float32, "i": np.int64, "u": np.int64}.get(array.dtype.kind)
    return Tensor(np.array(data, dtype=dtype, copy=True), requires_grad=requires_grad)


def as_tensor(data, dtype=None):
    """Like ``tensor`` but without copying a NumPy array or Tensor of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, np.ndarray):
        return Tensor(data if dtype is None else data.astype(dtype, copy=False))
    return tensor(data, dtype=dtype)


def from_numpy(array):
    """A tensor sharing ``array``'s memory and dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a np.ndarray; got {type(array).__name__}")
    return Tensor(array, dtype=array.dtype)


def zeros(*size, dtype=np.float32, requires_grad=False, device=None):
    _check_device(device)
    return Tensor(np.zeros(_shape(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size, dtype=np.float32, requires_grad=False, device=None):
    _check_device(device)
    return Tensor(np.ones(_shape(size), dtype=dtype), requires_grad=requires_grad)


def full(size, fill_value, dtype=np.float32, requires_grad=False, device=None):
    _check_device(device)
    return Tensor(np.full(_shape((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def empty(*size, dtype=np.float32, requires_grad=False):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)  # zeros: never garbage


def zeros_like(x, dtype=None, requires_grad=False):
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn(*size, dtype=np.float32, requires_grad=False, generator=None, device=None):
    """N(0, 1) from the global generator (``manual_seed``) or ``generator``."""
    _check_device(device)
    values = resolve_rng(generator, "generator").standard_normal(_shape(size))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def rand(*size, dtype=np.float32, requires_grad=False, generator=None, device=None):
    """U[0, 1) from the global generator (``manual_seed``) or ``generator``."""
    _check_device(device)
    values = resolve_rng(generator, "generator").random(_shape(size))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def randint(low, high=None, size=(), dtype=np.int64, generator=None):
    """Integers in [low, high) (``randint(high, size)`` means low = 0, as in PyTorch)."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, size if high is None else high
    return Tensor(resolve_rng(generator, "generator").integers(low, high, size=tuple(size),
                                                               dtype=dtype))


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """``arange(n)`` or ``arange(start, end, step)``: int64 when every bound is an int,
    float32 otherwise (PyTorch's rule), unless ``dtype`` says."""
    _check_device(device)
    start, end = (0, start) if end is None else (start, end)
    if dtype is None:
        whole = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if whole else np.float32
    return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def _triangle(x, keep):
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 2:
        raise ValueError(f"tril/triu: input must have at least 2 dimensions; got {x.shape}")
    if not x.requires_grad:
        return Tensor(np.where(keep, x.data, np.zeros((), x.dtype)))
    return ops.where(keep, x, 0.0)


def tril(x, diagonal=0):
    """The lower triangle (on and below ``diagonal``) of the last two dims; the rest is 0."""
    return _triangle(x, np.tri(x.shape[-2], x.shape[-1], diagonal, dtype=builtins.bool))


def triu(x, diagonal=0):
    """The upper triangle (on and above ``diagonal``) of the last two dims; the rest is 0."""
    return _triangle(x, ~np.tri(x.shape[-2], x.shape[-1], diagonal - 1, dtype=builtins.bool))


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(x):
    return x.numel()


# ----- ops under PyTorch's names -------------------------------------------------------------
def cat(tensors, dim=0):
    return ops.concatenate(list(tensors), axis=dim)


concat = cat


def stack(tensors, dim=0):
    return ops.stack(list(tensors), axis=dim)


def split(x, split_size_or_sections, dim=0):
    return ops.split_sizes(x, split_size_or_sections, dim)


def chunk(x, chunks, dim=0):
    return ops.chunk(x, chunks, dim)


def clamp(x, min=None, max=None):
    return ops.clip(x, min, max)


def softmax(x, dim):
    return ops.softmax(x, dim=dim)


def log_softmax(x, dim):
    return ops.log_softmax(x, dim=dim)


def sum(x, dim=None, keepdim=False):
    return ops.sum(x, dim=dim, keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    return ops.mean(x, dim=dim, keepdim=keepdim)


def max(x, dim=None, keepdim=False):
    """The largest element; ``max(x, dim)`` gives (values, indices); ``max(a, b)`` elementwise."""
    if isinstance(dim, Tensor):
        return ops.maximum(x, dim)
    return ops.max(x, dim=dim, keepdim=keepdim)


def min(x, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        return ops.minimum(x, dim)
    return ops.min(x, dim=dim, keepdim=keepdim)


def argmax(x, dim=None, keepdim=False):
    return x.argmax(dim=dim, keepdim=keepdim)


def allclose(a, b, rtol=1e-5, atol=1e-8):
    a, b = (t.data if isinstance(t, Tensor) else t for t in (a, b))
    return builtins.bool(np.allclose(a, b, rtol=rtol, atol=atol))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices, largest first.
    The values are differentiable (a gather); ties keep the lower index first."""
    if not 0 <= k <= x.shape[dim]:
        raise ValueError(f"topk: k={k} is out of range for dim {dim} of size {x.shape[dim]}")
    order = np.argsort(-x.data if largest else x.data, axis=dim, kind="stable")
    indices = np.take(order, np.arange(k), axis=dim).astype(np.int64)
    return ValuesIndices((ops.take_along_axis(x, indices, dim), Tensor(indices)))


def multinomial(probs, num_samples, replacement=False, generator=None):
    """Draw ``num_samples`` class indices per row of ``probs`` (1-D or 2-D, non-negative
    weights that need not sum to 1) from the global generator or ``generator``. The draws
    are NumPy's, not PyTorch's: the same seed gives different samples in the two."""
    rng = resolve_rng(generator, "generator")
    weights = np.asarray(probs.data if isinstance(probs, Tensor) else probs, dtype=np.float64)
    if weights.ndim not in (1, 2) or np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValueError(f"multinomial: probs must be a 1-D or 2-D tensor of finite weights "
                         f">= 0; got shape {weights.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if np.any(rows.sum(axis=1) <= 0):
        raise ValueError("multinomial: every row of probs needs a positive sum")
    if not replacement and num_samples > np.count_nonzero(rows, axis=1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         f"from a row with fewer non-zero weights")
    drawn = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                                 p=row / row.sum()) for row in rows]).astype(np.int64)
    return Tensor(drawn.reshape(weights.shape[:-1] + (num_samples,)))


# ----- saving --------------------------------------------------------------------------------
def save(state, path):
    """Write a flat ``{name: Tensor or array}`` dict (a ``state_dict()``) as safetensors.
    Never pickle: a loaded file cannot run code. Nested objects raise a TypeError."""
    from safetensors.numpy import save_file
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a dict of name -> tensor; got {type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(value, (Tensor, np.ndarray)):
            raise TypeError(f"save: {name!r} is a {type(value).__name__}; safetensors holds "
                            f"only arrays (save an optimizer with its state_arrays())")
        arrays[name] = np.ascontiguousarray(value.data if isinstance(value, Tensor) else value)
    save_file(arrays, str(path))


def load(path, map_location=None, weights_only=True):
    """Read a safetensors file written by ``save`` (or by ``safetensors.torch``) into a dict
    of name -> Tensor. ``map_location`` may only be the CPU."""
    from safetensors.numpy import load_file
    if map_location is not None and str(map_location).split(":")[0] != "cpu":
        raise ValueError(f"load: neural_arch runs on the CPU only; got {map_location!r}")
    return {name: Tensor(array) for name, array in load_file(str(path)).items()}
