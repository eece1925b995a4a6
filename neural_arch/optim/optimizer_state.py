"""Saving and restoring an optimizer's state, in two forms.

1. ``state_dict`` (PyTorch's layout). Parameters are named by their index in group order::

       {"state": {0: {"step": 5, "exp_avg": array, "exp_avg_sq": array}, 1: {...}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}, ...]}

   ``param_groups`` is JSON-serialisable. JSON turns the integer state keys into strings and
   tuples into lists; loading accepts both.

2. Flat arrays for safetensors, which stores only named arrays (no pickle, no nesting)::

       "state.0.exp_avg"   the array            "step.0"          0-d int64
       "group.0.lr"        0-d float64          "group.0.betas"   1-d float64 (0.9, 0.999)
       "group.0.params"    1-d int64 indices    "group.0.nesterov" 0-d bool

   A float64 scalar holds a Python float exactly, so the round trip is lossless.

Loading checks everything before changing anything: the number of groups, the number of
parameters in each, the state keys and the shape of every state array. Restored arrays are
fresh C-contiguous copies in the parameter's dtype, so resumed training is bitwise identical to
uninterrupted training.
"""

import numpy as np


def to_state_dict(opt):
    """The optimizer's state in PyTorch's layout (arrays copied)."""
    index_of = {}
    groups = []
    for group in opt.param_groups:
        saved = {key: _plain(value) for key, value in group.items() if key != "params"}
        saved["params"] = []
        for p in group["params"]:
            index_of[id(p)] = len(index_of)
            saved["params"].append(index_of[id(p)])
        groups.append(saved)
    state = {}
    for group in opt.param_groups:
        for p in group["params"]:
            entry = opt.state.get(id(p))
            if entry:
                state[index_of[id(p)]] = {
                    name: (value.copy() if isinstance(value, np.ndarray) else int(value))
                    for name, value in entry.items()}
    return {"state": state, "param_groups": groups}


def load_state_dict(opt, state_dict):
    """Validate ``state_dict`` against ``opt`` and restore it; raises ValueError naming the
    problem, leaving ``opt`` unchanged."""
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        raise ValueError("optimizer state_dict must be a dict with exactly the keys 'state' and "
                         f"'param_groups', got {_describe(state_dict)}")
    saved_groups = state_dict["param_groups"]
    if len(saved_groups) != len(opt.param_groups):
        raise ValueError(f"optimizer state_dict has {len(saved_groups)} parameter groups, "
                         f"this optimizer has {len(opt.param_groups)}")
    param_at = {}  # saved index -> the parameter it now refers to
    for g, (saved, group) in enumerate(zip(saved_groups, opt.param_groups)):
        if not isinstance(saved, dict):
            raise ValueError(f"parameter group {g} must be a dict, got {type(saved).__name__}")
        indices = [int(i) for i in saved.get("params", [])]
        if len(indices) != len(group["params"]):
            raise ValueError(f"parameter group {g}: state_dict has {len(indices)} parameters, "
                             f"this optimizer has {len(group['params'])}")
        param_at.update(zip(indices, group["params"]))

    new_state = {}
    for key, entry in state_dict["state"].items():
        index = int(key)
        if index not in param_at:
            raise ValueError(f"state for parameter {index}, which no parameter group lists")
        p = param_at[index]
        if not isinstance(entry, dict) or set(entry) != set(opt.state_keys):
            raise ValueError(f"state of parameter {index} has {_describe(entry)}, "
                             f"{type(opt).__name__} expects {sorted(opt.state_keys)}")
        new_state[id(p)] = {name: _restore(index, name, value, p) for name, value in entry.items()}

    # Every check passed: now change the optimizer.
    for saved, group in zip(saved_groups, opt.param_groups):
        for key, value in saved.items():
            if key != "params":
                group[key] = _like(group.get(key), value)
    opt.state = new_state


def to_arrays(state_dict):
    """Flatten a ``state_dict`` into ``{name: ndarray}`` (layout in the module docstring)."""
    arrays = {}
    for index, entry in state_dict["state"].items():
        for name, value in entry.items():
            if name == "step":
                arrays[f"step.{index}"] = np.array(value, dtype=np.int64)
            else:
                # np.require, not ascontiguousarray: that one turns a 0-d array into 1-d.
                arrays[f"state.{index}.{name}"] = np.require(value, requirements="C")
    for g, group in enumerate(state_dict["param_groups"]):
        for key, value in group.items():
            if key == "params":
                array = np.array(value, dtype=np.int64)
            else:
                array = np.array(value)
                if array.dtype.kind not in "biuf":
                    raise TypeError(f"hyperparameter {key!r}={value!r} of parameter group {g} "
                                    "is not a number, a bool or a tuple of numbers, so it cannot "
                                    "be stored as an array")
            arrays[f"group.{g}.{key}"] = array
    return arrays


def from_arrays(arrays):
    """Rebuild a ``state_dict`` from ``to_arrays`` output; hyperparameters stay arrays until
    ``load_state_dict`` converts them to the types the optimizer's groups hold."""
    state, groups = {}, {}
    for name, array in arrays.items():
        parts = name.split(".")
        try:
            if parts[0] == "state" and len(parts) == 3:
                state.setdefault(int(parts[1]), {})[parts[2]] = array
            elif parts[0] == "step" and len(parts) == 2:
                state.setdefault(int(parts[1]), {})["step"] = array
            elif parts[0] == "group" and len(parts) == 3:
                groups.setdefault(int(parts[1]), {})[parts[2]] = array
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"unexpected optimizer array name {name!r}; expected "
                             "'state.<i>.<name>', 'step.<i>' or 'group.<g>.<key>'") from None
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"optimizer arrays hold parameter groups {sorted(groups)}, "
                         f"expected 0..{len(groups) - 1}")
    param_groups = []
    for g in range(len(groups)):
        if "params" not in groups[g]:
            raise ValueError(f"optimizer arrays lack 'group.{g}.params'")
        group = dict(groups[g])
        group["params"] = [int(i) for i in np.asarray(group["params"]).reshape(-1)]
        param_groups.append(group)
    return {"state": state, "param_groups": param_groups}


# ----- helpers ---------------------------------------------------------------------------------
def _restore(index, name, value, p):
    """One saved state entry, checked and copied for parameter ``p``."""
    if name == "step":
        step = np.asarray(value)
        if step.ndim != 0 or not float(step).is_integer() or float(step) < 0:
            raise ValueError(f"state of parameter {index}: step must be an integer >= 0, "
                             f"got {value!r}")
        return int(step)
    array = np.asarray(value)
    if array.shape != p.shape:
        raise ValueError(f"state of parameter {index}: {name} has shape {array.shape}, "
                         f"the parameter has shape {p.shape}")
    return np.array(array, dtype=p.dtype, order="C", copy=True)


def _plain(value):
    """NumPy scalars become Python numbers, so the group is JSON-serialisable."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else value.tolist()
    return value


def _like(current, value):
    """``value`` (possibly an array or a JSON list) as a Python value; a list becomes a tuple
    where the group holds a tuple (``betas``)."""
    value = _plain(value)  # a 0-d array gives the Python bool, int or float it stored
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _describe(obj):
    return f"keys {sorted(obj)}" if isinstance(obj, dict) else type(obj).__name__
