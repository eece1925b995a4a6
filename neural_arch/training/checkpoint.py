"""Checkpoints: JSON metadata as documented in ``checkpoints/README.md``, weights in safetensors.

One checkpoint is two files in one directory (conventionally ``<root>/<model>/``)::

    <model>_epoch_<N>.json          N = epochs completed; inside, "epoch": N - 1 (0-indexed)
    <model>_epoch_<N>.safetensors   every array: "model.*", "optim.*", "rng.*" (see pack_state)

The JSON names the weights file with its SHA-256 and size, so a loader can prove that the arrays
are the ones the metadata describes. Each file is written atomically (``atomic_write.py``),
weights first and JSON last: the JSON is the completeness marker, so a crash at any instant
leaves every earlier checkpoint loadable, and at worst an orphan ``.<name>.<pid>.<hex>.tmp``
that ``find_checkpoints`` ignores.
Nothing here unpickles or executes anything read from disk.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from .atomic_write import atomic_write, remove_orphan_temps, temp_path_for
from .checkpoint_files import (_NAME, archive_previous_run, check_tensors,  # noqa: F401
                               find_checkpoints, latest_checkpoint, pack_state, unpack_state)
from .checkpoint_reading import (MAX_JSON_BYTES, _weights_path, gunzip, parse_json,
                                 read_regular_file, read_verified_weights, safetensors_header)
from .checkpoint_validation import (SCHEMA_VERSION, CheckpointError, metadata_problems,
                                    to_json_safe)

__all__ = [
    "CheckpointError", "checkpoint_metadata", "save_checkpoint", "load_checkpoint", "load_checkpoint_tensors",
    "checkpoint_problems", "validate_checkpoint", "find_checkpoints", "latest_checkpoint",
    "ensure_writable", "pack_state", "unpack_state", "to_json_safe", "checkpoint_filename",
]

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def checkpoint_filename(model_name: str, epochs_completed: int, compress: bool = False) -> str:
    """``<model>_epoch_<N>.json`` (or ``.json.gz``), N being the number of epochs completed."""
    if not isinstance(model_name, str) or not _MODEL_NAME.match(model_name):
        raise ValueError(f"model_name must be letters, digits, '_', '.', '-' (no path "
                         f"separators), got {model_name!r}")
    if isinstance(epochs_completed, bool) or not isinstance(epochs_completed, int) \
            or epochs_completed < 1:
        raise ValueError(f"epochs_completed must be an int >= 1, got {epochs_completed!r}")
    return f"{model_name}_epoch_{epochs_completed}.json" + (".gz" if compress else "")


# ------------------------------------------------------------------------------- writing


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise CheckpointError(path, f"cannot write: {exc}") from exc


def ensure_writable(directory: str | os.PathLike) -> Path:
    """Create ``directory`` and prove that files can be written there; returns it as a Path.

    The trainer calls this before the first epoch, so that a bad checkpoint directory fails in
    a second rather than after an hour of training. Raises ``CheckpointError`` naming it.
    """
    directory = Path(directory)
    probe = temp_path_for(directory / "write-probe")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CheckpointError(directory, f"checkpoint directory is not writable: {exc}") from exc
    return directory




def _weights_name(directory: Path, stem: str, sha256: str) -> str:
    """Where a new checkpoint ``stem`` first writes its weights.

    Normally the documented ``<stem>.safetensors``. When re-saving an epoch whose weights
    already exist, the new weights first take a content-named sibling: replacing the old file
    in place would leave the old JSON pointing at new bytes (a hash mismatch) if we crashed
    before the new JSON landed. ``save_checkpoint`` then moves them to the documented name.
    """
    plain = f"{stem}.safetensors"
    return plain if not (directory / plain).exists() else f"{stem}-{sha256[:12]}.safetensors"


def _remove_stale_siblings(directory: Path, stem: str, keep: set[str]) -> None:
    """After a save commits, drop this epoch's superseded JSON / weights files."""
    stale = re.compile(rf"^{re.escape(stem)}(?:-[0-9a-f]{{12}})?\.(?:safetensors|json|json\.gz)$")
    for path in directory.iterdir():
        if stale.match(path.name) and path.name not in keep:
            with contextlib.suppress(OSError):
                path.unlink()


