"""The tracker contract: ``init(frame, box)`` then ``update(frame) -> TrackOutput(box, score)``.

Conventions
-----------
* Frames are RGB ``uint8`` arrays ``(H, W, 3)``; a tracker whose network expects BGR converts.
* Boxes are float ``x, y, w, h`` in the *same pixel frame as the ground truth* the tracker was
  initialised with: whatever ``init`` received, ``update`` answers in that frame. Siamese trackers
  read the box centre as ``x + (w - 1) / 2`` (DESIGN.md §2) and treat it as a column / row of the
  frame array; nothing is shifted by 1 for 1-based benchmarks (a static target is returned
  unchanged).
* ``score`` is the tracker's confidence for the returned box (1 for trackers without one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from siambench.errors import SiambenchError

__all__ = ["BatchTracker", "TrackOutput", "Tracker", "check_box", "check_frame"]


@dataclass(frozen=True)
class TrackOutput:
    """One frame's answer: ``box`` float64 ``(4,)`` ``x, y, w, h`` and a float ``score``."""

    box: np.ndarray
    score: float

    def __post_init__(self) -> None:
        box = np.array(self.box, dtype=np.float64, copy=True).reshape(-1)
        if box.shape != (4,):
            raise SiambenchError(f"a TrackOutput box must hold 4 numbers x, y, w, h, got {box.shape}")
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "score", float(self.score))


class Tracker(ABC):
    """A single-object tracker (DESIGN.md §2).

    Subclasses set ``name`` and ``deterministic`` (True when two runs on the same frames give the
    same boxes) and implement :meth:`init` and :meth:`update`.
    """

    name: str = "tracker"
    deterministic: bool = True

    @abstractmethod
    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Start tracking the target ``box`` (``x, y, w, h``) in the RGB ``uint8`` ``frame``."""

    @abstractmethod
    def update(self, frame: np.ndarray) -> TrackOutput:
        """Locate the target in the next frame."""

    def batched(self, capacity: int) -> BatchTracker | None:
        """A :class:`BatchTracker` of ``capacity`` slots with this tracker's network and
        parameters (shared, not copied), or None when the tracker cannot batch (the default:
        the run engine then tracks one sequence at a time, as with ``--batch 1``)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class BatchTracker(ABC):
    """Tracks up to ``capacity`` independent sequences at once, one *slot* (``0 … capacity −
    1``) each: ``siambench run --batch N`` (the run engine) gives every active slot the next
    frame it needs and calls :meth:`init_slots` / :meth:`update_slots` once per step for all of
    them, so one batched network forward serves many sequences.

    Contract: for each slot, the answers equal (boxes within 1e-3 px) those of the
    per-sequence tracker it came from (:meth:`Tracker.batched`) given the same frames and
    boxes; slots never influence each other; a slot is re-initialised by :meth:`init_slots`
    at any time (a VOT reset, or the next sequence taking a finished one's slot). Frames and
    boxes follow the :class:`Tracker` conventions. Plug-in trackers opt in by returning one from
    :meth:`Tracker.batched`.
    """

    name: str = "tracker"
    deterministic: bool = True
    capacity: int = 1

    @abstractmethod
    def init_slots(self, slots: Sequence[int], frames: Sequence[np.ndarray],
                   boxes: Sequence[np.ndarray]) -> None:
        """Start slot ``slots[i]`` on target ``boxes[i]`` (``x, y, w, h``) in ``frames[i]``."""

    @abstractmethod
    def update_slots(self, slots: Sequence[int], frames: Sequence[np.ndarray]
                     ) -> list[TrackOutput]:
        """Locate each slot's target in its next frame; one :class:`TrackOutput` per slot, in
        the order given."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, capacity={self.capacity})"


def check_frame(frame: object) -> np.ndarray:
    """``frame`` as a ``(H, W, 3)`` ``uint8`` array (not copied), or a :class:`SiambenchError`."""
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise SiambenchError(f"a frame must be an RGB uint8 array of shape (H, W, 3), "
                             f"got dtype {array.dtype} and shape {array.shape}")
    return array


def check_box(box: object) -> np.ndarray:
    """``box`` as a float64 ``(4,)`` copy ``x, y, w, h`` with finite values and positive size."""
    array = np.array(box, dtype=np.float64, copy=True).reshape(-1)
    if array.shape != (4,) or not np.all(np.isfinite(array)) or array[2] <= 0 or array[3] <= 0:
        raise SiambenchError(f"an initial box must be 4 finite numbers x, y, w, h with w, h > 0, "
                             f"got {np.asarray(box).tolist()}")
    return array


def state_pair(value: Sequence[float] | np.ndarray, what: str, *,
               positive: bool = False) -> np.ndarray:
    """A tracker-state pair (a centre ``(cx, cy)`` or a size ``(w, h)``, pixels) as float64
    ``(2,)``; anything else is a :class:`SiambenchError` naming ``what``."""
    array = np.array(value, dtype=np.float64).reshape(-1)
    if array.shape != (2,) or not np.all(np.isfinite(array)) or (positive and np.any(array <= 0)):
        rule = "2 finite positive numbers" if positive else "2 finite numbers"
        raise SiambenchError(f"tracker state {what} must be {rule}, got {np.asarray(value).tolist()}")
    return array
