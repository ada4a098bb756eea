"""A read-only view of the files under a folder or inside a zip archive.

Result readers work on relative POSIX paths (``baseline/ants1/ants1_001.txt``) so that one
detection and parsing code path serves folders and archives alike; zip members are read into
memory, never extracted to disk. A location inside an archive is written as the archive's path
followed by the member folder: ``results/VOT2018.zip/VOT2018/LightTrack``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from siambench.errors import DataFormatError, SiambenchError

_IGNORED_PARTS = ("__MACOSX",)


def _ignored(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part in _IGNORED_PARTS for part in parts)


class FileTree:
    """Files below one folder of a directory or of a zip archive.

    ``files`` are the relative POSIX paths of the regular files below the tree's root, sorted;
    ``where(rel)`` is the path to show in messages; ``read_bytes(rel)`` returns the content.
    """

    def __init__(self, location: Path, files: list[str], archive: zipfile.ZipFile | None = None,
                 prefix: str = "", base: Path | None = None) -> None:
        self.location = Path(location)
        self.files = sorted(files)
        self._archive = archive
        self._prefix = prefix
        self._base = base

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def of_folder(cls, folder: Path) -> FileTree:
        """Every file below ``folder`` (hidden files and ``__MACOSX`` skipped)."""
        folder = Path(folder)
        files = []
        for dirpath, dirnames, filenames in os.walk(folder):
            rel_dir = Path(dirpath).relative_to(folder)
            dirnames[:] = sorted(d for d in dirnames if not _ignored((d,)))
            for filename in filenames:
                if not _ignored((filename,)):
                    files.append((rel_dir / filename).as_posix())
        return cls(folder, files, base=folder)

    @classmethod
    def of_archive(cls, archive: zipfile.ZipFile, path: Path) -> FileTree:
        """Every file member of an open zip archive located at ``path``."""
        files = [info.filename for info in archive.infolist()
                 if not info.is_dir() and not _ignored(tuple(PurePosixPath(info.filename).parts))]
        return cls(path, files, archive=archive)

    def subtree(self, rel_dir: str) -> FileTree:
        """The files below the folder ``rel_dir`` of this tree (``""``: the tree itself)."""
        rel_dir = rel_dir.strip("/")
        if not rel_dir:
            return self
        head = rel_dir + "/"
        files = [f[len(head):] for f in self.files if f.startswith(head)]
        base = None if self._base is None else self._base / rel_dir
        return FileTree(self.location / rel_dir, files, self._archive, self._prefix + head, base)

    # -- queries -----------------------------------------------------------------------------
    def where(self, rel: str) -> Path:
        """The path of a file of this tree, for messages."""
        return self.location / rel

    def read_bytes(self, rel: str) -> bytes:
        """The content of a file of this tree."""
        try:
            if self._archive is not None:
                return self._archive.read(self._prefix + rel)
            return (self._base / rel).read_bytes()  # type: ignore[operator]
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise DataFormatError(self.where(rel), f"cannot be read: {exc}") from None

    def dirs(self) -> set[str]:
        """Every folder that holds files of this tree, as relative POSIX paths."""
        found: set[str] = set()
        for rel in self.files:
            parts = rel.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                found.add("/".join(parts[:depth]))
        return found

    def children(self) -> tuple[list[str], list[str]]:
        """Names of the top-level files and folders of this tree."""
        top_files, top_dirs = [], set()
        for rel in self.files:
            head, sep, _ = rel.partition("/")
            if sep:
                top_dirs.add(head)
            else:
                top_files.append(rel)
        return top_files, sorted(top_dirs)


@contextmanager
def open_location(path: Path) -> Iterator[FileTree]:
    """Open a folder, a ``.zip``, or a folder inside a zip (``archive.zip/inner/folder``).

    A trailing component that exists neither on disk nor in the archive is left to the caller:
    the tree of its parent is returned with ``selector`` semantics handled by the readers, so
    this function yields the deepest existing location and the caller compares ``tree.location``
    with ``path``.
    """
    path = Path(path)
    archive_path = next((p for p in (path, *path.parents) if p.is_file()), None)
    if archive_path is None:
        existing = next((p for p in (path, *path.parents) if p.is_dir()), None)
        if existing is None or (existing != path and existing != path.parent):
            raise SiambenchError(f"{path}: no such results folder or archive")
        yield FileTree.of_folder(existing)
        return
    if not zipfile.is_zipfile(archive_path):
        raise DataFormatError(archive_path, "not a results folder or zip archive",
                              hint="give a tracker folder, a .zip, or a folder inside a .zip")
    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataFormatError(archive_path, f"cannot open the zip archive: {exc}") from None
    with archive:
        tree = FileTree.of_archive(archive, archive_path)
        inner = path.relative_to(archive_path).as_posix()
        if inner in ("", "."):
            yield tree
            return
        dirs = tree.dirs()
        if inner in dirs:
            yield tree.subtree(inner)
            return
        parent = str(PurePosixPath(inner).parent)
        if parent in (".", "") or parent in dirs:
            yield tree.subtree("" if parent == "." else parent)
            return
        raise SiambenchError(f"{path}: no folder {inner!r} in the archive {archive_path}")
