"""An on-disk cache of parsed annotation indexes (the large training sets' XML, JSON and CSV files).

ImageNet VID has 1.3 million per-frame XML files, ImageNet DET 0.45 million, COCO one 450 MB
JSON file and YouTube-BB a 5.6-million-row CSV: parsing them takes from half a minute to several
minutes, at every training start. A loader therefore parses once into a few numpy arrays and keeps
them in ``<cache>/indexes/<kind>-<hash of the root>.npz`` (``<cache>``: ``$SIAMBENCH_CACHE``, see
:func:`siambench.datasets.registry.cache_dir`), together with a *signature*: a text the loader
computes cheaply from what the parse depends on (file sizes and modification times, the
modification times of the annotation folders). A cache whose signature or format version differs
is rebuilt; nothing else is ever trusted. The file is written atomically (no pickled objects:
``np.load(..., allow_pickle=False)``); a cache folder that cannot be written only costs the parse
at the next start (a warning says so).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from siambench.fileio import atomic_write_bytes

log = logging.getLogger("siambench.datasets")

__all__ = ["cache_path", "cached_index", "folder_signature", "file_signature"]

_SIGNATURE_KEY = "__signature__"


def cache_path(kind: str, root: Path) -> Path:
    """Where the index of ``kind`` (``imagenet-vid``, ...) read from ``root`` is cached."""
    from siambench.datasets.registry import cache_dir

    digest = hashlib.sha256(os.path.abspath(root).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / "indexes" / f"{kind}-{digest}.npz"


def file_signature(path: Path) -> str:
    """``name size mtime_ns`` of a file (what a changed annotation file changes)."""
    info = os.stat(path)
    return f"{path.name} {info.st_size} {info.st_mtime_ns}"


def folder_signature(folders: Iterable[Path]) -> str:
    """One line ``path mtime_ns`` per folder: a folder's time changes when a file is added to,
    removed from or renamed in it (not when a file is rewritten in place)."""
    lines = []
    for folder in folders:
        try:
            lines.append(f"{folder} {os.stat(folder).st_mtime_ns}")
        except OSError:
            lines.append(f"{folder} missing")
    return "\n".join(lines)


def cached_index(kind: str, root: Path, signature: str, build: Callable[[], Mapping[str, np.ndarray]],
                 *, version: int = 1) -> dict[str, np.ndarray]:
    """The arrays ``build()`` returns for ``root``, from the cache when its signature matches.

    ``signature``: the text that changes whenever the parse would; ``version``: the format of
    ``build``'s arrays (bump it when the loader changes what it stores). Arrays must be numeric
    or fixed-width strings (no object arrays).
    """
    path = cache_path(kind, root)
    stamp = hashlib.sha256(f"{kind} v{version}\n{os.path.abspath(root)}\n{signature}".encode()).hexdigest()
    cached = _read(path, stamp)
    if cached is not None:
        return cached
    log.info("indexing %s annotations in %s (cached in %s for the next start)", kind, root, path)
    arrays = {key: np.asarray(value) for key, value in build().items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{_SIGNATURE_KEY: np.array(stamp)})
    try:
        atomic_write_bytes(path, buffer.getvalue(), fsync=False)
    except OSError as exc:
        log.warning("cannot write the %s index cache %s (%s); it will be parsed again next time",
                    kind, path, exc.strerror or exc)
    return arrays


def _read(path: Path, stamp: str) -> dict[str, np.ndarray] | None:
    """The cached arrays when ``path`` holds an index with ``stamp``; None otherwise."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data[_SIGNATURE_KEY]) != stamp:
                return None
            return {key: data[key] for key in data.files if key != _SIGNATURE_KEY}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        log.warning("ignoring the unreadable index cache %s (rebuilding it)", path)
        return None
