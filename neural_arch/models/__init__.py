"""The model zoo and its registry: ``get_model(name, **overrides)`` builds any model by name.

    from neural_arch.models import get_model, list_models, model_config
    model = get_model("gpt2", vocab_size=512)       # the default GPT-2, larger vocabulary
    model_config("gpt2", vocab_size=512)            # the merged config dict it was built from

Each entry holds a builder (config dict -> model) and the default config: for the model names,
the small model of the default training run; for the presets (``gpt2_small``, ``bert_base``,
``vit_base_patch16_224``), the published architecture, built untrained. Model modules are
imported only inside the builders, so the registry works while a model's file is missing and
importing ``neural_arch.models`` stays cheap. The registry is one dict literal, written here
and nowhere else.
"""


def _build_gpt2(config):
    from neural_arch.models.language.gpt2 import GPT2LMHead
    return GPT2LMHead(config)


def _build_bert_classifier(config):
    from neural_arch.models.language.bert import BertForSequenceClassification
    return BertForSequenceClassification(config)


def _build_bert(config):
    from neural_arch.models.language.bert import BERT
    return BERT(config)


def _build_minilm(config):
    from neural_arch.models.language.bert import BertForSequenceClassification
    return BertForSequenceClassification(config)


def _build_vit(config):
    from neural_arch.models.vision.vision_transformer import VisionTransformer
    return VisionTransformer(**config)


def _build_clip(config):
    from neural_arch.models.multimodal.clip import CLIP
    return CLIP(config)


def _build_modern_transformer(config):
    from neural_arch.models.language.modern_transformer import ModernTransformer
    return ModernTransformer(config)


def _build_resnet(config):
    from neural_arch.models.vision.resnet import ResNet
    return ResNet(config)


_GPT2_SMALL = dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                   dropout=0.1, layer_norm_eps=1e-5, bias=True, seed=0)

_BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                  num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512,
                  type_vocab_size=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                  layer_norm_eps=1e-12, initializer_range=0.02, add_pooler=True, num_labels=2,
                  seed=0)

_VIT_BASE = dict(image_size=224, patch_size=16, in_channels=3, num_classes=1000, embed_dim=768,
                 depth=12, num_heads=12, mlp_ratio=4.0, dropout=0.0, seed=0)

# all-MiniLM-L6-v2's architecture (its Hugging Face config.json) with a 2-way classifier on
# mean-pooled tokens; the trainer's task loads the pretrained encoder weights.
_MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
               intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
               hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
               initializer_range=0.02, add_pooler=False, num_labels=2,
               classifier_pooling="mean", seed=0)

# name -> builder, default config (every config field, so overrides can be checked), summary,
# and the training task that feeds it (``training.tasks.make_task`` reads it).
_REGISTRY = {
    "gpt2": {
        "task": "language",
        "builder": _build_gpt2,
        "defaults": dict(vocab_size=200, n_positions=64, n_embd=128, n_layer=3, n_head=4,
                         dropout=0.0, layer_norm_eps=1e-5, bias=True, seed=0),
        "summary": "GPT-2 decoder language model (learned positions, LayerNorm, GELU MLP)",
    },
    "bert": {
        "task": "sentiment",
        "builder": _build_bert_classifier,
        "defaults": dict(vocab_size=1024, hidden_size=64, num_hidden_layers=2,
                         num_attention_heads=4, intermediate_size=128,
                         max_position_embeddings=64, type_vocab_size=2,
                         hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                         layer_norm_eps=1e-12, initializer_range=0.02, add_pooler=True,
                         num_labels=2, classifier_pooling="cls", seed=0),
        "summary": "BERT encoder with a sequence-classification head",
    },
    "vit": {
        "task": "vision",
        "builder": _build_vit,
        "defaults": dict(image_size=32, patch_size=4, in_channels=3, num_classes=10,
                         embed_dim=64, depth=3, num_heads=4, mlp_ratio=4.0, dropout=0.0,
                         seed=0),
        "summary": "Vision Transformer image classifier",
    },
    "clip": {
        "task": "contrastive",
        "builder": _build_clip,
        "defaults": dict(image_size=32, patch_size=4, in_channels=3, vision_width=64,
                         vision_layers=2, vision_heads=4, vocab_size=256, context_length=16,
                         text_width=64, text_layers=2, text_heads=4, embed_dim=64,
                         init_logit_scale=2.659260036932778, seed=0),  # ln(1 / 0.07)
        "summary": "CLIP: contrastive image-text model (ViT + text transformer)",
    },
    "modern_transformer": {
        "task": "language",
        "builder": _build_modern_transformer,
        "defaults": dict(vocab_size=200, max_seq_len=64, dim=128, n_layer=3, n_head=4,
                         n_kv_head=2, multiple_of=32, ffn_hidden=None, norm_eps=1e-6,
                         rope_base=10000.0, dropout=0.0, seed=0),
        "summary": "Llama-style decoder: RMSNorm, RoPE, SwiGLU, grouped-query attention",
    },
    "resnet": {
        "task": "vision",
        "builder": _build_resnet,
        "defaults": dict(depth=8, num_classes=10, in_channels=3, base_width=16, seed=0),
        "summary": "CIFAR-style ResNet (depth 6n + 2, BatchNorm, ReLU)",
    },
    "minilm": {
        "task": "sentiment",
        "builder": _build_minilm,
        "defaults": _MINILM,
        "summary": "all-MiniLM-L6-v2 sentence encoder with a classification head",
    },
    "gpt2_small": {
        "builder": _build_gpt2,
        "defaults": _GPT2_SMALL,
        "summary": "GPT-2 small (124M parameters), untrained",
    },
    "bert_base": {
        "builder": _build_bert,
        "defaults": _BERT_BASE,
        "summary": "BERT-base encoder with pooler (110M parameters), untrained",
    },
    "vit_base_patch16_224": {
        "builder": _build_vit,
        "defaults": _VIT_BASE,
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


def task_name(name):
    """The training task of model ``name`` (None for the untrained presets)."""
    return _entry(name).get("task")


def trainable_models():
    """The names that ``neural-arch train`` accepts: the entries with a task."""
    return [name for name, entry in _REGISTRY.items() if "task" in entry]


def config_keys(name):
    """The config keys that ``get_model(name, ...)`` accepts as overrides, in order."""
    return tuple(_entry(name)["defaults"])


def model_config(name, **overrides):
    """The default config of ``name`` with ``overrides`` applied, as a new dict."""
    defaults = _entry(name)["defaults"]
    unknown = [key for key in overrides if key not in defaults]
    if unknown:
        raise ValueError(f"unknown config keys for model {name!r}: {unknown}; "
                         f"known keys: {list(defaults)}")
    return {**defaults, **overrides}


def get_model(name, **overrides):
    """Build model ``name`` from its default config with ``overrides`` applied (untrained)."""
    return _entry(name)["builder"](model_config(name, **overrides))


__all__ = ["get_model", "list_models", "model_config", "config_keys", "task_name",
           "trainable_models"]
