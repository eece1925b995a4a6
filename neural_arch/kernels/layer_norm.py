"""LayerNorm and RMSNorm over the last axis: NumPy references and one-pass Numba kernels.

LayerNorm, for each row x of C features (x may have any leading shape (..., C)):

    mean = sum(x) / C
    rstd = 1 / sqrt(sum((x - mean)^2) / C + eps)
    xhat = (x - mean) * rstd
    y    = xhat * weight + bias                         weight, bias: (C,)

Backward, with g = dy * weight (the gradient reaching xhat):

    dbias   = sum over rows of dy
    dweight = sum over rows of dy * xhat
    dx      = rstd * (g - mean(g) - xhat * mean(g * xhat))

RMSNorm drops the centring and the bias:

    rstd = 1 / sqrt(sum(x^2) / C + eps),   y = x * rstd * weight
    dweight = sum over rows of dy * x * rstd
    dx      = rstd * (g - x * rstd^2 * mean(g * x))      with g = dy * weight

The cache holds the input and the per-row statistics (mean, rstd), never xhat: recomputing it in
backward costs one multiply per element and saves a full-size array of memory (llm.c does the same).
The Numba kernels run serially, one row per iteration (see threads.py for why BLAS alone is
parallel), and compute in the input's dtype, as torch does: float64 accumulators for a float32
input cost a conversion per element and half the SIMD lanes (measured at (256, 128), float32:
17 -> 7 us forward, 21 -> 9 us backward). Outputs keep the input dtype.
"""

import numpy as np

from neural_arch.kernels._jit import FASTMATH, njit


def _params(x, weight, bias):
    """Fill in a missing weight (ones) or bias (zeros) so the kernels never branch on None."""
    c = x.shape[-1]
    w = np.ones(c, dtype=x.dtype) if weight is None else np.asarray(weight, dtype=x.dtype)
    b = np.zeros(c, dtype=x.dtype) if bias is None else np.asarray(bias, dtype=x.dtype)
    return w, b


# ----------------------------------------------------------------------------------- LayerNorm

def layer_norm_forward_reference(x, weight, bias, eps=1e-5):
    """LayerNorm over the last axis. x: (..., C); weight, bias: (C,) or None.

    Returns (out, cache): out has x's shape and dtype; cache = (x, weight, bias, mean, rstd) with
    mean, rstd of shape x.shape[:-1].
    """
    w, b = _params(x, weight, bias)
    mean = x.mean(axis=-1, keepdims=True)                      # (..., 1)
    xc = x - mean                                              # (..., C)
    var = (xc * xc).mean(axis=-1, keepdims=True)               # (..., 1)
    rstd = 1.0 / np.sqrt(var + eps)                            # (..., 1)
    out = (xc * rstd) * w + b                                  # (..., C)
    cache = (x, weight, bias, mean[..., 0], rstd[..., 0].astype(x.dtype))
    return out.astype(x.dtype, copy=False), cache


def layer_norm_backward_reference(dout, cache):
    """Gradients of LayerNorm. dout: (..., C). Returns (dx, dweight, dbias); dweight / dbias are
    None when weight / bias was None."""
    x, weight, bias, mean, rstd = cache
    w, _ = _params(x, weight, bias)
    mean, rstd = mean[..., None], rstd[..., None]              # (..., 1)
    xhat = (x - mean) * rstd                                   # (..., C)
    g = dout * w                                               # (..., C) gradient at xhat
    dx = rstd * (g - g.mean(axis=-1, keepdims=True)
                 - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    rows = tuple(range(x.ndim - 1))                            # every axis but the last
    dweight = None if weight is None else (dout * xhat).sum(axis=rows)
    dbias = None if bias is None else dout.sum(axis=rows)
    return dx.astype(x.dtype, copy=False), dweight, dbias


@njit(cache=True, fastmath=FASTMATH)
def _layer_norm_fwd(x, w, b, eps, out, mean, rstd):
    n, c = x.shape
    zero, one = x.dtype.type(0.0), x.dtype.type(1.0)          # arithmetic in x's dtype
    inv_c, eps = one / x.dtype.type(c), x.dtype.type(eps)
    for i in range(n):
        s = zero
        for j in range(c):
            s += x[i, j]
        mu = s * inv_c
        ss = zero
        for j in range(c):
            d = x[i, j] - mu
            ss += d * d
        r = one / np.sqrt(ss * inv_c + eps)
        for j in range(c):
            out[i, j] = (x[i, j] - mu) * r * w[j] + b[j]
        mean[i] = mu
        rstd[i] = r


@njit(cache=True, fastmath=FASTMATH)
def _norm_bwd(x, w, dout, mean, rstd, centred, dx, dw, db):
    """Shared LayerNorm (centred=True) / RMSNorm (centred=False) backward.

    dweight / dbias accumulate into the rows dw, db (C,), zeroed by the caller.
    """
    n, c = x.shape
    zero = x.dtype.type(0.0)                                   # arithmetic in x's dtype
    inv_c = x.dtype.type(1.0) / x.dtype.type(c)
    for i in range(n):
        mu = mean[i] if centred else zero
        r = rstd[i]
        sg = zero                                              # sum of g
        sgx = zero                                             # sum of g * xhat
        for j in range(c):
            xhat = (x[i, j] - mu) * r
            g = dout[i, j] * w[j]
            sg += g
            sgx += g * xhat
            dw[j] += dout[i, j] * xhat
            db[j] += dout[i, j]
        mg = sg * inv_c if centred else zero
        mgx = sgx * inv_c
        for j in range(c):
            xhat = (x[i, j] - mu) * r
            dx[i, j] = r * (dout[i, j] * w[j] - mg - xhat * mgx)


def _rows(x):
    """View x (..., C) as a contiguous (N, C) matrix."""
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1])


