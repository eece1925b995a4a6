"""The fused Linear op y = x Wᵀ + b against plain NumPy, with gradcheck over leading shapes."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from neural_arch import functional as F
from neural_arch.core import Tensor
from ._check import check_op


@given(lead=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
       n_in=st.integers(1, 4), n_out=st.integers(1, 4), with_bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_linear_matches_numpy_and_gradcheck(lead, n_in, n_out, with_bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + (n_in,))
    w = rng.standard_normal((n_out, n_in))
    if with_bias:
        b = rng.standard_normal(n_out)
        check_op(lambda x, w, b: F.linear(x, w, b), lambda x, w, b: x @ w.T + b, x, w, b)
    else:
        check_op(lambda x, w: F.linear(x, w), lambda x, w: x @ w.T, x, w)


def test_linear_rejects_a_wrong_bias_and_wrong_features():
    x, w = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"bias has shape \(3,\), expected \(4,\)"):
        F.linear(x, w, Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="input has 2 features"):
        F.linear(Tensor(np.ones((2, 2))), w)
