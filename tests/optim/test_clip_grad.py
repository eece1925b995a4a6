"""clip_grad_norm_: global L2 norm, scaled in place only when over the limit."""

import math

import numpy as np
import pytest

from neural_arch.nn.module import Parameter
from neural_arch.optim import clip_grad_norm_


def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = Parameter(np.zeros(np.shape(g), dtype=np.asarray(g).dtype))
        p.grad = np.array(g)
        params.append(p)
    return params


def _global_norm(params):
    return math.sqrt(sum(float(np.sum(p.grad.astype(np.float64) ** 2)) for p in params))


def test_clips_to_max_norm_and_returns_the_norm_before():
    # ||(3, 0, 0, 4)|| = 5; every gradient is scaled by 1 / (5 + 1e-6).
    params = _params_with_grads([3.0, 0.0], [[0.0, 4.0]])
    total = clip_grad_norm_(params, max_norm=1.0)
    assert isinstance(total, float) and total == 5.0
    np.testing.assert_allclose(params[0].grad, [3.0 / (5.0 + 1e-6), 0.0], rtol=1e-15)
    np.testing.assert_allclose(params[1].grad, [[0.0, 4.0 / (5.0 + 1e-6)]], rtol=1e-15)
    assert _global_norm(params) == pytest.approx(1.0, rel=1e-6)


def test_no_op_under_the_limit():
    params = _params_with_grads([3.0, 0.0], [[0.0, 4.0]])
    held = [p.grad for p in params]
    assert clip_grad_norm_(params, max_norm=10.0) == 5.0
    for p, g, expected in zip(params, held, ([3.0, 0.0], [[0.0, 4.0]])):
        assert p.grad is g
        np.testing.assert_array_equal(g, expected)


def test_float32_grads_stay_float32_and_none_grads_are_ignored():
    params = _params_with_grads(np.full(4, 2.0, np.float32))  # norm 4
    skipped = Parameter(np.ones(3))
    total = clip_grad_norm_(params + [skipped], max_norm=2.0)
    assert total == 4.0 and skipped.grad is None
    assert params[0].grad.dtype == np.float32
    np.testing.assert_allclose(params[0].grad, np.full(4, 1.0), rtol=1e-6)


def test_single_tensor_and_no_grads():
    (p,) = _params_with_grads([0.0, 6.0, 8.0])
    assert clip_grad_norm_(p, 5.0) == 10.0
    np.testing.assert_allclose(p.grad, [0.0, 3.0, 4.0], rtol=1e-6)
    assert clip_grad_norm_([Parameter(np.ones(2))], 1.0) == 0.0


def test_non_finite_norm():
    params = _params_with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(params, 1.0))
    nan_params = _params_with_grads([np.nan, 1.0])
    assert math.isnan(clip_grad_norm_(nan_params, 1.0))
    assert np.isnan(nan_params[0].grad).all()
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(params, -1.0)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (5,), ()]]
    params = _params_with_grads(*grads)
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tparams, grads):
        tp.grad = torch.tensor(g)
    for max_norm in (0.5, 100.0):
        total = clip_grad_norm_(params, max_norm)
        ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm)
        assert total == pytest.approx(float(ttotal), rel=1e-12)
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
