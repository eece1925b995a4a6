"""Fused log-softmax + negative log-likelihood: NumPy reference and Numba kernels.

For each row i of logits z (N, V) with target class t_i:

    lse_i  = m_i + log(sum_j exp(z_ij - m_i)),   m_i = max_j z_ij     (stable log-sum-exp)
    loss_i = lse_i - z_{i, t_i}                                       (0 where t_i == ignore_index)

Backward, given the upstream gradient dloss (N,):

    dz_ij = (softmax_ij - [j == t_i]) * dloss_i,   softmax_ij = exp(z_ij - lse_i)
    dz_i. = 0 for ignored rows

The cache keeps the logits, targets and the per-row lse (N,), never the (N, V) softmax: backward
rebuilds it once from lse, so peak memory is one (N, V) array (the gradient) rather than two.
Subtracting the row maximum keeps exp() in range, so logits of +-1e4 give finite losses.

float32 rows take their exp from fast_exp.py (vectorised; the scalar libm exp made this kernel
slower than NumPy over GPT-2's 50,257 classes); float64 keeps the exact np.exp.
"""

import numpy as np

from neural_arch.kernels._jit import FASTMATH, njit
from neural_arch.kernels.fast_exp import exp_inplace, row_max


def _check_targets(logits, targets, ignore_index):
    """Targets must be integers in [0, V) or ignore_index; raise a readable error otherwise."""
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (N, V), got shape {logits.shape}")
    targets = np.asarray(targets)
    if targets.shape != (logits.shape[0],) or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integers of shape ({logits.shape[0]},), "
                         f"got {targets.dtype} {targets.shape}")
    valid = targets != ignore_index
    bad = valid & ((targets < 0) | (targets >= logits.shape[1]))
    if bad.any():
        raise ValueError(f"targets must lie in [0, {logits.shape[1]}) or equal ignore_index="
                         f"{ignore_index}; got {targets[bad][0]}")
    return targets.astype(np.int64, copy=False), valid


def cross_entropy_forward_reference(logits, targets, ignore_index=-100):
    """Per-row cross-entropy. logits: (N, V) float; targets: (N,) int.

    Returns (losses, cache): losses (N,) in logits' dtype, 0 for ignored rows;
    cache = (logits, targets, lse, ignore_index) with lse (N,).
    """
    targets, valid = _check_targets(logits, targets, ignore_index)
    m = logits.max(axis=1, keepdims=True)                              # (N, 1)
    lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]   # (N,)
    safe = np.where(valid, targets, 0)                                 # any index for ignored rows
    picked = logits[np.arange(logits.shape[0]), safe]                  # (N,) z_{i, t_i}
    losses = np.where(valid, lse - picked, 0.0).astype(logits.dtype)
    return losses, (logits, targets, lse.astype(logits.dtype), ignore_index)


def cross_entropy_backward_reference(dlosses, cache):
    """Gradient of the per-row losses. dlosses: (N,). Returns dlogits (N, V)."""
    logits, targets, lse, ignore_index = cache
    valid = targets != ignore_index
    probs = np.exp(logits - lse[:, None])                              # (N, V) softmax
    rows = np.nonzero(valid)[0]
    probs[rows, targets[rows]] -= 1.0                                  # softmax - onehot
    scale = np.where(valid, dlosses, 0.0).astype(logits.dtype)         # (N,)
    return (probs * scale[:, None]).astype(logits.dtype, copy=False)


@njit(cache=True, fastmath=FASTMATH)
def _ce_fwd(logits, targets, ignore_index, losses, lse):
    n, v = logits.shape
    for i in range(n):
        m = logits[i, 0]
        for j in range(1, v):
            m = max(m, logits[i, j])
        s = 0.0                                                        # float64 accumulator
        for j in range(v):
            s += np.exp(logits[i, j] - m)
        lse_i = m + np.log(s)
        lse[i] = lse_i
        t = targets[i]
        losses[i] = 0.0 if t == ignore_index else lse_i - logits[i, t]


@njit(cache=True, fastmath=FASTMATH)
def _ce_bwd(logits, targets, ignore_index, lse, dlosses, dlogits):
    n, v = logits.shape
    for i in range(n):
        t = targets[i]
        if t == ignore_index:
            for j in range(v):
                dlogits[i, j] = 0.0
            continue
        li = lse[i]
        g = dlosses[i]
        for j in range(v):
            dlogits[i, j] = np.exp(logits[i, j] - li) * g
        dlogits[i, t] -= g


@njit(cache=True, fastmath=True)
def _ce_fwd_f32(logits, targets, ignore_index, losses, lse):
    """_ce_fwd for float32 logits, with the vectorised exp. (fastmath=True: finite logits.)"""
    n, v = logits.shape
    e = np.empty(v, dtype=np.float32)                                  # z - m, then exp
    bits = np.empty(v, dtype=np.int32)
    for i in range(n):
        row = logits[i]
        m = row_max(row, v)
        for j in range(v):
            e[j] = row[j] - m
        exp_inplace(e, bits)
        s = np.float32(0.0)
        for j in range(v):
            s += e[j]
        lse_i = m + np.log(s)
        lse[i] = lse_i
        t = targets[i]
        losses[i] = 0.0 if t == ignore_index else lse_i - row[t]


@njit(cache=True, fastmath=True)
def _ce_bwd_f32(logits, targets, ignore_index, lse, dlosses, dlogits):
    """_ce_bwd for float32 logits: each gradient row is exp(z - lse) * g, built in place."""
    n, v = logits.shape
    bits = np.empty(v, dtype=np.int32)
    for i in range(n):
        out = dlogits[i]
        t = targets[i]
        if t == ignore_index:
            out[:] = 0.0
            continue
        row = logits[i]
        li = lse[i]
        for j in range(v):
            out[j] = row[j] - li
        exp_inplace(out, bits)
        g = dlosses[i]
        for j in range(v):
            out[j] *= g
        out[t] -= g


def cross_entropy_forward_numba(logits, targets, ignore_index=-100):
    """Per-row cross-entropy. logits: (N, V) float; targets: (N,) int.

    Returns (losses, cache): losses (N,) in logits' dtype, 0 for ignored rows;
    cache = (logits, targets, lse, ignore_index) with lse (N,).
    """
    targets, _ = _check_targets(logits, targets, ignore_index)
    logits_c = np.ascontiguousarray(logits)
    n = logits.shape[0]
    losses = np.empty(n, dtype=logits.dtype)
    lse = np.empty(n, dtype=logits.dtype)
    if logits.shape[1] > 0:
        forward = _ce_fwd_f32 if logits.dtype == np.float32 else _ce_fwd
        forward(logits_c, targets, int(ignore_index), losses, lse)
    return losses, (logits_c, targets, lse, ignore_index)


def cross_entropy_backward_numba(dlosses, cache):
    """Gradient of the per-row losses. dlosses: (N,). Returns dlogits (N, V)."""
    logits, targets, lse, ignore_index = cache
    dlogits = np.empty_like(logits)
    d = np.ascontiguousarray(dlosses, dtype=logits.dtype).reshape(-1)
    backward = _ce_bwd_f32 if logits.dtype == np.float32 else _ce_bwd
    backward(logits, targets, int(ignore_index), lse, d, dlogits)
    return dlogits
