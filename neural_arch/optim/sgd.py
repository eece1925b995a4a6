"""Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.

The update of torch.optim.SGD, for gradient g, parameter p and momentum buffer b::

    d = g + weight_decay * p                    L2 penalty folded into the gradient
    b = d                                       on the first step (no dampening yet)
    b = momentum * b + (1 - dampening) * d      on later steps
    d = d + momentum * b    if nesterov         look ahead along the new velocity
    d = b                   otherwise
    p = p - lr * d

With momentum = 0 there is no buffer and the update is plain ``p = p - lr * d``.
"""

import numpy as np

from neural_arch.optim.optimizer import Optimizer


class SGD(Optimizer):
    """SGD(params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0).

    ``params`` is an iterable of Parameters or a list of parameter-group dicts.
    """

    state_keys = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if momentum < 0.0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def step(self):
        """One SGD update of every parameter with a gradient (others are skipped)."""
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = self._grad_of(p)
                if group["weight_decay"] != 0.0:
                    d = d + group["weight_decay"] * p.data  # a new array: p.grad stays as it was
                if momentum != 0.0:
                    state = self.state.setdefault(id(p), {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = np.array(d, dtype=p.dtype, order="C")
                    else:
                        buf = state["momentum_buffer"]
                        buf *= momentum
                        buf += (1.0 - group["dampening"]) * d
                    buf = state["momentum_buffer"]
                    d = d + momentum * buf if group["nesterov"] else buf
                p.data -= lr * d
        return None
