"""LaSOT (Fan et al., CVPR 2019): 1,400 sequences of 70 classes, 280 of them in the test split.

Folder structure of one sequence (``<name>`` is ``<class>-<n>``, e.g. ``airplane-1``)::

    <root>/<class>/<name>/img/00000001.jpg ...   (8 digits)
    <root>/<class>/<name>/groundtruth.txt        x,y,w,h per line, comma-separated, 1-based
    <root>/<class>/<name>/full_occlusion.txt     one line of comma-separated 0/1, one per frame
    <root>/<class>/<name>/out_of_view.txt        the same
    <root>/<class>/<name>/nlp.txt                one sentence describing the target

The class level may be left out (``<root>/<name>/...``, as in test-only downloads). Without
``img/`` a sequence is annotation-only (scorable, not trackable). The split lists (the got10k
toolkit's ``lasot.json``) and the 14 per-sequence attributes (pytracking's
``LaSOT_attributes.json``) are shipped in ``manifests/lasot.csv``.

The LaSOT extension (Fan et al., IJCV 2021; ``lasot-ext``) adds 150 test sequences of 15 new
classes (``atv`` ... ``wingsuit``, 10 each) in the same folder structure; its list (pytracking's
``lasotextensionsubsetdataset.py``) is shipped in ``manifests/lasot_ext.csv``. No public
per-sequence attribute table of the extension was found: its sequences carry no attributes.

A frame is absent (``FrameFlags.absent``) where it is fully occluded or out of view; the box of
such a frame is kept as written. A missing flag file counts as all zeros and is noted in
``FrameFlags.notes``.
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
    find_folder,
    manifest_rows,
    require_folder,
    scan_sequences,
)
from siambench.datasets.images import folder_frames
from siambench.datasets.registry import get_spec
from siambench.errors import DataFormatError, UnknownNameError
from siambench.textio import read_number_rows, read_text_lines, split_cells

#: The 14 LaSOT attributes, in pytracking's order.
ATTRIBUTES: dict[str, str] = {
    "IV": "Illumination Variation", "POC": "Partial Occlusion", "DEF": "Deformation",
    "MB": "Motion Blur", "CM": "Camera Motion", "ROT": "Rotation",
    "BC": "Background Clutter", "VC": "Viewpoint Change", "SV": "Scale Variation",
    "FOC": "Full Occlusion", "FM": "Fast Motion", "OV": "Out-of-View",
    "LR": "Low Resolution", "ARC": "Aspect Ratio Change",
}

_SPEC_NAMES = {"test": "lasot", "train": "lasot-train", "extension": "lasot-ext"}
_MANIFESTS = {"test": "lasot.csv", "train": "lasot.csv", "extension": "lasot_ext.csv"}
_FLAG_FILES = ("full_occlusion.txt", "out_of_view.txt")


@dataclass(frozen=True)
class LasotEntry:
    """One row of the shipped table."""

    name: str
    split: str
    attributes: tuple[str, ...]

    @property
    def category(self) -> str:
        """The object class: the name without its ``-<n>`` (``rubicCube-1`` -> ``rubicCube``)."""
        return self.name.rsplit("-", 1)[0]


def manifest(split: str) -> list[LasotEntry]:
    """The sequences of the ``test`` (280) or ``train`` (1120) split, in the got10k list order,
    or of the ``extension`` (150, pytracking's order)."""
    if split not in _SPEC_NAMES:
        raise UnknownNameError(f"unknown LaSOT split {split!r}; known: {', '.join(_SPEC_NAMES)}")
    return [LasotEntry(row["name"], row["split"], tuple(row["attributes"].split()))
            for row in manifest_rows(_MANIFESTS[split]) if row["split"] == split]


def load(root: Path, variant: str) -> Dataset:
    """Load the LaSOT ``test``, ``train`` or ``extension`` split from ``root`` (see the module
    docstring).

    Only folder existence is checked here; the files of a sequence are parsed on first access.
    Sequences of the split that are not under ``root`` are listed in ``dataset.meta["missing"]``.
    """
    entries = manifest(variant)
    root = require_folder(root)
    name = _SPEC_NAMES[variant]
    sequences, missing = scan_sequences(
        entries, lambda entry: _find(root, entry),
        lambda entry, folder: _sequence(entry, folder, name), dataset=name,
        none_found=f"none of the {len(entries)} LaSOT {variant} sequences found in {root}. "
                   f"Expected folder structure: {get_spec(name).folder_structure}")
    return Dataset(name, sequences, root=root, meta={"missing": missing, "split": variant})


def read_binary_flags(path: Path, length: int) -> np.ndarray:
    """Read a LaSOT per-frame 0/1 file (``full_occlusion.txt``, ``out_of_view.txt``) as bool.

    The official files hold one line of comma-separated values; values split over several lines
    (or separated by spaces/tabs) are accepted too. The count must equal ``length``.
    """
    values: list[bool] = []
    for number, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        for cell in split_cells(line):
            value = _binary(cell)
            if value is None:
                raise DataFormatError(path, f"value {cell!r} at position {len(values) + 1}",
                                      line=number, hint="expected comma-separated 0 or 1")
            values.append(value)
    if len(values) != length:
        raise DataFormatError(path, f"{len(values)} values for {length} frames",
                              hint="expected one 0/1 per line of groundtruth.txt")
    return np.asarray(values, dtype=bool)


def _binary(cell: str) -> bool | None:
    try:
        number = float(cell)
    except ValueError:
        return None
    return bool(number) if number in (0.0, 1.0) else None


def _find(root: Path, entry: LasotEntry) -> Path | None:
    """The sequence's folder; a path there that is not a folder (a broken link, a link loop, a
    file) when no folder is; None when nothing is there."""
    return find_folder((root / entry.category / entry.name, root / entry.name))


class _Files:
    """The annotation files of one sequence, parsed once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def groundtruth(self) -> np.ndarray:
        return read_number_rows(self.folder / "groundtruth.txt", (4,))

    def flags(self) -> FrameFlags:
        length = len(self.groundtruth)
        absent = np.zeros(length, dtype=bool)
        notes = []
        for filename in _FLAG_FILES:
            path = self.folder / filename
            if path.is_file():
                absent |= read_binary_flags(path, length)
            else:
                notes.append(f"{filename} missing in {self.folder}; its frames count as visible")
        return FrameFlags(absent=absent, notes=tuple(notes))

    def frame_paths(self) -> list[Path] | None:
        return folder_frames(self.folder / "img")


def _sequence(entry: LasotEntry, folder: Path, dataset: str) -> Sequence:
    annotation = _Files(folder)
    return Sequence(
        entry.name,
        groundtruth=lambda: annotation.groundtruth,
        frame_paths=annotation.frame_paths,
        flags=annotation.flags,
        attributes=entry.attributes,
        dataset=dataset,
        source=folder,
        meta={"class": entry.category, "split": entry.split, "nlp_file": folder / "nlp.txt"},
        length=lambda: len(annotation.groundtruth),
    )
