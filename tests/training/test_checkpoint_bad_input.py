"""Every way a real checkpoint can be damaged gives CheckpointError, never another exception,
a hang or a silent cast; and the validator says so too (issue 14)."""

import gzip
import hashlib
import json
import os
import shutil
import signal

import numpy as np
import pytest
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from neural_arch.training import (CheckpointError, ModelTrainer, checkpoint_problems,
                                  load_checkpoint, restore_model_from_checkpoint,
                                  trainer_from_checkpoint)
from neural_arch.training.checkpoint import save_checkpoint

from .conftest import tiny_config


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A real one-epoch tiny GPT-2 checkpoint (JSON + weights)."""
    root = tmp_path_factory.mktemp("orig")
    trainer = ModelTrainer(tiny_config("gpt2", root))
    trainer.train()
    return trainer.last_checkpoint


@pytest.fixture
def ck(original, tmp_path):
    """A fresh copy of the checkpoint's folder; returns the JSON path."""
    shutil.copytree(original.parent, tmp_path / "gpt2")
    return tmp_path / "gpt2" / original.name


@pytest.fixture(autouse=True)
def no_hang():
    """A FIFO or a decompression bomb must fail fast, not hang the suite."""
    def alarm(signum, frame):
        raise TimeoutError("checkpoint reading hung")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def rewrite_json(path, edit):
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def resign(path, tensors):
    """Replace the weights by ``tensors`` and record their hash: only the content is wrong."""
    blob = save_safetensors(tensors) if isinstance(tensors, dict) else tensors
    weights = path.parent / load_checkpoint(path)["weights"]["file"]
    weights.write_bytes(blob)
    rewrite_json(path, lambda m: m["weights"].update(
        sha256=hashlib.sha256(blob).hexdigest(), bytes=len(blob)))


def tensors_of(path):
    return load_safetensors((path.parent / load_checkpoint(path)["weights"]["file"]).read_bytes())


def assert_refused(path, message, resume=False):
    with pytest.raises(CheckpointError) as info:
        (trainer_from_checkpoint if resume else restore_model_from_checkpoint)(path)
    assert message in str(info.value) and str(path) in str(info.value), str(info.value)
    problems = checkpoint_problems(path)
    assert problems and any(message in p for p in problems), problems


def set_config(key, value):
    return lambda m: m["config"].__setitem__(key, value)


JSON_DAMAGE = {
    "integer of 400 digits": (lambda m: m["metrics"]["val"].__setitem__("loss", 10**400),
                              "does not fit in 64 bits"),
    "missing config": (lambda m: m.pop("config"), "missing required field 'config'"),
    "missing epoch": (lambda m: m.pop("epoch"), "missing required field 'epoch'"),
    "missing model": (lambda m: m.pop("model"), "missing required field 'model'"),
    "missing schema_version": (lambda m: m.pop("schema_version"), "'schema_version'"),
    "epochs_completed disagreeing": (lambda m: m.__setitem__("epochs_completed", 7),
                                     "'epochs_completed' (7) must equal epoch + 1"),
    "missing num_epochs": (lambda m: m["config"].pop("num_epochs"), "config lacks"),
    "missing num_sequences": (lambda m: m["config"].pop("num_sequences"), "config lacks"),
    "n_embd a string": (set_config("n_embd", "big"), "'n_embd' = 'big': expected an integer"),
    "n_embd a list": (set_config("n_embd", [1]), "expected an integer"),
    "n_embd null": (set_config("n_embd", None), "expected an integer"),
    "n_layer -1": (set_config("n_layer", -1), "'n_layer' = -1"),
    "batch_size 0": (set_config("batch_size", 0), "'batch_size' = 0"),
    "learning_rate a string": (set_config("learning_rate", "fast"), "expected a number"),
    "unknown key": (set_config("learnin_rate", 1.0), "did you mean 'learning_rate'"),
    "vocab_size 2**31": (set_config("vocab_size", 2**31), "'vocab_size' = 2147483648"),
    "n_layer 10**6": (set_config("n_layer", 10**6), "GiB ceiling"),
    "n_head not dividing": (set_config("n_head", 3), "does not build a gpt2 model"),
    "other model's name": (lambda m: m.__setitem__("model", "bert"), "config.model"),
    "both names changed": (lambda m: (m.__setitem__("model", "vit"),
                                      m["config"].__setitem__("model", "vit")), "config lacks"),
}


@pytest.mark.parametrize("damage", JSON_DAMAGE, ids=list(JSON_DAMAGE))
def test_damaged_json_is_a_checkpoint_error(ck, damage):
    edit, message = JSON_DAMAGE[damage]
    rewrite_json(ck, edit)
    assert_refused(ck, message)


@pytest.mark.parametrize("text, message", [
    ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "nested deeper"),
    ('{"x": ' + "[" * 100 + "]" * 100 + "}", "nested deeper"),
    ('{"epoch": 0, "epoch": 1}', "duplicate key 'epoch'"),
    ('{"epoch": 1e400}', "overflows a float"),
    ('{"epoch": NaN}', "non-finite number NaN"),
])
def test_strict_json_spellings(ck, text, message):
    ck.write_text(text)
    assert_refused(ck, message)


def test_json_gz_bomb_is_refused(ck):
    bomb = ck.with_name(ck.name + ".gz")
    bomb.write_bytes(gzip.compress(b"{" + b" " * (80 << 20) + b"}"))
    assert_refused(bomb, "inflates past")


