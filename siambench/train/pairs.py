"""Training pairs: which frames of which tracks are usable, and the seeded pair table of an epoch.

A :class:`Track` is plain, picklable data (frame paths as strings, 0-based ``x, y, w, h``
boxes, usable frame indices) so that DataLoader workers started with ``spawn`` need no
dataset loader. Boxes are converted to 0-based frame-array coordinates by subtracting the
dataset's ``origin`` (1 for OTB-style ground truth, 0 for VOT / GOT-10k); polygons become
their axis-aligned bounding box.

A frame is usable when its box is finite with positive width and height and the target is
not flagged absent (``Sequence.absent``) nor fully covered (``cover == 0``). A sequence with
no usable frame is skipped and reported (logged and listed in ``PairIndex.skipped``).

Pairs (pysot ``SubDataset.get_positive_pair``): a dataset by weight, a track uniformly, the
template frame uniformly among usable frames, the search frame uniformly among usable frames
at most ``frame_range`` frames from it (frame-index distance; a dataset may have its own,
``PairIndex.frame_ranges``, as pysot's per-dataset ``FRAME_RANGE``). Negative pairs take the
search frame from another track. The table of epoch ``e`` depends only on ``(seed, e)``: a
dataset's own frame range changes which frames are drawn, never the sequence of draws. A
still image (a 1-frame track: COCO, ImageNet DET) pairs with itself; its two crops differ by
their independent augmentation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siambench.datasets.base import Dataset
from siambench.errors import SiambenchError

log = logging.getLogger("siambench.train")

#: Columns of a pair table row.
PAIR_COLUMNS = ("template_track", "template_frame", "search_track", "search_frame",
                "negative", "aug_seed")


@dataclass
class Track:
    """One training target: ``frames`` paths (str), ``boxes`` ``(N, 4)`` 0-based ``x, y, w, h``,
    ``usable`` sorted frame indices, ``group`` the index of its dataset in the mix."""

    name: str
    frames: list[str]
    boxes: np.ndarray
    usable: np.ndarray
    group: int = 0


@dataclass
class PairIndex:
    """Usable tracks of one or several datasets, with mixing weights per dataset and each
    dataset's own frame range (None: the one :meth:`sample_pairs` is given)."""

    tracks: list[Track]
    weights: np.ndarray
    groups: list[str]
    skipped: list[str] = field(default_factory=list)
    frame_ranges: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_group = [np.flatnonzero([t.group == g for t in self.tracks])
                          for g in range(len(self.groups))]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_by_group"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def tracks_of_group(self) -> list[np.ndarray]:
        return self._by_group

    def sample_pairs(self, count: int, *, seed: int, epoch: int, frame_range: int = 100,
                     neg_prob: float = 0.0) -> np.ndarray:
        """The ``(count, 6)`` int64 pair table of ``epoch`` (columns :data:`PAIR_COLUMNS`)."""
        rng = np.random.default_rng([int(seed), int(epoch), 0x5A1])
        table = np.empty((count, len(PAIR_COLUMNS)), dtype=np.int64)
        for row in range(count):
            table[row] = self.draw(rng, frame_range=frame_range, neg_prob=neg_prob)
        return table

    def draw(self, rng: np.random.Generator, *, frame_range: int = 100,
             neg_prob: float = 0.0) -> tuple[int, int, int, int, int, int]:
        """One pair drawn with ``rng`` (see the module docstring)."""
        group = int(rng.choice(len(self.groups), p=self.weights)) if len(self.groups) > 1 else 0
        candidates = self._by_group[group]
        index = int(candidates[rng.integers(len(candidates))])
        track = self.tracks[index]
        if group < len(self.frame_ranges) and self.frame_ranges[group] is not None:
            frame_range = int(self.frame_ranges[group])
        template = int(track.usable[rng.integers(len(track.usable))])
        negative = len(self.tracks) > 1 and neg_prob > 0 and rng.random() < neg_prob
        if negative:
            other = int(rng.integers(len(self.tracks) - 1))
            other += other >= index
            usable = self.tracks[other].usable
            search_track, search = other, int(usable[rng.integers(len(usable))])
        else:
            usable = track.usable
            lo = np.searchsorted(usable, template - frame_range, side="left")
            hi = np.searchsorted(usable, template + frame_range, side="right")
            search_track, search = index, int(usable[lo + rng.integers(hi - lo)])
        seed = int(rng.integers(2**62))
        return index, template, search_track, search, int(negative), seed


