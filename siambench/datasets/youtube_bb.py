"""YouTube-BoundingBoxes (Real et al., CVPR 2017), detection set: one sequence per target track.

Folder structure (the segment CSV from research.google.com/youtube-bb, and the frames as the
``youtube-bb-utility`` download script that pysot's ``training_dataset/yt_bb`` uses writes
them)::

    <root>/yt_bb_detection_train.csv
    <root>/yt_bb_detection_train/<class_id>/<youtube_id>_<timestamp_ms>_<class_id>_<object_id>.jpg

The CSV has no header; its columns are ``youtube_id, timestamp_ms, class_id, class_name,
object_id, object_presence, xmin, xmax, ymin, ymax`` with the box as fractions of the frame's
width and height (``-1`` when absent). Frames are one per second.

One :class:`Sequence` per (``youtube_id``, ``class_id``, ``object_id``), named
``<youtube_id>-<class_id>-<object_id>``, its rows in time order: the box in 0-based pixels
``x = xmin·W``, ``w = (xmax − xmin)·W`` (continuous coordinates, as pysot's ``x1 = xmin·w``),
``absent`` where ``object_presence`` is ``absent`` and where the frame was not downloaded (many
videos are gone from YouTube; pysot skips those rows too). A track with no downloaded frame is
left out (counted in ``dataset.meta["missing"]``). ``W, H`` is the size of the video's first
downloaded frame (its header only, read with Pillow). The index (CSV rows, which frames exist,
frame sizes) is cached on disk (:mod:`siambench.datasets.index_cache`): the 5.6-million-row CSV
alone takes about 16 s to read (340,000 rows/s measured on the project's machine), and listing
the frame folders and reading one header per video (200,000 videos) take minutes from a cold
disk; the index is reused while the CSV and the class folders are unchanged.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset, FrameFlags, Sequence, require_file, require_folder
from siambench.datasets.index_cache import cached_index, file_signature, folder_signature
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError

FOLDER_STRUCTURE = ("<root>/yt_bb_detection_train.csv and <root>/yt_bb_detection_train/<class_id>/"
                    "<youtube_id>_<timestamp_ms>_<class_id>_<object_id>.jpg")

COLUMNS = ("youtube_id", "timestamp_ms", "class_id", "class_name", "object_id", "object_presence",
           "xmin", "xmax", "ymin", "ymax")

#: Version of the cached index's arrays.
INDEX_VERSION = 1


def frame_name(youtube_id: str, timestamp_ms: int, class_id: int, object_id: int) -> str:
    """The file name of one row's frame (the download script's naming)."""
    return f"{youtube_id}_{timestamp_ms}_{class_id}_{object_id}.jpg"


def read_rows(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(youtube ids, int64 (N, 5) [video, timestamp_ms, class_id, object_id, present],
    float64 (N, 4) [xmin, xmax, ymin, ymax])`` of the segment CSV; a malformed row raises one
    :class:`DataFormatError` with its line."""
    videos: dict[str, int] = {}
    ints: list[tuple[int, int, int, int, int]] = []
    boxes: list[tuple[float, float, float, float]] = []
    with open(path, newline="", encoding="utf-8") as stream:
        for line, row in enumerate(csv.reader(stream), start=1):
            if not row or (line == 1 and row[0] == COLUMNS[0]):
                continue
            if len(row) != len(COLUMNS):
                raise DataFormatError(path, f"{len(row)} columns", line=line,
                                      hint=f"expected the {len(COLUMNS)} columns {', '.join(COLUMNS)}")
            presence = row[5].strip().lower()
            if presence not in ("present", "absent"):
                raise DataFormatError(path, f"object_presence {row[5]!r}", line=line,
                                      hint="expected present or absent")
            try:
                ints.append((videos.setdefault(row[0], len(videos)), int(row[1]), int(row[2]),
                             int(row[4]), int(presence == "present")))
                boxes.append((float(row[6]), float(row[7]), float(row[8]), float(row[9])))
            except ValueError:
                raise DataFormatError(path, f"a non-numeric timestamp, id or box value in {row}",
                                      line=line) from None
    return list(videos), np.array(ints, dtype=np.int64).reshape(-1, 5), np.array(boxes).reshape(-1, 4)


