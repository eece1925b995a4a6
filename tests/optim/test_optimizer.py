"""The Optimizer base: parameter groups, zero_grad, and reporting missing gradients."""

import numpy as np
import pytest

from neural_arch.core import Tensor
from neural_arch.nn.module import Module, Parameter
from neural_arch.optim import SGD, AdamW, params_without_grad


class _TwoBranches(Module):
    def __init__(self):
        super().__init__()
        self.used = Parameter(np.ones(3))
        self.unused = Parameter(np.ones(2))

    def forward(self, x):
        return (self.used * x).sum()


def test_missing_gradient_is_reported_and_skipped():
    model = _TwoBranches()
    opt = AdamW(model.parameters(), lr=0.1)
    model(Tensor(np.array([1.0, 2.0, 3.0]))).backward()
    assert params_without_grad(model.named_parameters()) == ["unused"]
    opt.step()
    np.testing.assert_array_equal(model.unused.data, np.ones(2))  # skipped, as in PyTorch
    assert not np.array_equal(model.used.data, np.ones(3))
    assert id(model.unused) not in opt.state


def test_frozen_parameter_is_not_reported():
    model = _TwoBranches()
    model.unused.requires_grad = False
    opt = SGD(model.parameters(), lr=0.1)
    model(Tensor(np.ones(3))).backward()
    assert params_without_grad(model.named_parameters()) == []


def test_param_groups_fill_defaults():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 0.0}], lr=0.1,
              momentum=0.9, weight_decay=0.01)
    assert len(opt.param_groups) == 2
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["weight_decay"] == 0.01
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["weight_decay"] == 0.0
    assert opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[0]["params"][0] is a


def test_zero_grad():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([a, b], lr=0.1)
    a.grad = np.ones(2)
    held = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is held and not held.any() and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_step_returns_none_and_accepts_a_generator():
    model = _TwoBranches()
    opt = SGD(model.parameters(), lr=0.1)
    model.used.grad = np.ones(3)
    assert opt.step() is None


@pytest.mark.parametrize("params, error, match", [
    ([], ValueError, "empty"),
    (Parameter(np.ones(2)), TypeError, "single Tensor"),
    ([np.ones(2)], TypeError, "Tensors"),
    ([Tensor(np.array([1, 2]))], TypeError, "float"),
    ([{"lr": 0.1}], TypeError, "params"),
])
def test_rejects_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        SGD(params, lr=0.1)


def test_rejects_a_parameter_listed_twice():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="twice"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_rejects_a_gradient_of_the_wrong_shape():
    p = Parameter(np.ones(2))
    p.grad = np.ones(3)
    with pytest.raises(ValueError, match="shape"):
        AdamW([p], fused=False).step()
