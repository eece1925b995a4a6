"""The default run's committed JSON checkpoints are valid and in the documented schema (the
weights are not committed, so they are checked without them)."""

from pathlib import Path

import pytest

from neural_arch.training.checkpoint import checkpoint_problems, find_checkpoints, load_checkpoint

ROOT = Path(__file__).resolve().parents[2] / "checkpoints"
EXPECTED_EPOCHS = {"gpt2": 3, "vit": 3, "clip": 6, "bert": 3, "modern_transformer": 4}


@pytest.mark.parametrize("name", sorted(EXPECTED_EPOCHS))
def test_committed_checkpoints_are_valid(name):
    paths = find_checkpoints(ROOT / name)
    assert [load_checkpoint(p)["epoch"] for p in paths] == list(range(EXPECTED_EPOCHS[name]))
    for path in paths:
        assert checkpoint_problems(path, require_weights=False) == [], path
        checkpoint = load_checkpoint(path)
        assert checkpoint["model"] == name and checkpoint["config"]["model"] == name
        assert checkpoint["weights"]["file"].endswith(".safetensors")
