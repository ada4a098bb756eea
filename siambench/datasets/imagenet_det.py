"""ImageNet DET (ILSVRC2015 object detection, train split): still images, one sequence per object.

Folder structure (the official ``ILSVRC2015_DET.tar.gz``; ``<root>`` may be ``ILSVRC2015/`` itself
or the folder holding it)::

    <root>/ILSVRC2015/Data/DET/train/ILSVRC2013_train/n01440764/n01440764_10026.JPEG ...
    <root>/ILSVRC2015/Data/DET/train/ILSVRC2014_train_0000/ILSVRC2014_train_00000663.JPEG ...
    <root>/ILSVRC2015/Annotations/DET/train/<the same relative path>.xml

Every ``.xml`` below ``Annotations/DET/train`` is read (pysot reads the same files, its subsets
``a`` … ``h``; ``val`` is not used for training). An image without objects gives no sequence.
One 1-frame sequence per ``<object>``, named ``<image>-<k>`` (``k``: the object's position in the
file, as pysot numbers them), box 0-based ``x, y, w, h`` with ``w = xmax − xmin + 1``
(:mod:`siambench.datasets.ilsvrc`), ``meta["class"]`` its WordNet id; a training pair is the
image and an augmented copy (:mod:`siambench.datasets.stills`). Without ``Data/DET/train`` the
sequences are annotation-only.

The 456,000 XML files are parsed once and the index cached on disk
(:mod:`siambench.datasets.index_cache`; about 20 s per 456,000 files from the page cache, more
from a cold disk), reused while no annotation folder changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset, Sequence
from siambench.datasets.ilsvrc import corners_to_boxes, ilsvrc_root, read_annotation
from siambench.datasets.index_cache import cached_index, folder_signature
from siambench.datasets.stills import still_sequence
from siambench.errors import DatasetNotFoundError, UnknownNameError

FOLDER_STRUCTURE = ("<root>/ILSVRC2015/Data/DET/train/ILSVRC2013_train/<wnid>/<image>.JPEG (and "
                    "ILSVRC2014_train_000N/<image>.JPEG) with the same paths under "
                    "<root>/ILSVRC2015/Annotations/DET/train/ as .xml; <root> may be ILSVRC2015/ itself")

#: Version of the cached index's arrays.
INDEX_VERSION = 1


def annotation_folders(train: Path) -> list[Path]:
    """Every folder below ``train`` (itself included), sorted: the signature of the index."""
    folders = [train]
    for current, subfolders, _ in os.walk(train):
        subfolders.sort()
        folders += [Path(current) / name for name in subfolders]
    return sorted(folders)


def _parse(train: Path, folders: list[Path]) -> dict[str, np.ndarray]:
    """Per image ``images`` (relative path without suffix, bytes), ``width``, ``height``; per
    object ``row_image``, ``row_object``, ``row_corners`` (inclusive), ``row_class``."""
    images: list[str] = []
    widths, heights = [], []
    rows: list[tuple[int, int, float, float, float, float, int]] = []
    classes: dict[str, int] = {}
    for folder in folders:
        for name in sorted(n for n in os.listdir(folder) if n.lower().endswith(".xml")):
            size, objects = read_annotation(folder / name)
            if not objects:
                continue
            i = len(images)
            images.append((folder / name[:-4]).relative_to(train).as_posix())
            widths.append(size[0] if size else 0)
            heights.append(size[1] if size else 0)
            for k, obj in enumerate(objects):
                label = classes.setdefault(obj.name, len(classes))
                rows.append((i, k, obj.xmin, obj.ymin, obj.xmax, obj.ymax, label))
    table = np.array(rows, dtype=np.float64).reshape(-1, 7)
    return {"images": np.array(images, dtype=bytes), "width": np.array(widths, dtype=np.int32),
            "height": np.array(heights, dtype=np.int32),
            "row_image": table[:, 0].astype(np.int32), "row_object": table[:, 1].astype(np.int32),
            "row_corners": table[:, 2:6], "row_class": table[:, 6].astype(np.int32),
            "classes": np.array(sorted(classes, key=classes.get) or [""], dtype=str)}


def load(root: Path, variant: str = "train") -> Dataset:
    """Load the ImageNet DET train split from ``root``; see the module docstring."""
    if variant != "train":
        raise UnknownNameError(f"unknown ImageNet DET variant {variant!r}; known: train")
    base = ilsvrc_root(Path(root), "DET", FOLDER_STRUCTURE)
    train = base / "Annotations" / "DET" / "train"
    if not train.is_dir():
        raise DatasetNotFoundError(f"{train} is not a folder. Expected folder structure: "
                                   f"{FOLDER_STRUCTURE}")
    folders = annotation_folders(train)
    index = cached_index("imagenet-det", base, folder_signature(folders),
                         lambda: _parse(train, folders), version=INDEX_VERSION)
    if index["row_image"].size == 0:
        raise DatasetNotFoundError(f"{train}: no annotated object in any .xml file. Expected "
                                   f"folder structure: {FOLDER_STRUCTURE}")
    data = base / "Data" / "DET" / "train"
    has_images = data.is_dir()
    classes = [str(c) for c in index["classes"]]
    sequences = [_sequence(data if has_images else None, index, row, classes)
                 for row in range(index["row_image"].size)]
    return Dataset("imagenet-det", sequences, root=base,
                   meta={"images": int(index["images"].size), "format": "ilsvrc2015-det"})


def _sequence(data: Path | None, index: dict[str, np.ndarray], row: int, classes: list[str]) -> Sequence:
    i = int(index["row_image"][row])
    relative = index["images"][i].decode("utf-8")
    size = (int(index["width"][i]), int(index["height"][i]))
    stem = relative.rsplit("/", 1)[-1]
    return still_sequence(
        f"{stem}-{int(index['row_object'][row])}",
        image=lambda: None if data is None else data / f"{relative}.JPEG",
        box=lambda: corners_to_boxes(index["row_corners"][row])[0],
        dataset="imagenet-det", image_size=size if size[0] > 0 else None,
        meta={"image": relative, "class": classes[int(index["row_class"][row])]})


__all__ = ["FOLDER_STRUCTURE", "annotation_folders", "load"]
