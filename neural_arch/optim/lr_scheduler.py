"""Learning-rate schedules: the lr of every group as a function of the optimizer step count.

Every scheduler here is "base lr times a factor": group i gets ``base_lrs[i] * lr_factor(s)``
after ``s`` calls of ``scheduler.step()``. The closed form (rather than multiplying the current
lr by something each step, as some PyTorch schedulers do) means the lr at step s never depends
on rounding errors from earlier steps, and resuming from a saved step is exact.

Use: call ``optimizer.step()`` then ``scheduler.step()`` once per batch. Creating a scheduler
already sets the step-0 lr. The base lr is the group's ``"initial_lr"``, recorded on first use,
so a second scheduler on the same optimizer starts from the original lr as in PyTorch.
"""

import math


class LRScheduler:
    """Base class: subclasses define ``lr_factor(step)`` and list their settings in
    ``config_names`` (saved by ``state_dict``)."""

    config_names = ()

    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_step = 0
        self._apply()

    def lr_factor(self, step):
        """The multiplier of the base lr after ``step`` scheduler steps."""
        raise NotImplementedError(f"{type(self).__name__} does not define lr_factor")

    def step(self):
        """Advance one step and write the new lr into every parameter group."""
        self.last_step += 1
        self._apply()

    def get_last_lr(self):
        """The lr of every group as last set by this scheduler (a list of floats)."""
        return list(self._last_lr)

    def _apply(self):
        factor = self.lr_factor(self.last_step)
        self._last_lr = [base * factor for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def state_dict(self):
        """JSON-serialisable: the step count, the base lrs and the settings."""
        state = {"type": type(self).__name__, "last_step": self.last_step,
                 "base_lrs": list(self.base_lrs)}
        state.update({name: getattr(self, name) for name in self.config_names})
        return state

    def load_state_dict(self, state):
        """Restore ``state_dict()`` output (ValueError if it does not fit) and set the lrs."""
        if not isinstance(state, dict):
            raise ValueError(f"scheduler state must be a dict, got {type(state).__name__}")
        if state.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(f"state was saved by a {state['type']}, not a {type(self).__name__}")
        expected = {"type", "last_step", "base_lrs", *self.config_names}
        if set(state) != expected:
            raise ValueError(f"{type(self).__name__} state must have keys {sorted(expected)}, "
                             f"got {sorted(state)}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"state has {len(state['base_lrs'])} base lrs, the optimizer has "
                             f"{len(self.optimizer.param_groups)} parameter groups")
        self.last_step = int(state["last_step"])
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]
        for name in self.config_names:
            setattr(self, name, state[name])
        self._apply()


class LambdaLR(LRScheduler):
    """lr = base lr * lr_lambda(step), for any function ``lr_lambda`` (not saved by
    ``state_dict``: pass the same function when resuming)."""

    def __init__(self, optimizer, lr_lambda):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_factor(self, step):
        return self.lr_lambda(step)


class WarmupCosine(LRScheduler):
    """Linear warmup from 0 to the base lr, then cosine decay to ``min_lr_ratio`` * base lr.

        factor(s) = s / warmup_steps                                   s < warmup_steps
                  = r + (1 - r) * (1 + cos(pi * q)) / 2                warmup_steps <= s < total
                  = r                                                  s >= total_steps
        with q = (s - warmup_steps) / (total_steps - warmup_steps) and r = min_lr_ratio.

    With warmup_steps > 0 the first optimizer step runs at lr 0 (as Hugging Face's
    ``get_cosine_schedule_with_warmup``); the base lr is reached at s = warmup_steps.
    """

    config_names = ("warmup_steps", "total_steps", "min_lr_ratio")

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
        if not 0 <= warmup_steps <= total_steps or total_steps < 1:
            raise ValueError(f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, got "
                             f"warmup_steps={warmup_steps}, total_steps={total_steps}")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.min_lr_ratio = float(min_lr_ratio)
        super().__init__(optimizer)

    def lr_factor(self, step):
        if step < self.warmup_steps:
            return step / self.warmup_steps
        if step >= self.total_steps:
            return self.min_lr_ratio
        progress = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 at the start, 0 at the end
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine


class StepLR(LRScheduler):
    """lr = base lr * gamma ** (step // step_size): divide by 1/gamma every step_size steps."""

    config_names = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def lr_factor(self, step):
        return self.gamma ** (step // self.step_size)


class ConstantLR(LRScheduler):
    """lr = base lr * factor for the first ``total_iters`` steps, base lr afterwards.

    The defaults (factor 1, total_iters 0) keep the lr constant: a "no schedule" that still
    offers ``step``, ``get_last_lr`` and ``state_dict`` to the trainer. (PyTorch's defaults are
    factor 1/3 and total_iters 5.)
    """

    config_names = ("factor", "total_iters")

    def __init__(self, optimizer, factor=1.0, total_iters=0):
        if not 0.0 < factor <= 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor}")
        if total_iters < 0:
            raise ValueError(f"total_iters must be >= 0, got {total_iters}")
        self.factor = float(factor)
        self.total_iters = int(total_iters)
        super().__init__(optimizer)

    def lr_factor(self, step):
        return self.factor if step < self.total_iters else 1.0


class CosineAnnealingLR(LRScheduler):
    """PyTorch's closed form: lr = eta_min + (base lr - eta_min) · (1 + cos(π·step/T_max)) / 2,
    from the base lr at step 0 down to ``eta_min`` at step ``T_max`` (and back up after it,
    as in PyTorch). ``eta_min`` is an lr, not a ratio, so each group gets its own factor."""

    config_names = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0.0):
        if T_max < 1:
            raise ValueError(f"T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer)

    def lr_factor(self, step):
        """The cosine's share (1 at step 0, 0 at T_max) of the distance down to eta_min."""
        return (1.0 + math.cos(math.pi * step / self.T_max)) / 2.0

    def _apply(self):
        share = self.lr_factor(self.last_step)
        self._last_lr = [self.eta_min + (base - self.eta_min) * share for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr
