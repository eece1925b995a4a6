"""FlashAttention-style attention in Numba: tiled, online softmax, O(T) extra memory.

Same formulas, masks and cache as attention.py (read that docstring first). For each (b, h) the
queries are cut into tiles of BLOCK_Q rows and the keys into tiles of BLOCK_K rows. Forward keeps,
per query row, the running maximum m, the running sum l of exp(S - m) and an unnormalised output
acc. When a new key tile brings a larger maximum m', the old sums are rescaled by exp(m - m'):

    m' = max(m, max_j S_ij),  l = l exp(m - m') + sum_j exp(S_ij - m'),
    acc = acc exp(m - m') + sum_j exp(S_ij - m') v_j,
    and at the end out = acc / l, lse = m + log l.

Only lse (B, H, Tq) is saved. Backward recomputes each probability tile P = exp(S - lse) from it
and accumulates dq, dk, dv tile by tile; the (Tq, Tk) matrix never exists.

The tile products (S = q k^T, P v, dO v^T, P^T dO, dS k, dS^T q) go through three helpers,
``_mm_nt`` (a b^T), ``_mm_nn`` (a b) and ``_mm_tn`` (a^T b). Numba can hand np.dot to BLAS gemm
only through SciPy's BLAS bindings, and SciPy is not a dependency: with SciPy installed the
helpers call np.dot on C-contiguous tile views (the design of PyTorch's CPU flash attention);
without it they are plain loops whose innermost loop runs along contiguous memory, so that
LLVM vectorises it. The masking, online softmax and elementwise parts of backward are loops.
prange runs over the B*H independent (b, h) pairs; scratch tiles are allocated once per pair,
never inside the tile loops. Causal tiles entirely above the diagonal are skipped.
"""

import math

import numpy as np

from neural_arch.kernels._jit import njit, prange, single_threaded_blas

BLOCK_Q = 64   # query rows per tile
BLOCK_K = 64   # key rows per tile

try:  # Numba's np.dot needs SciPy's BLAS bindings
    import scipy.linalg.cython_blas  # noqa: F401
    HAVE_SCIPY_BLAS = True
except ImportError:
    HAVE_SCIPY_BLAS = False

if HAVE_SCIPY_BLAS:
    @njit(cache=True)
    def _mm_nt(a, b, out):
        """out = a b^T (BLAS gemm)."""
        np.dot(a, b.T, out)

    @njit(cache=True)
    def _mm_nn(a, b, out):
        """out = a b (BLAS gemm)."""
        np.dot(a, b, out)

    @njit(cache=True)
    def _mm_tn(a, b, out):
        """out = a^T b (BLAS gemm)."""
        np.dot(a.T, b, out)
else:
    @njit(cache=True, fastmath=True)
    def _mm_nt(a, b, out):
        """out = a b^T: a (n, d), b (m, d); a dot product along contiguous rows."""
        for r in range(a.shape[0]):
            for c in range(b.shape[0]):
                total = out.dtype.type(0.0)   # out's dtype: a float64 0.0 would promote the sum
                for d in range(a.shape[1]):
                    total += a[r, d] * b[c, d]
                out[r, c] = total

    @njit(cache=True, fastmath=True)
    def _mm_nn(a, b, out):
        """out = a b: a (n, m), b (m, d); each row of out is a sum of rows of b."""
        out[:] = 0.0
        for r in range(a.shape[0]):
            for c in range(a.shape[1]):
                w = a[r, c]
                for d in range(b.shape[1]):
                    out[r, d] += w * b[c, d]

    @njit(cache=True, fastmath=True)
    def _mm_tn(a, b, out):
        """out = a^T b: a (n, m), b (n, d); row c of out sums a[r, c] * b[r]."""
        out[:] = 0.0
        for r in range(a.shape[0]):
            for c in range(a.shape[1]):
                w = a[r, c]
                for d in range(b.shape[1]):
                    out[c, d] += w * b[r, d]


def check_attention_inputs(q, k, v, key_padding_mask, scale):
    """Validate shapes at the public boundary; return (q, k, v, mask, scale) normalised."""
    for name, arr in (("q", q), ("k", k), ("v", v)):
        if arr.ndim != 4:
            raise ValueError(f"{name} must be 4-D (B, H, T, D), got shape {arr.shape}")
    if k.shape != v.shape or k.shape[:2] != q.shape[:2] or k.shape[3] != q.shape[3]:
        raise ValueError(f"expected q (B, H, Tq, D) and k, v (B, H, Tk, D); got q {q.shape}, "
                         f"k {k.shape}, v {v.shape}")
    if key_padding_mask is not None:
        key_padding_mask = np.asarray(key_padding_mask, dtype=bool)
        if key_padding_mask.shape != (q.shape[0], k.shape[2]):
            raise ValueError(f"key_padding_mask must be (B, Tk) = {(q.shape[0], k.shape[2])}, "
                             f"got {key_padding_mask.shape}")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[3])
    dtype = np.result_type(q.dtype, k.dtype, v.dtype)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    return q, k, v, key_padding_mask, float(scale)


def into(out, result):
    """``result`` copied into ``out`` when the caller gave one (then ``out`` is returned), else
    ``result`` itself. For a tuple ``out``, each of its arrays takes the matching result."""
    if out is None:
        return result
    if isinstance(out, tuple):
        for target, value in zip(out, result):
            target[...] = value
        return out
    out[...] = result
    return out


@njit(cache=True)
def _tile(buf, rows, cols):
    """A C-contiguous (rows, cols) view of the start of a flat scratch buffer (what BLAS needs)."""
    return buf[:rows * cols].reshape((rows, cols))


@njit(cache=True)
def _scores(qt, kt, keep, i0, j0, offset, causal, scale, s):
    """s = qt kt^T * scale with masked entries -inf. qt (nq, D) rows i0.., kt (nc, D) keys j0.."""
    _mm_nt(qt, kt, s)                                          # gemm on the tile
    for r in range(s.shape[0]):
        for c in range(s.shape[1]):
            j = j0 + c
            if (causal and j > i0 + r + offset) or not keep[j]:
                s[r, c] = -np.inf
            else:
                s[r, c] *= scale


@njit(cache=True, parallel=True)
def _flash_fwd(q, k, v, keep, causal, scale, out, lse):
    """q (BH, Tq, D), k, v (BH, Tk, D), keep (BH, Tk) -> out (BH, Tq, D), lse (BH, Tq)."""
    nbh, tq, dim = q.shape
    tk = k.shape[1]
    offset = tk - tq                                           # causal: key j <= i + offset
    for bh in prange(nbh):
        s_buf = np.empty(BLOCK_Q * BLOCK_K, dtype=q.dtype)     # scores, then probabilities
        pv_buf = np.empty(BLOCK_Q * dim, dtype=q.dtype)        # P v of one tile
        acc = np.empty((BLOCK_Q, dim), dtype=q.dtype)          # unnormalised output rows
        m = np.empty(BLOCK_Q, dtype=q.dtype)                   # running row maximum
        l = np.empty(BLOCK_Q, dtype=q.dtype)                   # running row sum of exp
        for i0 in range(0, tq, BLOCK_Q):
            i1 = min(i0 + BLOCK_Q, tq)
            nq = i1 - i0
            acc[:nq] = 0.0
            m[:nq] = -np.inf
            l[:nq] = 0.0
            j_end = min(tk, i1 + offset) if causal else tk     # later keys are all masked
            for j0 in range(0, j_end, BLOCK_K):
                j1 = min(j0 + BLOCK_K, tk)
                s = _tile(s_buf, nq, j1 - j0)
                _scores(q[bh, i0:i1], k[bh, j0:j1], keep[bh], i0, j0, offset, causal, scale, s)
                for r in range(nq):
                    m_new = m[r]
                    for c in range(j1 - j0):
                        m_new = max(m_new, s[r, c])
                    if m_new == -np.inf:                       # nothing visible yet in this row
                        continue
                    alpha = np.exp(m[r] - m_new)               # rescales old sums (0 if m=-inf)
                    l[r] *= alpha
                    for c in range(j1 - j0):
                        p = np.exp(s[r, c] - m_new)
                        s[r, c] = p
                        l[r] += p
                    m[r] = m_new
                    for d in range(dim):
                        acc[r, d] *= alpha
                pv = _tile(pv_buf, nq, dim)
                _mm_nn(s, v[bh, j0:j1], pv)                    # rows still at m = -inf are skipped
                for r in range(nq):
                    if m[r] != -np.inf:
                        for d in range(dim):
                            acc[r, d] += pv[r, d]
            for r in range(nq):
                if l[r] > 0.0:
                    inv = 1.0 / l[r]
                    for d in range(dim):
                        out[bh, i0 + r, d] = acc[r, d] * inv
                    lse[bh, i0 + r] = m[r] + np.log(l[r])
                else:                                          # every key masked: zeros
                    out[bh, i0 + r, :] = 0.0
                    lse[bh, i0 + r] = -np.inf


