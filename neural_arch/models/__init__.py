"""The model zoo and its registry: ``get_model(name, **overrides)`` builds any model by name.

    from neural_arch.models import get_model, list_models, model_config
    model = get_model("gpt2", vocab_size=512)       # the default GPT-2, larger vocabulary
    model_config("gpt2", vocab_size=512)            # the merged config dict it was built from

One entry per model: its model class, its config dataclass, its training task and a summary.
The defaults are written once, in the config dataclass (``GPT2Config``: the small model of the
default training run). An entry may add ``overrides`` of those defaults: a published
architecture, for ``minilm`` (all-MiniLM-L6-v2, trained from its pretrained weights) and the
presets (``gpt2_small``, ``bert_base``, ``vit_base_patch16_224``: built untrained, no task).

Classes are named as ``"module:Class"`` below ``neural_arch.models`` and imported on first use,
so ``import neural_arch.models`` stays cheap and loads no model file.
"""

import importlib

_GPT2_SMALL = dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                   dropout=0.1, layer_norm_eps=1e-5, bias=True)

_BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                  num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512,
                  type_vocab_size=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                  layer_norm_eps=1e-12, initializer_range=0.02, add_pooler=True)

_VIT_BASE = dict(image_size=224, patch_size=16, in_channels=3, num_classes=1000, embed_dim=768,
                 depth=12, num_heads=12, mlp_ratio=4.0, dropout=0.0)

# all-MiniLM-L6-v2's architecture (its Hugging Face config.json) with a 2-way classifier on
# mean-pooled tokens; the trainer's task loads the pretrained encoder weights.
_MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
               intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
               hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
               initializer_range=0.02, add_pooler=False, num_labels=2,
               classifier_pooling="mean")

_GPT2 = "language.gpt2:"
_BERT = "language.bert:"
_BERT_CLASSIFIER = "language.bert_classifier:"
_VIT = "vision.vision_transformer:"

