"""Weight initialisers. Each takes an ``np.random.Generator``, fills a Parameter (or Tensor)
in place and returns it, so a model built from the same seed is identical. Without one (as
PyTorch code calls them: ``normal_(w, mean=0.0, std=0.02)``) they draw from the global
generator that ``neural_arch.manual_seed`` resets (core/random.py)."""

import math

import numpy as np

from neural_arch.core import random


def _fan_in_out(shape):
    """Fans of a weight stored like PyTorch: (out, in) for Linear, (out, in, kh, kw) for Conv."""
    if len(shape) < 2:
        raise ValueError(f"fan in/out needs a weight with at least 2 dims; got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _generator(rng, name):
    """The ``rng`` given, or the global generator (``manual_seed``) when it is None."""
    if isinstance(rng, (int, float)) and not isinstance(rng, bool):
        raise TypeError(f"{name}: the second argument is the rng (a np.random.Generator or "
                        f"None); got the number {rng!r}. Pass PyTorch's hyperparameters by "
                        f"keyword, e.g. {name}(w, mean=0.0, std=0.02)")
    return random.resolve_rng(rng)


def normal_(tensor, rng=None, mean=0.0, std=1.0):
    """Fill with N(mean, std²)."""
    rng = _generator(rng, "normal_")
    tensor.data[...] = rng.normal(mean, std, size=tensor.shape)
    return tensor


def uniform_(tensor, rng=None, low=0.0, high=1.0, *, a=None, b=None):
    """Fill with U(low, high); PyTorch's keywords ``a``/``b`` name the same bounds."""
    rng = _generator(rng, "uniform_")
    low, high = (low if a is None else a), (high if b is None else b)
    tensor.data[...] = rng.uniform(low, high, size=tensor.shape)
    return tensor


def zeros_(tensor):
    tensor.data[...] = 0
    return tensor


def ones_(tensor):
    tensor.data[...] = 1
    return tensor


def constant_(tensor, val):
    tensor.data[...] = val
    return tensor


def fast_normal_(tensor, rng, std):
    """Fill with N(0, std²) drawn directly in the tensor's dtype (float32 at construction):
    about twice as fast as ``normal_``, which draws float64 and converts, and that is the bulk
    of building the 124M-parameter GPT-2 preset. (The two draw different numbers.)"""
    tensor.data[...] = rng.standard_normal(tensor.shape, dtype=tensor.dtype) * std
    return tensor


def trunc_normal_(tensor, rng=None, std=0.02):
    """N(0, std²) truncated to ±2·std by redrawing the values outside (timm's trunc_normal_)."""
    rng = _generator(rng, "trunc_normal_")
    values = rng.normal(0.0, std, size=tensor.shape)
    outside = np.abs(values) > 2 * std
    while outside.any():
        values[outside] = rng.normal(0.0, std, size=int(outside.sum()))
        outside = np.abs(values) > 2 * std
    tensor.data[...] = values
    return tensor


def init_linear_layers(module, rng, std=0.02):
    """Every Linear below ``module`` (in ``modules()`` order): weight ``trunc_normal_(std)``,
    bias 0 (timm's ViT ``_init_weights``)."""
    from neural_arch.nn.basic import Linear  # here, not at the top: basic imports this file
    for m in module.modules():
        if isinstance(m, Linear):
            trunc_normal_(m.weight, rng, std)
            if m.bias is not None:
                zeros_(m.bias)
    return module


def kaiming_normal_(tensor, rng=None, nonlinearity="relu", mode="fan_in"):
    """N(0, std²) with std = gain / sqrt(fan), gain = sqrt(2) for relu (He et al., 2015)."""
    fan_in, fan_out = _fan_in_out(tensor.shape)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = math.sqrt(2.0) if nonlinearity == "relu" else 1.0
    return normal_(tensor, rng, 0.0, gain / math.sqrt(fan))


def kaiming_uniform_(tensor, rng=None, a=math.sqrt(5)):
    """PyTorch's default Linear/Conv init: U(-b, b), b = sqrt(6 / ((1 + a²) · fan_in))."""
    fan_in, _ = _fan_in_out(tensor.shape)
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in))
    return uniform_(tensor, rng, -bound, bound)


def manual_seed(seed):
    """Reset the global generator that layers use when no ``rng`` is passed."""
    random.manual_seed(seed)


def default_rng():
    return random.default_generator()


def resolve_rng(rng):
    """``rng`` if given (must be a Generator), else the global generator (core/random.py)."""
    return random.resolve_rng(rng)
