"""What makes a checkpoint sound: its error type, strict JSON, the schema, verified weights.

``checkpoint.py`` reads and writes checkpoints; this file holds the rules they must obey:

* ``CheckpointError``, raised for any checkpoint that cannot be read, verified or written.
* ``to_json_safe`` turns the trainer's metadata (which may hold NumPy scalars, arrays, tuples
  and paths) into plain JSON values, and refuses NaN and Infinity, which strict JSON cannot hold.
* ``metadata_problems`` lists everything wrong with a loaded checkpoint dictionary against the
  documented schema (``checkpoints/README.md``): required fields, types and metric ranges.

Reading the files themselves (and the weights a checkpoint names) is ``checkpoint_reading.py``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path, PurePath
from typing import Any

import numpy as np

SCHEMA_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint cannot be read, verified or written; names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(str(path), problem)
        self.path = Path(path)
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# Metrics that are fractions of examples: they must lie in [0, 1].
ACCURACY_KEYS = frozenset({"accuracy", "top5_accuracy", "i2t_accuracy", "t2i_accuracy"})
RECALL_KEY = re.compile(r"^(I2T|T2I)_R@\d+$")


def to_json_safe(obj: Any, path: str = "metadata") -> Any:
    """Return ``obj`` as plain JSON values (dict, list, str, int, float, bool, None).

    NumPy scalars become Python scalars, arrays and tuples become lists, paths become strings.
    ``path`` names the value in error messages (``metadata['metrics']['val']['loss']``).

    Raises:
        ValueError: a float is NaN or infinite; strict JSON has no spelling for it.
        TypeError: a value (or dictionary key) has no JSON form.
    """
    if isinstance(obj, np.ndarray):
        return to_json_safe(obj.tolist(), path)
    if isinstance(obj, np.generic):
        return to_json_safe(obj.item(), path)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(
                f"{path} is {obj}; checkpoint JSON is strict and cannot hold NaN or Infinity")
        return float(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, dict):
        safe = {}
        for key, value in obj.items():
            if isinstance(key, np.generic):
                key = key.item()
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"{path} has key {key!r} of type {type(key).__name__}; "
                                "JSON object keys must be str or int")
            safe[str(key)] = to_json_safe(value, f"{path}[{key!r}]")
        return safe
    if isinstance(obj, (list, tuple)):
        return [to_json_safe(value, f"{path}[{i}]") for i, value in enumerate(obj)]
    raise TypeError(f"{path} has type {type(obj).__name__}, which has no JSON form")


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but `"loss": true` is a broken checkpoint, not a loss of 1.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number_problem(name: str, value: Any) -> str | None:
    if not _is_number(value):
        return f"{name} must be a number, got {value!r}"
    if not math.isfinite(value):
        return f"{name} is not finite ({value})"
    return None


def _metric_problems(name: str, key: str, value: Any) -> list[str]:
    """Range checks for one metric, chosen by its key."""
    if key == "class_accuracies":
        return _class_accuracy_problems(name, value)
    if key == "loss":
        problem = _number_problem(name, value)
        if problem is None and value <= 0:
            problem = f"{name} must be > 0, got {value}"
    elif key in ACCURACY_KEYS or RECALL_KEY.match(key):
        problem = _number_problem(name, value)
        if problem is None and not 0.0 <= value <= 1.0:
            problem = f"{name} = {value} is outside [0, 1]"
    elif key == "perplexity":
        problem = _number_problem(name, value)
        # exp of a mean cross-entropy, and a cross-entropy is >= 0, so perplexity is >= 1.
        if problem is None and value < 1.0:
            problem = f"{name} = {value} is below 1"
    elif key == "time":
        problem = _number_problem(name, value)
        if problem is None and value < 0:
            problem = f"{name} = {value} is negative"
    elif _is_number(value):
        problem = _number_problem(name, value)
    else:
        problem = None  # Unknown extensions (strings, lists) are the model's own business.
    return [problem] if problem else []


def _class_accuracy_problems(name: str, value: Any) -> list[str]:
    """Per-class accuracies: a list of fractions, ``null`` for a class with no examples."""
    if not isinstance(value, list):
        return [f"{name} must be a list, got {type(value).__name__}"]
    problems = []
    for i, entry in enumerate(value):
        if entry is None:
            continue
        if not _is_number(entry) or not math.isfinite(entry) or not 0.0 <= entry <= 1.0:
            problems.append(f"{name}[{i}] = {entry!r} must be null or a number in [0, 1]")
    return problems


def _metrics_problems(metrics: Any) -> list[str]:
    if not isinstance(metrics, dict):
        return [f"'metrics' must be an object, got {type(metrics).__name__}"]
    problems = []
    for split in ("train", "val"):
        if split not in metrics:
            problems.append(f"missing required field 'metrics.{split}'")
        elif not isinstance(metrics[split], dict):
            problems.append(f"'metrics.{split}' must be an object")
        elif "loss" not in metrics[split]:
            problems.append(f"missing required field 'metrics.{split}.loss'")
    # Every group (train, val, test, retrieval, ...) gets the same per-key range checks.
    for split, group in metrics.items():
        if isinstance(group, dict):
            for key, value in group.items():
                problems += _metric_problems(f"metrics.{split}.{key}", key, value)
    return problems


def metadata_problems(meta: dict) -> list[str]:
    """Every way ``meta`` (a loaded checkpoint) breaks the documented schema; [] if none.

    Checked: required fields (epoch, step, config, metrics, metrics.train, metrics.val and their
    losses); epoch and step are ints >= 0; config is an object; losses finite and > 0;
    accuracy-like metrics and ``I2T_R@k`` / ``T2I_R@k`` in [0, 1]; perplexity >= 1; time >= 0;
    ``class_accuracies`` entries in [0, 1] or null; in files written before the epoch was stored
    once, ``epochs_completed == epoch + 1``.
    The weights file is checked by ``checkpoint.checkpoint_problems``, which needs the disk.
    """
    problems = [f"missing required field '{field}'"
                for field in ("epoch", "step", "config", "metrics") if field not in meta]
    for field in ("epoch", "step"):
        if field in meta and not _is_count(meta[field]):
            problems.append(f"'{field}' must be an integer >= 0, got {meta[field]!r}")
    if "config" in meta and not isinstance(meta["config"], dict):
        problems.append(f"'config' must be an object, got {type(meta['config']).__name__}")
    if "metrics" in meta:
        problems += _metrics_problems(meta["metrics"])
    if "class_accuracies" in meta:
        problems += _class_accuracy_problems("class_accuracies", meta["class_accuracies"])
    if "epochs_completed" in meta:
        done = meta["epochs_completed"]
        if not _is_count(done) or done < 1:
            problems.append(f"'epochs_completed' must be an integer >= 1, got {done!r}")
        elif _is_count(meta.get("epoch")) and done != meta["epoch"] + 1:
            problems.append(f"'epochs_completed' ({done}) must equal epoch + 1 "
                            f"({meta['epoch'] + 1}): 'epoch' is 0-indexed")
    version = meta.get("schema_version", SCHEMA_VERSION)
    if not _is_count(version) or version > SCHEMA_VERSION:
        problems.append(f"unsupported schema_version {version!r} (this code reads "
                        f"<= {SCHEMA_VERSION})")
    return problems
