"""Module and Parameter themselves: registration and its order, tied parameters counted once,
buffers, state_dict / load_state_dict (round trip and every error path), train/eval, zero_grad,
dtype conversion and repr."""

from collections import OrderedDict

import numpy as np
import pytest

from neural_arch import nn
from neural_arch.core import Tensor
from neural_arch.nn.module import Module, Parameter


class Leaf(Module):
    def __init__(self, n=3):
        super().__init__()
        self.weight = Parameter(np.arange(n, dtype=np.float32))
        self.register_buffer("count", np.array(0, dtype=np.int64))

    def forward(self, x):
        return x * self.weight


class Tree(Module):
    """b registered before a (assignment order, not alphabetical); ``tied`` shares a's weight."""

    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(2, dtype=np.float32))
        self.b = Leaf(2)
        self.a = Leaf(3)
        self.tied = Module()
        self.tied.weight = self.a.weight
        self.note = "plain attribute"

    def forward(self, x):
        return self.a(x).sum() + self.tied.weight.sum()


def test_parameters_and_submodules_register_in_assignment_order():
    tree = Tree()
    assert [name for name, _ in tree.named_parameters()] == ["scale", "b.weight", "a.weight"]
    assert [name for name, _ in tree.named_modules()] == ["", "b", "a", "tied"]
    assert list(tree.children()) == [tree.b, tree.a, tree.tied]
    assert list(tree._parameters) == ["scale"] and "note" not in tree._modules
    assert tree.note == "plain attribute" and tree.a.weight is tree._modules["a"].weight


def test_tied_parameter_is_listed_saved_and_counted_once():
    tree = Tree()
    params = list(tree.parameters())
    assert len(params) == 3 and sum(p is tree.a.weight for p in params) == 1
    assert "tied.weight" not in tree.state_dict()
    assert tree.num_parameters() == 2 + 2 + 3
    tree.scale.requires_grad = False
    assert tree.num_parameters(trainable_only=True) == 5


def test_reassigning_moves_a_name_between_registries():
    m = Module()
    m.child = None                      # a plain attribute first (ResNet's downsample = None)
    m.child = Leaf()                    # now a registered submodule, not shadowed by the None
    assert m.child is m._modules["child"] and "child" not in m.__dict__
    m.child = Parameter(np.zeros(1))    # a Module replaced by a Parameter
    assert "child" not in m._modules and m._parameters["child"] is m.child
    m.child = 5                         # and by a plain value
    assert m.child == 5 and "child" not in m._parameters
    m.other = Leaf()
    del m.other
    assert "other" not in m._modules
    with pytest.raises(AttributeError, match="Module has no attribute 'other'"):
        m.other


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match=r"Broken.__init__ must call super\(\).__init__\(\)"):
        Broken()
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        Module()(1)


def test_buffers_are_saved_after_parameters_and_none_buffers_are_skipped():
    leaf = Leaf()
    leaf.register_buffer("unused", None)
    assert list(leaf.state_dict()) == ["weight", "count"]
    assert [name for name, _ in leaf.named_buffers()] == ["count"]
    assert [name for name, _ in Tree().named_buffers()] == ["b.count", "a.count"]


def test_state_dict_holds_copies():
    leaf = Leaf()
    state = leaf.state_dict()
    assert isinstance(state, OrderedDict)
    state["weight"][0] = 100.0
    state["count"][...] = 7
    assert leaf.weight.data[0] == 0.0 and leaf.count == 0


def test_load_state_dict_round_trip_converts_to_the_model_dtype():
    source, target = Tree(), Tree()
    for p in source.parameters():
        p.data += 1.5
    source.a.count[...] = 4
    state = source.state_dict()
    state["a.weight"] = state["a.weight"].astype(np.float64)      # a wider float is fine
    state["scale"] = Tensor(state["scale"])                       # Tensors are accepted too
    assert target.load_state_dict(state) == ([], [])
    for (name, want), got in zip(source.state_dict().items(), target.state_dict().values()):
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert target.a.weight.dtype == np.float32 and target.a.count.dtype == np.int64
    assert target.tied.weight is target.a.weight                  # the tie survives loading
    state["a.weight"][0] = -1.0
    assert target.a.weight.data[0] != -1.0                        # loading copies


def _unchanged(module, before):
    return all(np.array_equal(module.state_dict()[k], v) for k, v in before.items())


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("a.weight"), r"missing keys: \['a.weight'\]"),
    (lambda s: s.update(extra=np.zeros(1)), r"unexpected keys: \['extra'\]"),
    (lambda s: s.update(scale=np.zeros(3)),
     r"shape mismatches: \['scale: checkpoint \(3,\) vs model \(2,\)'\]"),
    (lambda s: s.update({"a.count": np.array(1.5)}),
     r"dtype mismatches: \['a.count: checkpoint float64 vs model int64'\]"),
    (lambda s: s.update({"b.weight": np.array(["x", "y"])}),
     r"dtype mismatches: \['b.weight: checkpoint <U1 vs model float32'\]"),
])
def test_load_state_dict_errors_name_the_key_and_change_nothing(edit, message):
    model = Tree()
    before = model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    edit(state)
    with pytest.raises(ValueError, match=r"load_state_dict for Tree failed: " + message):
        model.load_state_dict(state)
    assert _unchanged(model, before)


def test_every_problem_is_reported_at_once():
    state = Tree().state_dict()
    state.pop("scale")
    state["b.weight"] = np.zeros(5)
    state["typo"] = np.zeros(1)
    with pytest.raises(ValueError) as info:
        Tree().load_state_dict(state)
    assert all(part in str(info.value) for part in ("missing keys: ['scale']",
                                                    "unexpected keys: ['typo']",
                                                    "b.weight: checkpoint (5,) vs model (2,)"))


def test_non_strict_loading_returns_missing_and_unexpected_but_checks_shapes():
    model = Tree()
    state = {"b.weight": np.full(2, 9.0), "extra": np.zeros(1)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["scale", "a.weight", "b.count", "a.count"] and unexpected == ["extra"]
    np.testing.assert_array_equal(model.b.weight.data, [9.0, 9.0])
    with pytest.raises(ValueError, match="shape mismatches"):
        model.load_state_dict({"b.weight": np.zeros(3)}, strict=False)


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.ReLU()))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model[1].train(False)
    assert model.training and model[0].training and not model[1][0].training


def test_zero_grad_clears_every_gradient_including_tied_ones():
    tree = Tree()
    tree(Tensor(np.ones(3, dtype=np.float32))).backward()
    np.testing.assert_array_equal(tree.a.weight.grad, [2.0, 2.0, 2.0])  # two uses, one grad
    assert tree.b.weight.grad is None
    tree.zero_grad()
    assert all(p.grad is None for p in tree.parameters())


def test_to_converts_floating_parameters_and_buffers_only():
    model = nn.BatchNorm2d(3).double()
    assert model.weight.dtype == np.float64 and model.running_mean.dtype == np.float64
    assert model.num_batches_tracked.dtype == np.int64
    assert model.float().weight.dtype == np.float32


def test_parameter_and_module_repr():
    assert repr(Parameter(np.zeros(1))).startswith("Parameter containing:")
    text = repr(nn.Sequential(nn.Linear(2, 3)))
    assert text.startswith("Sequential(\n  (0): Linear(") and text.endswith(")")
