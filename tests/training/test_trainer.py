"""The trainer end to end on tiny configs: documented schema per family, exact resume, failure
modes (NaN loss, unwritable directory), and that training lowers the loss."""

import math

import numpy as np
import pytest

from neural_arch.training import (CheckpointError, ModelTrainer, NonFiniteLossError,
                                  find_checkpoints, load_checkpoint, load_checkpoint_tensors,
                                  resume_training, validate_checkpoint)

FAMILY_KEYS = {
    "gpt2": ({"loss", "perplexity", "accuracy", "time"}, {"generation_samples"}),
    "modern_transformer": ({"loss", "perplexity", "accuracy", "time"}, {"generation_samples"}),
    "bert": ({"loss", "accuracy", "time"}, set()),
    "vit": ({"loss", "accuracy", "top5_accuracy", "time"}, {"class_accuracies",
                                                             "learning_rate"}),
    "resnet": ({"loss", "accuracy", "top5_accuracy", "time"}, {"class_accuracies",
                                                                "learning_rate"}),
    "clip": ({"loss", "i2t_accuracy", "t2i_accuracy", "temperature", "time"}, set()),
    "minilm": ({"loss", "accuracy", "time"}, set()),
}
OUR_ADDITIONS = {"schema_version", "model", "created_at", "seed",
                 "environment", "dataset", "weights"}


@pytest.mark.parametrize("name", sorted(FAMILY_KEYS))
def test_checkpoint_schema_per_family(name, tmp_path, tiny):
    trainer = ModelTrainer(tiny(name, tmp_path))
    trainer.train()
    path = tmp_path / name / f"{name}_epoch_1.json"
    cp = load_checkpoint(path)
    metric_keys, top_keys = FAMILY_KEYS[name]
    assert cp["epoch"] == 0 and "epochs_completed" not in cp  # the epoch is stored once
    assert isinstance(cp["step"], int) and cp["step"] == trainer.step > 0
    assert isinstance(cp["config"], dict) and cp["config"]["model"] == name
    for split in ("train", "val"):
        assert metric_keys <= set(cp["metrics"][split]), (split, cp["metrics"][split])
        for key in metric_keys:
            assert isinstance(cp["metrics"][split][key], float)
    assert top_keys <= set(cp), set(cp)
    assert OUR_ADDITIONS <= set(cp)
    if name == "clip":
        assert set(cp["metrics"]["retrieval"]) == {f"{d}_R@{k}" for d in ("I2T", "T2I")
                                                  for k in (1, 5, 10)}
    if name in ("gpt2", "modern_transformer"):
        assert all(isinstance(s, str) and s for s in cp["generation_samples"])
        baseline = cp["dataset"]["baseline"]
        assert baseline["bigram_val_loss"] < baseline["unigram_val_loss"] < math.log(
            cp["dataset"]["vocab_size"])
    if name == "clip":
        assert 0.0 <= cp["metrics"]["val"]["zero_shot_accuracy"] <= 1.0
    if name in ("vit", "resnet"):
        assert len(cp["class_accuracies"]) == 10
    assert validate_checkpoint(path)


def _weights(path):
    return {k: v for k, v in load_checkpoint_tensors(path).items()}


# Dropout generators (gpt2, bert), BatchNorm buffers (resnet), the learnable temperature (clip).
RESUME_EXTRA = {"gpt2": {"dropout": 0.1}, "bert": {"hidden_dropout_prob": 0.1}, "resnet": {},
                "clip": {}}


@pytest.mark.parametrize("name", sorted(RESUME_EXTRA))
def test_resume_is_bitwise_exact(name, tmp_path, tiny):
    extra = RESUME_EXTRA[name]
    straight = ModelTrainer(tiny(name, tmp_path / "a", num_epochs=3, **extra))
    straight.train()
    interrupted = ModelTrainer(tiny(name, tmp_path / "b", num_epochs=3, **extra))
    interrupted.train(epochs=2)
    resume_training(tmp_path / "b" / name / f"{name}_epoch_2.json", additional_epochs=1)
    a = tmp_path / "a" / name / f"{name}_epoch_3.json"
    b = tmp_path / "b" / name / f"{name}_epoch_3.json"
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert np.array_equal(wa[key], wb[key]), key
    ma, mb = load_checkpoint(a)["metrics"], load_checkpoint(b)["metrics"]
    for split in ("train", "val"):
        for key in ma[split]:
            if key != "time":
                assert ma[split][key] == mb[split][key], (split, key)
    assert load_checkpoint(a)["step"] == load_checkpoint(b)["step"]


def test_training_lowers_the_loss(tmp_path, tiny):
    trainer = ModelTrainer(tiny("gpt2", tmp_path, num_epochs=3))
    trainer.train()
    losses = [h["val"]["loss"] for h in trainer.history]
    assert losses[-1] < losses[0] < math.log(200) + 0.3


def test_nan_loss_stops_and_keeps_last_checkpoint(tmp_path, tiny):
    trainer = ModelTrainer(tiny("gpt2", tmp_path, num_epochs=2))
    trainer.train(epochs=1)
    first = tmp_path / "gpt2" / "gpt2_epoch_1.json"
    before = first.read_bytes()
    trainer.model.transformer.wte.weight.data[...] = np.nan
    with pytest.raises(NonFiniteLossError, match=r"step \d+"):
        trainer.train()
    assert first.read_bytes() == before and validate_checkpoint(first)
    assert [p.name for p in find_checkpoints(tmp_path / "gpt2")] == ["gpt2_epoch_1.json"]


def test_unwritable_directory_fails_before_training(tmp_path, tiny):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(CheckpointError, match="a_file"):
        ModelTrainer(tiny("gpt2", blocker))


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not trainable"):
        ModelTrainer({"model": "gpt5", "out_dir": str(tmp_path)})


def test_a_new_run_archives_the_previous_one_instead_of_mixing(tmp_path, tiny):
    ModelTrainer(tiny("gpt2", tmp_path, num_epochs=2)).train()
    ModelTrainer(tiny("gpt2", tmp_path, num_epochs=1, seed=5)).train()
    live = find_checkpoints(tmp_path / "gpt2")
    assert [p.name for p in live] == ["gpt2_epoch_1.json"]
    assert load_checkpoint(live[0])["seed"] == 5 and validate_checkpoint(live[0])
    (archive,) = (tmp_path / "gpt2" / "previous_runs").iterdir()
    old = find_checkpoints(archive)
    assert [p.name for p in old] == ["gpt2_epoch_1.json", "gpt2_epoch_2.json"]
    assert all(validate_checkpoint(p) for p in old)


def test_resume_writes_beside_the_checkpoint_it_read(tmp_path, tiny):
    ModelTrainer(tiny("gpt2", tmp_path, num_epochs=2)).train(epochs=1)
    elsewhere = tmp_path / "copied_somewhere"
    elsewhere.mkdir()
    for path in (tmp_path / "gpt2").iterdir():
        (elsewhere / path.name).write_bytes(path.read_bytes())
    resume_training(elsewhere / "gpt2_epoch_1.json", additional_epochs=1)
    assert [p.name for p in find_checkpoints(elsewhere)] == ["gpt2_epoch_1.json",
                                                            "gpt2_epoch_2.json"]
    assert validate_checkpoint(elsewhere / "gpt2_epoch_2.json")
