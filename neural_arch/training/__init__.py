"""Training: the model-agnostic trainer, metrics and the documented checkpoints.

    from neural_arch.training import ModelTrainer, load_checkpoint, validate_checkpoint
"""

from neural_arch.training.checkpoint import (CheckpointError, checkpoint_problems,
                                             find_checkpoints, latest_checkpoint,
                                             load_checkpoint, load_checkpoint_tensors,
                                             save_checkpoint, validate_checkpoint)
from neural_arch.training.resume import (restore_model_from_checkpoint, resume_training,
                                         trainer_from_checkpoint)
from neural_arch.training.trainer import ModelTrainer, NonFiniteLossError
