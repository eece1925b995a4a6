"""The global random generator: what layers, ``nn.init`` and dropout draw from when no ``rng``
is passed, and what ``neural_arch.manual_seed`` (like ``torch.manual_seed``) resets.

Passing an explicit ``np.random.Generator`` is still the reproducible way inside the library
(models and the trainer always do); this generator serves code written against PyTorch, which
never passes one.
"""

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Replace the global generator by a fresh one seeded with ``seed`` (an int >= 0)."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be an int >= 0; got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator():
    """The global ``np.random.Generator``."""
    return _generator


def resolve_rng(rng, name="rng"):
    """``rng`` if given (it must be a Generator), else the global generator."""
    if rng is None:
        return _generator
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a np.random.Generator or None; got "
                        f"{type(rng).__name__}")
    return rng
