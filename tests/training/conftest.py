"""Tiny configurations of every trainable family, shared by the trainer, CLI and serving tests."""

import pytest

# Small real subsets: 20,000 characters of Shakespeare, scikit-learn's 8 x 8 digits, a few
# hundred movie-review sentences.
TINY = {
    "gpt2": {"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 32, "max_chars": 20000,
             "num_sequences": 40, "eval_sequences": 16, "batch_size": 8,
             "learning_rate": 3e-3},
    "modern_transformer": {"dim": 16, "n_layer": 1, "n_head": 2, "n_kv_head": 1,
                           "multiple_of": 8, "max_seq_len": 32, "max_chars": 20000,
                           "num_sequences": 40, "eval_sequences": 16, "batch_size": 8},
    "vit": {"dataset": "digits_8x8", "patch_size": 4, "embed_dim": 16, "depth": 1,
            "num_heads": 2, "batch_size": 64, "augment_shift": 1},
    "resnet": {"dataset": "digits_8x8", "depth": 8, "base_width": 4, "batch_size": 64},
    "bert": {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 32, "max_sentences": 200, "max_len": 24, "batch_size": 16},
    "minilm": {"max_sentences": 64, "max_len": 24, "batch_size": 16},
    "clip": {"dataset": "digits_8x8", "patch_size": 4, "vision_width": 16, "vision_layers": 1,
             "vision_heads": 2, "text_width": 16, "text_layers": 1, "text_heads": 2,
             "embed_dim": 16, "batch_size": 64},
}


def tiny_config(name, tmp_path, **extra):
    return {"model": name, **TINY[name], "num_epochs": 1, "quiet": True,
            "out_dir": str(tmp_path), **extra}


@pytest.fixture
def tiny():
    return tiny_config
