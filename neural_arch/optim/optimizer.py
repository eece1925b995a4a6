"""The Optimizer base class: parameter groups, per-parameter state, and saving that state.

An optimizer holds ``param_groups``, a list of dicts. Each group has a ``"params"`` list and its
own hyperparameters (``lr``, ``weight_decay``, ...), so one model can, for example, decay its
weight matrices but not its biases and norm gains::

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-4)

A hyperparameter missing from a group is taken from the optimizer's ``defaults``. Parameters are
numbered 0, 1, 2, ... in group order; that index names their state in ``state_dict()`` exactly as
in PyTorch, so a checkpoint does not depend on object identities.

Per-parameter state (Adam's moments, SGD's momentum buffer) lives in ``self.state``, keyed by
``id(param)`` (our Tensor defines ``==`` elementwise, so it cannot be a dict key itself).
Saving and loading the state are in ``optimizer_state.py``.
"""

import numpy as np

from neural_arch.core.tensor import Tensor
from neural_arch.optim import optimizer_state


class Optimizer:
    """Base class. Subclasses set ``state_keys`` and implement ``step()``.

    Args:
        params: an iterable of Parameters, or a list of dicts each holding ``"params"`` (an
            iterable of Parameters) plus hyperparameters that override ``defaults``.
        defaults: hyperparameters every group starts from.
    """

    # The exact keys of one parameter's state once it exists (checked by load_state_dict).
    state_keys = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Parameters or of dicts, got a single "
                            "Tensor; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Append one group (a dict with ``"params"``), filling missing hyperparameters."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with a 'params' key, got {group!r}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if p.data.dtype.kind != "f":
                raise TypeError(f"optimizer can only optimize float tensors, got {p.dtype}")
            if not p.is_leaf:
                raise ValueError("optimizer can't optimize a non-leaf tensor (one made by an op)")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ValueError("a parameter appears twice in the optimizer's parameter groups")
        full = dict(self.defaults)
        full.update(group)
        full["params"] = params
        self.param_groups.append(full)

    # ----- gradients ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient: set it to None (default) or fill it with zeros."""
        for p in self._all_params():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0.0

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    @staticmethod
    def _grad_of(p):
        """``p.grad`` as an ndarray of ``p``'s shape and dtype (never modified by the update)."""
        grad = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
        if grad.shape != p.shape:
            raise ValueError(f"gradient of shape {grad.shape} for a parameter of shape {p.shape}")
        return grad.astype(p.dtype, copy=False)

    def step(self):
        """Update every parameter that has a gradient. Returns None."""
        raise NotImplementedError(f"{type(self).__name__} does not define step")

    # ----- saving and loading (implemented in optimizer_state.py) ------------------------------
    def state_dict(self):
        """``{"state": {index: {name: array or int}}, "param_groups": [{..., "params": [index]}]}``.

        Arrays are copies; everything except the state arrays is JSON-serialisable.
        """
        return optimizer_state.to_state_dict(self)

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict()`` (validated first)."""
        optimizer_state.load_state_dict(self, state_dict)

    def state_arrays(self):
        """The state as a flat ``{name: ndarray}`` dict for safetensors (see optimizer_state)."""
        return optimizer_state.to_arrays(self.state_dict())

    def load_state_arrays(self, arrays):
        """Restore from ``state_arrays()`` output."""
        optimizer_state.load_state_dict(self, optimizer_state.from_arrays(arrays))

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def params_without_grad(named_parameters):
    """Names of parameters that need grad but got none, from ``(name, param)`` pairs.

    Call it after ``loss.backward()``: ``params_without_grad(model.named_parameters())``.
    A non-empty answer means part of the model never influenced the loss (an unused layer, a
    detached branch); the optimizer would skip those parameters without a word.
    """
    return [name for name, p in named_parameters if p.requires_grad and p.grad is None]
