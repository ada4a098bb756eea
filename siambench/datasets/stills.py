"""Still images as training sequences (COCO, ImageNet DET): one 1-frame sequence per object.

A training pair of such a sequence is the image and an augmented copy of it, as DaSiamRPN trains
with detection data: the pair sampler draws the only frame as both template and search frame,
and the two crops draw their shift, scale (and blur, colour) independently
(:func:`siambench.train.augment.augment_crop`), so the search crop sees the target displaced and
rescaled against the template.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.base import Sequence

__all__ = ["still_sequence"]


def still_sequence(name: str, image: Callable[[], Path | None], box: Callable[[], np.ndarray], *,
                   dataset: str, image_size: tuple[int, int] | None = None,
                   meta: dict[str, Any] | None = None) -> Sequence:
    """A 1-frame :class:`Sequence` of one object: ``image()`` its file (None: annotations
    only), ``box()`` its 0-based ``x, y, w, h``."""
    def frame_paths() -> list[Path] | None:
        path = image()
        return None if path is None else [path]

    return Sequence(name, groundtruth=lambda: np.asarray(box(), dtype=np.float64).reshape(1, 4),
                    frame_paths=frame_paths, image_size=image_size, dataset=dataset, length=1,
                    meta=meta or {})
