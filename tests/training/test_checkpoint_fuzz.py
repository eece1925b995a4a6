"""Fuzzing a real checkpoint: whatever happens to its JSON or its weights, restoring it gives
the original model or a CheckpointError, within a time limit; and when the validator says "ok",
it loads (issue 14). Weights changed and re-signed (a new hash recorded) are the file's new
content: they load exactly as written, or are refused.

Examples: 60 per test in the default "ci" profile, 3,000 under HYPOTHESIS_PROFILE=thorough.
"""

import hashlib
import json
import os
import shutil
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from neural_arch.training import (CheckpointError, ModelTrainer, checkpoint_problems,
                                  restore_model_from_checkpoint)

from .conftest import tiny_config

EXAMPLES = 3000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 60
SECONDS_PER_EXAMPLE = 20
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """(JSON path, its text, weights bytes, the trained model's state)."""
    root = tmp_path_factory.mktemp("fuzz")
    trainer = ModelTrainer(tiny_config("gpt2", root))
    trainer.train()
    path = trainer.last_checkpoint
    meta = json.loads(path.read_text())
    weights = (path.parent / meta["weights"]["file"]).read_bytes()
    return path, meta, weights, trainer.model.state_dict()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0, -1, 1, 2**31]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)


def paths_of(meta, prefix=()):
    """Every key path in the JSON, for choosing what to change."""
    found = []
    for key, value in meta.items():
        found.append(prefix + (key,))
        if isinstance(value, dict):
            found += paths_of(value, prefix + (key,))
    return found


@st.composite
def json_mutation(draw, meta):
    meta = json.loads(json.dumps(meta))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(meta)))
        parent = meta
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        else:
            parent[draw(st.text(max_size=12))] = draw(json_values)
    return meta


@st.composite
def weights_mutation(draw, blob):
    """(new bytes, re-sign?): flipped, cut or inserted bytes, or a tensor replaced."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "tensor"]))
    data = bytearray(blob)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    else:
        tensors = load_safetensors(blob)
        key = draw(st.sampled_from(sorted(tensors)))
        old = tensors[key]
        dtype = draw(st.sampled_from([old.dtype, np.float16, np.float64, np.int32]))
        shape = draw(st.sampled_from([old.shape, old.shape[:-1], (old.size + 1,), ()]))
        fill = draw(st.sampled_from([0.0, np.nan, np.inf, -1.0, 1e30]))
        with np.errstate(all="ignore"):  # inf into an int32 is the point here
            tensors[key] = np.full(shape, fill).astype(dtype)
        data = bytearray(save_safetensors(tensors))
    return bytes(data), draw(st.booleans())


def write_case(tmp_path, original, meta, blob, resign):
    path, _, _, _ = original
    folder = tmp_path / "case"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(path.parent, folder)
    weights = folder / json.loads(path.read_text())["weights"]["file"]
    weights.write_bytes(blob)
    if resign and isinstance(meta.get("weights"), dict):
        meta["weights"] = {**meta["weights"], "sha256": hashlib.sha256(blob).hexdigest(),
                           "bytes": len(blob)}
    target = folder / path.name
    target.write_text(json.dumps(meta))
    return target


def assert_loads_or_refuses(target, original_state):
    def alarm(signum, frame):
        raise TimeoutError(f"restoring {target} took over {SECONDS_PER_EXAMPLE} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SECONDS_PER_EXAMPLE)
    start = time.perf_counter()
    try:
        try:
            model, _ = restore_model_from_checkpoint(target)
        except CheckpointError as exc:
            assert str(target) in str(exc)
            model = None
        problems = checkpoint_problems(target)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - start < SECONDS_PER_EXAMPLE
    if model is not None:  # a clean load is the expected model, bit for bit
        state = model.state_dict()
        assert all(np.isfinite(a).all() for a in state.values() if a.dtype.kind == "f")
        assert sorted(state) == sorted(original_state)
        for key, array in original_state.items():
            assert state[key].dtype == array.dtype and state[key].tobytes() == array.tobytes()
    else:
        assert problems, "restore failed but the validator said ok"


@FUZZ
@given(data=st.data())
def test_fuzzed_json_loads_the_original_or_is_refused(original, tmp_path, data):
    path, meta, blob, state = original
    mutated = data.draw(json_mutation(meta))
    assert_loads_or_refuses(write_case(tmp_path, original, mutated, blob, False), state)


@FUZZ
@given(data=st.data())
def test_fuzzed_weights_load_the_original_or_are_refused(original, tmp_path, data):
    path, meta, blob, state = original
    mutated, resign = data.draw(weights_mutation(blob))
    target = write_case(tmp_path, original, json.loads(json.dumps(meta)), mutated, resign)
    if resign and mutated != blob:
        # Re-signed bytes are the file's new truth: a clean load must hold exactly them
        # (finite, in the model's dtypes and shapes), or be refused.
        try:
            state = {key[len("model."):]: array for key, array in
                     load_safetensors(mutated).items() if key.startswith("model.")}
        except Exception:
            pass  # unparseable: only a CheckpointError will do, which the check below demands
    assert_loads_or_refuses(target, state)