# name -> model class, config class, optional overrides of its defaults, summary, the training
# task that feeds it (``training.tasks.make_task`` reads it; presets have none) and its
# ``default_run``: the settings of ``neural-arch train --all`` (model sizes and training
# settings, one flat dict as in the checkpoints), each chosen to beat the model's same-run
# baseline and meet its target within the run's time budget. The trainable models are listed
# in the order the default run starts them, longest first, so the last ones to finish are short.
_REGISTRY = {
    "minilm": {
        "task": "sentiment",
        "model": _BERT_CLASSIFIER + "BertForSequenceClassification",
        "config": _BERT + "BERTConfig",
        "overrides": _MINILM,
        "summary": "all-MiniLM-L6-v2 sentence encoder with a classification head",
        # One epoch over 4,000 of the 8,454 training sentences with the word table frozen
        # (see SentimentTask); the baseline fits all of them, evaluation uses all of val/test.
        "default_run": dict(tokenizer="minilm", max_len=64, batch_size=16, learning_rate=1e-4,
                            warmup_fraction=0.1, num_epochs=1, max_train_sentences=4000,
                            freeze_word_embeddings=True),
    },
    "gpt2": {
        "task": "language",
        "model": _GPT2 + "GPT2LMHead", "config": _GPT2 + "GPT2Config",
        "summary": "GPT-2 decoder language model (learned positions, LayerNorm, GELU MLP)",
        # nanoGPT's shakespeare_char CPU config (4 layers, 4 heads, 128 wide, 64 characters of
        # context, batch 12, lr 1e-3 decaying to 1e-4, beta2 0.99, weight decay 0.1, no bias,
        # no dropout, 100 warmup steps), for 1,500 steps: 3 epochs of 6,000 random windows.
        "default_run": dict(n_embd=128, n_layer=4, n_head=4, n_positions=64, bias=False,
                            dropout=0.0, batch_size=12, learning_rate=1e-3, weight_decay=0.1,
                            warmup_fraction=100 / 1500, num_epochs=3, num_sequences=6000,
                            eval_sequences=240),
    },
    "modern_transformer": {
        "task": "language",
        "model": "language.modern_transformer:ModernTransformer",
        "config": "language.modern_transformer:ModernTransformerConfig",
        "summary": "Llama-style decoder: RMSNorm, RoPE, SwiGLU, grouped-query attention",
        # It learns faster per step than GPT-2 (RoPE, SwiGLU): 1,000 steps reach the target.
        "default_run": dict(dim=128, n_layer=4, n_head=4, n_kv_head=2, max_seq_len=64,
                            dropout=0.0, batch_size=12, learning_rate=1e-3, weight_decay=0.1,
                            warmup_fraction=0.1, num_epochs=2, num_sequences=6000,
                            eval_sequences=240),
    },
    "vit": {
        "task": "vision",
        "model": _VIT + "VisionTransformer", "config": _VIT + "ViTConfig",
        "summary": "Vision Transformer image classifier",
        # Each digit moves by up to one pixel, a new draw every epoch: without it the ViT
        # memorises the 4,000 images and only matches logistic regression.
        "default_run": dict(dataset="mnist_5k", patch_size=7, embed_dim=64, depth=3,
                            num_heads=4, batch_size=64, learning_rate=3e-3, weight_decay=0.05,
                            num_epochs=40, augment_shift=1),
    },
    "resnet": {
        "task": "vision",
        "model": "vision.resnet:ResNet", "config": "vision.resnet:ResNetConfig",
        "summary": "CIFAR-style ResNet (depth 6n + 2, BatchNorm, ReLU)",
        "default_run": dict(dataset="mnist_5k", depth=8, base_width=16, batch_size=64,
                            learning_rate=1e-2, weight_decay=5e-4, num_epochs=6,
                            augment_shift=1),
    },
    "clip": {
        "task": "contrastive",
        "model": "multimodal.clip:CLIP", "config": "multimodal.clip:CLIPConfig",
        "summary": "CLIP: contrastive image-text model (ViT + text transformer)",
        "default_run": dict(dataset="mnist_5k", patch_size=7, vision_width=64,
                            vision_layers=3, vision_heads=4, text_width=64, text_layers=1,
                            text_heads=4, embed_dim=64, batch_size=32, learning_rate=2e-3,
                            weight_decay=0.05, warmup_fraction=0.1, num_epochs=20,
                            augment_shift=1),
    },
    "bert": {
        "task": "sentiment",
        "model": _BERT_CLASSIFIER + "BertForSequenceClassification",
        "config": _BERT + "BERTConfig",
        "summary": "BERT encoder with a sequence-classification head",
        # From scratch, two epochs: a third overfits (train accuracy 94 %, val loss 0.45 ->
        # 0.57) and loses a point of test accuracy.
        "default_run": dict(tokenizer="words", min_word_count=2, max_len=48, hidden_size=64,
                            intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            hidden_dropout_prob=0.1, batch_size=32, learning_rate=1e-3,
                            warmup_fraction=0.1, num_epochs=2),
    },
    "gpt2_small": {
        "model": _GPT2 + "GPT2LMHead", "config": _GPT2 + "GPT2Config",
        "overrides": _GPT2_SMALL,
        "summary": "GPT-2 small (124M parameters), untrained",
    },
    "bert_base": {
        "model": _BERT + "BERT", "config": _BERT + "BERTConfig",
        "overrides": _BERT_BASE,
        "summary": "BERT-base encoder with pooler (110M parameters), untrained",
    },
    "vit_base_patch16_224": {
        "model": _VIT + "VisionTransformer", "config": _VIT + "ViTConfig",
        "overrides": _VIT_BASE,
        "summary": "ViT-B/16 at 224x224, 1000 classes (86M parameters), untrained",
    },
}


def list_models():
    """The registered names, models first, then presets."""
    return list(_REGISTRY)


def _entry(name):
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def _load(path):
    """``"language.gpt2:GPT2Config"`` -> the class, importing its module on first use."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"neural_arch.models.{module}"), name)


def task_name(name):
    """The training task of model ``name`` (None for the untrained presets)."""
    return _entry(name).get("task")


def trainable_models():
    """The names that ``neural-arch train`` accepts (the entries with a task), in the order the
    default run starts them."""
    return [name for name, entry in _REGISTRY.items() if "task" in entry]


def default_run(name):
    """The settings ``neural-arch train --all`` uses for ``name`` (a new dict)."""
    return dict(_entry(name)["default_run"])


def config_class(name):
    """The config dataclass of model ``name`` (imports the model's module)."""
    return _load(_entry(name)["config"])


def config_keys(name):
    """The config keys that ``get_model(name, ...)`` accepts as overrides, in order."""
    return tuple(model_config(name))


def model_config(name, **overrides):
    """The config of ``name`` as a new dict: its dataclass's defaults, the preset's overrides,
    then ``overrides`` (ValueError naming any key the dataclass lacks, with close matches)."""
    entry = _entry(name)
    cls = config_class(name)
    problem = cls.unknown_keys(overrides)
    if problem:
        raise ValueError(f"model {name!r}: {problem}")
    return {**cls().to_dict(), **entry.get("overrides", {}), **overrides}


def get_model(name, **overrides):
    """Build model ``name`` from its default config with ``overrides`` applied (untrained)."""
    config = config_class(name)(**model_config(name, **overrides))
    return _load(_entry(name)["model"])(config)


__all__ = ["get_model", "list_models", "model_config", "config_keys", "config_class",
           "default_run", "task_name", "trainable_models"]
