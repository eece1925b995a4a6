"""Restoring from a checkpoint, checked end to end before anything is trusted.

Resume, serving and ``neural-arch validate`` all go through these functions, so that "valid"
means "loads". In order, each raising ``CheckpointError`` naming the file and the problem:

1. ``checkpoint_config``: the schema, the documented fields, a complete config (a missing
   ``num_epochs`` must not silently become a default), every value type- and range-checked
   against the model's config and the training settings (``config_rules.py``), and the
   estimated memory below the ceiling: all before a single array is allocated.
2. ``read_state``: the weights file (regular file, size, SHA-256), its safetensors header, the
   arrays, split into model, optimizer and RNG groups.
3. ``build_model`` and ``load_model_state``: the model the config describes, then every saved
   tensor's name, shape, dtype and finiteness against it (no silent float16 -> float32 cast).
4. ``check_optimizer_arrays`` / ``check_rng_arrays``: finite moments, second moments >= 0,
   counts >= 0, generator states of the right shape and dtype.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors

from neural_arch.models import get_model, trainable_models
from neural_arch.training.checkpoint_files import unpack_state
from neural_arch.training.checkpoint_reading import read_verified_weights, safetensors_header
from neural_arch.training.checkpoint_validation import CheckpointError, metadata_problems
from neural_arch.models import default_run
from neural_arch.training.config import TRAINING_DEFAULTS, model_settings
from neural_arch.training.config_rules import check_memory, check_settings

# Written by ``save_checkpoint`` into every checkpoint with weights (checkpoints/README.md).
REQUIRED_FIELDS = ("schema_version", "model", "created_at", "weights")
NOT_SAVED = ("out_dir", "quiet")  # run-local settings the trainer leaves out of the JSON


def _fail(path, problems):
    if problems:
        raise CheckpointError(path, "; ".join(problems))


def checkpoint_config(path: Path, meta: dict, complete: bool = True) -> tuple[str, dict]:
    """(model name, checked config) of the loaded checkpoint ``meta``.

    ``complete=False`` (metadata-only validation) does not require the fields and config keys
    that only a checkpoint with weights must have.
    """
    problems = metadata_problems(meta)
    if complete:
        problems += [f"missing required field '{f}'" for f in REQUIRED_FIELDS if f not in meta]
    _fail(path, problems)
    name = meta.get("model")
    if name not in trainable_models():
        _fail(path, [f"'model' is {name!r}; expected one of {trainable_models()}"])
    config = dict(meta["config"])
    if config.setdefault("model", name) != name:
        _fail(path, [f"'config.model' is {config['model']!r} but 'model' is {name!r}"])
    if complete:
        needed = (set(TRAINING_DEFAULTS) - set(NOT_SAVED)) | set(default_run(name))
        missing = sorted(needed - set(config))
        _fail(path, [f"config lacks {missing} (a checkpoint stores every setting of its run)"]
              if missing else [])
    try:
        config = check_settings(config, name)
        check_memory(name, config)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(path, f"config: {exc}") from exc
    return name, config


def read_state(path: Path, meta: dict) -> tuple[dict, dict, dict]:
    """(model, optimizer, rng) arrays of the checkpoint, from its verified weights file."""
    blob = read_verified_weights(path, meta)
    safetensors_header(path, blob)
    try:
        tensors = load_safetensors(blob)
        return unpack_state(tensors)
    except (SafetensorError, ValueError) as exc:
        raise CheckpointError(path, f"weights are not valid: {exc}") from exc


def build_model(path: Path, name: str, config: dict):
    """The untrained model the (checked) config describes."""
    try:
        return get_model(name, **model_settings(name, config))
    except (ValueError, TypeError, ArithmeticError, MemoryError) as exc:
        raise CheckpointError(path, f"config does not build a {name} model: {exc}") from exc


def _names_problem(what, expected, saved):
    missing, extra = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    if not missing and not extra:
        return []
    return [f"{what} do not match the model: missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected {extra[:5]}"
            f"{' ...' if len(extra) > 5 else ''}"]


def check_model_state(path: Path, model, state: dict) -> None:
    """Every tensor the model has, saved with its exact shape and dtype, and finite."""
    expected = model.state_dict()
    _fail(path, _names_problem("weight names", expected, state))
    for key, want in expected.items():
        got = state[key]
        if got.shape != want.shape or got.dtype != want.dtype:
            _fail(path, [f"weight {key!r} is {got.dtype}{list(got.shape)}, the model needs "
                         f"{want.dtype}{list(want.shape)}"])
        if got.dtype.kind == "f" and not np.isfinite(got).all():
            _fail(path, [f"weight {key!r} holds NaN or infinite values"])


def load_model_state(path: Path, model, state: dict) -> None:
    check_model_state(path, model, state)
    try:
        model.load_state_dict(state)
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(path, f"weights do not load into the model: {exc}") from exc


def check_optimizer_arrays(path: Path, arrays: dict, dtypes: set) -> None:
    """Optimizer arrays (``optim_state.to_arrays`` layout): finite, in range, right dtype."""
    for key, array in arrays.items():
        kind = key.split(".")[0]
        where = f"optimizer array {key!r}"
        if array.dtype.kind not in "biuf":
            _fail(path, [f"{where} has dtype {array.dtype}"])
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            _fail(path, [f"{where} holds NaN or infinite values"])
        if kind == "state" and array.dtype not in dtypes:
            _fail(path, [f"{where} is {array.dtype}; the model's parameters are "
                         f"{sorted(str(d) for d in dtypes)}"])
        if (kind == "step" or key.endswith(("_sq", ".params", ".lr", ".eps", ".weight_decay"))
                or kind == "group" and key.endswith(".betas")) and (array < 0).any():
            _fail(path, [f"{where} holds negative values"])
        if key.endswith(".betas") and (array >= 1).any():
            _fail(path, [f"{where} holds values >= 1"])


def check_rng_arrays(path: Path, arrays: dict, model) -> None:
    """One (6,) uint64 PCG64 state for the trainer and for each module that owns a generator."""
    from neural_arch.training.rng_state import module_generators
    expected = ["trainer"] + [f"module.{name}" for name, _ in module_generators(model)]
    _fail(path, _names_problem("generator states", expected, arrays))
    for key in expected:
        if arrays[key].shape != (6,) or arrays[key].dtype != np.uint64:
            _fail(path, [f"generator state {key!r} is {arrays[key].dtype}"
                         f"{list(arrays[key].shape)}, expected uint64[6]"])


def param_dtypes(model) -> set:
    return {p.data.dtype for p in model.parameters()}


def restore_problems(path: Path, meta: dict, require_weights: bool = True) -> list[str]:
    """What stops the checkpoint ``meta`` (read from ``path``) from restoring: [] when its
    config, model weights, optimizer arrays and generator states pass every check a resume
    makes before training. (Only a resume, which knows the task's frozen parameters, matches
    the optimizer's parameter groups against the model.)"""
    try:
        name, config = checkpoint_config(path, meta, complete=require_weights)
        if not require_weights and not isinstance(meta.get("weights"), dict):
            return []
        model_state, optim_state, rng_state = read_state(path, meta)
        model = build_model(path, name, config)
        load_model_state(path, model, model_state)
        check_optimizer_arrays(path, optim_state, param_dtypes(model))
        check_rng_arrays(path, rng_state, model)
    except CheckpointError as exc:
        return [exc.problem]
    return []
