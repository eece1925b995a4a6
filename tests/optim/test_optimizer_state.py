"""Optimizer state: save, load, resume bitwise; flat arrays for safetensors; validation."""

import json

import numpy as np
import pytest

from neural_arch.optim import SGD, Adam, AdamW, WarmupCosine
from ._helpers import grads_at, make_params, set_grads, two_groups

FACTORIES = {
    "sgd_nesterov": lambda g: SGD(g, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda g: Adam(g, lr=1e-2, weight_decay=0.1),
    "adamw_fused": lambda g: AdamW(g, lr=1e-2, fused=True),
    "adamw_numpy": lambda g: AdamW(g, lr=1e-2, fused=False),
}


def _new_run(name, dtype=np.float32):
    params = make_params(dtype)
    opt = FACTORIES[name](two_groups(params, weight_decay=0.0))
    sched = WarmupCosine(opt, warmup_steps=3, total_steps=12, min_lr_ratio=0.1)
    return params, opt, sched


def _train(params, opt, sched, steps):
    for step in steps:
        set_grads(params, grads_at(step, params))
        opt.step()
        sched.step()


def _jsonify_state_dict(sd):
    """What a JSON file would give back: string keys, lists; arrays passed through."""
    groups = json.loads(json.dumps(sd["param_groups"]))
    state = {str(i): dict(entry) for i, entry in sd["state"].items()}
    return {"state": state, "param_groups": groups}


def _resume(name, save, load):
    """Train 10 steps in one go, and 5 + save/load + 5; return both final parameter lists."""
    params, opt, sched = _new_run(name)
    _train(params, opt, sched, range(5))
    saved_params = [p.data.copy() for p in params]
    saved = save(opt)
    saved_sched = json.loads(json.dumps(sched.state_dict()))
    _train(params, opt, sched, range(5, 10))

    fresh, fresh_opt, fresh_sched = _new_run(name)
    for p, data in zip(fresh, saved_params):
        p.data = data
    load(fresh_opt, saved)
    fresh_sched.load_state_dict(saved_sched)
    _train(fresh, fresh_opt, fresh_sched, range(5, 10))
    return (params, opt), (fresh, fresh_opt)


def _assert_bitwise(a, b):
    (params, opt), (fresh, fresh_opt) = a, b
    for p, q in zip(params, fresh):
        assert np.array_equal(p.data, q.data)
    sd, fresh_sd = opt.state_dict(), fresh_opt.state_dict()
    assert sd["param_groups"] == fresh_sd["param_groups"]
    for i, entry in sd["state"].items():
        for key, value in entry.items():
            assert np.array_equal(value, fresh_sd["state"][i][key]), (i, key)


@pytest.mark.parametrize("name", FACTORIES)
def test_state_dict_resume_is_bitwise(name):
    _assert_bitwise(*_resume(name, lambda o: o.state_dict(), lambda o, sd: o.load_state_dict(sd)))


@pytest.mark.parametrize("name", ["sgd_nesterov", "adamw_fused"])
def test_state_dict_survives_json_for_hyperparameters(name):
    _assert_bitwise(*_resume(name, lambda o: _jsonify_state_dict(o.state_dict()),
                             lambda o, sd: o.load_state_dict(sd)))


@pytest.mark.parametrize("name", FACTORIES)
def test_state_arrays_resume_through_safetensors_is_bitwise(name):
    st = pytest.importorskip("safetensors.numpy")
    _assert_bitwise(*_resume(name, lambda o: st.save(o.state_arrays()),
                             lambda o, blob: o.load_state_arrays(st.load(blob))))


def test_state_dict_layout_is_pytorch_style():
    params, opt, _ = _new_run("adam", np.float64)
    _train(params, opt, _, range(2))
    sd = opt.state_dict()
    # Indices follow group order: group 0 holds params[0] and params[2], group 1 the others.
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["param_groups"][1]["weight_decay"] == 0.0
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0, 1, 2, 3}
    assert sd["state"][2]["step"] == 2
    assert sd["state"][1]["exp_avg"].shape == params[2].shape
    json.dumps(sd["param_groups"])  # the hyperparameters are JSON-serialisable
    sd["state"][0]["exp_avg"] += 1.0  # a copy: the optimizer's own state is untouched
    assert not np.array_equal(sd["state"][0]["exp_avg"], opt.state[id(params[0])]["exp_avg"])


def test_state_arrays_names_and_dtypes():
    params, opt, sched = _new_run("sgd_nesterov")
    _train(params, opt, sched, range(1))
    arrays = opt.state_arrays()
    assert arrays["group.0.lr"].shape == () and arrays["group.0.lr"].dtype == np.float64
    assert arrays["group.0.nesterov"].dtype == np.bool_
    np.testing.assert_array_equal(arrays["group.1.params"], [2, 3])
    assert arrays["state.3.momentum_buffer"].shape == params[3].shape
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    params, opt, _ = _new_run("adam")
    _train(params, opt, _, range(3))
    arrays = opt.state_arrays()
    assert arrays["step.3"].dtype == np.int64 and int(arrays["step.3"]) == 3
    np.testing.assert_array_equal(arrays["group.0.betas"], [0.9, 0.999])


def test_load_restores_hyperparameter_types():
    params, opt, sched = _new_run("adam")
    _train(params, opt, sched, range(2))
    _, fresh, _ = _new_run("adam")
    fresh.load_state_arrays(opt.state_arrays())
    group = fresh.param_groups[0]
    assert isinstance(group["betas"], tuple) and isinstance(group["lr"], float)
    assert group["lr"] == opt.param_groups[0]["lr"]


def _saved_adam():
    params, opt, sched = _new_run("adam")
    _train(params, opt, sched, range(2))
    return opt.state_dict()


@pytest.mark.parametrize("damage, match", [
    (lambda sd: sd["param_groups"].pop(), "parameter groups"),
    (lambda sd: sd["param_groups"][0]["params"].pop(), "group 0"),
    (lambda sd: sd["state"][1].update(exp_avg=np.zeros(7, np.float32)), "shape"),
    (lambda sd: sd["state"][1].pop("exp_avg_sq"), "keys|expects"),
    (lambda sd: sd["state"].update({9: sd["state"][0]}), "parameter 9"),
    (lambda sd: sd["state"][0].update(step=-1), "step"),
    (lambda sd: sd.pop("state"), "state"),
])
def test_load_rejects_a_state_dict_that_does_not_fit(damage, match):
    sd = _saved_adam()
    damage(sd)
    params, opt, _ = _new_run("adam")
    before = (opt.state_dict(), [dict(g) for g in opt.param_groups])
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(sd)
    assert opt.state == {} and before[1] == [dict(g) for g in opt.param_groups]


def test_load_state_arrays_rejects_unknown_names():
    params, opt, _ = _new_run("adam")
    arrays = opt.state_arrays()
    arrays["bogus.1"] = np.zeros(1)
    with pytest.raises(ValueError, match="bogus"):
        opt.load_state_arrays(arrays)


def test_non_numeric_hyperparameter_cannot_become_an_array():
    params = make_params()
    opt = SGD([{"params": params, "name": "all"}], lr=0.1)
    with pytest.raises(TypeError, match="name"):
        opt.state_arrays()
