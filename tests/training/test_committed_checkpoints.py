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
