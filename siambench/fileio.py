"""Atomic file writing: a temporary file in the target folder, then ``os.replace``; and
:func:`path_kind`, what is at a path, for messages (a leaf module: imports nothing of siambench).

An interrupted write never leaves a half-written file under the final name. ``fsync=True``
(the default) also flushes the data to disk before the rename, so the file survives a power
loss; bulk writers of regenerable data (the synthetic benchmark) turn it off for speed.

File modes: every file written here gets the mode the user's umask gives a normal new file
(``0o666 & ~umask``, plus the folder's default ACL where there is one), as ``open(path, "w")``
would: the temporary file is created with ``os.open(..., 0o666)`` and the kernel applies the
umask. (``tempfile.mkstemp`` is not used: its files keep the private mode ``0o600``, which would
make results unreadable to the rest of a group on a shared cluster folder.) The umask is never
read or changed, so this is safe with threads.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "create_new_file", "path_kind"]

_NEW_FILE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                   | getattr(os, "O_CLOEXEC", 0))
_ATTEMPTS = 100


def create_new_file(path: Path) -> int:
    """Create ``path`` exclusively (``O_CREAT | O_EXCL``) with the umask's mode for a normal file
    and return the open write descriptor; raises ``FileExistsError`` when it exists."""
    return os.open(Path(path), _NEW_FILE_FLAGS, 0o666)


def _temporary(path: Path, suffix: str) -> tuple[int, Path]:
    """A new, empty temporary file ``.<name>.<random><suffix>`` beside ``path`` (open for
    writing, umask mode)."""
    for _ in range(_ATTEMPTS):
        candidate = path.parent / f".{path.name}.{secrets.token_hex(6)}{suffix}"
        try:
            return create_new_file(candidate), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")  # pragma: no cover


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (same-folder temporary file + rename); the file
    gets the umask's mode for a normal file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _temporary(path, ".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str, *, fsync: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line endings as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


@contextmanager
def atomic_path(path: Path, *, fsync: bool = True) -> Iterator[Path]:
    """For writers that want a file name (matplotlib, zipfile, OpenCV): yields a temporary path
    beside ``path`` with the same suffix (tools pick the format from it), already created empty
    with the umask's mode; when the block ends normally the file is renamed to ``path``,
    otherwise it is deleted. The writer must overwrite the file in place (``open(..., "wb")``),
    not replace it, for the mode to hold.

    Example: ``with atomic_path(out / "plot.png") as tmp: figure.savefig(tmp)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _temporary(path, f".tmp{path.suffix}")
    os.close(handle)
    try:
        yield temporary
        if fsync:
            with temporary.open("rb+") as stream:
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def path_kind(path: Path) -> str:
    """What is at ``path``, for messages: ``"missing"`` (nothing, not even a link), ``"a folder"``,
    ``"a file"``, ``"a broken symbolic link (to TARGET)"``, ``"a symbolic link loop"``, or
    ``"a special file (socket, pipe or device)"``. Links are followed; never raises."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"a broken symbolic link (to {target})"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "missing"
        return f"unreadable ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    return "a special file (socket, pipe or device)"
