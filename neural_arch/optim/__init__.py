"""Optimizers, learning-rate schedules and gradient clipping.

    from neural_arch import optim
    opt = optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    sched = optim.WarmupCosine(opt, warmup_steps=100, total_steps=5000)
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    opt.step(); sched.step(); opt.zero_grad()

Every update matches the corresponding torch.optim class (see each file's docstring).
"""

from neural_arch.optim.adam import Adam, AdamW
from neural_arch.optim.clip_grad import clip_grad_norm_
from neural_arch.optim import lr_scheduler
from neural_arch.optim.lr_scheduler import (ConstantLR, CosineAnnealingLR, LambdaLR, LRScheduler,
                                            StepLR, WarmupCosine)
from neural_arch.optim.optimizer import Optimizer, params_without_grad
from neural_arch.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "LRScheduler", "LambdaLR", "WarmupCosine", "StepLR",
    "ConstantLR", "CosineAnnealingLR", "lr_scheduler", "clip_grad_norm_", "params_without_grad",
]