@njit(cache=True, parallel=True)
def _flash_bwd(q, k, v, dout, out, lse, keep, causal, scale, dq, dk, dv):
    """Recompute P tile by tile; accumulate dq (BH, Tq, D), dk, dv (BH, Tk, D), all zeroed.

    Key tiles are the outer loop, so one tile's dk, dv rows stay hot in cache while every query
    tile streams past (FlashAttention-2 order); dq rows are revisited once per key tile.
    """
    nbh, tq, dim = q.shape
    tk = k.shape[1]
    offset = tk - tq
    for bh in prange(nbh):
        p_buf = np.empty(BLOCK_Q * BLOCK_K, dtype=q.dtype)     # probabilities, then dS
        dp_buf = np.empty(BLOCK_Q * BLOCK_K, dtype=q.dtype)    # dO v^T tile
        qd_buf = np.empty(BLOCK_Q * dim, dtype=q.dtype)        # dS k tile (for dq)
        kd_buf = np.empty(BLOCK_K * dim, dtype=q.dtype)        # P^T dO or dS^T q tile
        delta = np.zeros(tq, dtype=q.dtype)                    # rowsum(dO * out)
        for i in range(tq):
            for d in range(dim):
                delta[i] += dout[bh, i, d] * out[bh, i, d]
        for j0 in range(0, tk, BLOCK_K):
            j1 = min(j0 + BLOCK_K, tk)
            nc = j1 - j0
            kd = _tile(kd_buf, nc, dim)
            # causal: query i sees key j0 only when i >= j0 - offset
            i_start = max(0, j0 - offset) // BLOCK_Q * BLOCK_Q if causal else 0
            for i0 in range(i_start, tq, BLOCK_Q):
                i1 = min(i0 + BLOCK_Q, tq)
                nq = i1 - i0
                p = _tile(p_buf, nq, nc)
                dp = _tile(dp_buf, nq, nc)
                _scores(q[bh, i0:i1], k[bh, j0:j1], keep[bh], i0, j0, offset, causal, scale, p)
                _mm_nt(dout[bh, i0:i1], v[bh, j0:j1], dp)     # dP = dO v^T
                for r in range(nq):
                    row_lse = lse[bh, i0 + r]
                    for c in range(nc):
                        # P = exp(S - lse); masked S = -inf and all-masked rows (lse -inf) give 0
                        if row_lse == -np.inf:
                            p[r, c] = 0.0
                        else:
                            p[r, c] = np.exp(p[r, c] - row_lse)
                _mm_tn(p, dout[bh, i0:i1], kd)                # dv_j += P^T dO
                dv[bh, j0:j1] += kd
                for r in range(nq):
                    dl = delta[i0 + r]
                    for c in range(nc):
                        p[r, c] = p[r, c] * (dp[r, c] - dl) * scale   # dS, scale folded in
                qd = _tile(qd_buf, nq, dim)
                _mm_nn(p, k[bh, j0:j1], qd)                   # dq_i += dS k
                dq[bh, i0:i1] += qd
                _mm_tn(p, q[bh, i0:i1], kd)                   # dk_j += dS^T q
                dk[bh, j0:j1] += kd


def _flat(a):
    """(B, H, T, D) -> contiguous (B*H, T, D)."""
    return np.ascontiguousarray(a).reshape(-1, a.shape[2], a.shape[3])


def _keep(key_padding_mask, b, h, tk):
    """(B*H, Tk) bool: True where the key may be attended."""
    if key_padding_mask is None:
        return np.ones((b * h, tk), dtype=np.bool_)
    return np.ascontiguousarray(np.repeat(key_padding_mask, h, axis=0))


def attention_forward_numba(q, k, v, causal=False, key_padding_mask=None, scale=None,
                            out=None):
    """softmax(q k^T * scale, masked) v. q: (B, H, Tq, D); k, v: (B, H, Tk, D).

    key_padding_mask: bool (B, Tk), True = real key. Returns (out, cache): out (B, H, Tq, D) in
    q's dtype (the given ``out`` if any); cache = (q, k, v, out, lse, causal, key_padding_mask,
    scale) with lse (B, H, Tq).
    """
    q, k, v, key_padding_mask, scale = check_attention_inputs(q, k, v, key_padding_mask, scale)
    b, h, tq, dim = q.shape
    tk = k.shape[2]
    result = np.empty((b * h, tq, dim), dtype=q.dtype)
    lse = np.empty((b * h, tq), dtype=q.dtype)
    # scale is passed in q's dtype so that float32 tiles stay float32 inside the kernel.
    with single_threaded_blas():
        _flash_fwd(_flat(q), _flat(k), _flat(v), _keep(key_padding_mask, b, h, tk),
                   bool(causal), q.dtype.type(scale), result, lse)
    out = into(out, result.reshape(q.shape))
    return out, (q, k, v, out, lse.reshape(b, h, tq), causal, key_padding_mask, scale)


def attention_backward_numba(dout, cache, out=None):
    """Gradients of attention. dout: (B, H, Tq, D). Returns (dq, dk, dv) shaped like q, k, v
    (the three arrays of ``out`` if given)."""
    q, k, v, y, lse, causal, key_padding_mask, scale = cache[:8]  # (dense adds P)
    b, h, tq, dim = q.shape
    tk = k.shape[2]
    q3, k3 = _flat(q), _flat(k)
    dq = np.zeros_like(q3)
    dk = np.zeros_like(k3)
    dv = np.zeros_like(k3)
    lse3 = np.ascontiguousarray(lse, dtype=q.dtype).reshape(b * h, tq)
    with single_threaded_blas():
        _flash_bwd(q3, k3, _flat(v), _flat(dout.astype(q.dtype, copy=False)), _flat(y), lse3,
                   _keep(key_padding_mask, b, h, tk), bool(causal), q.dtype.type(scale),
                   dq, dk, dv)
    return into(out, (dq.reshape(q.shape), dk.reshape(k.shape), dv.reshape(v.shape)))
