"""VOT long-term datasets: VOT-LT2018 (35 sequences) and VOT-LT2019 (50 sequences).

The VOT toolkit's sequence-folder layout, read by :func:`siambench.datasets.vot.load_sequence_folder`
(the short-term loader, reused as it is): ``<root>/list.txt`` (or ``<root>/sequences/list.txt``),
per sequence ``groundtruth.txt`` (``x,y,w,h`` per frame, ``nan,nan,nan,nan`` where the target is
absent), frames ``color/00000001.jpg`` (or as the ``sequence`` file's ``channels.color`` says, or
directly in the sequence folder) and optional ``*.tag`` files. The sequences are those ``list.txt``
names: no public, citable list of the 35 / 50 names was found to ship as a manifest, so none is
checked (``siambench data check`` reports what is there).

Conventions: as the short-term loader's (0-based VOT pixel coordinates, ``DatasetSpec.origin``
0, never converted nor rounded), plus ``FrameFlags.absent``: True on the frames whose
ground-truth row holds NaN (the target is out of view or fully occluded). Nothing is read at
construction beyond ``list.txt`` and the folder listing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset, FrameFlags, Sequence, require_folder
from siambench.datasets.vot import find_sequence_list, load_sequence_folder
from siambench.errors import DatasetNotFoundError, UnknownNameError

__all__ = ["VARIANTS", "load"]

#: The long-term challenges this loader reads, with the short-term year whose loader rules apply.
VARIANTS: dict[str, int] = {"vot-lt2018": 2018, "vot-lt2019": 2019}

_FOLDER_STRUCTURE = ("<root>/list.txt (or <root>/sequences/list.txt), <root>/<seq>/groundtruth.txt "
                     "(nan,nan,nan,nan where the target is absent), frames in "
                     "<root>/<seq>/color/00000001.jpg (or directly in <root>/<seq>/)")


def load(root: Path, variant: str) -> Dataset:
    """Load VOT long-term ``variant`` (``vot-lt2018`` or ``vot-lt2019``) from ``root``.

    ``dataset.meta`` holds ``year``, ``format`` (``"vot"``), ``long_term`` (True), ``tags`` and
    ``missing`` (names in ``list.txt`` with nothing of that name on disk)."""
    key = variant.lower()
    if key not in VARIANTS:
        raise UnknownNameError(f"unknown VOT long-term variant {variant!r}; known: "
                               f"{', '.join(VARIANTS)}")
    root = require_folder(root, _FOLDER_STRUCTURE)
    folder = find_sequence_list(root)
    if folder is not None:
        short_term = load_sequence_folder(folder, f"vot{VARIANTS[key]}")
        meta = {**short_term.meta, "long_term": True}
        return Dataset(key, [_long_term(sequence, key) for sequence in short_term],
                       root=folder, meta=meta)
    raise DatasetNotFoundError(f"{root}: no VOT long-term dataset found (looked for list.txt and "
                               f"sequences/list.txt). Expected folder structure: "
                               f"{_FOLDER_STRUCTURE}")


def _long_term(sequence: Sequence, variant: str) -> Sequence:
    """``sequence`` (a short-term loader's, read lazily) with ``absent`` flags and this dataset's
    name; an unusable sequence still raises its error when used."""

    def flags() -> FrameFlags:
        base = sequence.flags
        absent = np.isnan(np.asarray(sequence.groundtruth, dtype=np.float64)).any(axis=1)
        return FrameFlags(tags=base.tags, absent=absent, cover=base.cover,
                          cut_by_image=base.cut_by_image, notes=base.notes)

    return Sequence(sequence.name, groundtruth=lambda: sequence.groundtruth,
                    frame_paths=lambda: sequence.frame_paths if sequence.has_frames else None,
                    flags=flags, attributes=sequence.attributes,
                    image_size=lambda: sequence.image_size, dataset=variant,
                    source=sequence.source, meta=lambda: sequence.meta,
                    length=lambda: len(sequence))
