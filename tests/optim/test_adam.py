"""Adam and AdamW against hand-computed updates, each other, and torch.optim."""

import numpy as np
import pytest

from neural_arch import kernels
from neural_arch.nn.module import Parameter
from neural_arch.optim import Adam, AdamW
from ._helpers import (grads_at, make_params, set_grads, set_torch_grads,
                                  torch_params, two_groups)

P0 = [1.0, -2.0]
G1 = [0.5, -0.25]
G2 = [0.1, 0.3]


def _adam_by_hand(p, grads, lr, beta1, beta2, eps, weight_decay, decoupled):
    """Adam / AdamW written out one formula per line, on plain numpy arrays."""
    p = np.array(p)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = np.array(g)
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def _run(opt, p, grads):
    for g in grads:
        p.grad = np.array(g)
        opt.step()
    return p.data


def test_adam_first_step_is_lr_times_sign():
    # t = 1: m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps).
    p = Parameter(np.array(P0))
    _run(Adam([p], lr=0.1), p, [G1])
    expected = [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 0.25 / (0.25 + 1e-8)]
    np.testing.assert_allclose(p.data, expected, rtol=1e-15)
    np.testing.assert_allclose(p.data, [0.9, -1.9], rtol=1e-7)


def test_adam_second_step_uses_bias_correction():
    # First coordinate by hand: m = 0.9*0.05 + 0.1*0.1 = 0.055, v = 0.999*0.00025 + 0.001*0.01
    # = 0.00025975, bias corrections 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999.
    p = Parameter(np.array(P0))
    _run(Adam([p], lr=0.1), p, [G1, G2])
    after_step_1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8)
    first = after_step_1 - 0.1 * (0.055 / 0.19) / (np.sqrt(0.00025975 / 0.001999) + 1e-8)
    assert abs(p.data[0] - first) < 1e-12
    expected = _adam_by_hand(P0, [G1, G2], 0.1, 0.9, 0.999, 1e-8, 0.0, decoupled=False)
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)


def test_adam_weight_decay_is_l2_on_the_gradient():
    p = Parameter(np.array(P0))
    _run(Adam([p], lr=0.1, weight_decay=0.5), p, [G1, G2])
    expected = _adam_by_hand(P0, [G1, G2], 0.1, 0.9, 0.999, 1e-8, 0.5, decoupled=False)
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)
    # Step 1 by hand: g' = g + 0.5 p = [1.0, -1.25], so again p - lr * sign(g').
    q = Parameter(np.array(P0))
    _run(Adam([q], lr=0.1, weight_decay=0.5), q, [G1])
    np.testing.assert_allclose(q.data, [0.9, -1.9], rtol=1e-7)


@pytest.mark.parametrize("fused", [False, True])
def test_adamw_first_steps_decouple_the_decay(fused):
    # Step 1 by hand: p * (1 - 0.1 * 0.5) = [0.95, -1.9], then -0.1 * sign(g) = [0.85, -1.8].
    p = Parameter(np.array(P0))
    opt = AdamW([p], lr=0.1, weight_decay=0.5, fused=fused)
    _run(opt, p, [G1])
    np.testing.assert_allclose(p.data, [0.85, -1.8], rtol=1e-7)
    _run(opt, p, [G2])
    expected = _adam_by_hand(P0, [G1, G2], 0.1, 0.9, 0.999, 1e-8, 0.5, decoupled=True)
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)


@pytest.mark.parametrize("fused", [False, True])
def test_adamw_groups_decay_only_where_asked(fused):
    # With zero gradients m = v = 0, so the only change is the decay factor 1 - lr * wd.
    w = Parameter(np.array([[2.0, -4.0]]))
    b = Parameter(np.array([3.0]))
    opt = AdamW([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], lr=0.1,
                weight_decay=0.2, fused=fused)
    w.grad, b.grad = np.zeros((1, 2)), np.zeros(1)
    opt.step()
    np.testing.assert_allclose(w.data, [[2.0 * 0.98, -4.0 * 0.98]], rtol=1e-15)
    np.testing.assert_array_equal(b.data, [3.0])


