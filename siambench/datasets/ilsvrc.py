"""The ILSVRC release's shared parts (ImageNet VID and DET): its root folder and its XML files.

An ILSVRC annotation file is PASCAL-style XML (parsed with the standard library)::

    <annotation>
      <size><width>1280</width><height>720</height></size>
      <object>
        <trackid>0</trackid>                      (VID only)
        <name>n01674464</name>
        <bndbox><xmin>271</xmin><ymin>87</ymin><xmax>1050</xmax><ymax>672</ymax></bndbox>
        <occluded>0</occluded><generated>0</generated>   (VID only)
      </object> ...
    </annotation>

``xmin … ymax`` are 0-based pixel indices of the box's first and last column and row
(inclusive: a box touching the right border of a 250-pixel-wide image has ``xmax`` 249). They
become siambench's 0-based ``x, y, w, h`` as ``x = xmin``, ``w = xmax − xmin + 1``, so the box
centre ``x + (w − 1)/2`` is ``(xmin + xmax)/2`` (pysot's training JSON keeps ``x1, y1, x2, y2``
and uses ``w = x2 − x1``: the same centre, one pixel smaller).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siambench.datasets.base import require_folder
from siambench.errors import DataFormatError, DatasetNotFoundError

__all__ = ["XmlObject", "corners_to_boxes", "ilsvrc_root", "read_annotation"]

#: Names of the release's top folder looked for below a given root (the root may be it).
TOP_FOLDERS = ("ILSVRC2015", "ILSVRC")


@dataclass(frozen=True)
class XmlObject:
    """One ``<object>``: ``name`` (WordNet id), corners (inclusive pixel indices), VID fields."""

    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    trackid: int = -1
    occluded: int = 0
    generated: int = 0


def ilsvrc_root(root: Path, task: str, structure: str) -> Path:
    """The folder holding ``Annotations/<task>`` and ``Data/<task>``: ``root`` itself, or its
    ``ILSVRC2015/`` or ``ILSVRC/`` subfolder. ``structure`` is shown when none is found."""
    root = require_folder(root, structure)
    for candidate in (root, *(root / name for name in TOP_FOLDERS)):
        if (candidate / "Annotations" / task).is_dir():
            return candidate
    raise DatasetNotFoundError(
        f"{root}: no ImageNet {task} annotations found (looked for {root / 'Annotations' / task} "
        f"and {root / TOP_FOLDERS[0] / 'Annotations' / task}). Expected folder structure: {structure}")


def _text(element: ET.Element, tag: str, path: Path, *, required: bool = True) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if required:
            raise DataFormatError(path, f"<{element.tag}> has no <{tag}> value",
                                  hint="expected an ILSVRC PASCAL-style annotation")
        return None
    return child.text.strip()


def _number(element: ET.Element, tag: str, path: Path) -> float:
    text = _text(element, tag, path)
    try:
        return float(text)
    except ValueError:
        raise DataFormatError(path, f"<{tag}> is {text!r}, not a number") from None


def read_annotation(path: Path) -> tuple[tuple[int, int] | None, list[XmlObject]]:
    """``((width, height) or None, objects)`` of one ILSVRC XML file; a malformed file raises
    one :class:`DataFormatError` naming it."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as exc:
        raise DataFormatError(path, f"not valid XML ({exc})") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    annotation = tree.getroot()
    size = annotation.find("size")
    image_size = None
    if size is not None:
        image_size = (int(_number(size, "width", path)), int(_number(size, "height", path)))
    objects = []
    for element in annotation.findall("object"):
        box = element.find("bndbox")
        if box is None:
            raise DataFormatError(path, "an <object> has no <bndbox>")
        trackid = _text(element, "trackid", path, required=False)
        occluded = _text(element, "occluded", path, required=False)
        generated = _text(element, "generated", path, required=False)
        objects.append(XmlObject(
            _text(element, "name", path, required=False) or "",
            _number(box, "xmin", path), _number(box, "ymin", path),
            _number(box, "xmax", path), _number(box, "ymax", path),
            trackid=int(trackid) if trackid is not None else -1,
            occluded=int(occluded) if occluded is not None else 0,
            generated=int(generated) if generated is not None else 0))
    return image_size, objects


def corners_to_boxes(corners: np.ndarray) -> np.ndarray:
    """``(N, 4)`` inclusive ``xmin, ymin, xmax, ymax`` → 0-based ``x, y, w, h`` (module docstring)."""
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 4)
    return np.stack([corners[:, 0], corners[:, 1], corners[:, 2] - corners[:, 0] + 1.0,
                     corners[:, 3] - corners[:, 1] + 1.0], axis=1)
