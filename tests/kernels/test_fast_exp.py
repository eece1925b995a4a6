"""The vectorised float32 exp against np.exp in float64: every range, the clamps, the zeros."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from neural_arch.kernels.fast_exp import EXP_MAX, EXP_MIN, exp_inplace, row_max

FLOATS = st.floats(-120.0, EXP_MAX, width=32, allow_nan=False)


def fast_exp(x):
    out = np.array(x, dtype=np.float32, copy=True)
    exp_inplace(out, np.empty(out.size, dtype=np.int32))
    return out


@given(x=hnp.arrays(np.float32, st.integers(1, 300), elements=FLOATS))
@settings(deadline=None)
def test_matches_float64_exp_to_a_few_ulp(x):
    got = fast_exp(x)
    want = np.exp(x.astype(np.float64))
    normal = (x >= EXP_MIN) & (want > np.finfo(np.float32).tiny)
    rel = np.abs(got[normal] - want[normal]) / want[normal]
    assert (rel <= 4 * np.finfo(np.float32).eps).all(), rel.max()
    assert (got[x < EXP_MIN] == 0.0).all()                  # far below: exactly 0, no subnormals


def test_edges_and_masks():
    x = np.array([-np.inf, -1e30, -100.0, EXP_MIN, 0.0, 1.0, EXP_MAX], dtype=np.float32)
    got = fast_exp(x)
    assert got[0] == 0 and got[1] == 0 and got[2] == 0 and got[4] == 1.0
    np.testing.assert_allclose(got[3:], np.exp(x[3:].astype(np.float64)), rtol=3e-7)
    assert np.isfinite(got).all()


LARGE = float(np.float32(1e30))     # bounds must be float32 values themselves


@given(x=hnp.arrays(np.float32, st.integers(1, 80),
                    elements=st.floats(-LARGE, LARGE, width=32, allow_nan=False)),
       data=st.data())
@settings(deadline=None)
def test_row_max_is_the_max_of_the_prefix(x, data):
    """Eight running maxima and a tail: every length, including under eight and not a multiple."""
    n = data.draw(st.integers(1, x.size))
    assert row_max(x, n) == x[:n].max()
