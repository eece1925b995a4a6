"""Replace a file so that a reader, or a crash, sees the old content or the new, never a mix.

The recipe (as in databases and git): write a unique temp file in the *same* directory (a rename
is only atomic within one file system), flush and fsync it, ``os.replace`` it over the target,
then fsync the directory so the rename itself survives a power cut. A process killed part-way
leaves the target untouched and, at worst, an orphan temp file named ``.<name>.<pid>.<hex>.tmp``,
which ``remove_orphan_temps`` deletes once its process has gone (the next save does it).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

CHUNK_BYTES = 16 << 20  # Write in pieces so a huge file never needs one giant write call.


def temp_path_for(path: Path) -> Path:
    """A fresh temp name beside ``path``.

    Unique per process and call, so two writers (or a retry after a crash) never share one; the
    leading dot and the ``.tmp`` suffix keep it out of ``*.json`` globs.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def fsync_directory(directory: Path) -> None:
    """Make the renames inside ``directory`` durable, not only the file contents."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # Some platforms (Windows) cannot open a directory; rename is all they offer.
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_chunks(fh, data: bytes) -> None:
    """Write ``data`` to the open binary file ``fh`` in ``CHUNK_BYTES`` pieces."""
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_BYTES):
        fh.write(view[start:start + CHUNK_BYTES])


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically and durably. Raises ``OSError`` on failure,
    after removing its temp file; the previous ``path``, if any, is then unchanged."""
    path = Path(path)
    tmp = temp_path_for(path)
    try:
        # 0o666 filtered by the umask gives the permissions a plain open() would.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            write_chunks(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def _process_alive(pid: int) -> bool:
    if os.name != "posix" or pid == os.getpid():
        return True  # without a safe liveness test (Windows), or our own: keep it
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists but belongs to someone else
    return True


def remove_orphan_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete the temp files (``temp_path_for`` names) in ``directory`` whose writer is no
    longer running: what a save killed part-way left behind. Returns the removed paths."""
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for path in entries:
        named = _TEMP_NAME.match(path.name)
        if named and not _process_alive(int(named["pid"])):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed
