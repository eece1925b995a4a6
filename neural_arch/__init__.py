"""neural_arch: a deep-learning engine written from scratch on NumPy, with Numba kernels.

    from neural_arch.core import Tensor, no_grad
    from neural_arch import nn, optim, functional as F

    import neural_arch as torch        # PyTorch's top-level names: see torch_api.py

Importing the package itself loads nothing else (not even NumPy), so that the command line can
set the thread counts of BLAS and Numba before they start, and so that ``blas_choice`` can pick
OpenBLAS's fastest kernels for this CPU before NumPy loads them; the subpackages, and the PyTorch-shaped
names (``neural_arch.tensor``, ``neural_arch.cat``, ...), load on first use.
"""

import importlib

from neural_arch import blas_choice

# Before anything loads NumPy: OpenBLAS reads its kernel choice once, when NumPy loads it.
blas_choice.prefer_fastest_openblas_kernels()

__version__ = "0.1.0"

_SUBMODULES = ("core", "ops", "kernels", "nn", "functional", "optim", "models", "data",
               "tokenizers", "training", "testing", "analysis", "serving", "profiler",
               "torch_api")


def __getattr__(name):
    # ``neural_arch.nn`` without an explicit import loads the submodule (PEP 562).
    if name in _SUBMODULES:
        return importlib.import_module(f"neural_arch.{name}")
    if not name.startswith("_"):  # PyTorch's names (tensor, zeros, cat, float32, ...)
        return getattr(importlib.import_module("neural_arch.torch_api"), name)
    raise AttributeError(f"module 'neural_arch' has no attribute {name!r}")
