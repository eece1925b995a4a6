"""Shared by the optimizer tests: deterministic parameters and gradients, and torch mirrors."""

import numpy as np

from neural_arch.nn.module import Parameter

SHAPES = [(3, 4), (4,), (2, 3, 2), ()]


def make_params(dtype=np.float64, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]


def grads_at(step, params):
    """The gradients for update number ``step``: a fixed function of the step, so two runs of
    the same steps see the same numbers."""
    rng = np.random.default_rng(1000 + step)
    return [rng.standard_normal(p.shape).astype(p.dtype) for p in params]


def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = g.copy()


def torch_params(params):
    torch = __import__("torch")
    return [torch.tensor(p.data.copy(), requires_grad=True) for p in params]


def set_torch_grads(tparams, grads):
    torch = __import__("torch")
    for tp, g in zip(tparams, grads):
        tp.grad = torch.tensor(g.copy())


def two_groups(params, **second):
    """Matrices in the first group (optimizer defaults), the rest in a second one."""
    return [{"params": [p for p in params if p.ndim >= 2]},
            dict({"params": [p for p in params if p.ndim < 2]}, **second)]
