"""DTB70 (Li and Yeung, AAAI 2017): 70 drone videos.

Folder structure of one sequence (as the got10k toolkit's ``dtb70.py`` reads it)::

    <root>/<seq>/img/00001.jpg ...        frames (5 digits)
    <root>/<seq>/groundtruth_rect.txt     x,y,w,h per line, comma-separated, 1-based

Without ``img/`` a sequence is annotation-only (scorable, not trackable). Frames are the sorted
``img/*.jpg`` (as got10k); the ground truth must have one row per frame. The 70 names and frame
counts are shipped in ``manifests/dtb70.csv``; a name with no folder under ``<root>`` is listed in
``dataset.meta["missing"]``. Scored with the one-pass protocol (got10k's ``ExperimentDTB70`` is an
``ExperimentOTB``).

The benchmark defines 11 attributes; its authors' repository (flyers/drone-tracking,
``experiments/anno/att/<seq>.txt``) holds per-sequence flags, but the stored copy read for this
module lacks some sequences, so no attribute table is shipped yet: sequences carry no attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset, Sequence, manifest_rows, require_folder, scan_sequences
from siambench.datasets.images import folder_frames
from siambench.datasets.registry import get_spec
from siambench.textio import read_number_rows

GT_FILE = "groundtruth_rect.txt"


@dataclass(frozen=True)
class Dtb70Entry:
    """One row of the shipped table."""

    name: str
    frames: int


def manifest() -> list[Dtb70Entry]:
    """The 70 DTB70 sequences, in alphabetical (got10k's sorted-glob) order."""
    return [Dtb70Entry(row["name"], int(row["frames"])) for row in manifest_rows("dtb70.csv")]


def load(root: Path, variant: str = "dtb70") -> Dataset:
    """Load DTB70 from ``root`` (see the module docstring)."""
    root = require_folder(root)
    entries = manifest()
    sequences, missing = scan_sequences(
        entries, lambda entry: root / entry.name,
        lambda entry, folder: _sequence(entry, folder, variant), dataset=variant,
        annotation=lambda entry: GT_FILE,
        none_found=f"none of the {len(entries)} DTB70 sequences found in {root}. "
                   f"Expected folder structure: {get_spec(variant).folder_structure}")
    return Dataset(variant, sequences, root=root, meta={"missing": missing})


class _Files:
    """The files of one sequence, parsed once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def groundtruth(self) -> np.ndarray:
        return read_number_rows(self.folder / GT_FILE, (4,))

    def frame_paths(self) -> list[Path] | None:
        return folder_frames(self.folder / "img", first="00001.jpg")


def _sequence(entry: Dtb70Entry, folder: Path, dataset: str) -> Sequence:
    found = _Files(folder)
    return Sequence(
        entry.name,
        groundtruth=lambda: found.groundtruth,
        frame_paths=found.frame_paths,
        dataset=dataset,
        source=folder,
        meta={"frames": entry.frames},
        length=lambda: len(found.groundtruth),
    )
