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

# The default run's settings live with each model in the registry (``models.default_run``).


def resolve_config(config):
    """Defaults for ``config["model"]``, then the user's keys on top (a new dict), checked:
    ValueError on an unknown key (naming close matches), a bad value, or a run too large."""
    from neural_arch.models import default_run, trainable_models
    if "model" not in config:
        raise ValueError("config needs a 'model' key naming one of "
                         f"{trainable_models()}")
    name = config["model"]
    if name not in trainable_models():
        raise ValueError(f"config['model'] = {name!r} is not trainable; expected one of "
                         f"{trainable_models()}")
    merged = {"model": name, **TRAINING_DEFAULTS, **default_run(name)}
    merged.update(config)
    # Every key known and every value in range (config_rules.py), the memory within reach.
    from neural_arch.training.config_rules import check_memory, check_settings
    merged = check_settings(merged, name)
    check_memory(name, merged)
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
    from neural_arch.distributed import current_world  # world_size; the MPI library if any
    try:
        import numba
        numba_version, threads = numba.__version__, numba.get_num_threads()
    except ImportError:
        numba_version, threads = None, 1
    return {"python": sys.version.split()[0], "numpy": np.__version__, "numba": numba_version,
            "neural_arch": __version__, "kernels": kernels.active_backend(),
            "cpu": cpu_name(), "cpu_count": os.cpu_count(), "threads": threads,
            "platform": platform.platform(), **current_world().describe()}


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
