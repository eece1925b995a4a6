"""The one piece every model config shares: conversion from and to a flat dict.

Checkpoints store one flat ``config`` dict that mixes model settings (``n_embd``) with training
settings (``batch_size``); ``from_dict`` keeps the keys the config dataclass has and ignores the
rest, so the same dict rebuilds the model.
"""

from dataclasses import asdict, fields


class ConfigDict:
    """Mixin for the models' config dataclasses."""

    ALIASES = {}  # other spellings of a field (e.g. GPT-2's block_size for n_positions)

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
