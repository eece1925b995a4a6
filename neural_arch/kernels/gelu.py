"""GELU activation, exact (erf) and tanh-approximated: NumPy references and Numba kernels.

Exact ("none"), with Phi the standard normal CDF and phi its density:

    y  = x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
    dy/dx = Phi(x) + x phi(x),          phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

Tanh approximation ("tanh", the GPT-2 form):

    u  = sqrt(2/pi) (x + 0.044715 x^3),  t = tanh(u)
    y  = 0.5 x (1 + t)
    dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)

The cache holds only the input x (backward recomputes t or erf: cheaper than storing them).
NumPy has no erf, so the exact reference uses scipy.special.erf when SciPy is installed and
math.erf element by element otherwise (correct, slow).

The tanh form's Numba kernel (float32) is one loop per direction around fast_tanh.py's rational
tanh, which the compiler vectorises: Numba without Intel's SVML calls the scalar libm tanh per
element, and NumPy's tanh is no faster. Measured on this 2-core machine, one thread, float32
(256, 512), forward + backward: the earlier kernel, which went through sigmoid(2u) =
1 / (1 + exp(-2u)) and fast_exp.py's two-loop exp, 75 + 86 us; this one 57 + 62 us (at
(2048, 1536): 2.3 + 4.2 ms before, 1.4 + 1.7 ms now). Other dtypes take the reference (exact in
float64). The exact form in float32 computes erf with Abramowitz and Stegun's 7.1.26 on
fast_exp.py's exp (|error| <= 1.5e-7): 0.38 + 0.42 ms at (520, 768), where Numba's scalar
math.erf took 3.9 + 6.6 ms; in float64 it keeps math.erf, exact. Its loops run over slices
(``xs = x[start:start + CHUNK]``, then ``xs[i]``): an index like x[start + i] may be negative
to Numba, and its wraparound check kept the loops scalar, 3x slower.
"""

import math

import numpy as np

from neural_arch.kernels import batch_threads
from neural_arch.kernels._jit import FASTMATH, blas_threads, njit
from neural_arch.kernels.fast_exp import exp_inplace
from neural_arch.kernels.fast_tanh import tanh_f32

try:
    from scipy.special import erf as _erf
except ImportError:
    _erf = np.frompyfunc(math.erf, 1, 1)

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TANH_COEF = 0.044715

_MODES = ("none", "tanh")


def _check_mode(approximate):
    if approximate not in _MODES:
        raise ValueError(f"approximate must be one of {_MODES}, got {approximate!r}")


def _tanh_of_u(x):
    """t = tanh(sqrt(2/pi) (x + 0.044715 x^3)) with one temporary (x*x, not x**3: pow is slow)."""
    u = np.asarray(x * x)  # (a 0-d x gives a NumPy scalar; tanh needs an array out)
    u *= TANH_COEF
    u += 1.0
    u *= x
    u *= SQRT_2_OVER_PI
    return np.tanh(u, out=u)


def gelu_forward_reference(x, approximate="none"):
    """GELU of x (any shape). approximate: "none" (erf form) or "tanh".

    Returns (out, cache) with out of x's shape and dtype, cache = (x, approximate).
    """
    _check_mode(approximate)
    if approximate == "tanh":
        out = _tanh_of_u(x)      # t = tanh(u), in a fresh array
        out += 1.0
        out *= x
        out *= 0.5               # 0.5 x (1 + t)
    else:
        out = 0.5 * x * (1.0 + _erf(x * INV_SQRT_2).astype(x.dtype))
    return out.astype(x.dtype, copy=False), (x, approximate)


def gelu_backward_reference(dout, cache):
    """Gradient of GELU. dout: x's shape. Returns dx."""
    x, approximate = cache
    if approximate == "tanh":
        t = _tanh_of_u(x)
        du = np.asarray(x * x)
        du *= 3.0 * TANH_COEF
        du += 1.0
        du *= SQRT_2_OVER_PI                                           # du/dx
        dydx = 1.0 - t * t
        dydx *= x
        dydx *= du
        t += 1.0
        dydx += t
        dydx *= 0.5                    # 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx
    else:
        cdf = 0.5 * (1.0 + _erf(x * INV_SQRT_2).astype(x.dtype))        # Phi(x)
        pdf = INV_SQRT_2PI * np.exp(-0.5 * x * x)                       # phi(x)
        dydx = cdf + x * pdf
    return (dout * dydx).astype(x.dtype, copy=False)


CHUNK = 2048   # elements per pass of the float32 erf kernels: the scratch stays in L1


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def _gelu_tanh_fwd_f32(x, out):
    """out = 0.5 x (1 + tanh(u)) for 1-D float32 x: one loop, vectorised (tanh is rational)."""
    c = np.float32(SQRT_2_OVER_PI)
    coef = np.float32(TANH_COEF)
    for i in range(x.shape[0]):
        v = x[i]
        t = tanh_f32(c * (v + coef * v * v * v))
        out[i] = np.float32(0.5) * v * (np.float32(1.0) + t)


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def _gelu_tanh_bwd_f32(x, dout, dx):
    """dx = dout * 0.5 ((1 + t) + x (1 - t^2) du/dx), t = tanh(u), du/dx = c (1 + 3a x^2)."""
    c = np.float32(SQRT_2_OVER_PI)
    coef = np.float32(TANH_COEF)
    one = np.float32(1.0)
    for i in range(x.shape[0]):
        v = x[i]
        t = tanh_f32(c * (v + coef * v * v * v))
        du = c * (one + np.float32(3.0) * coef * v * v)
        dx[i] = dout[i] * np.float32(0.5) * ((one + t) + v * (one - t * t) * du)


