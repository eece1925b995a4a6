"""Checkpoint files: round trips, every kind of damage, strict JSON, listing, and atomicity."""

import gzip
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from neural_arch.training.checkpoint import (CheckpointError, checkpoint_problems,
                                             ensure_writable, find_checkpoints,
                                             latest_checkpoint, load_checkpoint,
                                             load_checkpoint_tensors, pack_state,
                                             save_checkpoint, to_json_safe, unpack_state,
                                             validate_checkpoint)


def make_metadata(epochs_completed):
    return {
        "epoch": epochs_completed - 1,
        "step": 50 * epochs_completed,
        "config": {"vocab_size": 200, "n_embd": 16, "learning_rate": 5e-4},
        "metrics": {
            "train": {"loss": 2.0, "perplexity": math.exp(2.0), "accuracy": 0.5, "time": 1.5},
            "val": {"loss": 2.5, "perplexity": math.exp(2.5), "accuracy": 0.25, "time": 0.2},
        },
        "generation_samples": ["Once upon a time"],
    }


def written(meta, model="gpt2"):
    """``meta`` with the keys the writer's ``checkpoint_metadata`` adds to every checkpoint."""
    return {**meta, "schema_version": 1, "model": model,
            "created_at": "2026-12-02T00:00:00+00:00"}


def make_tensors(seed):
    rng = np.random.default_rng(seed)
    model = {"wte.weight": rng.normal(size=(7, 5)).astype(np.float32),
             "ln.bias": rng.normal(size=(5,)).astype(np.float16),
             "head.weight_t": rng.normal(size=(5, 3)).T,  # a non-contiguous float64 view
             "scale": np.array(3.5, dtype=np.float32)}     # 0-d
    optim = {"step": np.array([seed + 1], dtype=np.int64),
             "exp_avg.wte.weight": rng.normal(size=(7, 5)).astype(np.float32)}
    rng_state = {"pcg64": np.array([seed, 2**63 + 5], dtype=np.uint64),
                 "has_gauss": np.array([True, False])}
    return pack_state(model, optim, rng_state)


def assert_same_tensors(actual, expected):
    assert sorted(actual) == sorted(expected)
    for key, array in expected.items():
        assert actual[key].dtype == array.dtype, key
        assert actual[key].shape == array.shape, key
        assert actual[key].tobytes() == array.tobytes(), key


def save(directory, epochs_completed, seed=0, **kwargs):
    return save_checkpoint(directory, written(make_metadata(epochs_completed)),
                           make_tensors(seed), **kwargs)


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_metadata_and_tensors(tmp_path, compress, capsys):
    path = save(tmp_path, 3, compress=compress)
    assert path.name == ("gpt2_epoch_3.json.gz" if compress else "gpt2_epoch_3.json")
    meta = load_checkpoint(path)
    for key, value in make_metadata(3).items():
        assert meta[key] == value
    assert meta["epoch"] == 2 and "epochs_completed" not in meta  # stored once: name says 3
    assert meta["model"] == "gpt2" and meta["schema_version"] == 1
    assert meta["created_at"].endswith("+00:00")
    weights = tmp_path / "gpt2_epoch_3.safetensors"
    assert meta["weights"] == {"file": weights.name, "bytes": weights.stat().st_size,
                               "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}
    assert_same_tensors(load_checkpoint_tensors(path), make_tensors(0))
    assert checkpoint_problems(path, check_model=False) == []
    assert validate_checkpoint(path, check_model=False) is True
    assert capsys.readouterr().out == f"✅ Checkpoint {path} is valid\n"


def test_plain_json_is_readable_without_our_code(tmp_path):
    # `cat ... | jq .` and json.load in the documented examples must keep working.
    meta = json.loads(save(tmp_path, 1).read_text())
    assert meta["metrics"]["val"]["loss"] == 2.5
    gz = save(tmp_path / "gz", 1, compress=True)
    assert json.loads(gzip.decompress(gz.read_bytes()))["step"] == 50


def test_pack_and_unpack_state():
    model, optim, rng_state = unpack_state(make_tensors(1))
    assert sorted(model) == ["head.weight_t", "ln.bias", "scale", "wte.weight"]
    assert sorted(optim) == ["exp_avg.wte.weight", "step"]
    assert sorted(rng_state) == ["has_gauss", "pcg64"]
    assert model["head.weight_t"].flags.c_contiguous
    with pytest.raises(ValueError, match="prefixes"):
        unpack_state({"stray": np.zeros(1)})
    with pytest.raises(TypeError, match="model.bad"):
        pack_state({"bad": [1.0, 2.0]})


def test_numpy_scalars_become_plain_json(tmp_path):
    meta = make_metadata(1)
    meta["metrics"]["train"]["loss"] = np.float32(1.25)
    meta["step"] = np.int64(7)
    meta["class_accuracies"] = np.array([0.5, 1.0])
    meta["config"]["betas"] = (0.9, 0.95)
    path = save_checkpoint(tmp_path, written(meta, "vit"), {})
    loaded = load_checkpoint(path)
    assert loaded["metrics"]["train"]["loss"] == 1.25 and loaded["step"] == 7
    assert loaded["class_accuracies"] == [0.5, 1.0] and loaded["config"]["betas"] == [0.9, 0.95]
    assert to_json_safe({np.int64(3): np.bool_(True)}) == {"3": True}


# ------------------------------------------------------------------------ bad input on save


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("-inf")])
def test_non_finite_metadata_is_refused_before_writing(tmp_path, bad):
    meta = make_metadata(1)
    meta["metrics"]["val"]["perplexity"] = bad
    with pytest.raises(ValueError, match=r"metadata\['metrics'\]\['val'\]\['perplexity'\]"):
        save_checkpoint(tmp_path, written(meta), make_tensors(0))
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"metadata\['epoch'\] must be an int >= 0"):
        save_checkpoint(tmp_path, written({**make_metadata(1), "epoch": -1}), {})
    with pytest.raises(ValueError, match="model_name"):
        save_checkpoint(tmp_path, written(make_metadata(1), "../evil"), {})
    with pytest.raises(ValueError, match="model_name"):
        save_checkpoint(tmp_path, make_metadata(1), {})  # no "model": not from the writer
    with pytest.raises(TypeError, match="object"):
        save_checkpoint(tmp_path, written(make_metadata(1)), {"w": np.array([None])})
    with pytest.raises(TypeError, match="no JSON form"):
        save_checkpoint(tmp_path, written({**make_metadata(1), "x": object()}), {})


