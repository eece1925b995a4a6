"""The rational float32 tanh against np.tanh in float64: accuracy, range, tails, and its fit."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from neural_arch.kernels import fast_tanh
from neural_arch.kernels.fast_tanh import C, fit_tanh_coefficients, tanh_inplace, tanh_reference

EPS32 = float(np.finfo(np.float32).eps)
LARGE = float(np.float32(1e30))     # hypothesis bounds must be float32 values themselves


def fast(x):
    out = np.array(x, dtype=np.float32, copy=True)
    tanh_inplace(out)
    return out


def test_dense_grid_within_six_ulp():
    """Every float32 step of 1.2e-5 over [-12, 12]: the docstring's error bound."""
    x = np.linspace(-12.0, 12.0, 2_000_001).astype(np.float32)
    want = tanh_reference(x.astype(np.float64))
    err = np.abs(fast(x).astype(np.float64) - want)
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    assert (err <= 6 * ulp).all(), (err / ulp).max()
    assert err.max() <= 3.5e-7


@given(x=hnp.arrays(np.float32, st.integers(1, 300),
                    elements=st.floats(-LARGE, LARGE, width=32, allow_nan=False)))
@settings(deadline=None)
def test_any_value_is_close_and_in_range(x):
    got = fast(x)
    want = tanh_reference(x.astype(np.float64))
    assert (np.abs(got) <= 1.0).all()
    np.testing.assert_allclose(got, want, rtol=6 * EPS32, atol=3.5e-7)


def test_tails_and_signs_are_exact():
    x = np.array([-np.inf, -1e30, -C, -9.5, 0.0, -0.0, 9.5, C, 1e30, np.inf], dtype=np.float32)
    got = fast(x)
    np.testing.assert_array_equal(got[[0, 1, 2, 3]], -1.0)
    np.testing.assert_array_equal(got[[6, 7, 8, 9]], 1.0)
    assert got[4] == 0.0 and not np.signbit(got[4])
    assert got[5] == 0.0 and np.signbit(got[5])                  # -0 keeps its sign
    y = np.linspace(0.0, 12.0, 1001).astype(np.float32)
    np.testing.assert_array_equal(fast(-y), -fast(y))            # odd, as tanh is


def test_tiny_inputs_keep_relative_precision():
    x = np.array([1e-45, 1e-40, 1e-30, 1e-10, 1e-4], dtype=np.float32)    # subnormals first
    np.testing.assert_allclose(fast(x), tanh_reference(x.astype(np.float64)), rtol=2 * EPS32)


def test_coefficients_come_from_the_documented_fit():
    """The constants are what ``fit_tanh_coefficients`` gives (up to the last digits of the
    least-squares solve on another machine): nobody tuned them by hand."""
    p, q = fit_tanh_coefficients()
    np.testing.assert_allclose(p, fast_tanh.P, rtol=1e-8)
    np.testing.assert_allclose(q, fast_tanh.Q, rtol=1e-8)
