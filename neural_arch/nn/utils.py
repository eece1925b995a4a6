"""``torch.nn.utils``: the gradient-clipping helpers that training loops call.

``clip_grad_norm_`` lives with the optimizers (``neural_arch.optim.clip_grad``); this module is
where PyTorch code looks for it.
"""

import numpy as np

from neural_arch.core.tensor import Tensor
from neural_arch.optim.clip_grad import clip_grad_norm_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_value_(params, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    if not clip_value >= 0.0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0; got {clip_value}")
    params = [params] if isinstance(params, Tensor) else list(params)
    for p in params:
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
