"""Fused cross-entropy kernels: Numba vs reference, finite differences, ignore_index, stability."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neural_arch.kernels.cross_entropy import (
    cross_entropy_backward_numba,
    cross_entropy_backward_reference,
    cross_entropy_forward_numba,
    cross_entropy_forward_reference,
)

from ._fd import assert_grads_match

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
PAIRS = [(cross_entropy_forward_reference, cross_entropy_backward_reference),
         (cross_entropy_forward_numba, cross_entropy_backward_numba)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,v", [(1, 1), (1, 5), (7, 3), (33, 101), (64, 1000)])
def test_numba_matches_reference(rng, n, v, dtype):
    logits = (rng.standard_normal((n, v)) * 3).astype(dtype)
    targets = rng.integers(0, v, n)
    targets[::3] = -100                                   # some ignored rows
    l_r, c_r = cross_entropy_forward_reference(logits, targets)
    l_n, c_n = cross_entropy_forward_numba(logits, targets)
    assert l_n.dtype == dtype and l_r.dtype == dtype
    np.testing.assert_allclose(l_n, l_r, **TOL[dtype])
    dl = rng.standard_normal(n).astype(dtype)
    d_r, d_n = cross_entropy_backward_reference(dl, c_r), cross_entropy_backward_numba(dl, c_n)
    assert d_n.dtype == dtype
    np.testing.assert_allclose(d_n, d_r, **TOL[dtype])


@given(n=st.integers(1, 20), v=st.integers(1, 50), seed=st.integers(0, 2**16),
       ignore=st.sampled_from([-100, 0]))
@settings()
def test_random_shapes(n, v, seed, ignore):
    rng = np.random.default_rng(seed)
    logits, targets = rng.standard_normal((n, v)) * 5, rng.integers(0, v, n)
    l_r, c_r = cross_entropy_forward_reference(logits, targets, ignore)
    l_n, c_n = cross_entropy_forward_numba(logits, targets, ignore)
    np.testing.assert_allclose(l_n, l_r, **TOL[np.float64])
    dl = rng.standard_normal(n)
    np.testing.assert_allclose(cross_entropy_backward_numba(dl, c_n),
                               cross_entropy_backward_reference(dl, c_r), **TOL[np.float64])


def test_reference_backward_finite_differences(rng):
    logits, targets = rng.standard_normal((5, 4)), np.array([0, 3, -100, 1, 2])
    dl = rng.standard_normal(5)
    _, cache = cross_entropy_forward_reference(logits, targets)

    def f(logits):
        return cross_entropy_forward_reference(logits, targets)[0]

    assert_grads_match(f, [logits], dl, [cross_entropy_backward_reference(dl, cache)], [0])


@pytest.mark.parametrize("forward,backward", PAIRS)
def test_matches_plain_log_softmax_and_ignores_rows(rng, forward, backward):
    logits, targets = rng.standard_normal((4, 6)), np.array([5, -100, 0, 2])
    losses, cache = forward(logits, targets)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = [-logp[0, 5], 0.0, -logp[2, 0], -logp[3, 2]]
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    grad = backward(np.ones(4), cache)
    assert np.all(grad[1] == 0)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-12)   # softmax - onehot sums to 0


@pytest.mark.parametrize("forward,backward", PAIRS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite(forward, backward, dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    losses, cache = forward(logits, np.array([1, 2]))
    grad = backward(np.ones(2, dtype=dtype), cache)
    assert np.isfinite(losses).all() and np.isfinite(grad).all()
    # float32 spacing near 1e4 is 1e-3, so lse - logit carries that much absolute error
    np.testing.assert_allclose(losses, [2e4, np.log(3)], rtol=1e-6, atol=2e-3)


@pytest.mark.parametrize("forward", [cross_entropy_forward_reference, cross_entropy_forward_numba])
def test_bad_targets_raise(forward):
    with pytest.raises(ValueError, match="targets"):
        forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="targets"):
        forward(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="2-D"):
        forward(np.zeros(3), np.array([0]))
