"""VOT2016–VOT2019 short-term (supervised reset) datasets.

Two formats are read (detection order of :func:`load`; ``dataset.meta["format"]``):

1. the VOT toolkit's sequence folder: ``<root>/list.txt`` (or a vot-toolkit workspace root with
   ``<root>/sequences/list.txt``), per sequence ``groundtruth.txt``, an optional ``sequence``
   metadata file (``channels.color=color/%08d.jpg``, ``fps=30``, ``format=default``, ``name=…``),
   frames ``color/00000001.jpg`` (or directly in the sequence folder), and per-frame tag files
   ``<tag>.tag`` (VOT2016+) or ``<tag>.label`` (older), one 0/1 per line;
2. a pysot-style ``<root>/VOT2018.json`` named like the variant (case-insensitive):
   ``{video: {video_dir, init_rect, img_names, gt_rect, camera_motion, illum_change,
   motion_change, size_change, occlusion, width, height}}``; images are used when they exist
   under ``<root>``, otherwise the sequences are annotation-only (``frame_paths`` is ``None``).
   The root may be the json file itself (``--root data/VOT2018.json``; images beside it).

An entry of ``list.txt`` whose folder is a file, a broken symbolic link or a link loop is a
sequence that raises :class:`DataFormatError` saying what it is when used (``siambench data
check`` lists it); only a name with nothing of that name on disk is "missing".

Conventions: ground truth keeps each sequence's own shape, float64 ``(N, 8)`` polygons
``x1, y1, …, x4, y4`` or ``(N, 4)`` rectangles ``x, y, w, h`` (``conduction1``), in the VOT
files' pixel coordinates, read as 0-based as pysot does (``DatasetSpec.origin`` 0), never
converted nor rounded. Frames are numbered from 1 and there is one frame
per ground-truth row. Tags are boolean arrays of length N keyed by tag name without extension;
every tag of the dataset is a key of every sequence (a missing file means all False, as in the
VOT toolkit); a short tag file or list is padded with False and noted in ``FrameFlags.notes``
(as got10k's toolkit does). At construction only ``list.txt`` (or the json) is parsed and the
sequence folders are listed; ground truth, tags and frame lists are read on first access.
"""

from __future__ import annotations

import json
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

#: The five per-frame tags of the VOT short-term challenges; always keys of ``Sequence.tags``.
STANDARD_TAGS: tuple[str, ...] = (
    "camera_motion", "illum_change", "motion_change", "occlusion", "size_change")

#: The VOT challenges this loader reads; each has a protocol file (``siambench/protocols``).
VARIANTS: tuple[str, ...] = ("vot2016", "vot2017", "vot2018", "vot2019")

_TAG_SUFFIXES = (".tag", ".label")
_FRAME_PATTERN = re.compile(r"%(0?\d*)d")
_FOLDER_STRUCTURE = ("<root>/list.txt (or <root>/sequences/list.txt), <root>/<seq>/groundtruth.txt, frames "
                     "in <root>/<seq>/color/00000001.jpg (or directly in <root>/<seq>/), optional "
                     "<seq>/sequence and <seq>/*.tag; or a pysot-style <root>/{json}")


def load(root: Path, variant: str) -> Dataset:
    """Load VOT ``variant`` (``vot2016`` … ``vot2019``) from ``root``.

    Looks for ``<root>/list.txt``, then ``<root>/sequences/list.txt``, then a json named
    ``<VARIANT>.json`` (case-insensitive) in ``<root>``; ``root`` may also be that json file
    itself (any name but another year's ``VOTyyyy.json``; frames beside it). ``dataset.meta``
    holds ``year``, ``format`` (``"vot"`` or ``"pysot-json"``), ``tags`` (the dataset's tag
    names) and ``missing`` (names in ``list.txt`` with nothing of that name on disk). The EAO
    interval is the protocol's (``load_protocol(variant).eao_interval``).
    """
    key = variant.lower()
    if key not in VARIANTS:
        raise UnknownNameError(f"unknown VOT variant {variant!r}; known: {', '.join(VARIANTS)}")
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".json":
        return _load_json_root(root, key)
    require_folder(root, _FOLDER_STRUCTURE.format(json=key.upper() + ".json"))
    folder = find_sequence_list(root)
    if folder is not None:
        return load_sequence_folder(folder, key)
    json_path = _find_json(root, key)
    if json_path is not None:
        return load_pysot_json(json_path, key, image_root=root)
    raise DatasetNotFoundError(
        f"{root}: no VOT dataset found (looked for list.txt, sequences/list.txt and "
        f"{key.upper()}.json). Expected folder structure: "
        f"{_FOLDER_STRUCTURE.format(json=key.upper() + '.json')}")


