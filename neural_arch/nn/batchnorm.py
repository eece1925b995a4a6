"""Batch normalisation over (N, C, H, W): BatchNorm2d (Ioffe & Szegedy, 2015).

Per channel c, with m = N·H·W values x_i in the batch:

    μ = Σ x_i / m,   σ² = Σ (x_i - μ)² / m            (biased: what normalises the batch)
    x̂_i = (x_i - μ) / sqrt(σ² + eps),   y_i = γ x̂_i + β

Training uses the batch statistics and differentiates through them; the running estimates
follow PyTorch: running_mean ← (1 - momentum)·running_mean + momentum·μ, and running_var the
same with the *unbiased* σ²·m/(m - 1). Evaluation normalises with the running estimates, which
are constants, so there y is just a per-channel affine function of x.

Backward through the batch statistics (g = dL/dy, sums over the m values of one channel):

    dβ = Σ g,   dγ = Σ g x̂,   dx̂ = g γ
    dx = (1 / (m · sqrt(σ² + eps))) · (m dx̂ - Σ dx̂ - x̂ Σ dx̂ x̂)

The last line is three fused terms instead of a chain of eight small ops (sub, mean, pow, ...),
which keeps the ResNet step short: one Function, one pass over the activations.
"""

import numpy as np

from neural_arch.core.function import Function
from neural_arch.nn.module import Module, Parameter

_AXES = (0, 2, 3)  # the axes BatchNorm2d reduces over: batch and the two spatial axes


def _per_channel(array):
    """A (C,) array shaped (1, C, 1, 1) to broadcast against (N, C, H, W)."""
    return array.reshape(1, -1, 1, 1)


class BatchNorm2dTrainFn(Function):
    """y = γ (x - μ) / sqrt(σ² + eps) + β with μ, σ² of this batch (see the module docstring)."""

    def forward(self, x, weight, bias, mean=None, var=None, eps=1e-5):
        self.inv_std = _per_channel(1.0 / np.sqrt(var + eps)).astype(x.dtype)  # (1, C, 1, 1)
        self.x_hat = (x - _per_channel(mean)) * self.inv_std                    # (N, C, H, W)
        self.weight = weight
        return self.x_hat * _per_channel(weight) + _per_channel(bias)

    def backward(self, grad):
        x_hat = self.x_hat
        m = x_hat.size // x_hat.shape[1]
        d_bias = grad.sum(axis=_AXES)
        d_weight = (grad * x_hat).sum(axis=_AXES)
        d_x = None
        if self.needs_input_grad[0]:
            # With dx̂ = g γ: Σ dx̂ = γ Σ g = γ dβ and Σ dx̂ x̂ = γ dγ, so no extra reductions.
            d_x_hat = grad * _per_channel(self.weight)
            sum_d = _per_channel(self.weight * d_bias)
            sum_d_xhat = _per_channel(self.weight * d_weight)
            d_x = (self.inv_std / m) * (m * d_x_hat - sum_d - x_hat * sum_d_xhat)
        return d_x, d_weight, d_bias


class BatchNorm2dEvalFn(Function):
    """y = γ (x - running_mean) / sqrt(running_var + eps) + β, the statistics constant."""

    def forward(self, x, weight, bias, mean=None, var=None, eps=1e-5):
        self.inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)              # (C,)
        self.x_hat = (x - _per_channel(mean)) * _per_channel(self.inv_std)
        self.weight = weight
        return self.x_hat * _per_channel(weight) + _per_channel(bias)

    def backward(self, grad):
        d_x = grad * _per_channel(self.weight * self.inv_std) if self.needs_input_grad[0] \
            else None
        return d_x, (grad * self.x_hat).sum(axis=_AXES), grad.sum(axis=_AXES)


class BatchNorm2d(Module):
    """Batch normalisation of (N, C, H, W) per channel, with running statistics for eval.

    Parameters ``weight`` (γ, ones) and ``bias`` (β, zeros); buffers ``running_mean``,
    ``running_var`` and ``num_batches_tracked``, named as in PyTorch. ``momentum=None`` uses a
    cumulative average of all batches seen, as PyTorch does.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}): expected input (N, "
                             f"{self.num_features}, H, W); got shape {x.shape}")
        if not self.training:
            return BatchNorm2dEvalFn.apply(x, self.weight, self.bias, mean=self.running_mean,
                                         var=self.running_var, eps=self.eps)
        m = x.numel() // self.num_features
        if m < 2:
            raise ValueError(f"BatchNorm2d: training needs more than 1 value per channel; got "
                             f"input shape {x.shape}")
        mean = x.data.mean(axis=_AXES)
        var = x.data.var(axis=_AXES)  # biased: used to normalise this batch
        self._update_running_stats(mean, var * (m / (m - 1)))
        return BatchNorm2dTrainFn.apply(x, self.weight, self.bias, mean=mean, var=var,
                                      eps=self.eps)

    def _update_running_stats(self, mean, unbiased_var):
        """running ← (1 - f)·running + f·batch, in place (f = momentum, or 1/count if None)."""
        self._buffers["num_batches_tracked"] += 1
        f = self.momentum
        if f is None:
            f = 1.0 / float(self.num_batches_tracked)
        for name, batch in (("running_mean", mean), ("running_var", unbiased_var)):
            running = self._buffers[name]
            running *= 1.0 - f
            running += f * batch.astype(running.dtype)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
