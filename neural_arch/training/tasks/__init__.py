"""Task adapters: one per model family, chosen by model name."""


def make_task(model_name, config):
    """The task that trains ``model_name`` (imports only the one needed)."""
    if model_name in ("gpt2", "modern_transformer"):
        from neural_arch.training.tasks.language import LanguageModelTask
        return LanguageModelTask(config)
    if model_name in ("vit", "resnet"):
        from neural_arch.training.tasks.vision import ImageClassificationTask
        return ImageClassificationTask(config)
    if model_name == "bert":
        from neural_arch.training.tasks.sentiment import SentimentTask
        return SentimentTask(config)
    if model_name == "clip":
        from neural_arch.training.tasks.contrastive import ContrastiveTask
        return ContrastiveTask(config)
    raise ValueError(f"no task for model {model_name!r}; expected gpt2, modern_transformer, "
                     f"vit, resnet, bert or clip")
