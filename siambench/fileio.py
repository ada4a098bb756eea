"""Atomic file writing: a temporary file in the target folder, then ``os.replace``.

An interrupted write never leaves a half-written file under the final name. ``fsync=True``
(the default) also flushes the data to disk before the rename, so the file survives a power
loss; bulk writers of regenerable data (the synthetic benchmark) turn it off for speed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (same-folder temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str, *, fsync: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line endings as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)
