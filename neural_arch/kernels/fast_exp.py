"""exp for float32 rows, written so that LLVM turns the loop into SIMD code.

Numba calls the C library's scalar ``expf`` once per element (pip's llvmlite is built without
Intel's SVML vector maths), so a softmax or GELU written with ``math.exp`` runs one element at
a time. This file computes exp with only multiplies, adds, a rounding and an integer shift,
which the compiler vectorises (8 float32 lanes with AVX2):

    x = k ln2 + r,  k = round(x / ln2),  |r| <= ln2 / 2
    exp(x) = 2^k * exp(r)
    exp(r) ~ sum_{n=0..7} r^n / n!        (Taylor; the first dropped term r^8/8! < 4e-9)
    2^k     = the float32 whose exponent bits are k + 127 (bit pattern (k + 127) << 23)

ln2 is split into a high part with few mantissa bits and a small low part (Cody and Waite), so
``x - k * ln2_hi`` is exact and r keeps float32's precision. Inputs below -87 give exactly 0
(exp(-87) is already near float32's smallest normal number); inputs are capped at 88
(exp(88.7) overflows float32). Relative error against np.exp: a few ulp (tested).

The NumPy reference is ``np.exp``. The Numba kernels that need exp on float32 call
``exp_inplace``; float64 inputs go to the NumPy references, so every float64 result stays exact.
"""

import numpy as np

from neural_arch.kernels._jit import FASTMATH, njit

LOG2E = 1.4426950408889634
LN2_HI = 0.693359375          # 0x3F318000: 9 significant bits, so k * LN2_HI is exact
LN2_LO = -2.12194440e-4       # ln2 - LN2_HI
EXP_MIN = -87.0               # below this exp(x) is returned as 0
EXP_MAX = 88.0


def exp_reference(x):
    """exp(x) elementwise (float32 in, float32 out): what ``exp_inplace`` must match."""
    return np.exp(x)


@njit(cache=True, fastmath=FASTMATH)
def exp_inplace(x, bits):
    """x[i] <- exp(x[i]) for 1-D float32 x; ``bits`` is int32 scratch with len(bits) >= len(x).

    Two loops, each vectorised: the polynomial and the exponent bits of 2^k, then one multiply
    by 2^k (the bits read back as float32). In place on purpose: with a separate output that
    might overlap x, LLVM's run-time overlap check sends an aliased call down its scalar path
    (measured: 6x slower).
    """
    n = x.shape[0]
    one = np.float32(1.0)
    for i in range(n):
        v = min(max(x[i], np.float32(EXP_MIN)), np.float32(EXP_MAX))
        k = np.floor(v * np.float32(LOG2E) + np.float32(0.5))
        r = (v - k * np.float32(LN2_HI)) - k * np.float32(LN2_LO)
        p = np.float32(1.0 / 5040.0) + r * np.float32(1.0 / 40320.0)       # Horner, degree 7
        p = np.float32(1.0 / 720.0) + r * p
        p = np.float32(1.0 / 120.0) + r * p
        p = np.float32(1.0 / 24.0) + r * p
        p = np.float32(1.0 / 6.0) + r * p
        p = np.float32(0.5) + r * p
        p = one + r * p
        p = one + r * p
        bits[i] = (np.int32(k) + np.int32(127)) << np.int32(23)
        x[i] = p if x[i] >= np.float32(EXP_MIN) else np.float32(0.0)
    scale = bits[:n].view(np.float32)                               # 2^k
    for i in range(n):
        x[i] *= scale[i]


@njit(cache=True, fastmath=FASTMATH)
def row_max(x, n):
    """max(x[:n]) for float32 x, n >= 1: the softmax's stabiliser.

    One running maximum is a chain of dependent compares, one element per cycle or worse (the
    compiler will not reorder a max reduction); eight independent running maxima over strides of
    eight fill the SIMD lanes instead. Measured on 65,536 float32: 36 us one chain, 9 us eight.
    """
    n8 = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = x[0]
    for j in range(0, n8, 8):
        m0 = max(m0, x[j])
        m1 = max(m1, x[j + 1])
        m2 = max(m2, x[j + 2])
        m3 = max(m3, x[j + 3])
        m4 = max(m4, x[j + 4])
        m5 = max(m5, x[j + 5])
        m6 = max(m6, x[j + 6])
        m7 = max(m7, x[j + 7])
    m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    for j in range(n8, n):
        m = max(m, x[j])
    return m
