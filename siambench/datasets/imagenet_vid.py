"""ImageNet VID (ILSVRC2015 object detection from video): a training set, one sequence per target.

Folder structure (the official ``ILSVRC2015_VID.tar.gz``; ``<root>`` may be ``ILSVRC2015/`` itself
or the folder holding it)::

    <root>/ILSVRC2015/Data/VID/train/ILSVRC2015_VID_train_000N/<video>/000000.JPEG ...
    <root>/ILSVRC2015/Annotations/VID/train/ILSVRC2015_VID_train_000N/<video>/000000.xml ...
    <root>/ILSVRC2015/Data/VID/val/<video>/000000.JPEG and Annotations/VID/val/<video>/000000.xml

Both the ``train`` (3,862 videos) and the ``val`` (555) folders are read, as SiamFC and DaSiamRPN
train on both (pysot's ``train.json`` keeps the train videos only). Any subfolder names under
``train/`` are accepted (pysot links them as ``a`` … ``e``); a video found twice is read once.

One :class:`Sequence` per (video, ``trackid``), named ``<video>-<trackid>``
(``ILSVRC2015_train_00000000-0``): every frame of the video, the box (0-based ``x, y, w, h``,
``w = xmax − xmin + 1``, see :mod:`siambench.datasets.ilsvrc`) where the track has an object and
NaN with ``absent`` set where it has none; the XML's ``occluded`` and ``generated`` flags are the
tags ``occluded`` and ``generated``. Without the ``Data`` folder of a video its sequences are
annotation-only. Frame ``i`` is ``<i:06d>.JPEG`` (the XML's file name).

Parsing the 1.3 million XML files takes minutes: measured on a constructed copy (6,000 files of
two objects each, already in the page cache) 22,000 files/s on the project's 2-core machine, so a
minute for the full set at best and several from a cold disk. The parsed index is therefore
cached on disk (:mod:`siambench.datasets.index_cache`) and reused while no annotation folder
changes: a later start lists 4,400 folders and reads one ``.npz`` (4 ms for the copy).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset, FrameFlags, Sequence
from siambench.datasets.ilsvrc import corners_to_boxes, ilsvrc_root, read_annotation
from siambench.datasets.index_cache import cached_index, folder_signature
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError

FOLDER_STRUCTURE = ("<root>/ILSVRC2015/Data/VID/train/ILSVRC2015_VID_train_0000/<video>/000000.JPEG and "
                    "<root>/ILSVRC2015/Annotations/VID/train/ILSVRC2015_VID_train_0000/<video>/000000.xml "
                    "(also Data/VID/val/<video>/, Annotations/VID/val/<video>/); <root> may be "
                    "ILSVRC2015/ itself")

#: Version of the cached index's arrays (bump when :func:`_parse` changes what it stores).
INDEX_VERSION = 1


def video_folders(base: Path) -> list[str]:
    """Annotation folders of the videos, relative to ``base/Annotations/VID`` (``train/<sub>/<video>``
    then ``val/<video>``), sorted, each video once."""
    annotations = base / "Annotations" / "VID"
    found: list[str] = []
    seen: set[str] = set()

    def add(relative: str) -> None:
        name = relative.rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            found.append(relative)

    train = annotations / "train"
    if train.is_dir():
        for sub in sorted(os.listdir(train)):
            if (train / sub).is_dir():
                for video in sorted(os.listdir(train / sub)):
                    if (train / sub / video).is_dir():
                        add(f"train/{sub}/{video}")
    val = annotations / "val"
    if val.is_dir():
        for video in sorted(os.listdir(val)):
            if (val / video).is_dir():
                add(f"val/{video}")
    return found


def _parse(annotations: Path, videos: list[str]) -> dict[str, np.ndarray]:
    """The index arrays: per video ``frames``, ``width``, ``height``; per annotated object
    ``row_video``, ``row_frame``, ``row_track``, ``row_corners`` (inclusive), ``row_occluded``,
    ``row_generated``, ``row_class`` (into ``classes``)."""
    frames, widths, heights = [], [], []
    rows: list[tuple[int, int, int, float, float, float, float, int, int, int]] = []
    classes: dict[str, int] = {}
    for v, relative in enumerate(videos):
        folder = annotations / relative
        names = sorted(name for name in os.listdir(folder) if name.lower().endswith(".xml"))
        size: tuple[int, int] | None = None
        last = -1
        for name in names:
            stem = name[:-4]
            if not stem.isdigit():
                raise DataFormatError(folder / name, "VID annotation file names are frame numbers",
                                      hint="expected 000000.xml, 000001.xml, ...")
            frame = int(stem)
            last = max(last, frame)
            image_size, objects = read_annotation(folder / name)
            size = size or image_size
            for obj in objects:
                if obj.trackid < 0:
                    raise DataFormatError(folder / name, "an <object> has no <trackid>",
                                          hint="expected ImageNet VID annotations")
                label = classes.setdefault(obj.name, len(classes))
                rows.append((v, frame, obj.trackid, obj.xmin, obj.ymin, obj.xmax, obj.ymax,
                             obj.occluded, obj.generated, label))
        frames.append(last + 1)
        widths.append(size[0] if size else 0)
        heights.append(size[1] if size else 0)
    table = np.array(rows, dtype=np.float64).reshape(-1, 10)
    return {"videos": np.array(videos, dtype=str), "frames": np.array(frames, dtype=np.int32),
            "width": np.array(widths, dtype=np.int32), "height": np.array(heights, dtype=np.int32),
            "row_video": table[:, 0].astype(np.int32), "row_frame": table[:, 1].astype(np.int32),
            "row_track": table[:, 2].astype(np.int32), "row_corners": table[:, 3:7],
            "row_occluded": table[:, 7].astype(np.int8), "row_generated": table[:, 8].astype(np.int8),
            "row_class": table[:, 9].astype(np.int32),
            "classes": np.array(sorted(classes, key=classes.get) or [""], dtype=str)}


def load(root: Path, variant: str = "train") -> Dataset:
    """Load ImageNet VID (train + val videos) from ``root``; see the module docstring."""
    if variant != "train":
        raise UnknownNameError(f"unknown ImageNet VID variant {variant!r}; known: train")
    base = ilsvrc_root(Path(root), "VID", FOLDER_STRUCTURE)
    annotations = base / "Annotations" / "VID"
    videos = video_folders(base)
    if not videos:
        raise DatasetNotFoundError(f"{annotations}: no video annotation folders in train/ or val/. "
                                   f"Expected folder structure: {FOLDER_STRUCTURE}")
    signature = folder_signature(annotations / relative for relative in videos)
    index = cached_index("imagenet-vid", base, signature, lambda: _parse(annotations, videos),
                         version=INDEX_VERSION)
    return Dataset("imagenet-vid", sequences_from_index(base, index), root=base,
                   meta={"videos": len(videos), "format": "ilsvrc2015-vid"})


def sequences_from_index(base: Path, index: dict[str, np.ndarray]) -> list[Sequence]:
    """One lazy :class:`Sequence` per (video, trackid) of the parsed ``index``."""
    order = np.lexsort((index["row_frame"], index["row_track"], index["row_video"]))
    video_of, track_of = index["row_video"][order], index["row_track"][order]
    if order.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, (np.diff(video_of) != 0) | (np.diff(track_of) != 0)])
    ends = np.r_[starts[1:], order.size]
    classes = [str(c) for c in index["classes"]]
    sequences = []
    for start, end in zip(starts, ends):
        rows = order[start:end]
        v = int(video_of[start])
        sequences.append(_sequence(base, index, v, int(track_of[start]), rows, classes))
    return sequences


def _sequence(base: Path, index: dict[str, np.ndarray], v: int, track: int, rows: np.ndarray,
              classes: list[str]) -> Sequence:
    relative = str(index["videos"][v])
    video = relative.rsplit("/", 1)[-1]
    n = int(index["frames"][v])
    size = (int(index["width"][v]), int(index["height"][v]))

    def groundtruth() -> np.ndarray:
        gt = np.full((n, 4), np.nan)
        gt[index["row_frame"][rows]] = corners_to_boxes(index["row_corners"][rows])
        return gt

    def flags() -> FrameFlags:
        absent = np.ones(n, dtype=bool)
        frames = index["row_frame"][rows]
        absent[frames] = False
        tags = {}
        for tag in ("occluded", "generated"):
            values = np.zeros(n, dtype=bool)
            values[frames] = index[f"row_{tag}"][rows] != 0
            tags[tag] = values
        return FrameFlags(tags=tags, absent=absent)

    def frame_paths() -> list[Path] | None:
        folder = base / "Data" / "VID" / relative
        if not folder.is_dir():
            return None
        return [folder / f"{i:06d}.JPEG" for i in range(n)]

    return Sequence(f"{video}-{track}", groundtruth=groundtruth, frame_paths=frame_paths, flags=flags,
                    image_size=size if size[0] > 0 else None, dataset="imagenet-vid",
                    source=base / "Annotations" / "VID" / relative, length=n,
                    meta={"video": relative, "trackid": track,
                          "class": classes[int(index["row_class"][rows[0]])]})


__all__ = ["FOLDER_STRUCTURE", "load", "sequences_from_index", "video_folders"]
