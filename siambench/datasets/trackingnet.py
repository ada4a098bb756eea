"""TrackingNet (Müller et al., ECCV 2018): 511 test sequences and 12 train chunks of YouTube videos.

Folder structure (the official release, as the TrackingNet devkit downloads and extracts it and
pytracking reads it)::

    <root>/TEST/anno/<seq>.txt              test: the first frame's ``x,y,w,h`` only
    <root>/TEST/frames/<seq>/0.jpg, 1.jpg, ... frame numbers without zero padding, from 0
    <root>/TRAIN_0 ... TRAIN_11/anno/<seq>.txt       ``x,y,w,h`` per frame, comma-separated
    <root>/TRAIN_0 ... TRAIN_11/frames/<seq>/N.jpg
    (<root>/<chunk>/zips/<seq>.zip: the downloaded archives, not read)

Sequence names are YouTube ids with the target's index (``YaXKZdSEwt4_0``). Frames are sorted by
their number (``10.jpg`` after ``9.jpg``) and must be numbered ``0 .. N-1`` without a gap: frame
``i`` is ``i.jpg``, the ``i``-th annotation row. Boxes are float64 ``x, y, w, h`` in 0-based
pixels (the devkit draws ``x`` as an OpenCV pixel index; pytracking passes the boxes to trackers
unshifted), never rounded.

``test`` (dataset ``trackingnet``): ``<root>`` is the TrackingNet folder holding ``TEST/`` (any
case) or the ``TEST`` folder itself. Its sequences are those with an annotation file or a frame
folder; the official list of the 511 test sequences (the devkit's ``csv_link/TEST_ANNO.csv``) is
shipped in ``manifests/trackingnet.csv`` and its names with neither are listed in
``dataset.meta["missing"]``. Only the first box is public: ``len(sequence)`` is the frame count,
``groundtruth`` has one row and ``dataset.meta["withheld"]`` is True (score on the evaluation
server: ``siambench pack``).

``train`` (dataset ``trackingnet-train``): every ``TRAIN_<k>`` chunk present under ``<root>``, in
chunk order, or, when ``<root>`` is one chunk folder (holding ``anno/``), that chunk only;
variant ``train-<k>`` (datasets ``trackingnet-train-0`` ... ``-11``) reads chunk ``k`` only.
Sequence names are unique across chunks; ``sequence.meta["chunk"]`` names the chunk.

A chunk without ``frames/`` (an annotation-only download) gives annotation-only sequences
(scorable, not trackable); with ``frames/``, a sequence missing its frame folder or its
annotation file is listed by ``siambench data check`` with the reason. Nothing but folder
listings is read at construction.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.base import Dataset, Sequence, entry_kinds, manifest_rows, require_folder, wrong_kind
from siambench.datasets.images import read_image_size
from siambench.errors import (
    DataFormatError,
    DatasetNotFoundError,
    SiambenchError,
    UnknownNameError,
)
from siambench.fileio import path_kind
from siambench.textio import read_number_rows

#: Number of train chunks of the release (``TRAIN_0`` ... ``TRAIN_11``).
TRAIN_CHUNKS = 12
_CHUNK = re.compile(r"^train_(\d+)$", re.IGNORECASE)
_VARIANT = re.compile(r"^train-(\d+)$")
_SHOWN = 5
_FOLDER_STRUCTURE = ("<root>/TEST/anno/<seq>.txt and <root>/TEST/frames/<seq>/0.jpg, 1.jpg, ...; "
                     "<root>/TRAIN_0 ... TRAIN_11/anno/<seq>.txt and .../frames/<seq>/0.jpg, ... "
                     "(<root> may also be one chunk folder, e.g. TEST or TRAIN_3)")


@cache
def test_sequence_names() -> tuple[str, ...]:
    """The 511 official test sequences (``manifests/trackingnet.csv``), sorted by name."""
    return tuple(row["name"] for row in manifest_rows("trackingnet.csv") if row["split"] == "test")


def load(root: Path, variant: str) -> Dataset:
    """Load TrackingNet's ``test`` split, its ``train`` chunks, or chunk ``train-<k>`` from
    ``root`` (see the module docstring for the folder structure)."""
    root = require_folder(root, _FOLDER_STRUCTURE)
    if variant == "test":
        folder = _test_folder(root)
        sequences = _chunk_sequences(folder, "trackingnet", test=True)
        present = {sequence.name for sequence in sequences}
        missing = [name for name in test_sequence_names() if name not in present]
        meta = {"split": "test", "missing": missing, "withheld": True, "format": "trackingnet",
                "chunks": [folder.name]}
        return Dataset("trackingnet", sequences, root=folder, meta=meta)
    if variant == "train":
        chunks, name = _train_folders(root, None), "trackingnet-train"
    elif _VARIANT.match(variant) and int(variant[6:]) < TRAIN_CHUNKS:
        number = int(variant[6:])
        chunks, name = _train_folders(root, number), f"trackingnet-train-{number}"
    else:
        raise UnknownNameError(f"unknown TrackingNet split {variant!r}; known: test, train, "
                               f"train-0 ... train-{TRAIN_CHUNKS - 1}")
    sequences = [s for chunk in chunks for s in _chunk_sequences(chunk, name, test=False)]
    meta = {"split": "train", "missing": [], "format": "trackingnet",
            "chunks": [chunk.name for chunk in chunks]}
    return Dataset(name, sequences, root=root, meta=meta)


def frame_counts(dataset: Dataset) -> dict[str, int]:
    """Frame count by sequence name of the sequences whose frames are listed without a problem
    (for ``siambench pack``; annotation-only and unreadable sequences are left out)."""
    counts = {}
    for sequence in dataset:
        try:
            if sequence.has_frames:
                counts[sequence.name] = len(sequence.frame_paths)
        except SiambenchError:
            continue
    return counts


def frame_number(path: Path) -> int | None:
    """The frame number of a TrackingNet frame file (``12.jpg`` -> 12); ``None`` for any other
    name."""
    stem = path.stem
    return int(stem) if stem.isdigit() and path.suffix.lower() == ".jpg" else None


# -- internals ----------------------------------------------------------------------------------

def _is_chunk(folder: Path) -> bool:
    """Whether ``folder`` is a chunk folder itself (it holds ``anno/`` or ``frames/``)."""
    return (folder / "anno").is_dir() or (folder / "frames").is_dir()


def _test_folder(root: Path) -> Path:
    """``root/TEST`` (any case) or ``root`` itself when it is the test chunk."""
    if _is_chunk(root):
        if _CHUNK.match(root.name):
            raise DatasetNotFoundError(
                f"{root} is the TrackingNet train chunk {root.name}, not the test split: pass "
                "the TrackingNet folder that holds TEST/ (or the TEST folder itself) as the root")
        return root
    candidates = [p for p in sorted(root.iterdir()) if p.name.lower() == "test" and p.is_dir()]
    if candidates:
        return candidates[0]
    raise DatasetNotFoundError(
        f"{root}: no TrackingNet test split found (looked for {root / 'TEST'} and for "
        f"{root / 'anno'}). Expected folder structure: {_FOLDER_STRUCTURE}")


def _train_folders(root: Path, number: int | None) -> list[Path]:
    """The train chunk folders under ``root`` (all, or chunk ``number``), in chunk order; ``root``
    itself when it is a chunk folder."""
    if _is_chunk(root):
        match = _CHUNK.match(root.name)
        if root.name.lower() == "test":
            raise DatasetNotFoundError(
                f"{root} is the TrackingNet test split, not a train chunk: pass the TrackingNet "
                "folder that holds TRAIN_0 ... TRAIN_11 (or one TRAIN_<k> folder) as the root")
        if number is not None and match and int(match.group(1)) != number:
            raise DatasetNotFoundError(f"{root} is chunk {root.name}, not TRAIN_{number}: pass "
                                       "the TrackingNet folder that holds the chunks as the root")
        return [root]
    chunks = sorted(((int(m.group(1)), p) for p in root.iterdir()
                     if (m := _CHUNK.match(p.name)) and p.is_dir()), key=lambda item: item[0])
    chosen = [p for k, p in chunks if number is None or k == number]
    if chosen:
        return chosen
    wanted = f"TRAIN_{number}" if number is not None else "TRAIN_0 ... TRAIN_11"
    found = f" (found: {', '.join(p.name for _, p in chunks)})" if chunks else ""
    raise DatasetNotFoundError(f"{root}: no TrackingNet train chunk {wanted} found{found}. "
                               f"Expected folder structure: {_FOLDER_STRUCTURE}")


def _listing(folder: Path) -> dict[str, str]:
    """:func:`entry_kinds` of ``folder``; ``{}`` when nothing is there."""
    return entry_kinds(folder) if path_kind(folder) != "missing" else {}


def _chunk_sequences(chunk: Path, dataset: str, *, test: bool) -> list[Sequence]:
    anno, frames = chunk / "anno", chunk / "frames"
    for folder in (anno, frames):
        kind = path_kind(folder)
        if kind not in ("missing", "a folder"):
            raise wrong_kind(folder, "a folder", kind=kind,
                             hint=f"expected folder structure: {_FOLDER_STRUCTURE}")
    anno_kinds, frame_kinds = _listing(anno), _listing(frames)
    names = {entry[:-4] for entry in anno_kinds if entry.lower().endswith(".txt")}
    names |= {entry for entry, kind in frame_kinds.items() if kind != "a file"}
    if not names:
        raise DatasetNotFoundError(
            f"{chunk}: no TrackingNet sequences found (no {anno}/<seq>.txt, no {frames}/<seq>/). "
            f"Expected folder structure: {_FOLDER_STRUCTURE}")
    has_frames = frames.is_dir()
    return [_sequence(chunk, name, dataset, test=test, frames=has_frames)
            for name in sorted(names)]


def _sequence(chunk: Path, name: str, dataset: str, *, test: bool, frames: bool) -> Sequence:
    anno_file = chunk / "anno" / f"{name}.txt"
    folder = chunk / "frames" / name
    cache: dict[str, Any] = {}

    def groundtruth() -> np.ndarray:
        if "gt" not in cache:
            if path_kind(anno_file) == "missing":
                raise DataFormatError(anno_file, "annotation file not found",
                                      hint=f"the frames of {name} are in {folder}; every "
                                      "sequence needs anno/<seq>.txt")
            cache["gt"] = read_number_rows(anno_file, (4,))
        return cache["gt"]

    def frame_paths() -> list[Path]:
        if "frames" not in cache:
            cache["frames"] = _frame_paths(chunk, name, folder)
        return cache["frames"]

    def image_size() -> tuple[int, int] | None:
        paths = frame_paths() if frames else []
        return read_image_size(paths[0]) if paths else None

    return Sequence(name, groundtruth=groundtruth, frame_paths=frame_paths if frames else None,
                    image_size=image_size, dataset=dataset, source=folder if frames else anno_file,
                    meta={"chunk": chunk.name, "split": "test" if test else "train"})


def _frame_paths(chunk: Path, name: str, folder: Path) -> list[Path]:
    """The frames ``0.jpg .. N-1.jpg`` of a sequence, in numeric order."""
    kind = path_kind(folder)
    if kind != "a folder":
        archive = chunk / "zips" / f"{name}.zip"
        hint = (f"extract {archive} (the devkit's extract_frame.py)" if archive.is_file()
                else "expected frames/<seq>/0.jpg, 1.jpg, ...")
        problem = "no frame folder" if kind == "missing" else f"is {kind}, expected the frame folder"
        raise DataFormatError(folder, problem, hint=hint)
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise DataFormatError(folder, f"cannot list the frames: {exc.strerror or exc}") from None
    # Every *.jpg entry but folders: a broken link or a link loop named like a frame stays in
    # the list, so problems() and read_frame say what it is.
    paths = [Path(e.path) for e in entries if e.name.lower().endswith(".jpg")
             and (e.is_file(follow_symlinks=False)
                  or (e.is_symlink() and not Path(e.path).is_dir()))]
    numbered = {frame_number(path): path for path in paths}
    if None in numbered:
        raise DataFormatError(numbered[None], "is not named <number>.jpg",
                              hint="TrackingNet frames are 0.jpg, 1.jpg, ... without zero padding")
    gaps = [number for number in range(len(paths)) if number not in numbered]
    if gaps:
        shown = ", ".join(f"{number}.jpg" for number in gaps[:_SHOWN])
        more = f" and {len(gaps) - _SHOWN} more" if len(gaps) > _SHOWN else ""
        raise DataFormatError(folder, f"{len(paths)} frames not numbered 0 .. {len(paths) - 1}: "
                              f"missing {shown}{more}",
                              hint="frame i must be i.jpg, the i-th annotation row")
    return [numbered[number] for number in range(len(paths))]


__all__ = ["TRAIN_CHUNKS", "frame_counts", "frame_number", "load", "test_sequence_names"]
