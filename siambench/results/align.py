"""Match a tracker's raw results to a dataset's sequences, frame for frame.

Rules (the scoring side relies on them):

* names match case- and punctuation-insensitively (:func:`canonical_key`: ``blurCar1``,
  ``jogging_1``, ``Human4.2`` and ``Skating2-1`` all find their OTB sequence); two result files
  for one sequence (``Jogging.1.txt`` and ``jogging-1.txt``) leave the sequence out, listed as
  a warning, as does a sequence whose file could not be read (``TrackerResults.unreadable``):
  both count like a missing sequence; ``strict=True`` makes either an error;
* a run that states its first image (OTB ``.mat``/JSON ``startFrame``) and does not already have
  exactly ``len(seq)`` rows is shifted onto the dataset's range, whose first image is
  ``seq.meta["start_frame"]`` (1 when absent): rows before it are dropped, missing leading rows
  become NaN. A run with exactly ``len(seq)`` rows is taken as the benchmark's frames whatever
  its ``startFrame`` says (jwlim STRUCK Tiger1: 349 rows, ``startFrame: 1``), with a warning.
  A run holding ``start_frame - 1 + len(seq)`` rows without a start frame, or more rows than
  its stated start allows but no more than ``start_frame - 1 + len(seq)``, is taken to start at
  image 1 (MDNet's bare ``result`` for Tiger1: 354 rows; CFWLB's tiger1: 350 rows, startFrame 6);
* a run longer than the sequence is an error naming every such sequence;
* a shorter run is padded -- boxes with NaN rows (IoU 0: a failure in every metric), VOT runs
  with a failure code at the first missing frame then "skipped" codes -- and listed as a
  warning; ``strict=True`` makes it an error;
* dataset sequences without results and result sequences matching no dataset sequence are
  listed as warnings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from siambench.errors import DataFormatError, SiambenchError
from siambench.names import canonical_key
from siambench.results.types import FAILURE, SKIPPED, Run, TrackerResults

_SHOWN = 10


def align(results: TrackerResults, dataset: Any, *,
          strict: bool = False) -> tuple[TrackerResults, list[str]]:
    """Results keyed by the dataset's sequence names, every run ``len(seq)`` frames long.

    ``dataset`` is any object with ``.names``, ``__getitem__(name)`` and ``.name``; sequences
    need ``len()``, ``.meta`` and ``.groundtruth``. Returns the aligned results (in the
    dataset's order, only sequences with results) and the warnings (the reader's warnings
    first); the same list is stored in ``aligned.warnings``. Inputs are not modified.
    """
    dataset_name = getattr(dataset, "name", "the dataset")
    names_by_key: dict[str, list[str]] = {}
    for seq_name in [*results.sequences, *results.unreadable]:
        names_by_key.setdefault(canonical_key(seq_name), []).append(seq_name)
    duplicates = {key: names for key, names in names_by_key.items() if len(names) > 1}
    if duplicates and strict:
        raise DataFormatError(results.source, "two result files for one sequence (strict mode): "
                              + _listing([" and ".join(map(repr, n)) for n in duplicates.values()]),
                              hint="sequence names match case- and punctuation-insensitively")
    by_key = {key: names[0] for key, names in names_by_key.items()
              if key not in duplicates and names[0] in results.sequences}
    unreadable_keys = {key: names[0] for key, names in names_by_key.items()
                       if key not in duplicates and names[0] in results.unreadable}
    dataset_keys = {canonical_key(name): name for name in dataset.names}
    warnings = list(results.warnings)
    aligned = TrackerResults(results.name, results.format, results.source, warnings=warnings)
    unreadable: list[str] = []
    doubled: list[str] = []
    too_long: list[str] = []
    too_short: list[str] = []
    missing: list[str] = []
    corner_rows: list[str] = []
    renumbered: list[str] = []
    for seq_name in dataset.names:
        key = canonical_key(seq_name)
        if key in unreadable_keys:
            aligned.unreadable[seq_name] = results.unreadable[unreadable_keys[key]]
            unreadable.append(aligned.unreadable[seq_name])
            continue
        if key in duplicates:
            names = " and ".join(map(repr, duplicates[key]))
            aligned.unreadable[seq_name] = f"{results.source}: two result files for {seq_name}: {names}"
            doubled.append(f"{seq_name} ({names})")
            continue
        found = by_key.get(key)
        if found is None:
            missing.append(seq_name)
            continue
        sequence = dataset[seq_name]
        length = len(sequence)
        start = int(sequence.meta.get("start_frame") or 1)
        runs = []
        for index, run in enumerate(results.sequences[found]):
            label = seq_name if len(results.sequences[found]) == 1 else \
                f"{seq_name} (repetition {index + 1})"
            try:
                run = _shift(run, length, start, label, warnings, renumbered)
            except _StartsTooLate as late:
                too_long.append(str(late))
                continue
            if len(run) > length:
                too_long.append(f"{label}: {len(run)} rows for {length} frames")
            elif len(run) < length:
                too_short.append(f"{label}: {len(run)} of {length} frames")
                run = _pad(run, length)
            runs.append(run)
        if runs and runs[0].boxes is not None:
            if _first_row_is_corners(runs[0], sequence):
                corner_rows.append(seq_name)
        aligned.sequences[seq_name] = runs
    if unreadable and strict:
        raise DataFormatError(results.source, f"unreadable results of {results.name} (strict "
                              f"mode): {_listing(unreadable, '; ')}")
    if too_long:
        raise DataFormatError(results.source, f"results of {results.name} longer than the "
                              f"ground truth of {dataset_name}: {_listing(too_long)}",
                              hint="were they made on another version of the dataset?")
    if too_short:
        if strict:
            raise DataFormatError(results.source, f"results of {results.name} shorter than the "
                                  f"ground truth (strict mode): {_listing(too_short)}")
        warnings.append(f"shorter than the ground truth on {len(too_short)} sequences "
                        f"({_listing(too_short)}); the missing frames count as failures")
    if renumbered:
        warnings.append(f"the stated startFrame differs from the benchmark's first image but the "
                        f"row count matches exactly on {len(renumbered)} sequences "
                        f"({_listing(renumbered)}); taken as the benchmark's frames")
    if corner_rows:
        warnings.append(f"the first result row looks like corners x1,y1,x2,y2, not x,y,w,h, on "
                        f"{len(corner_rows)} sequences ({_listing(corner_rows)}); scored as "
                        "written")
    if unreadable:
        warnings.append(f"unreadable results for {len(unreadable)} sequences, left out like "
                        f"missing ones: {_listing(unreadable, '; ')}")
    if doubled:
        warnings.append(f"two result files for one sequence on {len(doubled)} sequences, left "
                        f"out like missing ones (names match case- and punctuation-"
                        f"insensitively): {_listing(doubled)}")
    if missing:
        warnings.append(f"no results for {len(missing)} of {len(dataset.names)} sequences of "
                        f"{dataset_name}: {_listing(missing)}")
    extra = [name for key, names in names_by_key.items() if key not in dataset_keys
             for name in names]
    if extra:
        warnings.append(f"results for {len(extra)} sequences not in {dataset_name} (ignored): "
                        f"{_listing(extra)}")
    return aligned, warnings


def _listing(items: list[str], separator: str = ", ") -> str:
    shown = separator.join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _shift(run: Run, length: int, start: int, label: str, warnings: list[str],
           renumbered: list[str]) -> Run:
    """Map a run onto the dataset's first image (see the module docstring).

    Runs whose ``startFrame`` disagrees with the benchmark but whose length matches exactly are
    taken as the benchmark's frames and their labels collected in ``renumbered``.
    """
    rows = len(run)
    if rows == length:
        if run.start_frame is not None and run.start_frame != start:
            renumbered.append(f"{label} ({run.start_frame} vs {start})")
        return _restart(run, start)
    if run.start_frame is not None and not (rows > length > rows - start + 1 and start > 1):
        offset = start - run.start_frame
    elif run.start_frame is not None:
        # Too many rows for the stated start, but not once the images before the benchmark's
        # first are dropped: the rows begin at image 1 (the OTB toolkit's CFWLB tiger1 holds 350
        # rows, 5 of them before image 6, for the 349 frames 6-354).
        offset = start - 1
        warnings.append(f"{label}: {rows} rows for {length} frames starting at image {start}; "
                        f"taken as images 1-{rows}, rows {start}-{rows} used")
    elif start > 1 and rows == length + start - 1:
        offset = start - 1
        warnings.append(f"{label}: {rows} rows cover images 1-{rows}; rows {start}-{rows} used")
    else:
        offset = 0
    if offset > 0:
        return _restart(_take(run, slice(offset, None)), start)
    if offset < 0 and rows - offset > length:  # checked before allocating -offset rows
        raise _StartsTooLate(f"{label}: {rows} rows starting at image {run.start_frame}, past "
                             f"the {length} frames from image {start}")
    if offset < 0:
        warnings.append(f"{label}: the result starts at image {run.start_frame}, after the "
                        f"sequence's first image {start}; {-offset} leading frames missing")
        return _restart(_prepend(run, -offset), start)
    return run


class _StartsTooLate(Exception):
    """A run that, once moved to its stated first image, would end after the sequence."""


def _restart(run: Run, start: int) -> Run:
    return run if run.start_frame is None else dataclasses.replace(run, start_frame=start)


def _take(run: Run, rows: slice) -> Run:
    def cut(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else array[rows].copy()
    return dataclasses.replace(run, boxes=cut(run.boxes), codes=cut(run.codes),
                               regions=cut(run.regions), times=cut(run.times),
                               confidence=cut(run.confidence))


def _prepend(run: Run, count: int) -> Run:
    def grow(array: np.ndarray | None, fill: float) -> np.ndarray | None:
        if array is None:
            return None
        head = np.full((count, *array.shape[1:]), fill, dtype=array.dtype)
        return np.concatenate([head, array])
    codes = grow(run.codes, SKIPPED)
    if codes is not None and count:
        codes[0] = FAILURE
    return dataclasses.replace(run, boxes=grow(run.boxes, np.nan), codes=codes,
                               regions=grow(run.regions, np.nan), times=grow(run.times, np.nan),
                               confidence=grow(run.confidence, np.nan))


def _pad(run: Run, length: int) -> Run:
    count = length - len(run)

    def grow(array: np.ndarray | None, fill: float) -> np.ndarray | None:
        if array is None:
            return None
        tail = np.full((count, *array.shape[1:]), fill, dtype=array.dtype)
        return np.concatenate([array, tail])
    codes = grow(run.codes, SKIPPED)
    if codes is not None:
        codes[length - count] = FAILURE
    return dataclasses.replace(run, boxes=grow(run.boxes, np.nan), codes=codes,
                               regions=grow(run.regions, np.nan), times=grow(run.times, np.nan),
                               confidence=grow(run.confidence, np.nan))


def _first_row_is_corners(run: Run, sequence: Any) -> bool:
    """True when the first row looks like corners ``x1, y1, x2, y2`` (Soarkey's SiamRPN)."""
    try:
        gt = np.asarray(sequence.groundtruth)
    except SiambenchError:
        return False
    if len(run) == 0 or gt.ndim != 2 or gt.shape[1] != 4 or len(gt) == 0:
        return False
    x, y, w, h = gt[0]
    first = run.boxes[0]  # type: ignore[index]
    if not (np.isfinite(first).all() and np.isfinite(gt[0]).all()) or w <= 4 or h <= 4:
        return False
    as_corners = abs(first[2] - (x + w - 1)) <= 2 and abs(first[3] - (y + h - 1)) <= 2
    as_box = abs(first[2] - w) <= 2 and abs(first[3] - h) <= 2
    return bool(as_corners and not as_box)
