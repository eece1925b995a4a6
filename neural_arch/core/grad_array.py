"""The type of ``tensor.grad``: a NumPy array that also answers PyTorch's common questions.

Gradients are plain arrays in this engine (the optimizers and kernels work on arrays), but code
written against PyTorch treats ``p.grad`` as a tensor: ``p.grad.norm()``, ``p.grad.zero_()``,
``p.grad.data``. ``GradArray`` is an ``np.ndarray`` subclass that adds those three and nothing
else, so every NumPy operation on a gradient works exactly as before.
"""

import numpy as np


class GradArray(np.ndarray):
    @classmethod
    def of(cls, array, dtype):
        """A new gradient holding a copy of ``array`` in ``dtype``."""
        return np.array(array, dtype=dtype, copy=True).view(cls)

    @property
    def data(self):
        """The gradient itself (PyTorch's ``p.grad.data``), not NumPy's raw memory buffer."""
        return self

    def norm(self, p=2):
        """The L2 norm as a NumPy float (``.item()`` and ``float()`` work), summed in float64."""
        if p != 2:
            raise ValueError(f"grad.norm: only p=2 is supported; got p={p!r}")
        return np.sqrt(np.sum(np.square(self.view(np.ndarray), dtype=np.float64)))

    def zero_(self):
        self[...] = 0
        return self
