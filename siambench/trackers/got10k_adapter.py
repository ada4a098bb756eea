"""Drive a siambench tracker from the got10k toolkit (``got10k.trackers.Tracker`` interface).

got10k calls ``init(image, box)`` / ``update(image) -> box`` with PIL images (or arrays) and
``x, y, w, h`` boxes in the ground truth's frame; the adapter converts images to RGB ``uint8``
arrays and returns the siambench tracker's box. got10k is a test extra, imported on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from siambench.errors import SiambenchError
from siambench.trackers.base import Tracker

__all__ = ["as_got10k", "to_rgb_array"]


def to_rgb_array(image: Any) -> np.ndarray:
    """A PIL image (any mode) or an RGB array as an RGB ``uint8`` ``(H, W, 3)`` array."""
    if hasattr(image, "convert") and hasattr(image, "mode"):
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise SiambenchError(f"expected a PIL image or an (H, W, 3) RGB array, got shape "
                             f"{array.shape}")
    return np.ascontiguousarray(array, dtype=np.uint8)


def as_got10k(tracker: Tracker) -> Any:
    """A ``got10k.trackers.Tracker`` instance wrapping ``tracker`` (same name and determinism)."""
    try:
        from got10k.trackers import Tracker as Got10kTracker
    except ImportError as error:
        raise SiambenchError("as_got10k needs the got10k package (pip install got10k, or "
                             "siambench's 'test' extra)") from error

    class SiambenchGot10kTracker(Got10kTracker):  # type: ignore[misc, valid-type]
        """got10k view of a siambench tracker; ``last_score`` holds the last update's score."""

        def __init__(self, inner: Tracker) -> None:
            super().__init__(name=inner.name, is_deterministic=bool(inner.deterministic))
            self.inner = inner
            self.last_score = 1.0

        def init(self, image: Any, box: Any) -> None:
            self.inner.init(to_rgb_array(image), np.asarray(box, dtype=np.float64))
            self.last_score = 1.0

        def update(self, image: Any) -> np.ndarray:
            output = self.inner.update(to_rgb_array(image))
            self.last_score = output.score
            return output.box

    return SiambenchGot10kTracker(tracker)
