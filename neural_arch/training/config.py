"""Run configuration: the defaults of the documented run, merged with the user's settings.

A config is one flat dict, as in the documented checkpoints: model settings (vocab_size,
n_embd, ...) beside training settings (batch_size, learning_rate, num_epochs, ...). The model
settings are the keys the model's config dataclass knows (``models.config_keys``); the rest is
for the trainer and the task.
"""

import os
import platform
import sys

TRAINING_DEFAULTS = {
    "batch_size": 16,
    "eval_batch_size": 64,
    "learning_rate": 1e-3,
    "num_epochs": 3,
    "weight_decay": 0.01,
    "beta1": 0.9,
    "beta2": 0.99,
    "adam_eps": 1e-8,
    "warmup_fraction": 0.05,
    "min_lr_ratio": 0.1,
    "grad_clip": 1.0,
    "seed": 0,
    "data_seed": 0,
    "out_dir": "checkpoints",
    "quiet": False,
    "compress": False,
}

# The default run (``neural-arch train --all``): every family on real data, each sized and
# scheduled to beat its baseline and meet its target within the run's time budget.
# GPT-2 is nanoGPT's shakespeare_char CPU config (4 layers, 4 heads, 128 wide, 64 characters of
# context, batch 12, lr 1e-3 decaying to 1e-4, beta2 0.99, weight decay 0.1, no bias, no
# dropout, 100 warmup steps), for 1,500 steps: 3 epochs of 6,000 random windows.
DEFAULT_RUNS = {
    "gpt2": {"n_embd": 128, "n_layer": 4, "n_head": 4, "n_positions": 64, "bias": False,
             "dropout": 0.0, "batch_size": 12, "learning_rate": 1e-3, "weight_decay": 0.1,
             "warmup_fraction": 100 / 1500, "num_epochs": 3, "num_sequences": 6000,
             "eval_sequences": 240},
    # The modern decoder learns faster per step (RoPE, SwiGLU): 1,000 steps reach the target.
    "modern_transformer": {"dim": 128, "n_layer": 4, "n_head": 4, "n_kv_head": 2,
                           "max_seq_len": 64, "dropout": 0.0, "batch_size": 12,
                           "learning_rate": 1e-3, "weight_decay": 0.1, "warmup_fraction": 0.1,
                           "num_epochs": 2, "num_sequences": 6000, "eval_sequences": 240},
    # The image models see each digit moved by up to one pixel (a new draw every epoch):
    # without it the ViT memorises the 4,000 images and only matches logistic regression.
    "vit": {"dataset": "mnist_5k", "patch_size": 7, "embed_dim": 64, "depth": 3,
            "num_heads": 4, "batch_size": 64, "learning_rate": 3e-3, "weight_decay": 0.05,
            "num_epochs": 40, "augment_shift": 1},
    "resnet": {"dataset": "mnist_5k", "depth": 8, "base_width": 16, "batch_size": 64,
               "learning_rate": 1e-2, "weight_decay": 5e-4, "num_epochs": 6,
               "augment_shift": 1},
    "clip": {"dataset": "mnist_5k", "patch_size": 7, "vision_width": 64, "vision_layers": 3,
             "vision_heads": 4, "text_width": 64, "text_layers": 1, "text_heads": 4,
             "embed_dim": 64, "batch_size": 32, "learning_rate": 2e-3, "weight_decay": 0.05,
             "warmup_fraction": 0.1, "num_epochs": 20, "augment_shift": 1},
    # BERT from scratch: two epochs; a third overfits (train accuracy 94 %, val loss 0.45 ->
    # 0.57) and loses a point of test accuracy.
    "bert": {"tokenizer": "words", "min_word_count": 2, "max_len": 48, "hidden_size": 64,
             "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "hidden_dropout_prob": 0.1, "batch_size": 32, "learning_rate": 1e-3,
             "warmup_fraction": 0.1, "num_epochs": 2},
    # MiniLM: one epoch over 4,000 of the 8,454 training sentences with the word table frozen
    # (see SentimentTask); the baseline still fits all of them, and evaluation uses all of val
    # and test.
    "minilm": {"tokenizer": "minilm", "max_len": 64, "batch_size": 16, "learning_rate": 1e-4,
               "warmup_fraction": 0.1, "num_epochs": 1, "max_train_sentences": 4000,
               "freeze_word_embeddings": True},
}

# Longest first, so that the parallel run (``training/run_all.py``) ends with the short ones.
DEFAULT_ORDER = ["minilm", "gpt2", "modern_transformer", "vit", "resnet", "clip", "bert"]


def resolve_config(config):
    """Defaults for ``config["model"]``, then the user's keys on top (a new dict)."""
    if "model" not in config:
        raise ValueError("config needs a 'model' key naming one of "
                         f"{sorted(DEFAULT_RUNS)}")
    name = config["model"]
    if name not in DEFAULT_RUNS:
        raise ValueError(f"config['model'] = {name!r} is not trainable; expected one of "
                         f"{sorted(DEFAULT_RUNS)}")
    merged = {"model": name, **TRAINING_DEFAULTS, **DEFAULT_RUNS[name]}
    merged.update(config)
    return merged


def model_settings(name, config):
    """The subset of ``config`` that the model's config dataclass accepts."""
    from neural_arch.models import config_keys
    keys = set(config_keys(name))
    return {k: v for k, v in config.items() if k in keys}


def environment_info():
    """Versions and hardware, stored with every checkpoint."""
    import numpy as np
    from neural_arch import __version__, kernels
    try:
        import numba
        numba_version, threads = numba.__version__, numba.get_num_threads()
    except ImportError:
        numba_version, threads = None, 1
    return {"python": sys.version.split()[0], "numpy": np.__version__, "numba": numba_version,
            "neural_arch": __version__, "kernels": kernels.active_backend(),
            "cpu": cpu_name(), "cpu_count": os.cpu_count(), "threads": threads,
            "platform": platform.platform()}


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