def checkpoint_metadata(model_name, epoch, step, config, metrics, top_level, learning_rate,
                        seed, environment, dataset, created_at=None):
    """Every key of a checkpoint's JSON (``checkpoints/README.md``), assembled here and nowhere
    else. ``save_checkpoint`` adds only ``weights``, which names the bytes it writes.

    ``epoch`` is 0-indexed and stored once: the file name's N (epochs completed) is epoch + 1.
    ``metrics`` holds ``train``/``val``/``test`` and any extra groups (CLIP's ``retrieval``);
    ``top_level`` the family's documented extensions (``generation_samples``, ...).
    """
    return {"epoch": epoch, "step": step, "config": config, "metrics": metrics, **top_level,
            "learning_rate": learning_rate, "seed": seed, "environment": environment,
            "dataset": dataset, "schema_version": SCHEMA_VERSION, "model": model_name,
            "created_at": created_at or datetime.now(timezone.utc).isoformat(timespec="seconds")}


def save_checkpoint(directory: str | os.PathLike, metadata: dict, tensors: dict[str, np.ndarray],
                    compress: bool = False) -> Path:
    """Write ``<model>_epoch_<epoch + 1>.json`` and its weights into ``directory``.

    ``directory`` is the model's own folder (the trainer passes ``<root>/<model>``); it is
    created if missing. ``metadata`` is the JSON content, as ``checkpoint_metadata`` builds it;
    the one key added here is ``weights`` = {"file", "sha256", "bytes"}. ``tensors`` maps names
    to arrays, normally built by ``pack_state``. ``compress=True`` writes ``.json.gz``. Returns
    the JSON path.

    Raises:
        ValueError: a non-finite float in ``metadata`` (the message names its key path), a bad
            model name or epoch.
        TypeError: a metadata value without JSON form, or a tensor that is not an array.
        CheckpointError: the files cannot be written. Earlier checkpoints are untouched.
    """
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    epoch, model_name = metadata.get("epoch"), metadata.get("model")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"metadata['epoch'] must be an int >= 0 (0-indexed), got {epoch!r}")
    epochs_completed = epoch + 1
    json_name = checkpoint_filename(model_name, epochs_completed, compress)
    meta = to_json_safe(metadata)  # Fails on NaN before anything touches the disk.

    # Serialising first costs one extra copy of the weights in memory but lets the hash (and so
    # the file name) be known before the first byte is written.
    blob = save_safetensors(check_tensors(tensors))
    sha256 = hashlib.sha256(blob).hexdigest()
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(directory, f"cannot create checkpoint directory: {exc}") from exc
    stem = f"{model_name}_epoch_{epochs_completed}"
    weights_name = _weights_name(directory, stem, sha256)
    meta["weights"] = {"file": weights_name, "sha256": sha256, "bytes": len(blob)}

    def encoded(meta):
        data = (json.dumps(meta, indent=2, allow_nan=False, ensure_ascii=False) + "\n").encode()
        return gzip.compress(data, mtime=0) if compress else data  # mtime=0: same bytes

    remove_orphan_temps(directory)  # left by an earlier save that was killed
    _write(directory / weights_name, blob)
    _write(directory / json_name, encoded(meta))  # The checkpoint now exists.
    plain = f"{stem}.safetensors"
    if weights_name != plain:
        # A re-saved epoch: copy the weights to the documented name, then point the JSON at
        # it. At every instant the JSON names a file that holds exactly its bytes.
        _write(directory / plain, blob)
        meta["weights"]["file"] = plain
        _write(directory / json_name, encoded(meta))
    _remove_stale_siblings(directory, stem, keep={plain, json_name})
    return directory / json_name