def layer_norm_forward_numba(x, weight, bias, eps=1e-5):
    """LayerNorm over the last axis. x: (..., C); weight, bias: (C,) or None.

    Returns (out, cache): out has x's shape and dtype; cache = (x, weight, bias, mean, rstd) with
    mean, rstd of shape x.shape[:-1].
    """
    w, b = _params(x, weight, bias)
    x2 = _rows(x)                                              # (N, C)
    out = np.empty_like(x2)
    mean = np.empty(x2.shape[0], dtype=x.dtype)
    rstd = np.empty(x2.shape[0], dtype=x.dtype)
    _layer_norm_fwd(x2, w, b, float(eps), out, mean, rstd)
    lead = x.shape[:-1]
    return out.reshape(x.shape), (x, weight, bias, mean.reshape(lead), rstd.reshape(lead))


def layer_norm_backward_numba(dout, cache):
    """Gradients of LayerNorm. dout: (..., C). Returns (dx, dweight, dbias); dweight / dbias are
    None when weight / bias was None."""
    x, weight, bias, mean, rstd = cache
    w, _ = _params(x, weight, bias)
    x2, d2 = _rows(x), _rows(dout.astype(x.dtype, copy=False))
    n, c = x2.shape
    dx = np.empty_like(x2)
    dw = np.zeros(c, dtype=x.dtype)
    db = np.zeros(c, dtype=x.dtype)
    _norm_bwd(x2, w, d2, mean.reshape(-1), rstd.reshape(-1), True, dx, dw, db)
    dweight = None if weight is None else dw
    dbias = None if bias is None else db
    return dx.reshape(x.shape), dweight, dbias


# ------------------------------------------------------------------------------------- RMSNorm

def rms_norm_forward_reference(x, weight, eps=1e-6):
    """RMSNorm over the last axis: y = x / sqrt(mean(x^2) + eps) * weight.

    x: (..., C); weight: (C,) or None. Returns (out, cache), cache = (x, weight, rstd) with rstd of
    shape x.shape[:-1].
    """
    w, _ = _params(x, weight, None)
    rstd = 1.0 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)   # (..., 1)
    out = x * rstd * w                                                 # (..., C)
    return out.astype(x.dtype, copy=False), (x, weight, rstd[..., 0].astype(x.dtype))


def rms_norm_backward_reference(dout, cache):
    """Gradients of RMSNorm. dout: (..., C). Returns (dx, dweight); dweight is None when weight
    was None."""
    x, weight, rstd = cache
    w, _ = _params(x, weight, None)
    rstd = rstd[..., None]                                             # (..., 1)
    g = dout * w                                                       # (..., C)
    dx = rstd * (g - x * rstd * rstd * (g * x).mean(axis=-1, keepdims=True))
    rows = tuple(range(x.ndim - 1))
    dweight = None if weight is None else (dout * x * rstd).sum(axis=rows)
    return dx.astype(x.dtype, copy=False), dweight


@njit(cache=True, fastmath=FASTMATH)
def _rms_norm_fwd(x, w, eps, out, rstd):
    n, c = x.shape
    one = x.dtype.type(1.0)                                    # arithmetic in x's dtype
    inv_c, eps = one / x.dtype.type(c), x.dtype.type(eps)
    for i in range(n):
        ss = x.dtype.type(0.0)
        for j in range(c):
            ss += x[i, j] * x[i, j]
        r = one / np.sqrt(ss * inv_c + eps)
        for j in range(c):
            out[i, j] = x[i, j] * r * w[j]
        rstd[i] = r


def rms_norm_forward_numba(x, weight, eps=1e-6):
    """RMSNorm over the last axis: y = x / sqrt(mean(x^2) + eps) * weight.

    x: (..., C); weight: (C,) or None. Returns (out, cache), cache = (x, weight, rstd) with rstd of
    shape x.shape[:-1].
    """
    w, _ = _params(x, weight, None)
    x2 = _rows(x)
    out = np.empty_like(x2)
    rstd = np.empty(x2.shape[0], dtype=x.dtype)
    _rms_norm_fwd(x2, w, float(eps), out, rstd)
    return out.reshape(x.shape), (x, weight, rstd.reshape(x.shape[:-1]))


def rms_norm_backward_numba(dout, cache):
    """Gradients of RMSNorm. dout: (..., C). Returns (dx, dweight); dweight is None when weight
    was None."""
    x, weight, rstd = cache
    w, _ = _params(x, weight, None)
    x2, d2 = _rows(x), _rows(dout.astype(x.dtype, copy=False))
    n, c = x2.shape
    dx = np.empty_like(x2)
    dw = np.zeros(c, dtype=x.dtype)
    db = np.zeros(c, dtype=x.dtype)                            # unused for RMSNorm
    # With centred=False, xhat = x * rstd and dx = rstd * (g - xhat * mean(g * xhat)), which is
    # the RMSNorm formula above written with xhat.
    _norm_bwd(x2, w, d2, rstd.reshape(-1), rstd.reshape(-1), False, dx, dw, db)
    dweight = None if weight is None else dw
    return dx.reshape(x.shape), dweight