def find_sequence_list(root: Path) -> Path | None:
    """The folder of the VOT toolkit's ``list.txt``: ``root`` or ``root/sequences`` (a vot-toolkit
    workspace), whichever has it first; None when neither has one. Raises
    :class:`DataFormatError` when a ``list.txt`` is there but is not a file (a folder, a broken
    link)."""
    for folder in (root, root / "sequences"):
        list_file = folder / "list.txt"
        if list_file.is_file():
            return folder
        kind = path_kind(list_file)
        if kind != "missing":
            raise wrong_kind(list_file, "the text file of sequence names", kind=kind,
                             hint="one sequence folder name per line")
    return None


def _load_json_root(path: Path, variant: str) -> Dataset:
    """A root that is a pysot-style json itself (``--root data/VOT2018.json``): frames are looked
    for beside it; ``dataset.root`` is the json (loading it again gives the same dataset)."""
    year = re.fullmatch(r"vot(\d{4})", path.stem.lower())
    if year is not None and f"vot{year.group(1)}" != variant:
        raise DatasetNotFoundError(
            f"{path} is the VOT{year.group(1)} annotation file, but the dataset asked for is "
            f"{variant}: pass --dataset vot{year.group(1)}, or the {variant.upper()}.json")
    dataset = load_pysot_json(path, variant, image_root=path.parent)
    dataset.root = path
    return dataset


def load_sequence_folder(folder: Path, variant: str) -> Dataset:
    """Load the VOT toolkit's format: ``folder/list.txt`` and one sub-folder per sequence.

    A name of ``list.txt`` with nothing of that name in ``folder`` is skipped and listed in
    ``meta["missing"]``; one whose entry is not a folder (a file, a broken symbolic link, a
    link loop) is a sequence that raises :class:`DataFormatError` saying so when used. An
    empty ``list.txt`` raises :class:`DataFormatError`.
    """
    folder = Path(folder)
    list_file = folder / "list.txt"
    names = _read_list(list_file)
    kinds, found, missing = listed_folders(
        folder, names, list_file, _FOLDER_STRUCTURE.format(json=variant.upper() + ".json"))
    tag_files = {name: _tag_files(folder / name) for name in found}
    extra = {tag for files in tag_files.values() for tag in files} - set(STANDARD_TAGS)
    tag_names = STANDARD_TAGS + tuple(sorted(extra))
    sequences = []
    for name in names:
        if name in found:
            sequences.append(_folder_sequence(folder / name, variant, tag_names,
                                              tag_files[name]))
        elif name in kinds:
            error = wrong_kind(folder / name, "the sequence folder", kind=kinds[name],
                               hint=f"listed in {list_file.name}")
            sequences.append(unusable_sequence(name, error, dataset=variant,
                                               source=folder / name))
    meta = _dataset_meta(variant, "vot", missing)
    meta["tags"] = list(tag_names)
    return Dataset(variant, sequences, root=folder, meta=meta)


def load_pysot_json(path: Path, variant: str, *, image_root: Path | None = None) -> Dataset:
    """Load a pysot-style VOT json; frames are looked for under ``image_root`` (default: the
    json's folder), and sequences without images there are annotation-only."""
    path = Path(path)
    image_root = path.parent if image_root is None else Path(image_root)
    try:
        table = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot be read: {exc}") from None
    if not isinstance(table, dict) or not table:
        raise DataFormatError(path, "expected a non-empty JSON object {video: {gt_rect, "
                              "img_names, ...}}")
    sequences = []
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise DataFormatError(path, f"entry {name!r} is not an object",
                                  hint="expected {video_dir, img_names, gt_rect, tags...}")
        sequences.append(_json_sequence(path, str(name), entry, variant, image_root))
    meta = _dataset_meta(variant, "pysot-json", [])
    meta["tags"] = list(STANDARD_TAGS)
    return Dataset(variant, sequences, root=image_root, meta=meta)


# -- the VOT toolkit format --------------------------------------------------------------------