def _image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from an image's header, None when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return int(image.size[0]), int(image.size[1])
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _parse(csv_path: Path, frames: Path) -> dict[str, np.ndarray]:
    """Rows sorted by track and time, with ``row_exists`` (frame downloaded) and per video
    ``width``/``height`` (0 when no frame of it can be read)."""
    ids, ints, boxes = read_rows(csv_path)
    order = np.lexsort((ints[:, 1], ints[:, 3], ints[:, 2], ints[:, 0]))
    ints, boxes = ints[order], boxes[order]
    present: dict[int, set[str]] = {}
    for class_id in np.unique(ints[:, 2]).tolist():
        folder = frames / str(class_id)
        present[class_id] = set(os.listdir(folder)) if folder.is_dir() else set()
    exists = np.array([frame_name(ids[v], t, c, o) in present[c] for v, t, c, o, _ in ints.tolist()],
                      dtype=bool)
    width = np.zeros(len(ids), dtype=np.int32)
    height = np.zeros(len(ids), dtype=np.int32)
    for r in np.flatnonzero(exists).tolist():
        v, t, c, o, _ = ints[r].tolist()
        if width[v] == 0:
            size = _image_size(frames / str(c) / frame_name(ids[v], t, c, o))
            if size is not None:
                width[v], height[v] = size
    return {"ids": np.array(ids or [""], dtype=bytes), "rows": ints, "boxes": boxes,
            "row_exists": exists, "width": width, "height": height}


def load(root: Path, variant: str = "train") -> Dataset:
    """Load the YouTube-BB detection ``train`` set from ``root``; see the module docstring."""
    if variant != "train":
        raise UnknownNameError(f"unknown YouTube-BB split {variant!r}; known: train")
    root = require_folder(root, FOLDER_STRUCTURE)
    stem = f"yt_bb_detection_{variant}"
    csv_path, frames = root / f"{stem}.csv", root / stem
    require_file(csv_path, "the CSV file", FOLDER_STRUCTURE)
    class_folders = sorted(frames / name for name in os.listdir(frames)) if frames.is_dir() else []
    signature = file_signature(csv_path) + "\n" + folder_signature([frames, *class_folders])
    index = cached_index("youtube-bb", root, signature, lambda: _parse(csv_path, frames),
                         version=INDEX_VERSION)
    rows = index["rows"]
    if rows.size == 0:
        raise DatasetNotFoundError(f"{csv_path}: no rows. Expected folder structure: {FOLDER_STRUCTURE}")
    keys = rows[:, [0, 2, 3]]
    starts = np.flatnonzero(np.r_[True, np.any(np.diff(keys, axis=0) != 0, axis=1)])
    ends = np.r_[starts[1:], len(rows)]
    ids = [value.decode("utf-8") for value in index["ids"]]
    sequences, missing = [], []
    for start, end in zip(starts.tolist(), ends.tolist()):
        v, _, c, o, _ = rows[start].tolist()
        name = f"{ids[v]}-{c}-{o}"
        if not index["row_exists"][start:end].any() or index["width"][v] == 0:
            missing.append(name)
            continue
        sequences.append(_sequence(name, frames, ids[v], index, start, end))
    if not sequences:
        raise DatasetNotFoundError(
            f"{root}: none of the {len(starts)} tracks of {csv_path.name} has a downloaded frame in "
            f"{frames}. Expected folder structure: {FOLDER_STRUCTURE}")
    return Dataset("youtube-bb", sequences, root=root,
                   meta={"missing": missing, "format": "youtube-bb", "split": variant})


def _sequence(name: str, frames: Path, youtube_id: str, index: dict[str, np.ndarray], start: int,
              end: int) -> Sequence:
    rows = index["rows"][start:end]
    v, c, o = int(rows[0, 0]), int(rows[0, 2]), int(rows[0, 3])
    size = (int(index["width"][v]), int(index["height"][v]))

    def groundtruth() -> np.ndarray:
        xmin, xmax, ymin, ymax = index["boxes"][start:end].T
        gt = np.stack([xmin * size[0], ymin * size[1], (xmax - xmin) * size[0],
                       (ymax - ymin) * size[1]], axis=1)
        gt[rows[:, 4] == 0] = np.nan
        return gt

    def flags() -> FrameFlags:
        downloaded = index["row_exists"][start:end]
        absent = (rows[:, 4] == 0) | ~downloaded
        notes = () if downloaded.all() else (
            f"{int((~downloaded).sum())} of {len(rows)} frames not downloaded; counted as absent",)
        return FrameFlags(absent=absent, notes=notes)

    return Sequence(
        name, groundtruth=groundtruth, flags=flags, image_size=size, dataset="youtube-bb",
        frame_paths=lambda: [frames / str(c) / frame_name(youtube_id, int(t), c, o) for t in rows[:, 1]],
        length=len(rows), meta=lambda: {"youtube_id": youtube_id, "class_id": c, "object_id": o,
                                        "timestamps_ms": rows[:, 1].tolist()})


__all__ = ["COLUMNS", "FOLDER_STRUCTURE", "frame_name", "load", "read_rows"]