@pytest.mark.parametrize("which", ["weights", "json"])
def test_fifo_and_symlink_loop_are_refused_without_hanging(ck, which):
    target = ck if which == "json" else ck.parent / load_checkpoint(ck)["weights"]["file"]
    target.unlink()
    os.mkfifo(target)
    assert_refused(ck, "not a regular file")
    target.unlink()
    target.symlink_to(target.name)  # a link to itself
    assert_refused(ck, "cannot open" if which == "json" else "gpt2_epoch_1.safetensors")


WTE = "model.transformer.wte.weight"


def change_tensor(key, fn):
    def edit(t):
        t[key] = fn(t[key])
        return t
    return edit


WEIGHT_DAMAGE = {
    "NaN weight": (change_tensor(WTE,
                                 lambda a: np.where(a == a.flat[0], np.nan, a)), "NaN", False),
    "Inf weight": (change_tensor(WTE, lambda a: a * np.float32(np.inf)),
                   "NaN or infinite", False),
    "float16 weight": (change_tensor(WTE, lambda a: a.astype(np.float16)),
                       "the model needs float32", False),
    "int weight": (change_tensor(WTE, lambda a: a.astype(np.int32)),
                   "the model needs float32", False),
    "shape mismatch": (change_tensor(WTE, lambda a: a[:-1]),
                       "the model needs float32", False),
    "missing weight": (lambda t: {k: v for k, v in t.items() if k != WTE},
                       "missing ['transformer.wte.weight']", False),
    "extra weight": (lambda t: {**t, "model.extra": np.zeros(3, np.float32)},
                     "unexpected ['extra']", False),
    "NaN optimizer moment": (lambda t: {k: (v * np.nan if ".exp_avg" in k else v)
                                        for k, v in t.items()}, "NaN or infinite", True),
    "negative second moment": (lambda t: {k: (-1 - v if k.endswith("exp_avg_sq") else v)
                                          for k, v in t.items()}, "negative values", True),
    "float16 optimizer state": (lambda t: {k: (v.astype(np.float16) if k.startswith(
        "optim.state.") else v) for k, v in t.items()}, "float16", True),
    "bad generator state": (change_tensor("rng.trainer", lambda a: a[:3]), "uint64[6]", True),
}


@pytest.mark.parametrize("damage", WEIGHT_DAMAGE, ids=list(WEIGHT_DAMAGE))
def test_resigned_bad_tensors_are_refused(ck, damage):
    edit, message, resume = WEIGHT_DAMAGE[damage]
    resign(ck, edit(tensors_of(ck)))
    assert_refused(ck, message, resume=resume)


@pytest.mark.parametrize("blob, message", [
    (b"", "starts with an 8-byte header length"),
    (b"\xff" * 8 + b"{}", "header claims"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x00{]", "corrupt or truncated JSON"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00" + b'{"a": {"x": 1}} ', "malformed"),
])
def test_resigned_malformed_weights_are_refused(ck, blob, message):
    resign(ck, blob)
    assert_refused(ck, message)


def test_truncated_resigned_weights_are_refused(ck):
    blob = save_safetensors(tensors_of(ck))
    resign(ck, blob[:-4])
    assert_refused(ck, "weights data has")


def test_metadata_only_validation_still_checks_the_config(ck):
    (ck.parent / load_checkpoint(ck)["weights"]["file"]).unlink()  # as in a fresh clone
    assert checkpoint_problems(ck, require_weights=False) == []
    rewrite_json(ck, set_config("n_layer", 10**6))
    assert any("GiB ceiling" in p for p in checkpoint_problems(ck, require_weights=False))


def test_resume_keeps_later_checkpoints_and_the_documented_name(ck, tmp_path):
    # A second epoch exists; resuming from the first must not replace it.
    trainer = trainer_from_checkpoint(ck, num_epochs=2, quiet=True)
    trainer.train()
    later = ck.with_name("gpt2_epoch_2.json")
    before = later.read_bytes()
    trainer = trainer_from_checkpoint(ck, num_epochs=2, quiet=True)
    trainer.train()
    assert trainer.archived is not None and (trainer.archived / later.name).read_bytes() == before
    assert sorted(p.name for p in ck.parent.glob("*.safetensors")) == \
        ["gpt2_epoch_1.safetensors", "gpt2_epoch_2.safetensors"]
    assert checkpoint_problems(trainer.archived / later.name) == []


def test_orphan_temp_files_are_removed_by_the_next_save(tmp_path):
    dead = 2**22 + 12345  # above the default pid_max: no such process
    orphan = tmp_path / f".m_epoch_1.safetensors.{dead}.0123abcd.tmp"
    orphan.write_bytes(b"partial")
    mine = tmp_path / f".m_epoch_1.json.{os.getpid()}.0123abcd.tmp"
    mine.write_bytes(b"in flight")
    meta = {"epoch": 0, "step": 1, "config": {}, "metrics": {"train": {"loss": 1.0},
                                                              "val": {"loss": 1.0}},
            "schema_version": 1, "model": "m", "created_at": "2026-12-02T00:00:00+00:00"}
    save_checkpoint(tmp_path, meta, {"w": np.zeros(2, np.float32)})
    assert not orphan.exists() and mine.exists()
