"""UAVDT (Du et al., ECCV 2018), single-object tracking part: 50 sequences ``S0101`` ... ``S1702``.

Official folder structure (the ``UAV-benchmark-S`` and ``UAV-benchmark-SOT_v1.0`` downloads)::

    <root>/UAV-benchmark-S/<seq>/img000001.jpg ...                 frames (6 digits)
    <root>/UAV-benchmark-SOT_v1.0/anno/<seq>_gt.txt               x,y,w,h per line, comma-separated
    <root>/UAV-benchmark-SOT_v1.0/anno/att/<seq>_att.txt          8 comma-separated 0/1 flags

``<root>`` may also be the ``UAV-benchmark-SOT_v1.0`` folder or its ``anno`` folder (frames are
then looked for in ``UAV-benchmark-S`` beside ``UAV-benchmark-SOT_v1.0``). Without
``UAV-benchmark-S`` the sequences are annotation-only (scorable, not trackable). This layout is
the one public loaders read (e.g. pysot-style json builders: ``UAV-benchmark-S/<seq>`` images,
``UAV-benchmark-SOT_v1.0/anno/<seq>_gt.txt``, ``anno/att/<seq>_att.txt`` first line of
comma-separated 0/1 flags). Frames are the sorted ``img*.jpg`` of the sequence folder; the ground
truth must have one row per frame. Boxes are 1-based (the benchmark's MATLAB toolkit is OTB's).

The 50 names with their frame counts are shipped in ``manifests/uavdt.csv``; a sequence whose
ground-truth file is absent is listed in ``dataset.meta["missing"]``. Attributes (the paper's 8,
in the flag order of :data:`ATTRIBUTES`) are read from the ``att`` files at load; a malformed
or absent one leaves the sequence without attributes and says so in its notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from siambench.datasets.base import (
    Dataset,
    FrameFlags,
    Sequence,
    manifest_rows,
    require_folder,
    scan_sequences,
)
from siambench.datasets.images import folder_frames
from siambench.datasets.registry import get_spec
from siambench.errors import DataFormatError, SiambenchError
from siambench.textio import read_number_rows, read_text_lines, split_cells

#: The 8 UAVDT-SOT attributes, in the order of the ``att/<seq>_att.txt`` flags.
ATTRIBUTES: dict[str, str] = {
    "BC": "Background Clutter", "CR": "Camera Rotation", "OR": "Object Rotation",
    "SO": "Small Object", "IV": "Illumination Variation", "OB": "Object Blur",
    "SV": "Scale Variation", "LO": "Large Occlusion",
}
IMAGES = "UAV-benchmark-S"
ANNOTATIONS = "UAV-benchmark-SOT_v1.0"


@dataclass(frozen=True)
class UavdtEntry:
    """One row of the shipped table."""

    name: str
    frames: int


def manifest() -> list[UavdtEntry]:
    """The 50 UAVDT single-object sequences, in name order."""
    return [UavdtEntry(row["name"], int(row["frames"])) for row in manifest_rows("uavdt.csv")]


def read_attribute_flags(path: Path) -> tuple[str, ...]:
    """Read an ``att/<seq>_att.txt`` file: its first line holds 8 comma-separated 0/1 flags in
    :data:`ATTRIBUTES` order; returns the codes whose flag is 1."""
    lines = [line for line in read_text_lines(path) if line.strip()]
    cells = split_cells(lines[0]) if lines else []
    if len(cells) != len(ATTRIBUTES) or any(cell not in ("0", "1") for cell in cells):
        raise DataFormatError(path, f"{','.join(cells) or 'nothing'}", line=1,
                              hint=f"expected {len(ATTRIBUTES)} comma-separated 0/1 flags "
                                   f"({' '.join(ATTRIBUTES)})")
    return tuple(code for code, cell in zip(ATTRIBUTES, cells) if cell == "1")


def locate(root: Path) -> tuple[Path, Path | None]:
    """The annotation folder and the image folder (``None``: annotation-only) of ``root``."""
    require_folder(root)
    if root.name == "anno" and root.parent.name == ANNOTATIONS:
        base = root.parent.parent
        anno = root
    elif root.name == ANNOTATIONS:
        base, anno = root.parent, root / "anno"
    else:
        base, anno = root, root / ANNOTATIONS / "anno"
    images = base / IMAGES
    return anno, (images if images.is_dir() else None)


def load(root: Path, variant: str = "uavdt") -> Dataset:
    """Load the UAVDT single-object sequences from ``root`` (see the module docstring)."""
    root = Path(root)
    anno, images = locate(root)
    entries = manifest()
    sequences, missing = scan_sequences(
        entries, lambda entry: anno / f"{entry.name}_gt.txt",
        lambda entry, gt_path: _sequence(entry, gt_path, images, variant), dataset=variant,
        file=True,
        none_found=f"no UAVDT annotation file (<seq>_gt.txt) found in {anno}. "
                   f"Expected folder structure: {get_spec(variant).folder_structure}")
    return Dataset(variant, sequences, root=root,
                   meta={"missing": missing, "annotations": anno, "images": images})


def _attributes(anno: Path, name: str) -> tuple[tuple[str, ...], str | None]:
    path = anno / "att" / f"{name}_att.txt"
    if not path.is_file():
        return (), f"{path} missing; the sequence has no attributes"
    try:
        return read_attribute_flags(path), None
    except SiambenchError as exc:
        return (), f"attributes not read: {exc}"


class _Files:
    """The ground truth and frames of one sequence, resolved once."""

    def __init__(self, gt_path: Path, folder: Path | None) -> None:
        self.gt_path, self.folder = gt_path, folder

    @cached_property
    def groundtruth(self) -> np.ndarray:
        return read_number_rows(self.gt_path, (4,))

    def frame_paths(self) -> list[Path] | None:
        if self.folder is None:
            return None
        return folder_frames(self.folder, "img*.jpg", first="img000001.jpg", optional=False)


def _sequence(entry: UavdtEntry, gt_path: Path, images: Path | None, dataset: str) -> Sequence:
    found = _Files(gt_path, None if images is None else images / entry.name)
    attributes, note = _attributes(gt_path.parent, entry.name)
    return Sequence(
        entry.name,
        groundtruth=lambda: found.groundtruth,
        frame_paths=found.frame_paths,
        flags=lambda: FrameFlags(notes=(note,) if note else ()),
        attributes=attributes,
        dataset=dataset,
        source=gt_path,
        meta={"frames": entry.frames},
        length=lambda: len(found.groundtruth),
    )
