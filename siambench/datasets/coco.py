"""COCO 2017 (object detection, train split): still images, one 1-frame sequence per object.

Folder structure (the official ``train2017.zip`` and ``annotations_trainval2017.zip``)::

    <root>/annotations/instances_train2017.json
    <root>/train2017/000000000009.jpg ...

The JSON (450 MB) is parsed with the standard library, once: the index (image files and sizes,
one row per kept annotation) is cached on disk (:mod:`siambench.datasets.index_cache`), reused
while the JSON file's size and time are unchanged, so a training start does not spend the
tens of seconds and gigabytes of memory of ``json.load`` on it again.

Kept annotations: not ``iscrowd`` (a crowd box covers a group, not one target) and both sides at
least :data:`MIN_SIDE` pixels. (pysot's ``training_dataset/coco`` scripts drop only boxes with
a side ≤ 0 and keep crowd boxes.) COCO boxes are ``[x, y, w, h]`` in continuous pixel
coordinates (the image spans ``0 … W``); siambench's 0-based ``x, y, w, h`` has the same numbers
(the centre ``x + (w − 1)/2`` in pixel indices is the continuous centre ``x + w/2``).
One sequence per annotation, named ``<image stem>-<annotation id>``
(``000000000009-1038967``), ``meta["category"]`` its category name; a training pair is the
image and an augmented copy (:mod:`siambench.datasets.stills`). Without ``train2017/`` the
sequences are annotation-only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset, Sequence, require_file, require_folder
from siambench.datasets.index_cache import cached_index, file_signature
from siambench.datasets.stills import still_sequence
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError

FOLDER_STRUCTURE = "<root>/annotations/instances_train2017.json and <root>/train2017/<image>.jpg"

#: Smallest kept box side, in pixels.
MIN_SIDE = 1.0

#: Version of the cached index's arrays.
INDEX_VERSION = 1


def parse_instances(path: Path) -> dict[str, np.ndarray]:
    """The index of a COCO ``instances_*.json``: per image ``files`` (bytes), ``width``,
    ``height``; per kept annotation ``row_image``, ``row_id``, ``row_box`` (``x, y, w, h``),
    ``row_category`` (into ``categories``). Counts of skipped annotations: ``skipped_crowd``,
    ``skipped_small``."""
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
        images = {int(image["id"]): (str(image["file_name"]), int(image.get("width", 0)),
                                     int(image.get("height", 0))) for image in data["images"]}
        categories = {int(c["id"]): str(c["name"]) for c in data.get("categories", [])}
        annotations = data["annotations"]
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"not valid JSON ({exc.msg})", line=exc.lineno) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(path, f"not a COCO instances file ({type(exc).__name__}: {exc})",
                              hint="expected 'images', 'annotations' and 'categories' lists") from None
    order = sorted(images)
    position = {image_id: i for i, image_id in enumerate(order)}
    category_names = sorted(set(categories.values()))
    category_index = {name: i for i, name in enumerate(category_names)}
    rows: list[tuple[int, int, float, float, float, float, int]] = []
    crowd = small = 0
    for ann in annotations:
        try:
            if ann.get("iscrowd", 0):
                crowd += 1
                continue
            x, y, w, h = (float(v) for v in ann["bbox"])
            image = position[int(ann["image_id"])]
            label = category_index.get(categories.get(int(ann.get("category_id", -1)), ""), -1)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(path, f"annotation {ann.get('id', '?') if isinstance(ann, dict) else '?'} "
                                  f"is malformed ({type(exc).__name__}: {exc})",
                                  hint="expected image_id, bbox [x, y, w, h], category_id") from None
        if not (w >= MIN_SIDE and h >= MIN_SIDE):
            small += 1
            continue
        rows.append((image, int(ann.get("id", len(rows))), x, y, w, h, label))
    rows.sort(key=lambda row: (row[0], row[1]))
    table = np.array(rows, dtype=np.float64).reshape(-1, 7)
    return {"files": np.array([images[i][0] for i in order] or [""], dtype=bytes),
            "width": np.array([images[i][1] for i in order] or [0], dtype=np.int32),
            "height": np.array([images[i][2] for i in order] or [0], dtype=np.int32),
            "row_image": table[:, 0].astype(np.int64), "row_id": table[:, 1].astype(np.int64),
            "row_box": table[:, 2:6], "row_category": table[:, 6].astype(np.int32),
            "categories": np.array(category_names or [""], dtype=str),
            "skipped_crowd": np.array(crowd), "skipped_small": np.array(small)}


def load(root: Path, variant: str = "train2017") -> Dataset:
    """Load COCO's ``train2017`` split from ``root``; see the module docstring."""
    if variant != "train2017":
        raise UnknownNameError(f"unknown COCO split {variant!r}; known: train2017")
    root = require_folder(root, FOLDER_STRUCTURE)
    annotation_file = root / "annotations" / f"instances_{variant}.json"
    require_file(annotation_file, "a file", FOLDER_STRUCTURE)
    index = cached_index("coco", annotation_file, file_signature(annotation_file),
                         lambda: parse_instances(annotation_file), version=INDEX_VERSION)
    images = root / variant
    has_images = images.is_dir()
    categories = [str(c) for c in index["categories"]]
    sequences = [_sequence(images if has_images else None, index, row, categories)
                 for row in range(index["row_image"].size)]
    if not sequences:
        raise DatasetNotFoundError(f"{annotation_file}: no usable annotation (every one is a crowd "
                                   f"or smaller than {MIN_SIDE:g} px)")
    return Dataset("coco", sequences, root=root,
                   meta={"skipped_crowd": int(index["skipped_crowd"]),
                         "skipped_small": int(index["skipped_small"]), "format": "coco"})


def _sequence(images: Path | None, index: dict[str, np.ndarray], row: int, categories: list[str]) -> Sequence:
    i = int(index["row_image"][row])
    file_name = index["files"][i].decode("utf-8")
    size = (int(index["width"][i]), int(index["height"][i]))
    label = int(index["row_category"][row])
    return still_sequence(
        f"{Path(file_name).stem}-{int(index['row_id'][row])}",
        image=lambda: None if images is None else images / file_name,
        box=lambda: index["row_box"][row],
        dataset="coco", image_size=size if size[0] > 0 else None,
        meta={"image": file_name, "category": categories[label] if label >= 0 else ""})


__all__ = ["FOLDER_STRUCTURE", "MIN_SIDE", "load", "parse_instances"]
