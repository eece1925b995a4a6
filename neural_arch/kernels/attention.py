"""Scaled dot-product attention: a NumPy reference that builds the full score matrix, and a
FlashAttention-style Numba kernel (in attention_flash.py) that never does.

Shapes: q (B, H, Tq, D); k, v (B, H, Tk, D); out (B, H, Tq, D). For one (b, h):

    S = q k^T * scale                       (Tq, Tk), scale = 1/sqrt(D) by default
    S_ij = -inf where key j is masked
    lse_i = log(sum_j exp(S_ij))            per-row log-sum-exp, (Tq,)
    P = exp(S - lse)                        softmax rows, (Tq, Tk)
    out = P v

Masks. ``key_padding_mask`` is bool (B, Tk), True where the key is a real token. ``causal`` lets
query i see key j only when j <= i + (Tk - Tq): queries are aligned to the *end* of the keys, so
with a KV cache (Tq = 1) the one new query sees every key. A row whose keys are all masked has
lse = -inf; its output and its gradients are zeros, never NaN.

Backward, with dO the gradient of out and Delta_i = sum_d dO_id out_id (= sum_j P_ij dP_ij):

    dv = P^T dO,   dP = dO v^T,   dS = P * (dP - Delta),   dq = dS k * scale,   dk = dS^T q * scale

The cache is (q, k, v, out, lse, causal, key_padding_mask, scale) for both backends, so a forward
from one backend can be differentiated by the other.

Every backend takes an optional ``out``: forward writes its output into that (B, H, Tq, D) array,
backward writes dq, dk, dv into a given tuple of three. The arrays may be strided views, such as
the heads of a packed (B, T, 3, H, D) projection gradient, so the caller needs no copy to put the
heads back side by side; ``into`` is how the backends that compute elsewhere honour it. The reference keeps memory O(Tq * Tk) per
(b, h); the flash kernel keeps O(Tq + Tk).
"""

import numpy as np

from neural_arch.kernels.attention_flash import (  # noqa: F401  (re-exported)
    attention_backward_numba,
    attention_forward_numba,
    check_attention_inputs,
    into,
)


def allowed_mask(tq, tk, batch, causal, key_padding_mask):
    """Boolean (B or 1, 1, Tq, Tk) array: True where query i may attend key j."""
    allowed = np.ones((1, 1, tq, tk), dtype=bool)
    if causal:
        i = np.arange(tq)[:, None]
        j = np.arange(tk)[None, :]
        allowed = allowed & (j <= i + (tk - tq))               # queries aligned to the end
    if key_padding_mask is not None:
        allowed = allowed & key_padding_mask[:, None, None, :]  # (B, 1, 1, Tk)
    return allowed


def _probs(q, k, lse, allowed, scale):
    """P = exp(S - lse) with masked entries and all-masked rows set to 0. (B, H, Tq, Tk)."""
    s = np.matmul(q, k.swapaxes(-1, -2)) * scale               # (B, H, Tq, Tk)
    finite = np.isfinite(lse)[..., None]                       # (B, H, Tq, 1)
    p = np.exp(np.where(allowed & finite, s - np.where(finite, lse[..., None], 0.0), -np.inf))
    return p.astype(q.dtype, copy=False)


def attention_forward_reference(q, k, v, causal=False, key_padding_mask=None, scale=None,
                                out=None):
    """softmax(q k^T * scale, masked) v. q: (B, H, Tq, D); k, v: (B, H, Tk, D).

    key_padding_mask: bool (B, Tk), True = real key. Returns (out, cache): out (B, H, Tq, D) in
    q's dtype (the given ``out`` if any); cache = (q, k, v, out, lse, causal, key_padding_mask,
    scale) with lse (B, H, Tq).
    """
    q, k, v, key_padding_mask, scale = check_attention_inputs(q, k, v, key_padding_mask, scale)
    tq, tk = q.shape[2], k.shape[2]
    allowed = allowed_mask(tq, tk, q.shape[0], causal, key_padding_mask)
    s = np.matmul(q, k.swapaxes(-1, -2)) * scale               # (B, H, Tq, Tk)
    s = np.where(allowed, s, -np.inf)
    m = s.max(axis=-1, keepdims=True) if tk > 0 else np.full(q.shape[:3] + (1,), -np.inf)
    m_safe = np.where(np.isfinite(m), m, 0.0)                  # all-masked rows: avoid inf - inf
    p = np.exp(s - m_safe)                                     # masked entries: exp(-inf) = 0
    denom = p.sum(axis=-1, keepdims=True)                      # (B, H, Tq, 1), 0 if all masked
    with np.errstate(divide="ignore"):
        lse = (m_safe + np.log(denom))[..., 0]                 # -inf for all-masked rows
    p = p / np.where(denom > 0, denom, 1.0)
    out = into(out, np.matmul(p, v).astype(q.dtype, copy=False))  # (B, H, Tq, D)
    lse = lse.astype(q.dtype, copy=False)
    return out, (q, k, v, out, lse, causal, key_padding_mask, scale)


def attention_backward_reference(dout, cache, out=None):
    """Gradients of attention. dout: (B, H, Tq, D). Returns (dq, dk, dv) shaped like q, k, v
    (the three arrays of ``out`` if given)."""
    q, k, v, y, lse, causal, key_padding_mask, scale = cache[:8]  # (dense adds P)
    allowed = allowed_mask(q.shape[2], k.shape[2], q.shape[0], causal, key_padding_mask)
    p = _probs(q, k, lse, allowed, scale)                      # (B, H, Tq, Tk)
    dout = dout.astype(q.dtype, copy=False)
    dv = np.matmul(p.swapaxes(-1, -2), dout)                   # (B, H, Tk, D)
    dp = np.matmul(dout, v.swapaxes(-1, -2))                   # (B, H, Tq, Tk)
    delta = (dout * y).sum(axis=-1, keepdims=True)             # (B, H, Tq, 1)
    ds = p * (dp - delta)                                      # (B, H, Tq, Tk)
    dq = np.matmul(ds, k) * scale                              # (B, H, Tq, D)
    dk = np.matmul(ds.swapaxes(-1, -2), q) * scale             # (B, H, Tk, D)
    return into(out, (dq.astype(q.dtype, copy=False), dk.astype(q.dtype, copy=False),
                      dv.astype(q.dtype, copy=False)))
