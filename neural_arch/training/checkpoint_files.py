"""Finding checkpoints in a folder, archiving an earlier run's, and the flat tensor dict.

Split from ``checkpoint.py`` (which re-exports all of it): these functions only list, move or
rename; writing and reading a checkpoint live there.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .atomic_write import fsync_directory

# <model>_epoch_<N>.json or .json.gz
_NAME = re.compile(r"^(?P<model>[A-Za-z0-9][A-Za-z0-9_.-]*)_epoch_(?P<n>\d+)\.json(?:\.gz)?$")
_STATE_PREFIXES = ("model.", "optim.", "rng.")


def check_tensors(tensors: dict) -> dict[str, np.ndarray]:
    if not isinstance(tensors, dict):
        raise TypeError(f"tensors must be a dict of str -> np.ndarray, got {type(tensors)}")
    checked = {}
    for key, array in tensors.items():
        if not isinstance(key, str) or not isinstance(array, np.ndarray):
            raise TypeError(f"tensors[{key!r}] must be a str key with an np.ndarray value, got "
                            f"{type(key).__name__} -> {type(array).__name__}")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"tensors[{key!r}] has dtype {array.dtype}; safetensors stores "
                            "only bool, integer and float arrays")
        # safetensors reads raw memory from the data pointer: a strided view would be garbage.
        checked[key] = np.require(array, requirements="C")  # keeps 0-d arrays 0-d
    return checked


def find_checkpoints(directory: str | os.PathLike, model_name: str | None = None) -> list[Path]:
    """Checkpoint JSON files in ``directory``, oldest epoch first (epoch_10 after epoch_9).

    Temp files from interrupted writes and weights files are never listed. A missing directory
    gives an empty list.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        named = _NAME.match(path.name)
        if named and path.is_file() and model_name in (None, named["model"]):
            found.append((int(named["n"]), path.name, path))
    return [path for _, _, path in sorted(found)]


def archive_previous_run(directory: str | os.PathLike, after: int = 0) -> Path | None:
    """Move the checkpoints of an earlier run out of ``directory`` before a new run starts.

    A folder that mixed epochs from two runs would be a lie (the earlier public engine's
    folders did). Nothing is deleted: the JSON files and the weights they reference move to
    ``directory/previous_runs/<UTC time>/``, which is returned (None if there was nothing).
    ``after=N`` moves only the checkpoints of more than N completed epochs: a run resumed
    from epoch N would otherwise replace them.
    """
    directory = Path(directory)
    old = [path for path in find_checkpoints(directory)
           if int(_NAME.match(path.name)["n"]) > after]
    if not old:
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / "previous_runs" / stamp
    target.mkdir(parents=True)
    for json_path in old:
        # The JSON first: the live folder never shows a checkpoint whose weights have gone.
        stem = json_path.name.split(".json")[0]
        weights = re.compile(rf"^{re.escape(stem)}(-[0-9a-f]{{12}})?\.safetensors$")
        os.replace(json_path, target / json_path.name)
        for path in list(directory.iterdir()):
            if path.is_file() and weights.match(path.name):
                os.replace(path, target / path.name)
    fsync_directory(directory)
    return target


def latest_checkpoint(directory: str | os.PathLike, model_name: str | None = None) -> Path | None:
    """The checkpoint with the most completed epochs in ``directory``, or None if there is none."""
    found = find_checkpoints(directory, model_name)
    return found[-1] if found else None


def pack_state(model_state: dict[str, np.ndarray], optim_state_arrays: dict | None = None,
               rng_state_arrays: dict | None = None) -> dict[str, np.ndarray]:
    """One flat tensor dict for ``save_checkpoint``: keys prefixed "model.", "optim.", "rng."."""
    packed = {}
    for prefix, group in zip(_STATE_PREFIXES, (model_state, optim_state_arrays,
                                               rng_state_arrays)):
        for key, array in (group or {}).items():
            packed[prefix + key] = array
    return check_tensors(packed)


def unpack_state(tensors: dict[str, np.ndarray]) -> tuple[dict, dict, dict]:
    """Split a loaded tensor dict back into (model_state, optim_state, rng_state)."""
    groups: tuple[dict, dict, dict] = ({}, {}, {})
    for key, array in tensors.items():
        for group, prefix in zip(groups, _STATE_PREFIXES):
            if key.startswith(prefix):
                group[key[len(prefix):]] = array
                break
        else:
            raise ValueError(f"tensor {key!r} has none of the prefixes {_STATE_PREFIXES}")
    return groups
