"""A read-only view of the files under a folder or inside a zip archive.

Result readers work on relative POSIX paths (``baseline/ants1/ants1_001.txt``) so that one
detection and parsing code path serves folders and archives alike; zip members are read into
memory, never extracted to disk. A location inside an archive is written as the archive's path
followed by the member folder: ``results/VOT2018.zip/VOT2018/LightTrack``.

Folders: symbolic links to folders and files are followed (results gathered with ``ln -s``); a
link back to a folder being walked (a loop), a second link to a folder already walked, a broken
link and a folder that cannot be listed are not followed but recorded in ``FileTree.skipped``
with the reason, and folders holding no files in ``FileTree.empty``.

Archives are untrusted input:

* a member name must be a relative POSIX path inside the archive: an absolute name, a drive
  letter, a backslash, a ``..``, ``.`` or empty component or a control character refuses the
  whole archive (:class:`DataFormatError` naming the member). Refusing rather than skipping such
  members is the safer choice: no toolkit writes them, so the archive is crafted or broken, and
  a partial read would score it as if complete. No member name is ever joined onto a host path
  that is opened: members are read from the archive by name, and paths like
  ``archive.zip/<member folder>`` only address folders inside the archive;
* a member is inflated only when its stated size is at most :data:`MAX_FILE_BYTES` and, above
  :data:`RATIO_FLOOR_BYTES`, at most :data:`MAX_RATIO` times its compressed size; it is read in
  chunks and refused once it inflates past its stated size; an archive inflates at most
  :data:`MAX_ARCHIVE_BYTES` in all (zip bombs).
"""

from __future__ import annotations

import errno
import lzma
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from siambench.errors import DataFormatError, SiambenchError

#: Largest result file read (a folder's or an archive member's, once inflated). The longest
#: benchmark sequences (~30 000 frames) at full float precision take ~3 MB.
MAX_FILE_BYTES = 64 * 2**20
#: Largest total an archive may inflate to, over every member read from it.
MAX_ARCHIVE_BYTES = 4 * 2**30
#: Largest inflated/compressed size ratio of a member above :data:`RATIO_FLOOR_BYTES` (text
#: results compress 3-10x; deflate's own maximum is ~1030x).
MAX_RATIO = 1000
RATIO_FLOOR_BYTES = 2**20
#: Deepest folder level walked below a tree's root.
MAX_FOLDER_DEPTH = 32

_IGNORED_PARTS = ("__MACOSX",)
_CHUNK = 2**20
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: What zipfile raises on corrupt or crafted archives, besides BadZipFile.
ZIP_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
              RuntimeError, ValueError, OverflowError, struct.error, zlib.error, lzma.LZMAError)


def _ignored(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part in _IGNORED_PARTS for part in parts)


def unsafe_member_name(name: str) -> str | None:
    """Why a zip member name is not a plain relative path inside the archive (None: it is)."""
    if "\\" in name:
        return "holds a backslash"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    if _CONTROL.search(name):
        return "holds a control character"
    parts = (name[:-1] if name.endswith("/") else name).split("/")
    if ".." in parts:
        return "climbs out of the archive (..)"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' path component"
    return None


def _size(count: float) -> str:
    """A byte count for messages: ``512 bytes``, ``1.5 MiB``."""
    if count < 1024:
        return f"{count:.0f} bytes"
    for unit in ("KiB", "MiB"):
        count /= 1024
        if count < 1024:
            return f"{count:.1f} {unit}"
    return f"{count / 1024:.1f} GiB"


class _Budget:
    """Bytes inflated so far from one archive (shared by its subtrees)."""

    def __init__(self) -> None:
        self.used = 0


