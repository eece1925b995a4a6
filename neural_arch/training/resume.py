"""Rebuilding a model, or a whole training run, from a checkpoint on disk.

The JSON gives the model's name and config; the safetensors file beside it (hash-checked) gives
the weights, the optimizer state and the RNG states. Nothing is unpickled.
"""

from pathlib import Path

from neural_arch.models import get_model
from neural_arch.training.checkpoint import (CheckpointError, load_checkpoint,
                                             load_checkpoint_tensors, unpack_state)
from neural_arch.training.config import model_settings


def _model_name(checkpoint, path):
    name = checkpoint.get("model") or checkpoint.get("config", {}).get("model")
    if not name:
        raise CheckpointError(path, "the checkpoint names no model ('model' field)")
    return name


def restore_model_from_checkpoint(checkpoint_path):
    """(model with the saved weights, in eval mode; the saved config dict)."""
    checkpoint = load_checkpoint(checkpoint_path)
    name = _model_name(checkpoint, checkpoint_path)
    config = dict(checkpoint["config"])
    model = get_model(name, **model_settings(name, config))
    model_state, _, _ = unpack_state(load_checkpoint_tensors(checkpoint_path))
    model.load_state_dict(model_state)
    model.eval()
    return model, config


def trainer_from_checkpoint(checkpoint_path, num_epochs=None, quiet=None):
    """A ModelTrainer whose model, optimizer, scheduler and RNGs are as they were when the
    checkpoint was written; ``num_epochs`` (the new total) defaults to the saved one. Its new
    checkpoints go into the folder of the one it was built from."""
    from neural_arch.training.trainer import ModelTrainer
    path = Path(checkpoint_path)
    checkpoint = load_checkpoint(path)
    config = dict(checkpoint["config"])
    config["model"] = _model_name(checkpoint, path)
    if num_epochs is not None:
        config["num_epochs"] = int(num_epochs)
    trainer = ModelTrainer(config, quiet=quiet, checkpoint_dir=path.parent)
    trainer.load_state(checkpoint, *unpack_state(load_checkpoint_tensors(path)))
    return trainer


def resume_training(checkpoint_path, additional_epochs=5, quiet=None):
    """Continue training for ``additional_epochs`` more epochs; returns the final metrics.

    The learning-rate schedule covers the new total (``epoch + 1 + additional_epochs``), so a
    run resumed to its original ``num_epochs`` continues exactly as if never interrupted.
    """
    checkpoint = load_checkpoint(checkpoint_path)
    total = int(checkpoint["epoch"]) + 1 + int(additional_epochs)
    trainer = trainer_from_checkpoint(checkpoint_path, num_epochs=total, quiet=quiet)
    return trainer.train()