# Each float32 step rounds p once, and the two paths round in different places, so after n
# steps they may differ by about n units in the last place (ulp = 6e-8 relative): 1e-6 relative
# for one step, 2e-6 after 20.
@pytest.mark.parametrize("backend", kernels.BACKENDS)
@pytest.mark.parametrize("steps, tol", [(1, 1e-6), (20, 2e-6)])
def test_fused_equals_unfused_in_float32(backend, steps, tol):
    with kernels.use_backend(backend):
        a, b = make_params(np.float32), make_params(np.float32)
        opt_a = AdamW(two_groups(a, weight_decay=0.0), lr=1e-2, fused=True)
        opt_b = AdamW(two_groups(b, weight_decay=0.0), lr=1e-2, fused=False)
        for step in range(steps):
            grads = grads_at(step, a)
            set_grads(a, grads)
            set_grads(b, grads)
            opt_a.step()
            opt_b.step()
    for pa, pb in zip(a, b):
        assert pa.dtype == pb.dtype == np.float32
        np.testing.assert_allclose(pa.data, pb.data, rtol=tol, atol=tol)
        np.testing.assert_allclose(opt_a.state[id(pa)]["exp_avg"], opt_b.state[id(pb)]["exp_avg"],
                                   rtol=tol, atol=1e-7)


@pytest.mark.parametrize("backend", kernels.BACKENDS)
def test_fused_with_parameters_at_different_step_counts(backend):
    """A parameter without a gradient is skipped and falls behind in steps; the fused step then
    batches the group by step count. Each parameter must follow its own bias corrections, as
    the one-at-a-time NumPy update does."""
    with kernels.use_backend(backend):
        a, b = make_params(np.float64), make_params(np.float64)
        opt_a, opt_b = AdamW(a, lr=1e-2, fused=True), AdamW(b, lr=1e-2, fused=False)
        for step in range(5):
            grads = grads_at(step, a)
            for params in (a, b):
                set_grads(params, grads)
                if step % 2 == 0:              # the first parameter misses every other step
                    params[0].grad = None
            opt_a.step()
            opt_b.step()
    assert opt_a.state[id(a[0])]["step"] == 2 and opt_a.state[id(a[1])]["step"] == 5
    for pa, pb in zip(a, b):
        np.testing.assert_allclose(pa.data, pb.data, rtol=1e-12, atol=1e-14)


def test_non_contiguous_parameter_takes_the_numpy_path():
    data = np.arange(12.0).reshape(3, 4).T  # a transposed view: not C-contiguous
    p, q = Parameter(data.copy(order="F")), Parameter(np.ascontiguousarray(data))
    assert not p.data.flags.c_contiguous
    opt_p, opt_q = AdamW([p], lr=0.1), AdamW([q], lr=0.1, fused=False)
    for g in (np.ones((4, 3)), np.full((4, 3), -0.5)):
        p.grad, q.grad = g, g
        opt_p.step()
        opt_q.step()
    np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_gradients_are_never_modified(cls):
    params = make_params(np.float32)
    opt = cls(params, lr=0.1, weight_decay=0.3)
    grads = grads_at(0, params)
    set_grads(params, grads)
    held = [p.grad for p in params]
    opt.step()
    opt.step()
    for p, g, h in zip(params, grads, held):
        assert p.grad is h
        np.testing.assert_array_equal(p.grad, g)


def _compare_with_torch(make_ours, make_theirs, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    params = make_params(dtype)
    tparams = torch_params(params)
    opt = make_ours(two_groups(params, weight_decay=0.0, lr=5e-3))
    topt = make_theirs(torch, two_groups(tparams, weight_decay=0.0, lr=5e-3))
    for step in range(20):
        grads = grads_at(step, params)
        set_grads(params, grads)
        set_torch_grads(tparams, grads)
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=rtol, atol=atol)


HYPER = dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1)


def test_adam_matches_torch_float64():
    _compare_with_torch(lambda g: Adam(g, **HYPER),
                        lambda torch, g: torch.optim.Adam(g, **HYPER), np.float64, 1e-10, 1e-12)


@pytest.mark.parametrize("fused", [False, True])
def test_adamw_matches_torch_float64(fused):
    _compare_with_torch(lambda g: AdamW(g, fused=fused, **HYPER),
                        lambda torch, g: torch.optim.AdamW(g, **HYPER), np.float64, 1e-10, 1e-12)


@pytest.mark.parametrize("backend", kernels.BACKENDS)
def test_fused_adamw_matches_torch_float32(backend):
    with kernels.use_backend(backend):
        _compare_with_torch(lambda g: AdamW(g, fused=True, **HYPER),
                            lambda torch, g: torch.optim.AdamW(g, **HYPER), np.float32,
                            2e-6, 2e-6)


def test_rejects_bad_hyperparameters():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="betas"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr"):
        AdamW([p], lr=-1e-3)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW([p], weight_decay=-0.1)