class FileTree:
    """Files below one folder of a directory or of a zip archive.

    ``files`` are the relative POSIX paths of the regular files below the tree's root, sorted;
    ``where(rel)`` is the path to show in messages; ``read_bytes(rel)`` returns the content.
    ``skipped`` maps the relative path of each entry not followed (broken or looping link,
    unlistable folder, ...) to the reason; ``empty`` lists the folders holding no file at all
    (both always empty for archives).
    """

    def __init__(self, location: Path, files: list[str], archive: zipfile.ZipFile | None = None,
                 prefix: str = "", base: Path | None = None, *,
                 skipped: dict[str, str] | None = None, empty: list[str] | None = None,
                 budget: _Budget | None = None, archive_path: Path | None = None) -> None:
        self.location = Path(location)
        self.files = sorted(files)
        self.skipped = dict(skipped or {})
        self.empty = sorted(empty or [])
        self._archive = archive
        self._prefix = prefix
        self._base = base
        self._budget = budget if budget is not None else _Budget()
        self._archive_path = archive_path if archive_path is not None else self.location

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def of_folder(cls, folder: Path) -> FileTree:
        """Every file below ``folder`` (hidden files and ``__MACOSX`` skipped), links followed."""
        folder = Path(folder)
        files: list[str] = []
        skipped: dict[str, str] = {}
        empty: list[str] = []
        visited = {os.path.realpath(folder): ""}

        def walk(directory: Path, rel: str, ancestors: frozenset[str], depth: int) -> bool:
            """Collect the files below ``directory``; True when it holds a file or a skipped
            entry at any depth (False: an empty folder)."""
            before = len(files) + len(skipped)
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                skipped[rel or "."] = f"cannot be listed: {exc.strerror or exc}"
                return True
            folders = []
            for entry in entries:
                if _ignored((entry.name,)):
                    continue
                child = f"{rel}/{entry.name}" if rel else entry.name
                kind, reason = _entry_kind(entry)
                if kind == "file":
                    files.append(child)
                elif kind == "dir":
                    folders.append((entry, child))
                else:
                    skipped[child] = reason
            # real folders first: a link to a folder that is also present is the duplicate
            for entry, child in sorted(folders, key=lambda item: item[0].is_symlink()):
                real = os.path.realpath(entry.path)
                if real in ancestors:
                    skipped[child] = "symlink loop (links back to a folder that holds it)"
                elif real in visited:
                    skipped[child] = (f"same folder as {visited[real] or '.'} (linked twice), "
                                      "read once")
                elif depth >= MAX_FOLDER_DEPTH:
                    skipped[child] = f"deeper than {MAX_FOLDER_DEPTH} folder levels"
                else:
                    visited[real] = child
                    if not walk(Path(entry.path), child, ancestors | {real}, depth + 1):
                        empty.append(child)
            return len(files) + len(skipped) > before

        walk(folder, "", frozenset({os.path.realpath(folder)}), 0)
        return cls(folder, files, base=folder, skipped=skipped, empty=empty)

    @classmethod
    def of_archive(cls, archive: zipfile.ZipFile, path: Path) -> FileTree:
        """Every file member of an open zip archive located at ``path``.

        Refuses the whole archive (:class:`DataFormatError`) when a member name is not a plain
        relative path (see the module docstring).
        """
        files = []
        for info in archive.infolist():
            problem = unsafe_member_name(info.filename)
            if problem is not None:
                raise DataFormatError(path, f"member {info.filename!r} {problem}; the archive is "
                                            "refused", hint="member names must be relative "
                                            "paths inside the archive; re-create it with zip")
            if not info.is_dir() and not _ignored(tuple(info.filename.split("/"))):
                files.append(info.filename)
        return cls(path, files, archive=archive)

    def subtree(self, rel_dir: str) -> FileTree:
        """The files below the folder ``rel_dir`` of this tree (``""``: the tree itself)."""
        rel_dir = rel_dir.strip("/")
        if not rel_dir:
            return self
        _check_rel(rel_dir)
        head = rel_dir + "/"
        files = [f[len(head):] for f in self.files if f.startswith(head)]
        skipped = {k[len(head):]: v for k, v in self.skipped.items() if k.startswith(head)}
        empty = [e[len(head):] for e in self.empty if e.startswith(head)]
        base = None if self._base is None else self._base / rel_dir
        return FileTree(self.location / rel_dir, files, self._archive, self._prefix + head, base,
                        skipped=skipped, empty=empty, budget=self._budget,
                        archive_path=self._archive_path)

    # -- queries -----------------------------------------------------------------------------
    def where(self, rel: str) -> Path:
        """The path of a file of this tree, for messages."""
        _check_rel(rel)
        return self.location / rel

    def read_bytes(self, rel: str) -> bytes:
        """The content of a file of this tree, at most :data:`MAX_FILE_BYTES`."""
        where = self.where(rel)
        if self._archive is not None:
            return self._read_member(self._prefix + rel, where)
        path = self._base / rel  # type: ignore[operator]
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise DataFormatError(where, f"{_size(size)}, larger than any result file "
                                             f"(limit {_size(MAX_FILE_BYTES)})")
            return path.read_bytes()
        except OSError as exc:
            raise DataFormatError(where, f"cannot be read: {exc.strerror or exc}") from None

    def _read_member(self, name: str, where: Path) -> bytes:
        """Inflate one archive member within the limits (see the module docstring)."""
        archive = self._archive
        try:
            info = archive.getinfo(name)  # type: ignore[union-attr]
        except KeyError:
            raise DataFormatError(where, "no such member in the archive") from None
        stated = info.file_size
        if stated > MAX_FILE_BYTES:
            raise DataFormatError(where, f"would inflate to {_size(stated)}, more than any result "
                                         f"file (limit {_size(MAX_FILE_BYTES)} per member)",
                                  hint="a zip bomb or not a results archive")
        if stated > RATIO_FLOOR_BYTES and stated > MAX_RATIO * max(info.compress_size, 1):
            raise DataFormatError(where, f"would inflate {info.compress_size} bytes to "
                                         f"{_size(stated)} (more than {MAX_RATIO}x)",
                                  hint="a zip bomb or not a results archive")
        budget = self._budget
        if budget.used + stated > MAX_ARCHIVE_BYTES:
            raise SiambenchError(f"{self._archive_path}: reading member {name!r} would inflate the "
                                 f"archive past {_size(MAX_ARCHIVE_BYTES)} in all; refused (a zip "
                                 "bomb or not a results archive)")
        chunks, size = [], 0
        try:
            with archive.open(info) as stream:  # type: ignore[union-attr]
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > stated:
                        raise DataFormatError(where, f"inflates past the {stated} bytes its "
                                                     "header states; refused",
                                              hint="a corrupt or crafted archive")
                    chunks.append(chunk)
        except ZIP_ERRORS as exc:
            raise DataFormatError(where, f"cannot be read from the archive: "
                                         f"{type(exc).__name__}: {exc}") from None
        budget.used += size
        return b"".join(chunks)

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
    if not is_zip(archive_path):
        if archive_path.suffix.lower() == ".zip":
            raise DataFormatError(archive_path, "not a readable zip archive (no zip directory: "
                                                "truncated or corrupt?)",
                                  hint="download or copy it again")
        raise DataFormatError(archive_path, "not a results folder or zip archive",
                              hint="give a tracker folder, a .zip, or a folder inside a .zip")
    try:
        archive = zipfile.ZipFile(archive_path)
    except ZIP_ERRORS as exc:
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


def is_zip(path: Path) -> bool:
    """``zipfile.is_zipfile`` that never raises."""
    try:
        return zipfile.is_zipfile(path)
    except ZIP_ERRORS:
        return False


def _check_rel(rel: str) -> None:
    """Refuse a relative path that could leave its tree (defence in depth: archive member
    names are checked when the tree is built, folder entries are single names)."""
    if rel.startswith("/") or ".." in rel.split("/"):
        raise SiambenchError(f"internal error: {rel!r} is not a path inside the tree")


def _entry_kind(entry: os.DirEntry) -> tuple[str, str]:
    """``("file" | "dir" | "other", reason)`` of a folder entry, links followed."""
    try:
        if entry.is_dir():
            return "dir", ""
        if entry.is_file():
            return "file", ""
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "other", "symlink loop"
        return "other", f"cannot be read: {exc.strerror or exc}"
    if entry.is_symlink():
        try:
            os.stat(entry.path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "other", "symlink loop"
            return "other", "broken symlink" + (f" (to {os.readlink(entry.path)})"
                                                if _readable_link(entry.path) else "")
    return "other", "not a regular file or folder"


def _readable_link(path: str) -> bool:
    try:
        os.readlink(path)
    except OSError:
        return False
    return True
