"""The model registry: names, configs and overrides, errors, and the presets' parameter counts
(which equal the published models': Hugging Face GPT-2 and BERT-base, timm ViT-B/16)."""

from dataclasses import fields

import numpy as np
import pytest

from neural_arch.models import (config_class, config_keys, get_model, list_models,
                                 model_config, task_name, trainable_models)

NAMES = ["gpt2", "bert", "vit", "clip", "modern_transformer", "resnet"]
PRESETS = ["gpt2_small", "bert_base", "vit_base_patch16_224"]
MODULES = {"gpt2": "neural_arch.models.language.gpt2",
           "bert": "neural_arch.models.language.bert",
           "vit": "neural_arch.models.vision.vision_transformer",
           "clip": "neural_arch.models.multimodal.clip",
           "modern_transformer": "neural_arch.models.language.modern_transformer",
           "resnet": "neural_arch.models.vision.resnet"}


def require(name):
    """Skip while another engineer's model module is not written yet."""
    pytest.importorskip(MODULES[name])


def test_list_models_has_every_model_and_preset():
    assert set(NAMES + PRESETS) <= set(list_models())


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'gpt3'.*gpt2.*modern_transformer"):
        get_model("gpt3")
    with pytest.raises(ValueError, match="unknown model"):
        model_config("nope")


def test_unknown_override_key_is_named_with_close_matches():
    with pytest.raises(ValueError, match=r"model 'gpt2': unknown config keys \['n_embed'\]; "
                                         r"'n_embed': did you mean 'n_embd'"):
        get_model("gpt2", n_embed=64)
    with pytest.raises(ValueError, match=r"\['zzz'\]; known keys: \['vocab_size', "):
        model_config("gpt2", zzz=1)


def test_config_dataclasses_reject_unknown_keys_but_from_dict_ignores_them():
    from neural_arch.models.language.gpt2 import GPT2Config
    with pytest.raises(TypeError, match=r"GPT2Config: unknown config keys \['n_embed'\]; "
                                        r"'n_embed': did you mean 'n_embd'"):
        GPT2Config(n_embed=64)
    assert GPT2Config.from_dict({"n_embd": 64, "batch_size": 4}).n_embd == 64


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_the_config_dataclass_defaults(name):
    """Written once: the registry reads a model's defaults from its config dataclass."""
    require(name)
    assert model_config(name) == config_class(name)().to_dict()


def test_presets_override_the_published_architecture():
    assert model_config("gpt2_small")["n_embd"] == 768
    assert model_config("gpt2_small")["seed"] == model_config("gpt2")["seed"]
    minilm = model_config("minilm")
    assert (minilm["hidden_size"], minilm["num_hidden_layers"], minilm["intermediate_size"],
            minilm["classifier_pooling"]) == (384, 6, 1536, "mean")
    assert set(minilm) == set(model_config("bert"))


def test_default_gpt2_is_the_documented_architecture():
    config = model_config("gpt2")
    assert {k: config[k] for k in ("vocab_size", "n_embd", "n_layer", "n_head",
                                   "n_positions")} == dict(vocab_size=200, n_embd=128,
                                                           n_layer=3, n_head=4, n_positions=64)
    assert get_model("gpt2").config.to_dict() == config


def test_overrides_reach_the_model_and_leave_the_defaults_alone():
    model = get_model("gpt2", vocab_size=50, n_layer=1, seed=4)
    assert (model.config.vocab_size, model.config.n_layer, model.config.seed) == (50, 1, 4)
    logits, _ = model(np.zeros((1, 3), dtype=np.int64))
    assert logits.shape == (1, 3, 50)
    assert model_config("gpt2")["vocab_size"] == 200
    modern = get_model("modern_transformer", n_kv_head=1)
    assert modern.config.n_kv_head == 1
    assert model_config("modern_transformer", dim=64)["dim"] == 64


@pytest.mark.parametrize("name", NAMES)
def test_registry_keys_match_the_model_config(name):
    """Every config field can be overridden, and the registry knows no field the model lacks."""
    require(name)
    config = get_model(name).config
    assert set(config_keys(name)) == {f.name for f in fields(config)}


@pytest.mark.parametrize("name", NAMES)
def test_every_default_model_builds_the_same_weights_from_the_same_seed(name):
    require(name)
    a, b = get_model(name).state_dict(), get_model(name).state_dict()
    assert list(a) == list(b)
    assert all(np.array_equal(a[key], b[key]) for key in a)


def test_gpt2_small_has_124m_parameters():
    model = get_model("gpt2_small")
    assert model.num_parameters() == 124_439_808
    assert model.lm_head.weight is model.transformer.wte.weight


def test_bert_base_has_110m_parameters():
    require("bert")
    model = get_model("bert_base")
    assert type(model).__name__ == "BERT"  # the encoder with pooler, no classification head
    assert model.num_parameters() == 109_482_240


def test_vit_base_patch16_224_has_86m_parameters():
    require("vit")
    assert get_model("vit_base_patch16_224").num_parameters() == 86_567_656


def test_registry_imports_models_lazily():
    """Importing the registry, listing names and tasks must not import any model module."""
    import subprocess
    import sys
    code = ("import sys, neural_arch.models as m; m.list_models(); m.trainable_models(); "
            "m.task_name('gpt2'); "
            "print(any(m.startswith('neural_arch.models.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_model_configs_coerce_none_dicts_and_instances_and_reject_the_rest():
    from neural_arch.models.language.gpt2 import GPT2Config, GPT2LMHead
    assert GPT2Config.coerce(None) == GPT2Config()
    assert GPT2Config.coerce({"n_embd": 64, "batch_size": 4}) == GPT2Config(n_embd=64)
    config = GPT2Config(n_layer=1)
    assert GPT2Config.coerce(config) is config
    with pytest.raises(TypeError, match="config must be a GPT2Config, a dict or None; got list"):
        GPT2LMHead([1, 2])


def test_tasks_and_trainable_models():
    assert task_name("gpt2") == "language" and task_name("gpt2_small") is None
    assert sorted(trainable_models()) == sorted(NAMES + ["minilm"])
    assert trainable_models()[0] == "minilm"  # the default run starts the longest job first