def test_unwritable_directory_is_a_clear_error(tmp_path):
    # A directory below a regular file cannot exist, even for root (chmod would not stop root).
    (tmp_path / "afile").write_text("not a directory")
    bad = tmp_path / "afile" / "sub"
    with pytest.raises(CheckpointError, match="not writable") as info:
        ensure_writable(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(CheckpointError, match=str(bad)):
        save(bad, 1)
    good = ensure_writable(tmp_path / "new" / "gpt2")
    assert good.is_dir() and list(good.iterdir()) == []  # the probe file is gone


# ------------------------------------------------------------------------- damaged files


def corrupt_json(path):
    path.write_text('{"epoch": 0, "step": ')


def truncate_json(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def flip_weight_byte(path):
    weights = path.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF  # in the tensor data, so the file still parses; only the hash can tell
    weights.write_bytes(bytes(data))


def delete_weights(path):
    path.with_suffix(".safetensors").unlink()


def point_weights_at(path, name):
    meta = json.loads(path.read_text())
    meta["weights"]["file"] = name
    path.write_text(json.dumps(meta))


def parent_dir_weights(path):
    # A perfectly good copy outside the checkpoint's directory: only the path is wrong.
    outside = path.parent.parent / "x.safetensors"
    outside.write_bytes(path.with_suffix(".safetensors").read_bytes())
    point_weights_at(path, "../x.safetensors")


def absolute_weights(path):
    point_weights_at(path, str(path.with_suffix(".safetensors").resolve()))


def symlink_escape(path):
    outside = path.parent.parent / "elsewhere.safetensors"
    outside.write_bytes(path.with_suffix(".safetensors").read_bytes())
    (path.parent / "link.safetensors").symlink_to(outside)
    point_weights_at(path, "link.safetensors")


DAMAGE = {
    "corrupt JSON": (corrupt_json, "corrupt or truncated JSON"),
    "truncated JSON": (truncate_json, "corrupt or truncated JSON"),
    "wrong hash": (flip_weight_byte, "SHA-256"),
    "missing weights": (delete_weights, "missing"),
    "parent-dir weights": (parent_dir_weights, "leaves the checkpoint's directory"),
    "absolute weights": (absolute_weights, "absolute path"),
    "symlink escape": (symlink_escape, "leaves the checkpoint's directory"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_checkpoint_is_refused_and_reported(tmp_path, damage, capsys):
    directory = tmp_path / "gpt2"
    path = save(directory, 1)
    damage_fn, message = DAMAGE[damage]
    damage_fn(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint_tensors(path)
    assert str(path) in str(info.value)  # the error names the file
    problems = checkpoint_problems(path, check_model=False)
    assert any(message in problem for problem in problems), problems
    assert validate_checkpoint(path, check_model=False) is False
    assert capsys.readouterr().out.startswith(f"❌ Checkpoint {path} validation failed: ")


@pytest.mark.parametrize("content, message", [
    (b"[1, 2, 3]", "JSON object"),
    (b'{"epoch": NaN}', "non-finite"),
    (b"\xff\xfe{}", "UTF-8"),
])
def test_unreadable_json_raises_checkpoint_error(tmp_path, content, message):
    path = tmp_path / "gpt2_epoch_1.json"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="file not found"):
        load_checkpoint(tmp_path / "gpt2_epoch_9.json")
    gz = tmp_path / "gpt2_epoch_2.json.gz"
    gz.write_bytes(gzip.compress(b'{"epoch": 1}')[:-6])
    with pytest.raises(CheckpointError, match="gzip"):
        load_checkpoint(gz)


def edit(meta, dotted, value):
    *parents, last = dotted.split(".")
    for key in parents:
        meta = meta[key]
    if value is KeyError:
        del meta[last]
    else:
        meta[last] = value


@pytest.mark.parametrize("field, value, message", [
    ("epoch", KeyError, "missing required field 'epoch'"),
    ("metrics.val", KeyError, "missing required field 'metrics.val'"),
    ("metrics.train.loss", KeyError, "missing required field 'metrics.train.loss'"),
    ("epoch", -1, "'epoch' must be an integer >= 0"),
    ("step", "12", "'step' must be an integer >= 0"),
    ("config", [1, 2], "'config' must be an object"),
    ("metrics.train.loss", 0.0, "metrics.train.loss must be > 0"),
    ("metrics.val.loss", "HUGE", "number 1e999 overflows a float"),  # not read as inf
    ("metrics.val.accuracy", 1.5, "metrics.val.accuracy = 1.5 is outside [0, 1]"),
    ("metrics.train.perplexity", 0.5, "metrics.train.perplexity = 0.5 is below 1"),
    ("metrics.train.time", -1.0, "metrics.train.time = -1.0 is negative"),
    ("metrics.retrieval", {"I2T_R@5": 2.0}, "metrics.retrieval.I2T_R@5 = 2.0 is outside"),
    ("class_accuracies", [0.5, None, 1.2], "class_accuracies[2] = 1.2"),
    ("epochs_completed", 5, "'epochs_completed' (5) must equal epoch + 1"),
])
def test_schema_problems_are_listed(tmp_path, field, value, message):
    path = save(tmp_path, 1)
    meta = json.loads(path.read_text())
    edit(meta, field, value)
    path.write_text(json.dumps(meta).replace('"HUGE"', "1e999"))
    problems = checkpoint_problems(path, check_model=False)
    assert any(message in problem for problem in problems), problems
    assert validate_checkpoint(path, check_model=False) is False


def test_metadata_only_checkpoint_of_the_original_format(tmp_path):
    path = tmp_path / "gpt2_epoch_3.json"
    meta = make_metadata(3)
    path.write_text(json.dumps(meta))
    assert any("no 'weights' entry" in p for p in checkpoint_problems(path, check_model=False))
    assert checkpoint_problems(path, require_weights=False) == []
    misnamed = tmp_path / "gpt2_epoch_1.json"
    misnamed.write_text(json.dumps(meta))
    assert any("file name says epoch 1" in p
               for p in checkpoint_problems(misnamed, require_weights=False))


# --------------------------------------------------------------------- listing and overwrite


def test_find_checkpoints_orders_epochs_numerically(tmp_path):
    for n in (10, 2, 9, 1, 11):
        save(tmp_path, n)
    save_checkpoint(tmp_path, written(make_metadata(3), "vit"), {})
    (tmp_path / ".gpt2_epoch_12.json.123.abcd1234.tmp").write_text("{partial")
    (tmp_path / "notes.json").write_text("{}")
    names = [p.name for p in find_checkpoints(tmp_path, "gpt2")]
    assert names == [f"gpt2_epoch_{n}.json" for n in (1, 2, 9, 10, 11)]
    assert [p.name for p in find_checkpoints(tmp_path)][2] == "vit_epoch_3.json"
    assert latest_checkpoint(tmp_path, "gpt2").name == "gpt2_epoch_11.json"
    assert find_checkpoints(tmp_path / "missing") == []
    assert latest_checkpoint(tmp_path / "missing") is None


def test_overwriting_an_epoch_replaces_it_and_cleans_up(tmp_path):
    first = save(tmp_path, 2, seed=1)
    second = save(tmp_path, 2, seed=2)  # e.g. a resumed run redoing epoch 2
    assert first == second
    assert_same_tensors(load_checkpoint_tensors(second), make_tensors(2))
    # The new weights keep the documented name; the superseded file is gone.
    assert [p.name for p in tmp_path.glob("*.safetensors")] == \
        [load_checkpoint(second)["weights"]["file"]] == ["gpt2_epoch_2.safetensors"]
    gz = save(tmp_path, 2, seed=3, compress=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt2_epoch_2.json.gz",
                                                          "gpt2_epoch_2.safetensors"]
    assert_same_tensors(load_checkpoint_tensors(gz), make_tensors(3))
    assert checkpoint_problems(gz, check_model=False) == []


def test_checkpoint_code_never_unpickles():
    import neural_arch.training.checkpoint as checkpoint
    import neural_arch.training.checkpoint_validation as validation
    for module in (checkpoint, validation):
        source = Path(module.__file__).read_text()
        assert "import pickle" not in source and "np.load(" not in source
