"""What each setting of a run may hold: its type, its range, and which model or task reads it.

A run's config is one flat dict (``config.py``). Its keys come from four places, and this file
is where they all meet:

* ``TRAINING_RULES``: the trainer's own settings (``config.TRAINING_DEFAULTS``);
* ``TASK_RULES``: the settings each task adapter reads (``training/tasks/*.py``), by task kind;
* the model's config keys (``models.config_keys``), typed by the model's registry defaults;
* ``model``, the registry name.

``check_settings`` refuses an unknown key (naming the close matches, as ``git`` does for a
mistyped command) and a value of the wrong type or range (naming the key, the value and what
was expected), and coerces what is unambiguous (``3`` for a float, ``16.0`` for an int).
``check_memory`` refuses a config whose estimated training memory is above
``memory_ceiling_bytes()`` before anything is allocated.
"""

import difflib
import math
import os

from neural_arch.models import config_keys, model_config, task_name

INT_MAX = 2**31 - 1  # every count fits an int32; a larger one is a typo or an attack
DEFAULT_CEILING_GIB = 16.0  # NEURAL_ARCH_MEMORY_CEILING_GB overrides it


def rule(kind, low=None, high=None, above=None, below=None, choices=None):
    """A setting's contract: kind is "int", "float", "bool", "str", "int?" (int or None);
    ``low <= value <= high``, ``above < value < below``, ``value in choices``."""
    return {"kind": kind, "low": low, "high": high, "above": above, "below": below,
            "choices": choices}


TRAINING_RULES = {
    "model": rule("str"),
    "batch_size": rule("int", 1, INT_MAX),
    "eval_batch_size": rule("int", 1, INT_MAX),
    "learning_rate": rule("float", above=0.0, high=10.0),
    "num_epochs": rule("int", 1, 1_000_000),
    "weight_decay": rule("float", 0.0, 10.0),
    "beta1": rule("float", 0.0, below=1.0),
    "beta2": rule("float", 0.0, below=1.0),
    "adam_eps": rule("float", above=0.0, high=1.0),
    "warmup_fraction": rule("float", 0.0, 1.0),
    "min_lr_ratio": rule("float", 0.0, 1.0),
    "grad_clip": rule("float", above=0.0),
    "seed": rule("int", 0, 2**63 - 1),
    "data_seed": rule("int", 0, 2**63 - 1),
    "out_dir": rule("str"),
    "quiet": rule("bool"),
    "compress": rule("bool"),
}

# The keys each task adapter reads from the config, beyond the model's own (by task kind).
TASK_RULES = {
    "language": {"max_chars": rule("int?", 1000, INT_MAX),
                 "num_sequences": rule("int", 1, 10_000_000),
                 "eval_sequences": rule("int", 1, 1_000_000)},
    "vision": {"dataset": rule("str", choices=("mnist_5k", "digits_8x8")),
               "augment_shift": rule("int", 0, 4),
               "image_size": rule("int", 1, 4096)},  # the data's side, recorded for every model
    "contrastive": {"dataset": rule("str", choices=("mnist_5k", "digits_8x8")),
                    "augment_shift": rule("int", 0, 4)},
    "sentiment": {"tokenizer": rule("str", choices=("words", "minilm")),
                  "min_word_count": rule("int", 1, INT_MAX),
                  "max_len": rule("int", 3, 4096),
                  "max_sentences": rule("int?", 2, INT_MAX),
                  "max_train_sentences": rule("int?", 1, INT_MAX),
                  "freeze_word_embeddings": rule("bool")},
}


def model_rule(key, default):
    """A model key's rule, from the type of its registry default: sizes are ints >= 1 (a seed
    >= 0), dropout probabilities lie in [0, 1), other floats are positive; the model's config
    class checks the relations between them (heads dividing the width, ...)."""
    if isinstance(default, bool):
        return rule("bool")
    if isinstance(default, int):
        return rule("int", 0 if key == "seed" else 1, INT_MAX)
    if isinstance(default, float):
        if "dropout" in key:
            return rule("float", 0.0, below=1.0)
        if key == "init_logit_scale":
            return rule("float", -100.0, 100.0)
        return rule("float", above=0.0, high=1e6)  # eps, ratios, RoPE base, init scale
    if isinstance(default, str):
        return rule("str")
    return rule("int?", 1, INT_MAX)  # a None default: an optional size (ffn_hidden)


def known_rules(model_name):
    """Every key a config for ``model_name`` may hold, with its rule."""
    rules = dict(TRAINING_RULES)
    rules.update(TASK_RULES.get(task_name(model_name), {}))
    for key, default in model_config(model_name).items():
        rules[key] = model_rule(key, default)
    return rules


def _kind_name(kind):
    return {"int": "an integer", "float": "a number", "bool": "true or false",
            "str": "a string", "int?": "an integer or null"}[kind]


