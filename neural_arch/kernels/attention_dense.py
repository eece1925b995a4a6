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

At more than one thread, a call with at least ``PARALLEL_SCORES`` scores is cut along the batch
(or the heads) and the parts run on parallel threads with BLAS on one thread each
(batch_threads.py); the cache remembers the parts so that backward runs the same ones.

Only float32 runs here (the exp is ``fast_exp.exp_inplace``); other dtypes go to the NumPy
reference, which is exact in float64.
"""

import contextlib

import numpy as np

from neural_arch.kernels import batch_threads
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
PARALLEL_SCORES = 96 * 1024     # B*H*Tq*Tk at or above this: parts of the batch on threads


def _blas_for(tq, tk):
    """The BLAS threads for this call's products. Each np.matmul here is one small gemm per
    (b, h), and a gemm of 128 x 128 x 64 split across two threads spends more on the hand-over
    than it saves: BERT-mini's (8, 4, 128, 64) fwd+bwd took 6.6 ms at two BLAS threads against
    5.2 ms at one (and 6.4 ms for the NumPy reference at two). Small heads keep BLAS on one
    thread; reading the thread count costs about a microsecond, the limit about 11 us."""
    if tq * tk <= ONE_THREAD_SCORES and blas_threads() > 1:
        return single_threaded_blas()
    return contextlib.nullcontext()


@njit(cache=True, fastmath=True, nogil=True)
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


@njit(cache=True, fastmath=True, nogil=True)
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


def _parts(batch, heads, tq, tk):
    """How this call is cut for threads: (batch slice, head slice) pairs, one when it is not.

    Below ``PARALLEL_SCORES`` the hand-over to a second thread costs more than it saves.
    Measured fwd + bwd at two threads, one part -> two: GPT-2 seed's (4, 4, 64, 32) (65,536
    scores) 0.47 -> 0.75 ms; ViT-Ti's (8, 3, 65, 64) (101,400) 1.64 -> 1.19 ms; nanoGPT-CPU's
    (12, 4, 64, 32) 1.53 -> 1.28 ms; BERT-mini's (8, 4, 128, 64) 5.7 -> 3.4 ms; GPT-2 small's
    (8, 6, 256, 64) 20.3 -> 14.0 ms."""
    threads = blas_threads()
    if threads > 1 and batch * heads * tq * tk >= PARALLEL_SCORES:
        return batch_threads.split(batch, heads, threads)
    return [(slice(None), slice(None))]


def _run(fn, parts, tq, tk):
    """fn on every part: on threads when there are several, else here with ``_blas_for``."""
    if len(parts) > 1:
        return batch_threads.run(fn, parts)
    with _blas_for(tq, tk):
        return [fn(parts[0])]


def _forward_rows(q, k, v, bias, causal, scale, out, lse):
    """The forward of one part: writes out and lse, returns the P blocks (block by block of
    query rows; ``bias`` (B, Tk) is 0 for a real key and MASKED for padding)."""
    batch, heads, tq, _ = q.shape
    tk = k.shape[2]
    probs = []
    for i0, i1, kend in _blocks(tq, tk, causal):
        s = np.matmul(q[:, :, i0:i1], k[:, :, :kend].swapaxes(-1, -2))  # (B, H, rows, kend)
        block_lse = np.empty((batch * heads, i1 - i0), dtype=np.float32)
        _softmax_rows(s.reshape(batch * heads, i1 - i0, kend), bias[:, :kend], i0, causal,
                      tk - tq, np.float32(scale), block_lse)          # s is now P
        np.matmul(s, v[:, :, :kend], out=out[:, :, i0:i1])           # (B, H, rows, D)
        lse[:, :, i0:i1] = block_lse.reshape(batch, heads, i1 - i0)
        probs.append(s)
    return probs


def attention_forward_dense(q, k, v, causal=False, key_padding_mask=None, scale=None,
                            out=None):
    """softmax(q k^T * scale, masked) v -> (out, cache); cache = the common eight entries plus
    a list of (part, P blocks) with the blocks P[part][:, :, i0:i1, :kend]. Each block's P v is
    written straight into ``out`` (allocated when not given; any strides BLAS accepts)."""
    q, k, v, key_padding_mask, scale = check_attention_inputs(q, k, v, key_padding_mask, scale)
    batch, heads, tq, dim = q.shape
    tk = k.shape[2]
    if q.dtype != np.float32 or tq == 0 or tk == 0:          # (empty inputs: nothing to time)
        return attention_forward_reference(q, k, v, causal, key_padding_mask, scale, out)
    if batch * heads * tq * tk * 4 > DENSE_MAX_BYTES:
        return attention_forward_numba(q, k, v, causal, key_padding_mask, scale, out)
    bias = np.zeros((batch, tk), dtype=np.float32)
    if key_padding_mask is not None:
        bias[~key_padding_mask] = MASKED
    if out is None:
        out = np.empty((batch, heads, tq, dim), dtype=np.float32)
    lse = np.empty((batch, heads, tq), dtype=np.float32)
    parts = _parts(batch, heads, tq, tk)

    def forward_part(part):
        return _forward_rows(q[part], k[part], v[part], bias[part[0]], causal, scale,
                             out[part], lse[part])
    probs = _run(forward_part, parts, tq, tk)
    return out, (q, k, v, out, lse, causal, key_padding_mask, scale, list(zip(parts, probs)))


def _block_grads(q, k, v, dout, p, i0, i1, kend, scale, dq, dk_part=None, dv_part=None):
    """One block of query rows: writes its dq rows into ``dq`` and its contributions to keys
    :kend into ``dk_part`` and ``dv_part`` (new arrays when None); returns those two."""
    batch, heads = q.shape[:2]
    d_blk = dout[:, :, i0:i1]                                           # (B, H, rows, D)
    dv_part = np.matmul(p.swapaxes(-1, -2), d_blk, out=dv_part)         # (B, H, kend, D)
    ds = np.matmul(d_blk, v[:, :, :kend].swapaxes(-1, -2))              # dP, (B, H, rows, kend)
    _softmax_grad_rows(p.reshape(batch * heads, i1 - i0, kend),
                       ds.reshape(batch * heads, i1 - i0, kend), np.float32(scale))
    np.matmul(ds, k[:, :, :kend], out=dq[:, :, i0:i1])                 # ds is now dS * scale
    dk_part = np.matmul(ds.swapaxes(-1, -2), q[:, :, i0:i1], out=dk_part)  # (B, H, kend, D)
    return dk_part, dv_part


def _backward_rows(q, k, v, dout, probs, causal, scale, dq, dk, dv):
    """The backward of one part, from its P blocks: writes dq, dk and dv."""
    tk = k.shape[2]
    blocks = _blocks(q.shape[2], tk, causal)
    if len(blocks) == 1 and blocks[0][2] == tk:               # one block: its parts are the sums
        (i0, i1, kend), = blocks
        _block_grads(q, k, v, dout, probs[0], i0, i1, kend, scale, dq, dk, dv)
        return
    dk[...] = 0.0
    dv[...] = 0.0
    for (i0, i1, kend), p in zip(blocks, probs):
        dk_part, dv_part = _block_grads(q, k, v, dout, p, i0, i1, kend, scale, dq)
        dk[:, :, :kend] += dk_part
        dv[:, :, :kend] += dv_part


def attention_backward_dense(dout, cache, out=None):
    """-> (dq, dk, dv), written into the three arrays of ``out`` when given. A cache without P
    (from another backend) goes to that backend's kernel."""
    if len(cache) == 8:
        q, k = cache[0], cache[1]
        if q.dtype != np.float32 or q.size == 0 or k.size == 0:
            return attention_backward_reference(dout, cache, out)
        return attention_backward_numba(dout, cache, out)
    q, k, v, _, _, causal, _, scale, part_probs = cache
    dout = np.asarray(dout, dtype=np.float32)
    dq, dk, dv = out if out is not None else (np.empty(q.shape, np.float32),
                                              np.empty(k.shape, np.float32),
                                              np.empty(v.shape, np.float32))

    def backward_part(part_and_probs):
        part, probs = part_and_probs
        _backward_rows(q[part], k[part], v[part], dout[part], probs, causal, scale,
                       dq[part], dk[part], dv[part])
    _run(backward_part, part_probs, q.shape[2], k.shape[2])
    return dq, dk, dv
