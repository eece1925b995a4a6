"""Rebuilding a model, or a whole training run, from a checkpoint on disk.

The JSON gives the model's name and config; the safetensors file beside it (hash-checked) gives
the weights, the optimizer state and the RNG states. Nothing is unpickled, and everything is
checked before it is used (``checkpoint_restore.py``): whatever is wrong with the files raises
``CheckpointError`` naming the file and the problem.
"""

from pathlib import Path

from neural_arch.training.checkpoint import CheckpointError, load_checkpoint
from neural_arch.training.checkpoint_restore import (build_model, check_model_state,
                                                     check_optimizer_arrays, check_rng_arrays,
                                                     checkpoint_config, load_model_state,
                                                     param_dtypes, read_state)


def restore_model_from_checkpoint(checkpoint_path):
    """(model with the saved weights, in eval mode; the saved config dict)."""
    path = Path(checkpoint_path)
    checkpoint = load_checkpoint(path)
    name, config = checkpoint_config(path, checkpoint)
    model_state, _, _ = read_state(path, checkpoint)
    model = build_model(path, name, config)
    load_model_state(path, model, model_state)
    model.eval()
    return model, config


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def trainer_from_checkpoint(checkpoint_path, num_epochs=None, quiet=None):
    """A ModelTrainer whose model, optimizer, scheduler and RNGs are as they were when the
    checkpoint was written; ``num_epochs`` (the new total) defaults to the saved one. Its new
    checkpoints go into the folder of the one it was built from; checkpoints there that are
    later than this one are moved to ``previous_runs/`` when training starts, never replaced."""
    from neural_arch.training.trainer import ModelTrainer
    path = Path(checkpoint_path)
    checkpoint = load_checkpoint(path)
    name, config = checkpoint_config(path, checkpoint)
    model_state, optim_state, rng_state = read_state(path, checkpoint)
    if num_epochs is not None:
        config["num_epochs"] = _positive_int("num_epochs", num_epochs)
    try:
        trainer = ModelTrainer(config, quiet=quiet, checkpoint_dir=path.parent)
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise CheckpointError(path, f"config does not build a trainer: {exc}") from exc
    check_model_state(path, trainer.model, model_state)
    check_optimizer_arrays(path, optim_state, param_dtypes(trainer.model))
    check_rng_arrays(path, rng_state, trainer.model)
    try:
        trainer.load_state(checkpoint, model_state, optim_state, rng_state)
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(path, f"state does not load: {exc}") from exc
    return trainer


def resume_training(checkpoint_path, additional_epochs=5, quiet=None):
    """Continue training for ``additional_epochs`` more epochs; returns the final metrics.

    The learning-rate schedule covers the new total (``epoch + 1 + additional_epochs``), so a
    run resumed to its original ``num_epochs`` continues exactly as if never interrupted.
    """
    _positive_int("additional_epochs", additional_epochs)
    checkpoint = load_checkpoint(checkpoint_path)
    checkpoint_config(Path(checkpoint_path), checkpoint)  # a sound epoch before the sum
    total = checkpoint["epoch"] + 1 + additional_epochs
    trainer = trainer_from_checkpoint(checkpoint_path, num_epochs=total, quiet=quiet)
    return trainer.train()
