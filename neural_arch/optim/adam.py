"""Adam and AdamW: per-parameter step sizes from running moments of the gradient.

With gradient g, step count t (1 for the first update), the update of torch.optim.Adam is::

    g     = g + weight_decay * p                 Adam only: L2 penalty folded into g
    p     = p * (1 - lr * weight_decay)          AdamW only: decay applied to p directly
    m     = beta1 * m + (1 - beta1) * g          first moment (mean of g)
    v     = beta2 * v + (1 - beta2) * g^2        second moment (mean of g^2)
    m_hat = m / (1 - beta1^t)                    bias corrections: m and v start at zero
    v_hat = v / (1 - beta2^t)
    p     = p - lr * m_hat / (sqrt(v_hat) + eps)

Why AdamW: in Adam the L2 term passes through the 1/sqrt(v_hat) scaling, so parameters with
large gradients are barely decayed. AdamW ("Decoupled Weight Decay Regularization", Loshchilov
and Hutter, 2019) shrinks every weight by the same factor instead.

The last line is computed as PyTorch computes it, ``p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2)
+ eps)`` with ``bc = 1 - beta^t``, so float64 results agree with torch to rounding.
"""

import numpy as np

from neural_arch.kernels import KERNELS
from neural_arch.optim.optimizer import Optimizer


def _check_hyperparameters(lr, betas, eps, weight_decay):
    if lr < 0.0:
        raise ValueError(f"lr must be >= 0, got {lr}")
    if eps < 0.0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")
    if weight_decay < 0.0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0): L2 decay.

    State per parameter: ``step`` (int), ``exp_avg`` (m) and ``exp_avg_sq`` (v).
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq")
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _check_hyperparameters(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _state_of(self, p):
        """This parameter's state, created (zero moments, step 0) on its first update."""
        if id(p) not in self.state:
            # np.zeros, not zeros_like: C order even when p.data is a transposed view.
            self.state[id(p)] = {"step": 0, "exp_avg": np.zeros(p.shape, p.dtype),
                                 "exp_avg_sq": np.zeros(p.shape, p.dtype)}
        return self.state[id(p)]

    def step(self):
        """One update of every parameter with a gradient (others are skipped)."""
        for group in self.param_groups:
            updates = []                             # (param, grad, state), step counted
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._state_of(p)
                state["step"] += 1
                updates.append((p, self._grad_of(p), state))
            self._update_group(updates, group)
        return None

    def _update_group(self, updates, group):
        """Apply ``_update`` to each (param, grad, state) of one group (AdamW fuses this)."""
        for p, grad, state in updates:
            self._update(p, grad, state, group)

    def _update(self, p, grad, state, group):
        """The readable NumPy update (formulas in the module docstring)."""
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        if self.decoupled_weight_decay:
            p.data *= 1.0 - lr * wd
        elif wd != 0.0:
            grad = grad + wd * p.data  # a new array: p.grad stays as it was
        m *= beta1
        m += (1.0 - beta1) * grad
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        bias_correction1 = 1.0 - beta1 ** t
        bias_correction2 = 1.0 - beta2 ** t
        step_size = lr / bias_correction1
        denom = np.sqrt(v) / bias_correction2 ** 0.5 + eps
        p.data -= step_size * m / denom


class AdamW(Adam):
    """AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=None).

    Decoupled weight decay. ``fused=None`` or ``True`` runs the ``adamw_step_many`` kernel
    once per parameter group (one pass over each parameter's memory with the Numba backend, the
    NumPy reference otherwise);
    ``fused=False`` runs the readable NumPy update of ``Adam._update``. Both agree to about 1e-6
    relative in float32. A parameter whose array is not C-contiguous always takes the NumPy
    path, since the kernel updates a flat view in place.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                 fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.fused = True if fused is None else bool(fused)

    def _update_group(self, updates, group):
        """With ``fused``, the group's parameters at the same step count go to one
        ``adamw_step_many`` call; otherwise (and for a non-contiguous parameter) ``_update``."""
        if not self.fused:
            super()._update_group(updates, group)
            return
        batches = {}                                 # step count -> (params, grads, m, v)
        for p, grad, state in updates:
            if not p.data.flags.c_contiguous:        # the kernel updates a flat view in place
                self._update(p, grad, state, group)
                continue
            lists = batches.setdefault(state["step"], ([], [], [], []))
            for seq, array in zip(lists, (p.data, grad, state["exp_avg"], state["exp_avg_sq"])):
                seq.append(array)
        beta1, beta2 = group["betas"]
        for t, lists in batches.items():
            KERNELS["adamw_step_many"](*lists, t, group["lr"], beta1, beta2, group["eps"],
                                       group["weight_decay"])
