"""Need for Speed, NfS (Kiani Galoogahi et al., ICCV 2017): 100 videos at 240 fps and at 30 fps.

Official folder structure (``<fps>`` is ``30`` or ``240``)::

    <root>/<seq>/<fps>/<seq>/00001.jpg ...   frames (5 digits)
    <root>/<seq>/<fps>/<seq>.txt             annotation, one row per annotated 240 fps frame

Without the frame folder a sequence is annotation-only (scorable, not trackable). The 100 names,
their 30 fps frame counts and object classes (pytracking's ``nfsdataset.py``) are shipped in
``manifests/nfs.csv``; a table name with no ``<root>/<seq>/`` folder is listed in
``dataset.meta["missing"]``.

Annotation rows are VATIC's (see :func:`parse_annotation`)::

    track_id xmin ymin xmax ymax frame lost occluded generated "label" [attributes...]

Boxes become ``x, y, w, h = xmin, ymin, xmax - xmin, ymax - ymin`` in VATIC's 0-based pixel
coordinates (``DatasetSpec.origin`` 0). ``lost`` (outside the view) is ``FrameFlags.absent``;
``occluded`` and ``generated`` (interpolated by VATIC, not drawn by hand) are the per-frame tags
``FrameFlags.tags["occluded"]`` and ``tags["generated"]``. Boxes of lost frames are kept as
written and every frame is scored (protocol ``ope``, as got10k's ``ExperimentNfS``, an
``ExperimentOTB``, and pytracking do).

What the reference toolkits do (read for this module):

* got10k ``got10k/datasets/nfs.py`` (got-10k/toolkit @ df427a4b): reads ``<seq>/<fps>/<seq>.txt``
  with ``np.loadtxt``, keeps columns 1-4 (the corners, NOT converted to a width and height) and
  the sorted ``*.jpg`` of ``<seq>/<fps>/<seq>/``. When the row count is about 8x the frame count
  (``abs(rows / frames - 8) < 1``: the 30 fps folder holds the 240 fps annotation) it keeps rows
  ``[0::8]``; a remaining difference of exactly one is resolved by cutting both to the shorter
  length; any other mismatch fails an ``assert``.
* pytracking ``pytracking/evaluation/nfsdataset.py`` (visionml/pytracking @ 6f501d9d): does not
  read the official files; it expects pre-converted 30 fps files ``anno/nfs_<seq>.txt``
  (tab-separated ``x, y, w, h``) and ``sequences/<seq>/00001.jpg`` up to a hard-coded
  ``endFrame`` (the 30 fps frame counts shipped here). The conversion itself is not published.
* Other public loaders agree on the mapping: jvlmdr's tracking toolkit ``load_nfs`` ignores the
  ``frame`` column ("it varies between starting at 0 and 1") and keeps every 8th row, 30 fps
  frame ``k`` = 240 fps frame ``8k - 7``; trackit's ``NFS.py`` keeps the rows whose 0-based frame
  is a multiple of 8 and drops ``pingpong_2`` rows from frame 264 on.

siambench follows that mapping. The ``frame`` column is used only for its order: positions are
``frame - first frame`` (so files numbered from 0 or from 1 read alike; a gap leaves NaN rows
flagged absent, a repeated or decreasing frame number is an error). A 30 fps sequence whose
annotation has at least 4x as many positions as it has frames (30 fps images, else the table's
count) holds the 240 fps annotation and keeps positions ``0, 8, 16, ...`` (:func:`to_30fps`).
Like got10k, a ground truth one row longer or shorter than the frame list is cut to the shorter
(noted in ``FrameFlags.notes``); larger mismatches are reported by ``siambench data check``.
The ``pingpong_2`` cut of trackit is not reproduced (no public statement of its reason).

NfS defines 9 attributes (IV, SV, OCC, DEF, FM, VC, OV, BC, LR) but no public per-sequence table
of them was found (pytracking ships none for NfS): sequences carry no attributes. The
per-frame occlusion flags and pytracking's per-sequence ``occlusion`` column (``meta``) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from siambench.errors import DataFormatError, UnknownNameError
from siambench.textio import read_text_lines

_VARIANTS = {"nfs30": 30, "nfs240": 240}
#: 240 fps frames per 30 fps frame.
STEP = 8
_EXAMPLE = 'expected: track_id xmin ymin xmax ymax frame lost occluded generated "label"'


@dataclass(frozen=True)
class NfsEntry:
    """One row of the shipped table."""

    name: str
    frames_30fps: int
    object_class: str
    occlusion: bool


@dataclass(frozen=True)
class NfsAnnotation:
    """A parsed annotation: per row the box ``x, y, w, h``, the frame number as written and the
    VATIC flags."""

    boxes: np.ndarray
    frames: np.ndarray
    lost: np.ndarray
    occluded: np.ndarray
    generated: np.ndarray
    label: str = ""

    def __len__(self) -> int:
        return len(self.boxes)


def manifest() -> list[NfsEntry]:
    """The 100 NfS sequences, in pytracking's order."""
    return [NfsEntry(row["name"], int(row["frames_30fps"]), row["object_class"],
                     row["occlusion"] == "1")
            for row in manifest_rows("nfs.csv")]


