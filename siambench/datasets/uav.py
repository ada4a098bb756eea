"""UAV123, UAV20L and UAV123@10fps (Mueller, Smith and Ghanem, ECCV 2016).

Formats accepted by :func:`load` (``dataset.meta["format"]``: ``official`` or ``flat``; ``<Sub>`` is
``UAV123``, ``UAV20L`` or ``UAV123_10fps``):

* official: ``<root>/anno/<Sub>/<seq>.txt`` and frames ``<root>/data_seq/<Img>/<folder>/000001.jpg``
  (6 digits; ``<Img>`` is ``UAV123`` for UAV123 and UAV20L, ``UAV123_10fps`` for the 10 fps set);
  without ``data_seq`` the sequences are annotation-only (scorable, not trackable);
* flat: the annotation folder itself, or any flat folder of ``<seq>.txt`` (the OTB toolkit's
  ``anno_UAV123/``); frames, when present, in ``<root>/<folder>/000001.jpg`` beside the files
  (the folder structure of the ARCF tracker's ``seq/`` folder).

A sequence is a frame range ``start..end`` (1-based, inclusive) of a parent image folder: UAV123
cuts some long videos into parts (``bird1`` into ``bird1_1..3``) that share their boundary frame
or leave gaps. The table is shipped in ``manifests/uav.csv`` (from the got10k toolkit's
``uav123.json``) with the 12 UAV123 attributes of each sequence. UAV20L's 20 sequences are whole
folders. UAV123@10fps keeps every third frame of the 30 fps video, renumbered from 1: a 30 fps
range ``s..e`` becomes ``(s-1)//3+1 .. (e-1)//3+1`` (the UAV123_10fps ``configSeqs`` table; every
UAV123 start frame is ``3k+1``) and its ground truth is the 30 fps ground truth ``[::3]``.

Ground truth is ``x, y, w, h`` (1-based pixels, as the MATLAB toolkit); a ``NaN,NaN,NaN,NaN`` row
means the target is absent, reported as ``FrameFlags(absent=True)`` for that frame.
"""

from __future__ import annotations

from collections.abc import Callable
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
from siambench.datasets.registry import get_spec
from siambench.errors import DataFormatError, UnknownNameError
from siambench.textio import read_number_rows

#: The 12 UAV123 attributes, in the order of the toolkit's ``anno/<Sub>/att/<seq>.txt`` flags.
ATTRIBUTES: dict[str, str] = {
    "SV": "Scale Variation", "ARC": "Aspect Ratio Change", "LR": "Low Resolution",
    "FM": "Fast Motion", "FOC": "Full Occlusion", "POC": "Partial Occlusion",
    "OV": "Out-of-View", "BC": "Background Clutter", "IV": "Illumination Variation",
    "VC": "Viewpoint Change", "CM": "Camera Motion", "SOB": "Similar Object",
}


@dataclass(frozen=True)
class _Variant:
    table: str        # split of the manifest: UAV123 or UAV20L
    anno: str         # annotation sub-folder name
    images: str       # data_seq sub-folder name
    fps: int


_VARIANTS: dict[str, _Variant] = {
    "uav123": _Variant("UAV123", "UAV123", "UAV123", 30),
    "uav20l": _Variant("UAV20L", "UAV20L", "UAV123", 30),
    "uav123-10fps": _Variant("UAV123", "UAV123_10fps", "UAV123_10fps", 10),
}


@dataclass(frozen=True)
class UavEntry:
    """One row of the shipped table: a 1-based inclusive frame range of a parent folder."""

    name: str
    folder: str
    start: int
    end: int
    attributes: tuple[str, ...]

    def __len__(self) -> int:
        return self.end - self.start + 1


def to_10fps(start: int, end: int) -> tuple[int, int]:
    """The UAV123@10fps frame range (1-based, inclusive) of a 30 fps range ``start..end``."""
    return (start - 1) // 3 + 1, (end - 1) // 3 + 1


def manifest(variant: str) -> list[UavEntry]:
    """The sequences of ``uav123``, ``uav20l`` or ``uav123-10fps``, in the official order.

    Frame ranges are in the variant's own numbering (10 fps ranges via :func:`to_10fps`).
    """
    spec = _variant(variant)
    entries = []
    for row in manifest_rows("uav.csv"):
        if row["dataset"] != spec.table:
            continue
        start, end = int(row["start"]), int(row["end"])
        if spec.fps == 10:
            start, end = to_10fps(start, end)
        entries.append(UavEntry(row["name"], row["folder"], start, end,
                                tuple(row["attributes"].split())))
    return entries


