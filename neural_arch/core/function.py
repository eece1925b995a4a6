"""Function: one differentiable primitive, forward beside backward, on plain arrays.

Each op subclasses ``Function`` (after teenygrad's ``mlops.py``):

* ``forward(*arrays, **options)`` computes the output from ndarrays and saves on ``self`` only
  what backward needs (the output itself where that is cheaper, as for exp or sigmoid);
* ``backward(grad)`` returns one gradient per input (an ndarray, or ``None`` where
  ``self.needs_input_grad[i]`` is False), each with exactly that input's shape.

``apply`` is the only entry point and the only place that reads grad mode: under ``no_grad`` the
output carries no ``_ctx`` and nothing is kept alive.
"""

import numpy as np

from neural_arch.core import hooks
from neural_arch.core.grad_mode import is_grad_enabled
from neural_arch.core.tensor import Tensor


class Function:
    def __init__(self, *parents):
        self.parents = parents
        self.needs_input_grad = tuple(p.requires_grad for p in parents)

    def forward(self, *arrays, **options):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op on Tensors (non-Tensor inputs become constant tensors) and link the graph."""
        parents = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        fn = cls(*parents)
        arrays = tuple(p.data for p in parents)
        if hooks.active:  # one attribute read when nothing observes (core/hooks.py)
            out = hooks.on_forward(fn, arrays, options)
        else:
            out = fn.forward(*arrays, **options)
        track = is_grad_enabled() and any(fn.needs_input_grad)
        return Tensor._from_op(np.asarray(out), fn if track else None)