def _tag_files(folder: Path) -> dict[str, Path]:
    """Tag name -> file for the ``*.tag`` and ``*.label`` files of a folder (``.tag`` wins)."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return found
    for suffix in reversed(_TAG_SUFFIXES):  # .label first, so that .tag overrides it
        for entry in entries:
            if entry.name.endswith(suffix) and Path(entry.path).is_file():
                found[entry.name[: -len(suffix)]] = Path(entry.path)
    return found


def _folder_sequence(folder: Path, variant: str, tag_names: tuple[str, ...],
                     tag_files: dict[str, Path]) -> Sequence:
    gt_file = folder / "groundtruth.txt"
    cache: dict[str, Any] = {}

    def groundtruth() -> np.ndarray:
        if "gt" not in cache:
            cache["gt"] = read_number_rows(gt_file, (4, 8))
        return cache["gt"]

    def frame_paths() -> list[Path]:
        if "frames" not in cache:
            pattern = _frame_pattern(folder)
            count = len(groundtruth())
            # Frames past the ground truth's last row are listed too (a probe per sequence),
            # so that problems() reports a ground truth shorter than the video.
            while count < 10 * len(groundtruth()) + 10 and \
                    (folder / _format_frame(pattern, count + 1)).is_file():
                count += 1
            cache["frames"] = [folder / _format_frame(pattern, index)
                               for index in range(1, count + 1)]
        return cache["frames"]

    def flags() -> FrameFlags:
        length = len(groundtruth())
        tags: dict[str, np.ndarray] = {}
        notes: list[str] = []
        for tag in tag_names:
            path = tag_files.get(tag, folder / f"{tag}.tag")
            values, note = read_flags(path, length, missing_ok=True, maximum=1)
            tags[tag] = values.astype(bool)
            if note:
                notes.append(note)
        return FrameFlags(tags=tags, notes=tuple(notes))

    def image_size() -> tuple[int, int] | None:
        paths = frame_paths()
        if not paths or not paths[0].is_file():
            return None
        return read_image_size(paths[0])

    return Sequence(folder.name, groundtruth=groundtruth, frame_paths=frame_paths, flags=flags,
                    image_size=image_size, dataset=variant, source=folder,
                    meta={"format": "vot"}, length=lambda: len(groundtruth()))


def read_sequence_file(path: Path) -> dict[str, str]:
    """Parse a vot-toolkit ``sequence`` metadata file (``key=value`` lines) into a dict."""
    return read_key_values(path, "=", example="channels.color=color/%08d.jpg")


def _frame_pattern(folder: Path) -> str:
    """The frame-name pattern relative to ``folder``: the ``sequence`` file's colour channel,
    else ``color/%08d.jpg`` when ``color/`` exists, else ``%08d.jpg``."""
    sequence_file = folder / "sequence"
    if sequence_file.is_file():
        channels = read_sequence_file(sequence_file)
        pattern = channels.get("channels.color")
        if pattern is not None:
            if len(_FRAME_PATTERN.findall(pattern)) != 1 or pattern.count("%") != 1:
                raise DataFormatError(sequence_file, f"channels.color={pattern!r} has no single "
                                      "%d frame-number field", hint="e.g. color/%08d.jpg")
            return pattern
    colour = folder / "color"
    if colour.is_dir():
        return "color/%08d.jpg"
    if path_kind(colour) != "missing":
        raise wrong_kind(colour, "the folder of frames")
    return "%08d.jpg"


def _format_frame(pattern: str, index: int) -> str:
    return _FRAME_PATTERN.sub(lambda m: format(index, f"{m.group(1)}d"), pattern)


# -- pysot json ---------------------------------------------------------------------------------

def _json_sequence(path: Path, name: str, entry: dict[str, Any], variant: str,
                   image_root: Path) -> Sequence:
    cache: dict[str, Any] = {}

    def groundtruth() -> np.ndarray:
        if "gt" not in cache:
            cache["gt"] = _json_regions(path, name, entry.get("gt_rect"))
        return cache["gt"]

    def frame_paths() -> list[Path] | None:
        names = entry.get("img_names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataFormatError(path, f"{name}: img_names is not a list of file names")
        if not names:
            return None
        candidates = [names, [n.replace("color/", "") for n in names]]  # pysot's own fallback
        for candidate in candidates:
            if (image_root / candidate[0]).is_file():
                return [image_root / n for n in candidate]
        video_dir = entry.get("video_dir", name)
        if isinstance(video_dir, str) and (image_root / video_dir).is_dir():
            return [image_root / n for n in names]  # folder present, frames missing: problems()
        return None

    def flags() -> FrameFlags:
        length = len(groundtruth())
        tags: dict[str, np.ndarray] = {}
        notes: list[str] = []
        for tag in STANDARD_TAGS:
            values, note = _json_tag(path, name, tag, entry.get(tag, []), length)
            tags[tag] = values
            if note:
                notes.append(note)
        return FrameFlags(tags=tags, notes=tuple(notes))

    def image_size() -> tuple[int, int] | None:
        width, height = entry.get("width"), entry.get("height")
        if width is not None or height is not None:
            if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                       for v in (width, height)):
                raise DataFormatError(path, f"{name}: width/height {width!r}/{height!r} are not "
                                      "positive integers")
            return int(width), int(height)
        paths = frame_paths()
        if not paths or not paths[0].is_file():
            return None
        return read_image_size(paths[0])

    return Sequence(name, groundtruth=groundtruth, frame_paths=frame_paths, flags=flags,
                    image_size=image_size, dataset=variant, source=path,
                    meta={"format": "pysot-json"}, length=lambda: len(groundtruth()))


def _json_regions(path: Path, name: str, rows: Any) -> np.ndarray:
    """``gt_rect`` as float64 ``(N, 4)`` or ``(N, 8)``; a sequence mixing both widths gets its
    rectangles converted to corner polygons (as :func:`textio.parse_number_rows` does)."""
    if not isinstance(rows, list) or not rows:
        raise DataFormatError(path, f"{name}: gt_rect is missing or empty",
                              hint="expected a list of 4- or 8-number regions, one per frame")
    for index, row in enumerate(rows):
        if (not isinstance(row, list) or len(row) not in (4, 8)
                or not all(_is_json_number(v) for v in row)):
            raise DataFormatError(path, f"{name}: gt_rect[{index}] = {row!r}",
                                  hint="expected 4 or 8 numbers")
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        rows = [_rect_corners(row) if len(row) == 4 else row for row in rows]
    regions = np.asarray(rows, dtype=np.float64)
    if np.isinf(regions).any():
        raise DataFormatError(path, f"{name}: gt_rect holds an infinite value")
    return regions


def _json_tag(path: Path, name: str, tag: str, values: Any,
              length: int) -> tuple[np.ndarray, str | None]:
    """One tag list as a boolean array of ``length``; empty means all False, short is padded."""
    if not isinstance(values, list):
        raise DataFormatError(path, f"{name}: {tag} is not a list of 0/1 values")
    for index, value in enumerate(values):
        if not _is_json_number(value) or value not in (0, 1):
            raise DataFormatError(path, f"{name}: {tag}[{index}] = {value!r}",
                                  hint="expected 0 or 1 per frame")
    if len(values) > length:
        raise DataFormatError(path, f"{name}: {tag} has {len(values)} values for {length} "
                              "frames", hint="expected at most one value per frame")
    flags = np.zeros(length, dtype=bool)
    flags[: len(values)] = np.asarray(values, dtype=np.float64) == 1
    note = None
    if 0 < len(values) < length:
        note = f"{tag} in {path.name} has {len(values)} values for {length} frames; padded with 0"
    return flags, note


def _is_json_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rect_corners(row: list[float]) -> list[float]:
    x, y, w, h = row
    return [x, y, x + w, y, x + w, y + h, x, y + h]


# -- shared ------------------------------------------------------------------------------------

def _read_list(list_file: Path) -> list[str]:
    names = [line.strip() for line in read_text_lines(list_file) if line.strip()]
    if not names:
        raise DataFormatError(list_file, "empty sequence list",
                              hint="expected one sequence folder name per line")
    return names


def _find_json(root: Path, variant: str) -> Path | None:
    if not root.is_dir():
        return None
    wanted = f"{variant}.json"
    matches = sorted(p for p in root.iterdir() if p.name.lower() == wanted and p.is_file())
    return matches[0] if matches else None


def _dataset_meta(variant: str, fmt: str, missing: list[str]) -> dict[str, Any]:
    return {"year": int(variant[3:]), "format": fmt, "missing": list(missing)}


__all__ = ["VARIANTS", "STANDARD_TAGS", "find_sequence_list", "load", "load_pysot_json",
           "load_sequence_folder", "read_sequence_file"]