def load(root: Path, variant: str) -> Dataset:
    """Load ``uav123``, ``uav20l`` or ``uav123-10fps`` from ``root`` (see the module docstring).

    Only file existence is checked here; each ground-truth file is parsed on first access.
    Sequences whose ground-truth file is absent are listed in ``dataset.meta["missing"]``.
    """
    spec = _variant(variant)
    root = Path(root)
    anno_dir, image_dir, image_folders = _locate(root, spec)
    entries = manifest(variant)
    sequences, missing = scan_sequences(
        entries, lambda entry: anno_dir / f"{entry.name}.txt",
        lambda entry, gt_path: _sequence(entry, gt_path, image_dir, image_folders, variant, spec),
        dataset=variant, file=True,
        none_found=f"no {variant} annotation file (<seq>.txt) found in {anno_dir}. "
                   f"Expected folder structure: {get_spec(variant).folder_structure}")
    return Dataset(variant, sequences, root=root,
                   meta={"missing": missing, "format": image_folders, "fps": spec.fps,
                         "annotations": anno_dir})


def _variant(variant: str) -> _Variant:
    if variant not in _VARIANTS:
        raise UnknownNameError(f"unknown UAV variant {variant!r}; known: {', '.join(_VARIANTS)}")
    return _VARIANTS[variant]


def _locate(root: Path, spec: _Variant) -> tuple[Path, Path | None, str]:
    """The annotation folder, the image folder (``None``: look beside the files) and where the
    image folders are (``"official"``: under ``data_seq``; ``"flat"``: beside the files)."""
    require_folder(root)
    if (root / "anno" / spec.anno).is_dir():
        images = root / "data_seq" / spec.images
        return root / "anno" / spec.anno, (images if images.is_dir() else None), "official"
    if root.name == spec.anno and root.parent.name == "anno":
        images = root.parent.parent / "data_seq" / spec.images
        return root, (images if images.is_dir() else None), "official"
    return root, None, "flat"


class _Annotation:
    """The ground truth of one sequence, parsed once and checked against its frame range."""

    def __init__(self, path: Path, entry: UavEntry, variant: str) -> None:
        self.path, self.entry, self.variant = path, entry, variant

    @cached_property
    def groundtruth(self) -> np.ndarray:
        gt = read_number_rows(self.path, (4,))
        expected = len(self.entry)
        if len(gt) != expected:
            raise DataFormatError(self.path, f"{len(gt)} rows, expected {expected} (frames "
                                  f"{self.entry.start}-{self.entry.end} of folder "
                                  f"{self.entry.folder})", hint=self._hint(len(gt)))
        nan = np.isnan(gt)
        partial = np.flatnonzero(nan.any(axis=1) & ~nan.all(axis=1))
        if partial.size:
            raise DataFormatError(self.path, "some but not all values are NaN",
                                  line=int(partial[0]) + 1,
                                  hint="an absent target is written NaN,NaN,NaN,NaN")
        return gt

    def flags(self) -> FrameFlags:
        return FrameFlags(absent=np.isnan(self.groundtruth).all(axis=1))

    def _hint(self, rows: int) -> str:
        start, end = self.entry.start, self.entry.end
        if self.variant == "uav123-10fps" and 1 <= rows - 3 * (end - start) <= 3:
            return ("this looks like the 30 fps annotation: UAV123@10fps uses every third row "
                    "(anno/UAV123_10fps); load it as uav123")
        if self.variant != "uav123-10fps" and rows == (end - start) // 3 + 1:
            return "this looks like the UAV123@10fps annotation; load it as uav123-10fps"
        return "one x,y,w,h row per frame of the sequence, NaN,NaN,NaN,NaN when absent"


def _sequence(entry: UavEntry, gt_path: Path, image_dir: Path | None, image_folders: str,
              variant: str, spec: _Variant) -> Sequence:
    annotation = _Annotation(gt_path, entry, variant)
    frames: Callable[[], list[Path] | None] | None
    if image_dir is not None:
        folder = image_dir / entry.folder
        frames = lambda: _frame_paths(folder, entry)  # noqa: E731
    elif image_folders == "flat":
        folder = gt_path.parent / entry.folder
        frames = lambda: _frame_paths(folder, entry) if folder.is_dir() else None  # noqa: E731
    else:
        frames = None
    return Sequence(
        entry.name,
        groundtruth=lambda: annotation.groundtruth,
        frame_paths=frames,
        flags=annotation.flags,
        attributes=entry.attributes,
        dataset=variant,
        source=gt_path,
        meta={"folder": entry.folder, "start_frame": entry.start, "end_frame": entry.end,
              "fps": spec.fps},
        length=len(entry),
    )


def _frame_paths(folder: Path, entry: UavEntry) -> list[Path]:
    return [folder / f"{index:06d}.jpg" for index in range(entry.start, entry.end + 1)]
