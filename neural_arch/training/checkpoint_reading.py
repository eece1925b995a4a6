"""Reading a checkpoint's bytes without trusting them: files, JSON and the safetensors header.

Every function here raises ``CheckpointError`` naming the file; nothing else escapes.

* ``read_regular_file``: only a regular file is read (a FIFO would block forever, a device
  would never end), opened without blocking, and never more than ``limit`` bytes.
* ``parse_json``: strict JSON with bounded nesting (``MAX_JSON_DEPTH``), integers that fit in
  64 bits, finite floats, no NaN/Infinity spellings and no duplicate keys (Python would keep
  the last one silently; another reader might keep the first).
* ``gunzip``: inflates at most ``MAX_JSON_BYTES``, so a small ``.json.gz`` bomb stays small.
* ``read_verified_weights``: the weights file a checkpoint names, refused when its path leaves
  the checkpoint's directory or its size or SHA-256 differ from the recorded ones.
* ``safetensors_header``: the tensor table of a safetensors file (name -> dtype, shape) read
  from its JSON header, checked for offsets that tile the data exactly, before any array exists.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import os
import stat
import struct
import zlib
from pathlib import Path

from .checkpoint_validation import CheckpointError

MAX_JSON_BYTES = 64 << 20   # a checkpoint JSON is a few kB; 64 MiB is generous
MAX_JSON_DEPTH = 64         # the documented schema nests 4 deep
MAX_INT = 2**63 - 1
# safetensors dtype names and their item sizes (those NumPy can hold).
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "F16": 2, "U32": 4, "I32": 4,
               "F32": 4, "U64": 8, "I64": 8, "F64": 8}


def read_regular_file(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of ``path`` (symlinks followed), which must be a regular file of at most
    ``limit`` bytes."""
    try:
        # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise CheckpointError(path, f"{what} not found") from exc
    except (OSError, ValueError) as exc:  # ELOOP (a symlink loop), EACCES, a NUL in the name
        raise CheckpointError(path, f"cannot open {what}: {exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(path, f"{what} is not a regular file (a FIFO, device or "
                                        "directory); refusing to read it")
        if info.st_size > limit:
            raise CheckpointError(path, f"{what} has {info.st_size} bytes, more than the "
                                        f"{limit} expected")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise CheckpointError(path, f"cannot read {what}: {exc}") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise CheckpointError(path, f"{what} grew past {limit} bytes while being read")
    return data


def gunzip(path: Path, raw: bytes) -> bytes:
    """Inflate gzip data, refusing more than ``MAX_JSON_BYTES`` of output."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise CheckpointError(path, f"corrupt or truncated gzip data: {exc}") from exc
    if len(data) > MAX_JSON_BYTES:
        raise CheckpointError(path, f"gzip data inflates past {MAX_JSON_BYTES} bytes; refusing "
                                    "it (a checkpoint JSON is a few kB)")
    return data


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r} in one object")
        obj[key] = value
    return obj


def _strict_int(text):
    value = int(text)
    if abs(value) > MAX_INT:
        raise ValueError(f"integer {text[:20]}... does not fit in 64 bits")
    return value


def _strict_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} overflows a float")
    return value


def _reject_constant(name):
    raise ValueError(f"non-finite number {name} (strict JSON has no NaN or Infinity)")


def _depth(obj) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        children = node.values() if isinstance(node, dict) else \
            node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(path: Path, raw: bytes):
    """Strict JSON from ``raw`` (UTF-8), with the limits of the module docstring."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(path, f"not UTF-8 text: {exc}") from exc
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_strict_int,
                           parse_float=_strict_float, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise CheckpointError(path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError and the hooks above
        raise CheckpointError(path, f"corrupt or truncated JSON: {exc}") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise CheckpointError(path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def safetensors_header(path: Path, blob: bytes) -> dict[str, tuple[str, tuple]]:
    """``{name: (dtype, shape)}`` of the safetensors bytes ``blob``, checked for a well-formed
    header whose offsets cover the data exactly once, in order."""
    if len(blob) < 8:
        raise CheckpointError(path, f"weights file has {len(blob)} bytes; a safetensors file "
                                    "starts with an 8-byte header length")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > len(blob) - 8 or size > MAX_JSON_BYTES:
        raise CheckpointError(path, f"weights header claims {size} bytes; the file has "
                                    f"{len(blob) - 8} after the length")
    header = parse_json(path, blob[8:8 + size])
    if not isinstance(header, dict):
        raise CheckpointError(path, "weights header is not a JSON object")
    header.pop("__metadata__", None)
    entries, data_bytes = [], len(blob) - 8 - size
    for name, entry in header.items():
        ok = isinstance(entry, dict) and entry.get("dtype") in DTYPE_SIZES \
            and isinstance(entry.get("shape"), list) and isinstance(entry.get("data_offsets"), list)
        ok = ok and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                        for d in entry["shape"] + entry["data_offsets"])
        if not ok or len(entry["data_offsets"]) != 2:
            raise CheckpointError(path, f"weights header entry {name!r} is malformed: {entry!r}"
                                  [:300])
        count = 1
        for d in entry["shape"]:
            count *= d
        start, end = entry["data_offsets"]
        if end - start != count * DTYPE_SIZES[entry["dtype"]]:
            raise CheckpointError(path, f"weights tensor {name!r}: offsets {start}..{end} do not "
                                        f"hold a {entry['dtype']} array of shape {entry['shape']}")
        entries.append((start, end, name))
    position = 0
    for start, end, name in sorted(entries):
        if start != position:
            raise CheckpointError(path, f"weights tensor {name!r} starts at byte {start}, "
                                        f"expected {position} (gap or overlap)")
        position = end
    if position != data_bytes:
        raise CheckpointError(path, f"weights data has {data_bytes} bytes but the header "
                                    f"accounts for {position}")
    return {name: (entry["dtype"], tuple(entry["shape"])) for name, entry in header.items()}


def _weights_path(path: Path, meta: dict) -> tuple[Path, dict]:
    """The weights file named by ``meta``, refused if it would leave the checkpoint's folder."""
    weights = meta.get("weights")
    if not isinstance(weights, dict):
        raise CheckpointError(path, "no 'weights' entry: this checkpoint holds metadata only")
    name, sha, size = weights.get("file"), weights.get("sha256"), weights.get("bytes")
    if not isinstance(name, str) or not name or "\x00" in name:
        raise CheckpointError(path, f"weights.file must be a file name, got {name!r}")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise CheckpointError(path, f"weights.sha256 must be 64 hex digits, got {sha!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise CheckpointError(path, f"weights.bytes must be an integer >= 0, got {size!r}")
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise CheckpointError(path, f"weights.file {name!r} is an absolute path; it must be "
                                    "relative to the checkpoint's directory")
    # resolve() follows symlinks too, so a link pointing outside is caught like a "..".
    try:
        base = path.parent.resolve()
        target = (base / name).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise CheckpointError(path, f"weights file {name!r} cannot be resolved: {exc}") from exc
    if not target.is_relative_to(base):
        raise CheckpointError(path, f"weights.file {name!r} leaves the checkpoint's "
                                    f"directory {base}")
    return target, weights


def read_verified_weights(path: Path, meta: dict) -> bytes:
    """The weights file's bytes, after checking their size and SHA-256 against ``meta``."""
    target, weights = _weights_path(path, meta)
    what = f"weights file {target.name}"
    try:
        # A regular file, and never more than the recorded size read.
        blob = read_regular_file(target, weights["bytes"], what)
    except CheckpointError as exc:  # reported against the checkpoint, naming the weights
        problem = exc.problem.replace(f"{what} not found", f"{what} is missing")
        raise CheckpointError(path, problem) from exc
    if len(blob) != weights["bytes"]:
        raise CheckpointError(path, f"{what} has {len(blob)} bytes, expected "
                                    f"{weights['bytes']}")
    if hashlib.sha256(blob).hexdigest() != weights["sha256"]:
        raise CheckpointError(path, f"weights file {target.name} fails its SHA-256 check "
                                    "(modified or corrupt)")
    return blob
