"""SGD against hand-computed updates and, when torch is installed, torch.optim.SGD."""

import numpy as np
import pytest

from neural_arch.nn.module import Parameter
from neural_arch.optim import SGD
from ._helpers import (grads_at, make_params, set_grads, set_torch_grads,
                                  torch_params, two_groups)


def _run(opt, p, grads):
    for g in grads:
        p.grad = np.array(g)
        opt.step()
    return p.data


def test_plain_step():
    # p <- p - lr * g = [1 - 0.1 * 0.5, -2 - 0.1 * 0.25]
    p = Parameter(np.array([1.0, -2.0]))
    _run(SGD([p], lr=0.1), p, [[0.5, 0.25]])
    np.testing.assert_allclose(p.data, [0.95, -2.025], rtol=0, atol=1e-15)


def test_momentum_two_steps():
    # step 1: b = g1 = [1, -2];                  p = [1, 1] - 0.1 * b = [0.9, 1.2]
    # step 2: b = 0.9 * b + g2 = [1.4, -1.3];    p = [0.9 - 0.14, 1.2 + 0.13]
    p = Parameter(np.array([1.0, 1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    _run(opt, p, [[1.0, -2.0]])
    np.testing.assert_allclose(p.data, [0.9, 1.2], atol=1e-15)
    _run(opt, p, [[0.5, 0.5]])
    np.testing.assert_allclose(p.data, [0.76, 1.33], atol=1e-15)
    np.testing.assert_allclose(opt.state[id(p)]["momentum_buffer"], [1.4, -1.3], atol=1e-15)


def test_dampening_applies_from_the_second_step():
    # step 2: b = 0.9 * [1, -2] + (1 - 0.5) * [0.5, 0.5] = [1.15, -1.55]
    p = Parameter(np.array([1.0, 1.0]))
    _run(SGD([p], lr=0.1, momentum=0.9, dampening=0.5), p, [[1.0, -2.0], [0.5, 0.5]])
    np.testing.assert_allclose(p.data, [0.9 - 0.115, 1.2 + 0.155], atol=1e-15)


def test_nesterov_two_steps():
    # step 1: b = [1, -2];    d = g + 0.9 b = [1.9, -3.8];     p = [0.81, 1.38]
    # step 2: b = [1.4, -1.3]; d = [0.5 + 1.26, 0.5 - 1.17];   p = [0.81 - 0.176, 1.38 + 0.067]
    p = Parameter(np.array([1.0, 1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    _run(opt, p, [[1.0, -2.0]])
    np.testing.assert_allclose(p.data, [0.81, 1.38], atol=1e-15)
    _run(opt, p, [[0.5, 0.5]])
    np.testing.assert_allclose(p.data, [0.634, 1.447], atol=1e-15)


def test_weight_decay_is_added_to_the_gradient():
    # d = g + 0.1 p = [0.5 + 0.1, 0.5 - 0.2];   p = [1 - 0.06, -2 - 0.03]
    p = Parameter(np.array([1.0, -2.0]))
    _run(SGD([p], lr=0.1, weight_decay=0.1), p, [[0.5, 0.5]])
    np.testing.assert_allclose(p.data, [0.94, -2.03], atol=1e-15)


def test_gradient_is_not_modified():
    p = Parameter(np.array([1.0, -2.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)
    grad = np.array([0.5, 0.25])
    p.grad = grad
    opt.step()
    opt.step()
    assert p.grad is grad
    np.testing.assert_array_equal(grad, [0.5, 0.25])


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.05, momentum=0.9),
                                    dict(lr=0.05, momentum=0.9, dampening=0.3),
                                    dict(lr=0.05, momentum=0.8, nesterov=True),
                                    dict(lr=0.1, momentum=0.9, weight_decay=0.01)])
def test_matches_torch_for_20_steps(kwargs):
    torch = pytest.importorskip("torch")
    params = make_params(np.float64)
    tparams = torch_params(params)
    opt = SGD(two_groups(params, weight_decay=0.0, lr=0.02), **kwargs)
    topt = torch.optim.SGD(two_groups(tparams, weight_decay=0.0, lr=0.02), **kwargs)
    for step in range(20):
        grads = grads_at(step, params)
        set_grads(params, grads)
        set_torch_grads(tparams, grads)
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_rejects_bad_hyperparameters():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="lr"):
        SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
