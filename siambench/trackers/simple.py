"""Trivial trackers for tests and sanity baselines: ``identity`` and ``oracle``."""

from __future__ import annotations

import numpy as np

from siambench.errors import SiambenchError
from siambench.trackers.base import Tracker, TrackOutput, check_box

__all__ = ["IdentityTracker", "OracleTracker"]


class IdentityTracker(Tracker):
    """Returns the initial box on every frame, with score 1."""

    name = "identity"
    deterministic = True

    def __init__(self) -> None:
        self._box: np.ndarray | None = None

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Remember ``box`` (``x, y, w, h``)."""
        self._box = check_box(box)

    def update(self, frame: np.ndarray) -> TrackOutput:
        """The initial box."""
        if self._box is None:
            raise SiambenchError("IdentityTracker.update called before init")
        return TrackOutput(self._box, 1.0)


class OracleTracker(Tracker):
    """Returns the ground truth given at construction (frame ``i`` after ``init`` at frame ``j``
    answers row ``j + i``), score 1; a test double for protocols and metrics.

    ``groundtruth`` is an ``(N, 4)`` array of ``x, y, w, h`` rows (copied; NaN rows are returned
    as they are). ``init`` locates its frame as the first row equal to the given box after the
    previous position (VOT re-initialisations), else continues from the current position.
    """

    name = "oracle"
    deterministic = True

    def __init__(self, groundtruth: np.ndarray) -> None:
        gt = np.array(groundtruth, dtype=np.float64, copy=True)
        if gt.ndim != 2 or gt.shape[1] != 4 or len(gt) == 0:
            raise SiambenchError(f"oracle groundtruth must be an (N, 4) x, y, w, h array, "
                                 f"got shape {gt.shape}")
        self._gt = gt
        self._index = -1

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Find the frame whose ground truth is ``box`` (searching forward), and start there."""
        box = np.asarray(box, dtype=np.float64).reshape(-1)
        start = max(self._index, 0)
        rows = np.flatnonzero(np.all(np.isclose(self._gt[start:], box, rtol=0, atol=1e-9),
                                     axis=1))
        self._index = start + int(rows[0]) if len(rows) else start

    def update(self, frame: np.ndarray) -> TrackOutput:
        """The next ground-truth row."""
        if self._index < 0:
            raise SiambenchError("OracleTracker.update called before init")
        self._index += 1
        if self._index >= len(self._gt):
            raise SiambenchError(f"OracleTracker ran past its {len(self._gt)} ground-truth rows")
        return TrackOutput(self._gt[self._index], 1.0)
