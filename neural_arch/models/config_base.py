"""What every model config shares: a clear error for an unknown key, and conversion from and to
a flat dict.

A config dataclass is the one place a model's defaults are written: the registry
(``neural_arch.models``) reads them from it, the model is built from it.

Two doors in, two rules:

* ``GPT2Config(n_embed=64)``, or an override ``get_model("gpt2", n_embed=64)``: a key that is not
  a field is a typo, so it is rejected, naming the closest fields (``did you mean 'n_embd'?``).
* ``GPT2Config.from_dict(checkpoint["config"])``: a checkpoint stores one flat dict that mixes
  model settings (``n_embd``) with training settings (``batch_size``); ``from_dict`` keeps the
  keys the dataclass has and ignores the rest, so the same dict rebuilds the model.
"""

import difflib
from dataclasses import asdict, fields


class ConfigDict:
    """Mixin for the models' config dataclasses."""

    ALIASES = {}  # other spellings of a field (e.g. GPT-2's block_size for n_positions)

    def __new__(cls, *args, **kwargs):
        # Runs before the dataclass's generated __init__, with the same arguments.
        problem = cls.unknown_keys(kwargs)
        if problem:
            raise TypeError(f"{cls.__name__}: {problem}")
        return super().__new__(cls)

    @classmethod
    def unknown_keys(cls, keys):
        """'' when every key is a field; otherwise a message naming each unknown key with its
        closest field names, and the list of fields when some key has none."""
        names = [f.name for f in fields(cls)]
        unknown = [key for key in keys if key not in names]
        if not unknown:
            return ""
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, names, n=3)
            if close:
                hints.append(f"{key!r}: did you mean {' or '.join(map(repr, close))}?")
        if len(hints) < len(unknown):
            hints.append(f"known keys: {names}")
        return f"unknown config keys {unknown}; " + "; ".join(hints)

    @classmethod
    def from_dict(cls, d):
        """Build from a dict, ignoring keys that are not fields (training settings)."""
        d = dict(d)
        for alias, name in cls.ALIASES.items():
            if alias in d and name not in d:
                d[name] = d[alias]
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def coerce(cls, config):
        """What a model's ``__init__(config)`` accepts: None (the defaults), a dict (through
        ``from_dict``) or an instance of this config class."""
        if config is None:
            return cls()
        if isinstance(config, dict):
            return cls.from_dict(config)
        if isinstance(config, cls):
            return config
        raise TypeError(f"config must be a {cls.__name__}, a dict or None; got "
                        f"{type(config).__name__}")

    def to_dict(self):
        return asdict(self)
