"""AdamW kernels: a hand-computed first step, Numba vs reference over several steps, in-place
updates, and (when PyTorch is installed) agreement with torch.optim.AdamW."""

import numpy as np
import pytest

from neural_arch.kernels.adamw import (adamw_step_many_numba, adamw_step_many_reference,
                                      adamw_step_numba, adamw_step_reference)

STEPS = [adamw_step_reference, adamw_step_numba]


@pytest.mark.parametrize("step_fn", STEPS)
def test_first_step_by_hand(step_fn):
    p = np.array([1.0, -2.0, 0.5])
    g = np.array([0.1, -0.3, 0.0])
    m, v = np.zeros(3), np.zeros(3)
    step_fn(p, g, m, v, 1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    # m = 0.1 g, v = 0.001 g^2; bias correction gives m_hat = g, v_hat = g^2, so the Adam step is
    # lr * g / (|g| + eps) = lr * sign(g) (0 where g = 0), after decaying p by (1 - lr * wd).
    decayed = np.array([1.0, -2.0, 0.5]) * (1 - 0.01 * 0.1)
    expected = decayed - 0.01 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-12)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4)])
def test_numba_matches_reference_over_steps(rng, shape, dtype):
    p0 = rng.standard_normal(shape).astype(dtype)
    states = [(p0.copy(), np.zeros_like(p0), np.zeros_like(p0)) for _ in STEPS]
    for t in range(1, 6):
        g = rng.standard_normal(shape).astype(dtype)
        for fn, (p, m, v) in zip(STEPS, states):
            assert fn(p, g, m, v, t, lr=0.05, weight_decay=0.01) is None
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(states[0], states[1]):
        assert b.dtype == dtype
        np.testing.assert_allclose(b, a, **tol)


def test_numba_rejects_non_contiguous_param():
    p = np.zeros((4, 4))[:, ::2]
    with pytest.raises(ValueError, match="contiguous"):
        adamw_step_numba(p, np.zeros_like(p), np.zeros((4, 2)), np.zeros((4, 2)), 1)


@pytest.mark.parametrize("step_fn", STEPS)
def test_bad_arguments_raise(step_fn):
    p = np.zeros(3)
    with pytest.raises(ValueError, match="grad"):
        step_fn(p, np.zeros(4), np.zeros(3), np.zeros(3), 1)
    with pytest.raises(ValueError, match="step"):
        step_fn(p, np.zeros(3), np.zeros(3), np.zeros(3), 0)


@pytest.mark.parametrize("step_fn", STEPS)
def test_matches_torch_adamw(rng, step_fn):
    torch = pytest.importorskip("torch")
    p = rng.standard_normal(10)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = torch.optim.AdamW([tp], lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05)
    m, v = np.zeros(10), np.zeros(10)
    for t in range(1, 4):
        g = rng.standard_normal(10)
        tp.grad = torch.tensor(g)
        opt.step()
        step_fn(p, g, m, v, t, lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.05)
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-10)


# ----- the list form: adamw_step_many ----------------------------------------------------------
MANY = [adamw_step_many_reference, adamw_step_many_numba]


def _params(rng):
    """Parameters of several shapes and both float dtypes, as one optimizer group may hold."""
    shapes_dtypes = [((3, 5), np.float32), ((7,), np.float64), ((1,), np.float32),
                     ((2, 3, 4), np.float64)]
    return [rng.standard_normal(s).astype(d) for s, d in shapes_dtypes]


def test_many_numba_with_mixed_dtypes_equals_one_list_per_parameter(rng):
    """One call over a list holding float32 and float64 parameters updates each exactly as a
    call of its own would (the coefficients are cast once per dtype, never shared across
    dtypes), at every step of a short run."""
    ps_many = _params(rng)
    ps_one = [p.copy() for p in ps_many]
    states = [([np.zeros_like(p) for p in ps_many], [np.zeros_like(p) for p in ps_many])
              for _ in range(2)]
    for t in range(1, 5):
        grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in ps_many]
        assert adamw_step_many_numba(ps_many, grads, *states[0], t, lr=0.03,
                                     weight_decay=0.1) is None
        for p, g, m, v in zip(ps_one, grads, *states[1]):
            adamw_step_many_numba([p], [g], [m], [v], t, lr=0.03, weight_decay=0.1)
    for a, b in zip(ps_many + states[0][0] + states[0][1], ps_one + states[1][0] + states[1][1]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_many_numba_matches_many_reference(rng):
    ps = [_params(rng) for _ in MANY]
    ps[1] = [p.copy() for p in ps[0]]
    states = [([np.zeros_like(p) for p in ps[0]], [np.zeros_like(p) for p in ps[0]])
              for _ in MANY]
    for t in range(1, 6):
        grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in ps[0]]
        for fn, params, (ms, vs) in zip(MANY, ps, states):
            fn(params, grads, ms, vs, t, lr=0.05, beta2=0.99, weight_decay=0.01)
    for a, b in zip(ps[0] + states[0][0] + states[0][1], ps[1] + states[1][0] + states[1][1]):
        tol = dict(rtol=1e-5, atol=1e-6) if a.dtype == np.float32 else dict(rtol=1e-12,
                                                                               atol=1e-14)
        np.testing.assert_allclose(b, a, **tol)


@pytest.mark.parametrize("many_fn", MANY)
def test_many_rejects_lists_of_different_lengths(many_fn):
    p = [np.zeros(3), np.zeros(2)]
    with pytest.raises(ValueError, match="exp_avg_sqs must have one array per param"):
        many_fn(p, [np.zeros(3), np.zeros(2)], [np.zeros(3), np.zeros(2)], [np.zeros(3)], 1)
    with pytest.raises(ValueError, match="grad must have param's shape"):
        many_fn(p, [np.zeros(3), np.zeros(4)], [np.zeros(3), np.zeros(2)],
                [np.zeros(3), np.zeros(2)], 1)
