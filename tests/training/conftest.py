"""Tiny configurations of every trainable family, shared by the trainer, CLI and serving tests."""

import pytest

TINY = {
    "gpt2": {"n_embd": 16, "n_layer": 1, "n_head": 2, "num_sequences": 40, "batch_size": 8,
             "learning_rate": 3e-3},
    "modern_transformer": {"dim": 16, "n_layer": 1, "n_head": 2, "n_kv_head": 1,
                           "multiple_of": 8, "num_sequences": 40, "batch_size": 8},
    "vit": {"embed_dim": 16, "depth": 1, "num_heads": 2, "num_images": 60, "batch_size": 16},
    "resnet": {"depth": 8, "base_width": 4, "num_images": 60, "batch_size": 16},
    "bert": {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 32, "num_reviews": 60, "batch_size": 16},
    "clip": {"vision_width": 16, "vision_layers": 1, "vision_heads": 2, "text_width": 16,
             "text_layers": 1, "text_heads": 2, "embed_dim": 16, "num_pairs": 60,
             "batch_size": 16},
}


def tiny_config(name, tmp_path, **extra):
    return {"model": name, **TINY[name], "num_epochs": 1, "quiet": True,
            "out_dir": str(tmp_path), **extra}


@pytest.fixture
def tiny():
    return tiny_config