# ------------------------------------------------------------------------------ loading


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint's JSON (``.json`` or ``.json.gz``) and return it as a dict.

    Raises ``CheckpointError`` naming the file when it is missing, not a regular file,
    unreadable, corrupt, truncated, too large, too deeply nested, holds duplicate keys or
    out-of-range numbers (``checkpoint_reading.py``), or when its top level is not an object.
    """
    path = Path(path)
    raw = read_regular_file(path, MAX_JSON_BYTES, "checkpoint file")
    if path.name.endswith(".gz"):
        raw = gunzip(path, raw)
    meta = parse_json(path, raw)
    if not isinstance(meta, dict):
        raise CheckpointError(path, f"top level must be a JSON object, got "
                                    f"{type(meta).__name__}")
    return meta


def load_checkpoint_tensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load the arrays of the checkpoint whose JSON is at ``path``.

    The weights file is read once; those same bytes are hashed and then parsed, so what is
    returned is exactly what was verified. Raises ``CheckpointError`` when the weights entry is
    missing, its path is absolute or escapes the directory, or the size or hash do not match.
    """
    path = Path(path)
    blob = read_verified_weights(path, load_checkpoint(path))
    safetensors_header(path, blob)
    try:
        return load_safetensors(blob)
    except SafetensorError as exc:
        raise CheckpointError(path, f"weights are not valid safetensors: {exc}") from exc


def checkpoint_problems(path: str | os.PathLike, require_weights: bool = True,
                        check_model: bool = True) -> list[str]:
    """Every problem found with the checkpoint at ``path``; an empty list means it restores.

    Covers reading (see ``load_checkpoint``), the schema (see ``metadata_problems``) and the
    documented fields, a file name whose epoch disagrees with the JSON, the weights (missing
    entry or file, path escaping the directory, size or hash mismatch, a malformed safetensors
    header) and, with ``check_model``, everything a restore checks (``checkpoint_restore.py``):
    the config against the model and training settings, and each tensor against the model the
    config describes. ``check_model=False`` checks the files alone (arrays of any names).
    ``require_weights=False`` accepts metadata-only checkpoints such as those of the original
    documented format, and a weights file that is absent (as in a fresh clone, where only the
    JSON is committed); a weights entry is still checked, and a weights file that is present
    must still restore.
    """
    from .checkpoint_restore import REQUIRED_FIELDS, restore_problems  # it imports this module
    path = Path(path)
    try:
        meta = load_checkpoint(path)
    except CheckpointError as exc:
        return [str(exc)]
    problems = metadata_problems(meta)
    if require_weights:
        problems += [f"missing required field '{f}'" for f in REQUIRED_FIELDS
                     if f not in meta and f != "weights"]
    named = _NAME.match(path.name)
    epoch = meta.get("epoch")
    if named and isinstance(epoch, int) and int(named["n"]) != epoch + 1:
        problems.append(f"file name says epoch {named['n']} but 'epoch' is {epoch} "
                        f"(file names count completed epochs, 'epoch' is 0-indexed)")
    weights_here = True
    if require_weights or "weights" in meta:
        try:
            weights_here = require_weights or _weights_path(path, meta)[0].exists()
            if weights_here:
                safetensors_header(path, read_verified_weights(path, meta))
        except CheckpointError as exc:
            problems.append(exc.problem)
    if problems or not check_model or ("model" not in meta and not require_weights):
        return problems
    if not weights_here:  # metadata-only validation of a fresh clone: the config alone
        meta = {key: value for key, value in meta.items() if key != "weights"}
    return restore_problems(path, meta, require_weights=require_weights)


def validate_checkpoint(path: str | os.PathLike, require_weights: bool = True,
                        check_model: bool = True) -> bool:
    """Print whether the checkpoint at ``path`` is valid and return it; never raises."""
    try:
        problems = checkpoint_problems(path, require_weights, check_model)
    except Exception as exc:  # A validator must report, not crash the loop that calls it.
        problems = [f"unexpected error: {exc!r}"]
    if problems:
        print(f"❌ Checkpoint {path} validation failed: {'; '.join(problems)}")
        return False
    print(f"✅ Checkpoint {path} is valid")
    return True
