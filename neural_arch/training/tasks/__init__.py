"""Task adapters: one per kind of data, named by each model's registry entry."""

from neural_arch.models import task_name, trainable_models


def make_task(model_name, config):
    """The task that trains ``model_name`` (imports only the one needed)."""
    kind = task_name(model_name) if model_name in trainable_models() else None
    if kind == "language":
        from neural_arch.training.tasks.language import LanguageModelTask
        return LanguageModelTask(config)
    if kind == "vision":
        from neural_arch.training.tasks.vision import ImageClassificationTask
        return ImageClassificationTask(config)
    if kind == "sentiment":
        from neural_arch.training.tasks.sentiment import SentimentTask
        return SentimentTask(config)
    if kind == "contrastive":
        from neural_arch.training.tasks.contrastive import ContrastiveTask
        return ContrastiveTask(config)
    raise ValueError(f"no task for model {model_name!r}; expected one of {trainable_models()}")
