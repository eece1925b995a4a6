"""Weight initialisers. Each takes an explicit ``np.random.Generator``, fills a Parameter (or
Tensor) in place and returns it, so a model built from the same seed is identical."""

import math

import numpy as np


def _fan_in_out(shape):
    """Fans of a weight stored like PyTorch: (out, in) for Linear, (out, in, kh, kw) for Conv."""
    if len(shape) < 2:
        raise ValueError(f"fan in/out needs a weight with at least 2 dims; got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator; got {type(rng).__name__}")


def normal_(tensor, rng, mean=0.0, std=1.0):
    """Fill with N(mean, std²)."""
    _check_rng(rng)
    tensor.data[...] = rng.normal(mean, std, size=tensor.shape)
    return tensor


def uniform_(tensor, rng, low=0.0, high=1.0):
    """Fill with U(low, high)."""
    _check_rng(rng)
    tensor.data[...] = rng.uniform(low, high, size=tensor.shape)
    return tensor


def zeros_(tensor):
    tensor.data[...] = 0
    return tensor


def ones_(tensor):
    tensor.data[...] = 1
    return tensor


def xavier_uniform_(tensor, rng, gain=1.0):
    """U(-a, a) with a = gain · sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fan_in_out(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, rng, -bound, bound)


def kaiming_normal_(tensor, rng, nonlinearity="relu", mode="fan_in"):
    """N(0, std²) with std = gain / sqrt(fan), gain = sqrt(2) for relu (He et al., 2015)."""
    fan_in, fan_out = _fan_in_out(tensor.shape)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = math.sqrt(2.0) if nonlinearity == "relu" else 1.0
    return normal_(tensor, rng, 0.0, gain / math.sqrt(fan))


def kaiming_uniform_(tensor, rng, a=math.sqrt(5)):
    """PyTorch's default Linear/Conv init: U(-b, b), b = sqrt(6 / ((1 + a²) · fan_in))."""
    fan_in, _ = _fan_in_out(tensor.shape)
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in))
    return uniform_(tensor, rng, -bound, bound)


_default_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the generator that layers use when no ``rng`` is passed."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def default_rng():
    return _default_rng


def resolve_rng(rng):
    """``rng`` if given (must be a Generator), else the default generator."""
    if rng is None:
        return _default_rng
    _check_rng(rng)
    return rng
