"""The default run's committed JSON checkpoints are valid and in the documented schema (the
weights are not committed, so they are checked without them)."""

from pathlib import Path

import pytest

from neural_arch.training.checkpoint import checkpoint_problems, find_checkpoints, load_checkpoint
from neural_arch.models import trainable_models
from neural_arch.training.config import resolve_config

DEFAULT_ORDER = trainable_models()

ROOT = Path(__file__).resolve().parents[2] / "checkpoints"


@pytest.mark.parametrize("name", DEFAULT_ORDER)
def test_committed_checkpoints_are_valid(name):
    paths = find_checkpoints(ROOT / name)
    epochs = resolve_config({"model": name})["num_epochs"]
    assert [load_checkpoint(p)["epoch"] for p in paths] == list(range(epochs))
    for path in paths:
        assert checkpoint_problems(path, require_weights=False) == [], path
        checkpoint = load_checkpoint(path)
        assert checkpoint["model"] == name and checkpoint["config"]["model"] == name
        assert checkpoint["weights"]["file"].endswith(".safetensors")


def _final(name):
    return load_checkpoint(find_checkpoints(ROOT / name)[-1])


# The targets for the default run: (metric path, bound, which side), and every model
# against the baseline computed in the same run.
TARGETS = {
    "gpt2": (("val", "loss"), 2.05, "at most"),
    "modern_transformer": (("val", "loss"), 2.05, "at most"),
    "vit": (("test", "accuracy"), 0.95, "at least"),
    "resnet": (("test", "accuracy"), 0.97, "at least"),
    "clip": (("test", "zero_shot_accuracy"), 0.90, "at least"),
    "bert": (("test", "accuracy"), 0.70, "at least"),
    "minilm": (("test", "accuracy"), 0.80, "at least"),
}


@pytest.mark.parametrize("name", DEFAULT_ORDER)
def test_committed_run_meets_its_targets(name):
    checkpoint = _final(name)
    (split, key), bound, side = TARGETS[name]
    value = checkpoint["metrics"][split][key]
    assert value <= bound if side == "at most" else value >= bound, (name, value, bound)


@pytest.mark.parametrize("name", DEFAULT_ORDER)
def test_committed_run_beats_its_same_run_baseline(name):
    """A model that does not beat the baseline computed in the same run has not learned."""
    checkpoint = _final(name)
    baseline = checkpoint["dataset"]["baseline"]
    if name in ("gpt2", "modern_transformer"):
        assert checkpoint["metrics"]["val"]["loss"] < baseline["bigram_val_loss"]
    else:
        (split, key), _, _ = TARGETS[name]
        assert checkpoint["metrics"][split][key] > baseline[f"{split}_accuracy"]


def test_metadata_only_validation_still_checks_present_weights(tmp_path):
    """Without weights on disk a committed checkpoint is valid metadata-only, but a weights file
    that is there must still match its hash, and weights are required by default."""
    import shutil
    source = find_checkpoints(ROOT / "gpt2")[0]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    assert checkpoint_problems(copy, require_weights=False) == []
    assert any("missing" in p for p in checkpoint_problems(copy))
    (tmp_path / load_checkpoint(copy)["weights"]["file"]).write_bytes(b"not the weights")
    assert checkpoint_problems(copy, require_weights=False)