def usable_frames(boxes: np.ndarray, absent: np.ndarray | None = None,
                  cover: np.ndarray | None = None) -> np.ndarray:
    """Indices of frames with a finite, positive-area box, not absent, cover ≠ 0."""
    ok = np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    n = len(boxes)
    if absent is not None:
        flags = np.zeros(n, dtype=bool)
        flags[:min(n, len(absent))] = np.asarray(absent, dtype=bool)[:n]
        ok &= ~flags
    if cover is not None:
        values = np.ones(n)
        values[:min(n, len(cover))] = np.asarray(cover, dtype=np.float64)[:n]
        ok &= values != 0
    return np.flatnonzero(ok)


def _rect_boxes(groundtruth: np.ndarray) -> np.ndarray:
    gt = np.asarray(groundtruth, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] not in (4, 8):
        raise SiambenchError(f"ground truth must be (N, 4) or (N, 8), got {gt.shape}")
    if gt.shape[1] == 4:
        return gt.copy()
    xs, ys = gt[:, 0::2], gt[:, 1::2]
    with np.errstate(invalid="ignore"):
        x1, y1 = xs.min(axis=1), ys.min(axis=1)
        return np.stack([x1, y1, xs.max(axis=1) - x1, ys.max(axis=1) - y1], axis=1)


def build_index(datasets: SequenceABC[tuple[Dataset, float, int]], *,
                exclude: SequenceABC[str] = ()) -> PairIndex:
    """Usable tracks of ``(dataset, weight, origin)`` triples (or ``(dataset, weight, origin,
    frame_range)``: the dataset's own frame range, None for the run's); sequences named in
    ``exclude`` (held out for validation) are left out. Raises one error when nothing is usable."""
    tracks: list[Track] = []
    skipped: list[str] = []
    names: list[str] = []
    weights: list[float] = []
    frame_ranges: list[int | None] = []
    excluded = set(exclude)
    for group, item in enumerate(datasets):
        dataset, weight, origin = item[:3]
        own_range = item[3] if len(item) > 3 else None
        if not weight > 0:
            raise SiambenchError(f"dataset weight must be positive, got {weight!r} for {dataset.name}")
        if own_range is not None and (isinstance(own_range, bool) or not int(own_range) == own_range
                                      or own_range < 1):
            raise SiambenchError(f"frame_range of {dataset.name} must be a positive integer, "
                                 f"got {own_range!r}")
        names.append(dataset.name)
        weights.append(float(weight))
        frame_ranges.append(None if own_range is None else int(own_range))
        before = len(tracks)
        for sequence in dataset:
            if sequence.name in excluded:
                continue
            label = f"{dataset.name}/{sequence.name}"
            if not sequence.has_frames:
                skipped.append(f"{label}: annotations only, no images")
                log.warning("training: skipping %s: annotations only, no images", label)
                continue
            frames = [str(p) for p in sequence.frame_paths]
            boxes = _rect_boxes(sequence.groundtruth)
            n = min(len(frames), len(boxes))
            if len(frames) != len(boxes):
                log.warning("training: %s has %d frames and %d ground-truth rows; using the "
                            "first %d", label, len(frames), len(boxes), n)
            boxes = boxes[:n] - np.array([origin, origin, 0.0, 0.0])
            usable = usable_frames(boxes, sequence.absent, sequence.cover)
            if usable.size == 0:
                skipped.append(f"{label}: the target is absent or has no area in every frame")
                log.warning("training: skipping %s: the target is absent or has no area in "
                            "every frame", label)
                continue
            tracks.append(Track(sequence.name, frames[:n], boxes, usable, group))
        if len(tracks) == before:
            raise SiambenchError(
                f"dataset {dataset.name} ({len(dataset)} sequences at {dataset.root}) has no "
                "usable training pairs: every sequence lacks images or has no frame where the "
                "target is visible with a positive-area box")
    if not tracks:
        raise SiambenchError("no usable training pairs: no dataset given")
    total = np.asarray(weights)
    return PairIndex(tracks, total / total.sum(), names, skipped, frame_ranges)