def check_value(key, value, spec):
    """``value`` coerced to the kind of ``spec``; ValueError naming the key otherwise."""
    kind = spec["kind"]
    if kind == "int?" and value is None:
        return None
    ok = False
    if kind in ("int", "int?"):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            try:
                value = float(value)
            except OverflowError:
                ok = False
            ok = ok and math.isfinite(value)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str":
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"setting {key!r} = {value!r}: expected {_kind_name(kind)}")
    low, high, above, below = spec["low"], spec["high"], spec["above"], spec["below"]
    if spec["choices"] is not None and value not in spec["choices"]:
        raise ValueError(f"setting {key!r} = {value!r}: expected one of {list(spec['choices'])}")
    if (low is not None and value < low) or (high is not None and value > high) \
            or (above is not None and value <= above) or (below is not None and value >= below):
        lo = f"[{low}" if low is not None else (f"({above}" if above is not None else "(-inf")
        hi = f"{high}]" if high is not None else (f"{below})" if below is not None else "inf)")
        raise ValueError(f"setting {key!r} = {value!r}: expected a value in {lo}, {hi}")
    return value


def unknown_key_message(key, known):
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
        f"; known keys: {', '.join(sorted(known))}"
    return f"unknown setting {key!r}{hint}"


def check_settings(config, model_name):
    """``config`` with every value checked and coerced (a new dict); ValueError on an unknown
    key or a bad value, naming it."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    rules = known_rules(model_name)
    checked = {}
    for key, value in config.items():
        if not isinstance(key, str) or key not in rules:
            raise ValueError(unknown_key_message(str(key), list(rules)))
        checked[key] = check_value(key, value, rules[key])
    return checked


def memory_ceiling_bytes():
    """The most memory a run may be estimated to need (NEURAL_ARCH_MEMORY_CEILING_GB)."""
    text = os.environ.get("NEURAL_ARCH_MEMORY_CEILING_GB", "")
    try:
        gib = float(text) if text else DEFAULT_CEILING_GIB
    except ValueError:
        gib = DEFAULT_CEILING_GIB
    return int(gib * 2**30)


def _transformer(width, layers, ffn, vocab, positions):
    return vocab * width + positions * width + layers * (4 * width * width + 2 * width * ffn)


def estimate_parameters_and_tokens(name, m):
    """(rough parameter count, tokens per example, width x layers) of model ``name`` with the
    merged model config ``m``; an upper-bound flavoured estimate, not an exact count."""
    if "n_embd" in m:  # GPT-2
        e, seq = m["n_embd"], m["n_positions"]
        return _transformer(e, m["n_layer"], 4 * e, m["vocab_size"], seq), seq, e * m["n_layer"]
    if "dim" in m:  # modern transformer
        d, seq = m["dim"], m["max_seq_len"]
        ffn = 2 * (m["ffn_hidden"] or 4 * d)
        return _transformer(d, m["n_layer"], ffn, m["vocab_size"], 0), seq, d * m["n_layer"]
    if "hidden_size" in m:  # BERT, MiniLM
        h, seq = m["hidden_size"], m["max_position_embeddings"]
        params = _transformer(h, m["num_hidden_layers"], m["intermediate_size"],
                              m["vocab_size"] + m["type_vocab_size"], seq)
        return params, seq, h * m["num_hidden_layers"]
    if "vision_width" in m:  # CLIP
        patches = (m["image_size"] // m["patch_size"]) ** 2 + 1
        vw, tw = m["vision_width"], m["text_width"]
        pixels = m["in_channels"] * m["patch_size"] ** 2
        params = _transformer(vw, m["vision_layers"], 4 * vw, pixels, patches) \
            + _transformer(tw, m["text_layers"], 4 * tw, m["vocab_size"], m["context_length"]) \
            + m["embed_dim"] * (vw + tw)
        tokens = patches + m["context_length"]
        return params, tokens, max(vw * m["vision_layers"], tw * m["text_layers"])
    if "embed_dim" in m:  # ViT
        patches = (m["image_size"] // m["patch_size"]) ** 2 + 1
        e, ffn = m["embed_dim"], int(m["mlp_ratio"] * m["embed_dim"])
        pixels = m["in_channels"] * m["patch_size"] ** 2
        params = _transformer(e, m["depth"], ffn, pixels, patches) + e * m["num_classes"]
        return params, patches, e * m["depth"]
    if "base_width" in m:  # ResNet: three stages of width w, 2w, 4w on 32 x 32 images
        w = 4 * m["base_width"]
        return m["depth"] * 9 * w * w + w * m["num_classes"], 32 * 32, w * m["depth"]
    return 0, 0, 0


def estimate_memory_bytes(name, config):
    """Training memory: float32 weights, gradients and two Adam moments, plus activations
    (about 32 floats per token, width unit and layer) for the larger of the two batch sizes,
    plus the language task's training windows."""
    m = model_config(name, **{k: v for k, v in config.items() if k in config_keys(name)})
    params, tokens, width_layers = estimate_parameters_and_tokens(name, m)
    batch = max(config.get("batch_size", 1), config.get("eval_batch_size", 1))
    windows = config.get("num_sequences", 0) * (tokens + 1) * 8
    return 16 * params + 4 * 32 * batch * tokens * width_layers + windows


def check_memory(name, config):
    """ValueError when the run of ``config`` is estimated to need more than the ceiling."""
    need, ceiling = estimate_memory_bytes(name, config), memory_ceiling_bytes()
    if need > ceiling:
        raise ValueError(f"this {name} config would need about {need / 2**30:,.1f} GiB to train "
                         f"(weights, gradients, Adam state and activations), above the "
                         f"{ceiling / 2**30:.0f} GiB ceiling; lower the sizes or set "
                         "NEURAL_ARCH_MEMORY_CEILING_GB")
