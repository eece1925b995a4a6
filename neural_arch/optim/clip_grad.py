"""Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_.

All gradients are treated as one long vector g = (g_1, ..., g_n)::

    norm = sqrt(sum_i ||g_i||^2)
    coef = max_norm / (norm + eps)
    g_i <- g_i * coef        for every i, only when coef < 1 (roughly: norm > max_norm)

Scaling every gradient by the same factor keeps the update's direction and bounds its length,
so one bad batch cannot throw the weights far away.
"""

import math

import numpy as np

from neural_arch.core.tensor import Tensor


def clip_grad_norm_(params, max_norm, eps=1e-6, error_if_nonfinite=False):
    """Scale the gradients of ``params`` in place so that their global L2 norm is at most
    ``max_norm``; return the norm *before* clipping as a Python float.

    Args:
        params: a Tensor or an iterable of Tensors; those with ``grad`` None are ignored.
        max_norm: the largest allowed global norm (>= 0).
        eps: added to the norm in the denominator, as in PyTorch.
        error_if_nonfinite: raise RuntimeError when the norm is inf or nan. When False (the
            default, as in PyTorch) the gradients are still scaled, by 0 for an inf norm and by
            nan for a nan norm: the returned norm tells the caller to skip the step.

    With no gradients at all the norm is 0.0 and nothing changes.
    """
    if not max_norm >= 0.0:
        raise ValueError(f"max_norm must be a number >= 0, got {max_norm}")
    params = [params] if isinstance(params, Tensor) else list(params)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    # Accumulate in float64: a float32 sum over millions of squares loses digits.
    total_norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(f"the total norm of the gradients is {total_norm}; pass "
                           "error_if_nonfinite=False to clip anyway")
    clip_coef = max_norm / (total_norm + eps)
    if clip_coef < 1.0 or not math.isfinite(total_norm):
        with np.errstate(invalid="ignore"):  # inf * 0 = nan is the documented outcome
            for g in grads:
                g *= clip_coef
    return total_norm
