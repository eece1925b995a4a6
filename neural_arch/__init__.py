"""neural_arch: a deep-learning engine written from scratch on NumPy, with Numba kernels.

    from neural_arch.core import Tensor, no_grad
    from neural_arch import nn, optim, functional as F
"""

__version__ = "0.1.0"

from neural_arch import core  # noqa: E402,F401
from neural_arch import functional  # noqa: E402,F401
from neural_arch import nn  # noqa: E402,F401
