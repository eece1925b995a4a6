"""One AdamW update, in place: unfused NumPy reference and a fused one-pass Numba kernel.

With step t counted from 1 (already incremented for this update), as in torch.optim.AdamW:

    param <- param * (1 - lr * weight_decay)           decoupled weight decay
    m     <- beta1 m + (1 - beta1) g
    v     <- beta2 v + (1 - beta2) g^2
    m_hat  = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
    param <- param - lr * m_hat / (sqrt(v_hat) + eps)

The NumPy version makes one full pass over memory per line (about ten array reads and writes per
element, plus temporaries); the Numba kernel reads param, grad, m, v once and writes param, m, v
once (serial: the pass is memory-bound, and see threads.py). Both functions
update param, exp_avg and exp_avg_sq in place and return None.
"""

import numpy as np

from neural_arch.kernels._jit import FASTMATH, njit


def _check(param, grad, exp_avg, exp_avg_sq, step):
    for name, arr in (("grad", grad), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
        if arr.shape != param.shape:
            raise ValueError(f"{name} must have param's shape {param.shape}, got {arr.shape}")
    if step < 1:
        raise ValueError(f"step must be >= 1 (counted after incrementing), got {step}")


def adamw_step_reference(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9,
                         beta2=0.999, eps=1e-8, weight_decay=1e-2):
    """AdamW update of param (any shape) in place; exp_avg and exp_avg_sq updated in place.

    step: 1-based count of this update. Returns None.
    """
    _check(param, grad, exp_avg, exp_avg_sq, step)
    param *= 1.0 - lr * weight_decay
    exp_avg *= beta1
    exp_avg += (1.0 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1.0 - beta2) * grad * grad
    m_hat = exp_avg / (1.0 - beta1 ** step)
    v_hat = exp_avg_sq / (1.0 - beta2 ** step)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)


@njit(cache=True, fastmath=FASTMATH)
def _adamw(p, g, m, v, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size,
           inv_sqrt_bc2, eps):
    """The fused pass. Every coefficient arrives already cast to p's dtype, so a float32
    parameter is updated in float32 arithmetic (8 SIMD lanes, as torch's fused kernel; mixing in
    a float64 scalar would promote the whole loop to float64, measured 3x slower)."""
    for i in range(p.size):
        gi = g[i]
        mi = beta1 * m[i] + one_minus_beta1 * gi
        vi = beta2 * v[i] + one_minus_beta2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] * decay - step_size * mi / (np.sqrt(vi) * inv_sqrt_bc2 + eps)


def adamw_step_numba(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9,
                     beta2=0.999, eps=1e-8, weight_decay=1e-2):
    """AdamW update of param (any shape) in place; exp_avg and exp_avg_sq updated in place.

    step: 1-based count of this update. Returns None.
    """
    adamw_step_many_numba([param], [grad], [exp_avg], [exp_avg_sq], step, lr, beta1, beta2, eps,
                          weight_decay)


# ----- many parameters at once (torch's "foreach" / fused form) --------------------------------
# An optimizer step updates every parameter with the same hyperparameters and, almost always,
# the same step count, so the coefficients are computed once per call, not once per parameter.
# At GPT-2 seed's 40 parameters, measured apart from a training step: 0.46 ms per optimizer step
# with one adamw_step call per parameter, 0.37 ms with this, 0.35 ms for the 40 passes alone.

def _check_lists(params, grads, exp_avgs, exp_avg_sqs):
    n = len(params)
    for name, seq in (("grads", grads), ("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)):
        if len(seq) != n:
            raise ValueError(f"{name} must have one array per param ({n}), got {len(seq)}")


def adamw_step_many_reference(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, beta1=0.9,
                              beta2=0.999, eps=1e-8, weight_decay=1e-2):
    """``adamw_step_reference`` on each (param, grad, exp_avg, exp_avg_sq) of the four lists,
    all at the same step count. Returns None."""
    _check_lists(params, grads, exp_avgs, exp_avg_sqs)
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        adamw_step_reference(p, g, m, v, step, lr, beta1, beta2, eps, weight_decay)


def adamw_step_many_numba(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, beta1=0.9,
                          beta2=0.999, eps=1e-8, weight_decay=1e-2):
    """The fused pass on each (param, grad, exp_avg, exp_avg_sq) of the four lists, all at the
    same step count; the coefficients are made once per dtype. Returns None."""
    _check_lists(params, grads, exp_avgs, exp_avg_sqs)
    if step < 1:
        raise ValueError(f"step must be >= 1 (counted after incrementing), got {step}")
    # torch's arrangement of the bias corrections: lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
    plain = (1.0 - lr * weight_decay, beta1, 1.0 - beta1, beta2, 1.0 - beta2,
             lr / (1.0 - beta1 ** step), 1.0 / np.sqrt(1.0 - beta2 ** step), eps)
    coefficients = {}                                      # dtype -> the eight, in that dtype
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        _check(p, g, m, v, step)
        for name, arr in (("param", p), ("exp_avg", m), ("exp_avg_sq", v)):
            if not arr.flags.c_contiguous:
                raise ValueError(f"{name} must be C-contiguous to be updated in place")
        if p.dtype not in coefficients:
            coefficients[p.dtype] = tuple(p.dtype.type(c) for c in plain)
        g = np.ascontiguousarray(g, dtype=p.dtype).reshape(-1)
        # reshape(-1) of a contiguous array is a view: the kernel writes into the caller's arrays.
        _adamw(p.reshape(-1), g, m.reshape(-1), v.reshape(-1), *coefficients[p.dtype])
