"""GOT-10k train / val / test splits.

Folder structure (the official release, read as got10k's toolkit does)::

    <root>/{train,val,test}/list.txt         one sequence folder name per line
    <root>/<split>/GOT-10k_Val_000001/
        00000001.jpg ...      frames: the sorted ``*.jpg`` of the folder
        groundtruth.txt       ``x,y,w,h`` per frame (test: first line only)
        absence.label         1 = target absent (train/val only, like the two below)
        cover.label           visible fraction in eighths, 0..8
        cut_by_image.label    1 = cut by the image border
        meta_info.ini         ``[METAINFO]`` then ``key: value`` lines incl. ``resolution: (W, H)``

``<root>`` may also be the split folder itself (the one holding ``list.txt``). Boxes are float64
``x, y, w, h`` as in the file, never rounded. ``len(sequence)`` is the number of frames; the test
split's ground truth holds only the initial box (1 row) and its flags are ``None``. For train/val
the label files must have one line per ground-truth row (a mismatch raises
:class:`DataFormatError` when the flags are read) and ``Sequence.problems()`` reports a
ground-truth/frame count mismatch. At construction only ``list.txt`` is read and the split folder
listed once: ground truth, labels, ``meta_info.ini`` and frame lists are read on first access.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.base import (
    Dataset,
    FrameFlags,
    Sequence,
    listed_folders,
    require_folder,
    unusable_sequence,
    wrong_kind,
)
from siambench.datasets.images import read_image_size
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError
from siambench.fileio import path_kind
from siambench.textio import read_flags, read_key_values, read_number_rows, read_text_lines

SPLITS: tuple[str, ...] = ("train", "val", "test")

#: label file -> (FrameFlags field, largest allowed value)
_LABELS: tuple[tuple[str, str, int], ...] = (
    ("absence.label", "absent", 1), ("cover.label", "cover", 8),
    ("cut_by_image.label", "cut_by_image", 1))
_RESOLUTION = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_FOLDER_STRUCTURE = ("<root>/{split}/list.txt and <root>/{split}/<sequence>/00000001.jpg, groundtruth.txt, "
                     "absence.label, cover.label, cut_by_image.label, meta_info.ini (<root> may also be "
                     "the {split} folder itself)")


def load(root: Path, variant: str) -> Dataset:
    """Load the GOT-10k split ``variant`` (``train``, ``val`` or ``test``) from ``root``.

    ``root`` is the GOT-10k folder holding ``train/ val/ test/`` or the split folder itself.
    Names of ``list.txt`` without a folder are skipped and listed in ``dataset.meta["missing"]``.
    """
    split = variant.lower()
    if split not in SPLITS:
        raise UnknownNameError(f"unknown GOT-10k split {variant!r}; known: {', '.join(SPLITS)}")
    folder = _split_folder(Path(root), split)
    list_file = folder / "list.txt"
    names = [line.strip() for line in read_text_lines(list_file) if line.strip()]
    if not names:
        raise DataFormatError(list_file, "empty sequence list",
                              hint="expected one sequence folder name per line")
    kinds, found, missing = listed_folders(folder, names, list_file,
                                           _FOLDER_STRUCTURE.format(split=split))
    sequences: list[Sequence] = []
    for name in names:
        if name in found:
            sequences.append(_sequence(folder / name, split))
        elif name in kinds:  # a file, a broken link or a link loop: said when used, not skipped
            error = wrong_kind(folder / name, "the sequence folder", kind=kinds[name],
                               hint=f"listed in {list_file.name}")
            sequences.append(unusable_sequence(name, error, dataset=f"got10k-{split}",
                                               source=folder / name))
    meta = {"split": split, "missing": missing, "format": "got10k"}
    return Dataset(f"got10k-{split}", sequences, root=folder, meta=meta)


def read_meta_info(path: Path) -> dict[str, str]:
    """Parse a GOT-10k ``meta_info.ini``: an optional ``[METAINFO]`` header line, then
    ``key: value`` lines (values kept as strings, split at the first colon)."""
    return read_key_values(path, ":", example="resolution: (1280, 720)", skip=())


def parse_resolution(text: str, path: Path) -> tuple[int, int]:
    """``(W, H)`` from a ``resolution`` value such as ``(1280, 720)``."""
    match = _RESOLUTION.match(text.strip())
    if match is None or 0 in (int(match.group(1)), int(match.group(2))):
        line = _line_of(path, "resolution")
        raise DataFormatError(path, f"resolution {text!r}", line=line,
                              hint="expected '(W, H)' with positive integers")
    return int(match.group(1)), int(match.group(2))


# -- internals ----------------------------------------------------------------------------------

def _split_folder(root: Path, split: str) -> Path:
    """The folder holding ``list.txt``: ``root/<split>`` or ``root`` itself."""
    require_folder(root, _FOLDER_STRUCTURE.format(split=split))
    candidates = [root / split]
    candidates += [p for p in sorted(root.iterdir()) if p.name.lower() == split and p.name != split]
    for candidate in candidates:
        if (candidate / "list.txt").is_file():
            return candidate
    for list_file in (root / split / "list.txt", root / "list.txt"):
        if path_kind(list_file) not in ("missing", "a file"):
            raise wrong_kind(list_file, "the text file of sequence names",
                             hint="one sequence folder name per line")
    if (root / "list.txt").is_file():
        other = root.name.lower()
        if other in SPLITS and other != split:
            raise DatasetNotFoundError(
                f"{root} is the GOT-10k {other} split, not {split}: pass the GOT-10k folder "
                f"that holds {split}/ (or the {split} folder itself) as the root")
        return root
    raise DatasetNotFoundError(
        f"{root}: no GOT-10k {split} split found (looked for {root / split / 'list.txt'} and "
        f"{root / 'list.txt'}). Expected folder structure: {_FOLDER_STRUCTURE.format(split=split)}")


class _MetaInfo:
    """The parsed ``meta_info.ini`` of one sequence, read once on first use ({} when absent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values: dict[str, str] | None = None

    def values(self) -> dict[str, str]:
        if self._values is None:
            self._values = read_meta_info(self.path) if self.path.is_file() else {}
        return self._values

    def resolution(self) -> tuple[int, int] | None:
        text = self.values().get("resolution")
        return None if text is None else parse_resolution(text, self.path)


def _sequence(folder: Path, split: str) -> Sequence:
    gt_file = folder / "groundtruth.txt"
    info = _MetaInfo(folder / "meta_info.ini")
    cache: dict[str, Any] = {}

    def groundtruth() -> np.ndarray:
        if "gt" not in cache:
            cache["gt"] = read_number_rows(gt_file, (4,))
        return cache["gt"]

    def frame_paths() -> list[Path]:
        if "frames" not in cache:
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                raise DataFormatError(folder, f"cannot list the frames: {exc.strerror or exc}") \
                    from None
            # Every *.jpg entry but folders: a broken link or a link loop named like a frame
            # stays in the list, so problems() and read_frame say what it is.
            cache["frames"] = sorted(Path(e.path) for e in entries
                                     if e.name.lower().endswith(".jpg")
                                     and (e.is_file(follow_symlinks=False)
                                          or (e.is_symlink() and not Path(e.path).is_dir())))
        return cache["frames"]

    def flags() -> FrameFlags:
        length = len(groundtruth())
        values: dict[str, np.ndarray] = {}
        for file_name, field_name, maximum in _LABELS:
            path = folder / file_name
            array, _ = read_flags(path, None, missing_ok=False, maximum=maximum)
            if len(array) != length:
                raise DataFormatError(path, f"{len(array)} lines for {length} ground-truth rows",
                                      hint="expected one label per frame")
            values[field_name] = array if field_name == "cover" else array.astype(bool)
        return FrameFlags(**values)

    def image_size() -> tuple[int, int] | None:
        size = info.resolution()
        if size is not None:
            return size
        paths = frame_paths()
        return read_image_size(paths[0]) if paths else None

    return Sequence(folder.name, groundtruth=groundtruth, frame_paths=frame_paths,
                    flags=None if split == "test" else flags, image_size=image_size,
                    dataset=f"got10k-{split}", source=folder,
                    meta=lambda: {**info.values(), "split": split})


def _line_of(path: Path, key: str) -> int | None:
    """The 1-based line of ``key:`` in a small text file, for error messages."""
    for number, line in enumerate(read_text_lines(path), start=1):
        if line.strip().startswith(f"{key}:") or line.strip().startswith(f"{key} :"):
            return number
    return None


__all__ = ["SPLITS", "load", "parse_resolution", "read_meta_info"]