def parse_annotation(lines: list[str], path: Path) -> NfsAnnotation:
    """Parse VATIC annotation lines (see the module docstring) into an :class:`NfsAnnotation`.

    Cells are separated by any whitespace; the label is the text between the first and the last
    double quote (it may hold spaces; attributes after it are ignored) or, unquoted, the tenth
    cell. ``lost``, ``occluded`` and ``generated`` must be 0 or 1; all rows must belong to one
    track. Blank lines are skipped. Raises :class:`DataFormatError` naming the file and line.
    """
    boxes, frames, flags = [], [], []
    labels: set[str] = set()
    track: str | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        quote = line.find('"')
        head = line[:quote] if quote >= 0 else line
        cells = head.split()
        if quote >= 0:
            end = line.rfind('"')
            label = line[quote + 1:end] if end > quote else line[quote + 1:]
        else:
            label = cells[9] if len(cells) > 9 else ""
            cells = cells[:9]
        if len(cells) != 9:
            raise DataFormatError(path, f"{len(cells)} values before the label", line=number,
                                  hint=_EXAMPLE)
        try:
            corners = [float(cell) for cell in cells[1:5]]
            frame = int(cells[5])
            bits = [int(cell) for cell in cells[6:9]]
        except ValueError:
            raise DataFormatError(path, "non-numeric value", line=number, hint=_EXAMPLE) from None
        if not all(np.isfinite(corners)):
            raise DataFormatError(path, "infinite or NaN coordinate", line=number, hint=_EXAMPLE)
        if any(bit not in (0, 1) for bit in bits):
            raise DataFormatError(path, f"lost/occluded/generated {cells[6:9]}", line=number,
                                  hint="each must be 0 or 1")
        if track is not None and cells[0] != track:
            raise DataFormatError(path, f"track {cells[0]} after track {track}", line=number,
                                  hint="an NfS annotation holds one track")
        track = cells[0]
        x1, y1, x2, y2 = corners
        boxes.append((x1, y1, x2 - x1, y2 - y1))
        frames.append(frame)
        flags.append(bits)
        labels.add(label)
    if not boxes:
        raise DataFormatError(path, "no annotation rows", hint=_EXAMPLE)
    bits_array = np.asarray(flags, dtype=bool)
    return NfsAnnotation(np.asarray(boxes, dtype=np.float64), np.asarray(frames, dtype=np.int64),
                         bits_array[:, 0], bits_array[:, 1], bits_array[:, 2],
                         label=" / ".join(sorted(labels)))


def read_annotation(path: Path) -> NfsAnnotation:
    """Read and parse an NfS annotation file (see :func:`parse_annotation`)."""
    return parse_annotation(read_text_lines(path), Path(path))


def dense(annotation: NfsAnnotation, path: Path) -> NfsAnnotation:
    """The annotation indexed by position ``frame - first frame``: one row per position, a gap
    filled with a NaN box flagged lost. Raises :class:`DataFormatError` for a repeated or
    decreasing frame number."""
    steps = np.diff(annotation.frames)
    if np.any(steps <= 0):
        row = int(np.flatnonzero(steps <= 0)[0]) + 2
        raise DataFormatError(path, f"frame {annotation.frames[row - 1]} after frame "
                                    f"{annotation.frames[row - 2]}", line=row,
                              hint="frame numbers must increase")
    if np.all(steps == 1):
        return annotation
    positions = annotation.frames - annotation.frames[0]
    size = int(positions[-1]) + 1
    boxes = np.full((size, 4), np.nan)
    boxes[positions] = annotation.boxes
    flags = []
    for values, fill in ((annotation.lost, True), (annotation.occluded, False),
                         (annotation.generated, False)):
        array = np.full(size, fill)
        array[positions] = values
        flags.append(array)
    frames = np.arange(size) + annotation.frames[0]
    return NfsAnnotation(boxes, frames, *flags, label=annotation.label)