# erf(z) for z >= 0 as 1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-z^2), t = 1 / (1 + p z):
# Abramowitz and Stegun, Handbook of Mathematical Functions (1964), 7.1.26, |error| <= 1.5e-7,
# near float32's own rounding of Phi. exp(-z^2) = exp(-x^2 / 2) is also phi's exponential.
AS_P = 0.3275911
AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


@njit(cache=True, fastmath=FASTMATH)
def _phi_terms_f32(xs, e, cdf, bits):
    """For float32 slices: e <- exp(-x^2 / 2) (phi without its 1/sqrt(2 pi)), cdf <- Phi(x)."""
    for i in range(xs.shape[0]):
        e[i] = np.float32(-0.5) * xs[i] * xs[i]
    exp_inplace(e, bits)
    for i in range(xs.shape[0]):
        z = abs(xs[i]) * np.float32(INV_SQRT_2)
        t = np.float32(1.0) / (np.float32(1.0) + np.float32(AS_P) * z)
        poly = np.float32(AS_A[3]) + t * np.float32(AS_A[4])
        poly = np.float32(AS_A[2]) + t * poly
        poly = np.float32(AS_A[1]) + t * poly
        poly = np.float32(AS_A[0]) + t * poly
        erf_abs = np.float32(1.0) - t * poly * e[i]                    # erf(|x| / sqrt 2)
        erf = erf_abs if xs[i] >= np.float32(0.0) else -erf_abs
        cdf[i] = np.float32(0.5) * (np.float32(1.0) + erf)


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def _gelu_erf_fwd_f32(x, out):
    """out = x Phi(x) for 1-D float32 x, with the vectorised erf above."""
    bits = np.empty(CHUNK, dtype=np.int32)
    e = np.empty(CHUNK, dtype=np.float32)
    for start in range(0, x.shape[0], CHUNK):
        xs = x[start:start + CHUNK]
        cdf = out[start:start + CHUNK]
        _phi_terms_f32(xs, e[:xs.shape[0]], cdf, bits)
        for i in range(xs.shape[0]):
            cdf[i] *= xs[i]


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def _gelu_erf_bwd_f32(x, dout, dx):
    """dx = dout (Phi(x) + x phi(x)) for 1-D float32 x."""
    bits = np.empty(CHUNK, dtype=np.int32)
    e = np.empty(CHUNK, dtype=np.float32)
    for start in range(0, x.shape[0], CHUNK):
        xs = x[start:start + CHUNK]
        ds = dout[start:start + CHUNK]
        out = dx[start:start + CHUNK]                              # Phi(x), then dx
        es = e[:xs.shape[0]]
        _phi_terms_f32(xs, es, out, bits)
        for i in range(xs.shape[0]):
            out[i] = ds[i] * (out[i] + xs[i] * np.float32(INV_SQRT_2PI) * es[i])


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def _gelu_erf_fwd(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = 0.5 * v * (1.0 + math.erf(v * INV_SQRT_2))


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def _gelu_erf_bwd(x, dout, dx):
    for i in range(x.size):
        v = x[i]
        cdf = 0.5 * (1.0 + math.erf(v * INV_SQRT_2))
        pdf = INV_SQRT_2PI * math.exp(-0.5 * v * v)
        dx[i] = dout[i] * (cdf + v * pdf)


# At or above this many elements, and more than one thread: the array in parts on threads.
# Measured at two threads: (1024, 1024) erf form 0.63 + 1.02 -> 0.51 + 0.57 ms (fwd + bwd);
# (768, 512) tanh form 0.19 + 0.20 -> 0.28 + 0.29 ms, the hand-over costing more than it saved.
PARALLEL_ELEMENTS = 2**20


def _elementwise(kernel, *flats):
    """kernel(*flats) on 1-D arrays of one length, cut into one part per thread when the array
    is large (batch_threads.py; the kernels release the GIL). Each element is computed exactly
    as in one piece."""
    threads = blas_threads()
    size = flats[0].shape[0]
    if threads == 1 or size < PARALLEL_ELEMENTS:
        kernel(*flats)
        return
    batch_threads.run(lambda part: kernel(*(a[part] for a in flats)),
                      batch_threads.ranges(size, threads))


def gelu_forward_numba(x, approximate="none"):
    """GELU of x (any shape). approximate: "none" (erf form) or "tanh".

    Returns (out, cache) with out of x's shape and dtype, cache = (x, approximate). The tanh
    form runs compiled for float32 only; other dtypes take the NumPy reference.
    """
    _check_mode(approximate)
    if approximate == "tanh" and x.dtype != np.float32:
        return gelu_forward_reference(x, approximate)
    flat = np.ascontiguousarray(x).reshape(-1)                 # one pass over all elements
    out = np.empty_like(flat)
    if approximate == "tanh":
        _elementwise(_gelu_tanh_fwd_f32, flat, out)
    elif x.dtype == np.float32:
        _elementwise(_gelu_erf_fwd_f32, flat, out)
    else:
        _elementwise(_gelu_erf_fwd, flat, out)
    return out.reshape(x.shape), (x, approximate)


def gelu_backward_numba(dout, cache):
    """Gradient of GELU. dout: x's shape. Returns dx."""
    x, approximate = cache
    if approximate == "tanh" and x.dtype != np.float32:
        return gelu_backward_reference(dout, cache)
    flat = np.ascontiguousarray(x).reshape(-1)
    d = np.ascontiguousarray(dout, dtype=x.dtype).reshape(-1)
    dx = np.empty_like(flat)
    if approximate == "tanh":
        _elementwise(_gelu_tanh_bwd_f32, flat, d, dx)
    elif x.dtype == np.float32:
        _elementwise(_gelu_erf_bwd_f32, flat, d, dx)
    else:
        _elementwise(_gelu_erf_bwd, flat, d, dx)
    return dx.reshape(x.shape)
