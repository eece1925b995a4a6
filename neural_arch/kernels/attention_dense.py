"""Attention with the score matrix in memory: BLAS for the products, Numba for the softmax rows.

Same formulas, masks and cache as attention.py (read that docstring first). Per (b, h):

    forward:  S = q k^T            (np.matmul: one BLAS gemm per (b, h))
              P = softmax(S * scale, masked), lse     (_softmax_rows, in place on S)
              out = P v            (np.matmul)
    backward: dv = P^T dO,  dP = dO v^T               (np.matmul)
              dS = P * (dP - Delta) * scale, Delta_i = sum_j P_ij dP_ij   (_softmax_grad_rows)
              dq = dS k,  dk = dS^T q                  (np.matmul)

Why not the tiled flash kernel at every size: Numba can hand a tile product to BLAS only through
SciPy, and without BLAS the tiles are loops; at the sizes the models use (T <= 256) the whole
(Tq, Tk) matrix is a few MB, and five large BLAS calls beat hundreds of small tile products.
The forward keeps P in the cache (a ninth entry after the common eight) so that backward does
not recompute S; the flash kernel takes over when the scores would exceed ``DENSE_MAX_BYTES``,
where holding them costs more memory than it saves time.

Only float32 runs here (the exp is ``fast_exp.exp_inplace``); other dtypes go to the NumPy
reference, which is exact in float64.
"""

import contextlib

import numpy as np

from neural_arch.kernels._jit import FASTMATH, blas_threads, njit, single_threaded_blas
from neural_arch.kernels.attention import (attention_backward_reference,
                                           attention_forward_reference)
from neural_arch.kernels.attention_flash import (attention_backward_numba,
                                                 attention_forward_numba,
                                                 check_attention_inputs)
from neural_arch.kernels.fast_exp import exp_inplace, row_max

DENSE_MAX_BYTES = 256 * 2**20   # the (B, H, Tq, Tk) float32 scores, above this: flash kernel
BLOCK_ROWS = 64                 # query rows per block: S of one block stays in cache
MASKED = -1e30                  # score of a masked key: finite, so max and exp vectorise
ONE_THREAD_SCORES = 128 * 128   # per-head (Tq, Tk) at or below this: BLAS on one thread


def _blas_for(tq, tk):
    """The BLAS threads for this call's products. Each np.matmul here is one small gemm per
    (b, h), and a gemm of 128 x 128 x 64 split across two threads spends more on the hand-over
    than it saves: BERT-mini's (8, 4, 128, 64) fwd+bwd took 6.6 ms at two BLAS threads against
    5.2 ms at one (and 6.4 ms for the NumPy reference at two). Small heads keep BLAS on one
    thread; reading the thread count costs about a microsecond, the limit about 11 us."""
    if tq * tk <= ONE_THREAD_SCORES and blas_threads() > 1:
        return single_threaded_blas()
    return contextlib.nullcontext()


@njit(cache=True, fastmath=True)
def _softmax_rows(s, bias, row0, causal, offset, scale, lse):
    """In place: s[bh, i, :] <- softmax over keys of s * scale + bias[b], lse[bh, i] = its log-sum.

    s (B*H, rows, kend) float32 holds the scores of queries row0 .. row0 + rows - 1; with causal,
    query t sees keys j <= t + offset only. bias (B, kend) is 0 for a real key and MASKED for
    padding. A row with no visible key gets P = 0 and lse = -inf. (fastmath=True lets the max
    reduction vectorise: every value here is finite, masks included.)
    """
    nbh, rows, kend = s.shape
    heads = nbh // bias.shape[0]
    bits = np.empty(kend, dtype=np.int32)                     # exp_inplace's scratch
    for bh in range(nbh):
        b = bh // heads
        for i in range(rows):
            row = s[bh, i]
            end = min(kend, row0 + i + offset + 1) if causal else kend  # later keys: masked
            for j in range(end):
                row[j] = row[j] * scale + bias[b, j]
            m = row_max(row, end) if end > 0 else np.float32(MASKED)
            row[end:] = 0.0
            if m <= np.float32(0.5 * MASKED):                 # nothing visible: P = 0
                row[:end] = 0.0
                lse[bh, i] = -np.inf
                continue
            for j in range(end):
                row[j] -= m
            exp_inplace(row[:end], bits)
            total = np.float32(0.0)
            for j in range(end):
                total += row[j]
            inv = np.float32(1.0) / total
            for j in range(end):
                row[j] *= inv
            lse[bh, i] = m + np.log(total)


@njit(cache=True, fastmath=True)
def _softmax_grad_rows(p, dp, scale):
    """In place: dp <- p * (dp - Delta) * scale, Delta_i = sum_j p_ij dp_ij; (B*H, rows, kend)."""
    nbh, rows, kend = p.shape
    for bh in range(nbh):
        for i in range(rows):
            delta = np.float32(0.0)
            for j in range(kend):
                delta += p[bh, i, j] * dp[bh, i, j]
            for j in range(kend):
                dp[bh, i, j] = p[bh, i, j] * (dp[bh, i, j] - delta) * scale