def to_30fps(annotation: NfsAnnotation) -> NfsAnnotation:
    """The 30 fps rows of a dense 240 fps annotation: positions ``0, 8, 16, ...`` (30 fps frame
    ``k``, 1-based, is 240 fps frame ``8k - 7``), as got10k (``[0::8]``) and pytracking's frame
    counts have it."""
    pick = slice(0, None, STEP)
    return replace(annotation, boxes=annotation.boxes[pick], frames=annotation.frames[pick],
                   lost=annotation.lost[pick], occluded=annotation.occluded[pick],
                   generated=annotation.generated[pick])


def load(root: Path, variant: str) -> Dataset:
    """Load ``nfs30`` or ``nfs240`` from ``root`` (see the module docstring).

    Only folder and file existence is checked here; annotations are parsed on first access.
    """
    if variant not in _VARIANTS:
        raise UnknownNameError(f"unknown NfS variant {variant!r}; known: {', '.join(_VARIANTS)}")
    fps = _VARIANTS[variant]
    root = require_folder(root)
    entries = manifest()
    sequences, missing = scan_sequences(
        entries, lambda entry: root / entry.name,
        lambda entry, folder: _sequence(entry, folder / str(fps) / f"{entry.name}.txt", fps, variant),
        dataset=variant, annotation=lambda entry: f"{fps}/{entry.name}.txt",
        none_found=f"none of the {len(entries)} NfS sequences found in {root}. "
                   f"Expected folder structure: {get_spec(variant).folder_structure}")
    return Dataset(variant, sequences, root=root, meta={"missing": missing, "fps": fps})


class _Files:
    """The annotation and frames of one sequence, resolved once (see the module docstring)."""

    def __init__(self, entry: NfsEntry, anno: Path, fps: int) -> None:
        self.entry, self.anno, self.fps = entry, anno, fps
        self.images = anno.parent / entry.name

    @cached_property
    def frames(self) -> list[Path] | None:
        return folder_frames(self.images, first="00001.jpg")

    @cached_property
    def resolved(self) -> tuple[NfsAnnotation, list[Path] | None, tuple[str, ...]]:
        annotation = dense(read_annotation(self.anno), self.anno)
        frames, notes = self.frames, []
        if self.fps == 30:
            count = len(frames) if frames else self.entry.frames_30fps
            if len(annotation) >= 4 * count:
                annotation = to_30fps(annotation)
                notes.append(f"{self.anno.name} holds the 240 fps annotation: every {STEP}th row "
                             "is used")
        if frames and abs(len(frames) - len(annotation)) == 1:
            keep = min(len(frames), len(annotation))
            notes.append(f"{len(annotation)} annotation rows for {len(frames)} frames: both cut "
                         f"to {keep} (as got10k does)")
            frames = frames[:keep]
            annotation = replace(annotation, boxes=annotation.boxes[:keep],
                                 frames=annotation.frames[:keep], lost=annotation.lost[:keep],
                                 occluded=annotation.occluded[:keep],
                                 generated=annotation.generated[:keep])
        return annotation, frames, tuple(notes)

    def flags(self) -> FrameFlags:
        annotation, _, notes = self.resolved
        return FrameFlags(tags={"occluded": annotation.occluded,
                                "generated": annotation.generated},
                          absent=annotation.lost, notes=notes)


def _sequence(entry: NfsEntry, anno: Path, fps: int, dataset: str) -> Sequence:
    found = _Files(entry, anno, fps)
    return Sequence(
        entry.name,
        groundtruth=lambda: found.resolved[0].boxes,
        frame_paths=lambda: found.resolved[1],
        flags=found.flags,
        dataset=dataset,
        source=anno,
        meta={"object_class": entry.object_class, "occlusion": entry.occlusion, "fps": fps},
        length=lambda: len(found.resolved[0]),
    )