def _blocks(tq, tk, causal):
    """(i0, i1, kend) per block of query rows; with causal, keys past the block's last row are
    never visible, so the products stop at kend (about half the work for a square mask).
    Without causal, blocks would save nothing: one block of every row."""
    if not causal:
        return [(0, tq, tk)]
    offset = tk - tq
    blocks = []
    for i0 in range(0, tq, BLOCK_ROWS):
        i1 = min(tq, i0 + BLOCK_ROWS)
        kend = min(tk, max(0, i1 + offset))
        blocks.append((i0, i1, kend))
    return blocks


def attention_forward_dense(q, k, v, causal=False, key_padding_mask=None, scale=None):
    """softmax(q k^T * scale, masked) v -> (out, cache); cache = the common eight entries plus
    the list of probability blocks P[:, :, i0:i1, :kend]."""
    q, k, v, key_padding_mask, scale = check_attention_inputs(q, k, v, key_padding_mask, scale)
    batch, heads, tq, dim = q.shape
    tk = k.shape[2]
    if q.dtype != np.float32 or tq == 0 or tk == 0:          # (empty inputs: nothing to time)
        return attention_forward_reference(q, k, v, causal, key_padding_mask, scale)
    if batch * heads * tq * tk * 4 > DENSE_MAX_BYTES:
        return attention_forward_numba(q, k, v, causal, key_padding_mask, scale)
    bias = np.zeros((batch, tk), dtype=np.float32)
    if key_padding_mask is not None:
        bias[~key_padding_mask] = MASKED
    outs, lses, probs = [], [], []
    with _blas_for(tq, tk):
        for i0, i1, kend in _blocks(tq, tk, causal):
            s = np.matmul(q[:, :, i0:i1], k[:, :, :kend].swapaxes(-1, -2))  # (B, H, rows, kend)
            block_lse = np.empty((batch * heads, i1 - i0), dtype=np.float32)
            _softmax_rows(s.reshape(batch * heads, i1 - i0, kend), bias[:, :kend], i0, causal,
                          tk - tq, np.float32(scale), block_lse)          # s is now P
            outs.append(np.matmul(s, v[:, :, :kend]))                    # (B, H, rows, D)
            lses.append(block_lse.reshape(batch, heads, i1 - i0))
            probs.append(s)
    out = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)   # (B, H, Tq, D)
    lse = lses[0] if len(lses) == 1 else np.concatenate(lses, axis=2)   # (B, H, Tq)
    return out, (q, k, v, out, lse, causal, key_padding_mask, scale, probs)


def _block_grads(q, k, v, dout, p, i0, i1, kend, scale):
    """One block of query rows: (dq rows, dk and dv contributions to keys :kend)."""
    batch, heads = q.shape[:2]
    d_blk = dout[:, :, i0:i1]                                 # (B, H, rows, D)
    dv_part = np.matmul(p.swapaxes(-1, -2), d_blk)            # (B, H, kend, D)
    ds = np.matmul(d_blk, v[:, :, :kend].swapaxes(-1, -2))    # dP, (B, H, rows, kend)
    _softmax_grad_rows(p.reshape(batch * heads, i1 - i0, kend),
                       ds.reshape(batch * heads, i1 - i0, kend), np.float32(scale))
    dq_blk = np.matmul(ds, k[:, :, :kend])                    # ds is now dS * scale
    dk_part = np.matmul(ds.swapaxes(-1, -2), q[:, :, i0:i1])  # (B, H, kend, D)
    return dq_blk, dk_part, dv_part


def attention_backward_dense(dout, cache):
    """-> (dq, dk, dv). A cache without P (from another backend) goes to that backend's kernel."""
    if len(cache) == 8:
        q, k = cache[0], cache[1]
        if q.dtype != np.float32 or q.size == 0 or k.size == 0:
            return attention_backward_reference(dout, cache)
        return attention_backward_numba(dout, cache)
    q, k, v, out, lse, causal, key_padding_mask, scale, probs = cache
    batch, heads, tq, dim = q.shape
    tk = k.shape[2]
    dout = np.asarray(dout, dtype=np.float32)
    blocks = _blocks(tq, tk, causal)
    with _blas_for(tq, tk):
        parts = [_block_grads(q, k, v, dout, p, i0, i1, kend, scale)
                 for (i0, i1, kend), p in zip(blocks, probs)]
    dq = np.concatenate([dq_blk for dq_blk, _, _ in parts], axis=2) if len(parts) > 1 \
        else parts[0][0]                                      # (B, H, Tq, D)
    if len(parts) == 1 and blocks[0][2] == tk:                # one block: its parts are the sums
        return dq, parts[0][1], parts[0][2]
    dk = np.zeros(k.shape, dtype=np.float32)
    dv = np.zeros(v.shape, dtype=np.float32)
    for (_, _, kend), (_, dk_part, dv_part) in zip(blocks, parts):
        dk[:, :, :kend] += dk_part
        dv[:, :, :kend] += dv_part
    return dq, dk, dv
