"""Context crops of the Siamese trackers, each done in one ``cv2.warpAffine``.

Geometry (spec §3.1, pysot ``SiameseTracker.get_subwindow``): a square window of integer side
``size`` around the centre ``(cx, cy)`` (frame-array coordinates: pixel ``i`` has its centre at
``i``) with ``c = (size + 1) / 2``, ``xmin = floor(cx - c + 0.5)``, ``xmax = xmin + size - 1``
(same for y), parts outside the image filled with a constant colour (the first frame's
per-channel mean), resized bilinearly to ``out x out``. ``corner="siamfc"`` uses
siamfc-pytorch's ``crop_and_resize`` corner instead: ``round(c - (size - 1) / 2)`` (numpy
round-half-even). The warp maps output pixel ``u`` to source ``xmin + (u + 0.5)·size/out − 0.5``,
which is where ``cv2.resize`` of the padded window samples; results agree with
pad-then-resize up to interpolation (OpenCV's fixed-point bilinear weights, and the outermost
half pixel when ``size < out``, where resize replicates the window edge and the warp reads the
neighbouring image pixel).
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

__all__ = ["context_size", "crop_corner", "crop_window", "mean_colour"]


def context_size(w: float, h: float, context_amount: float = 0.5) -> float:
    """Side of the context square: ``sqrt((w + p)(h + p))`` with ``p = context_amount·(w + h)``."""
    pad = context_amount * (w + h)
    return math.sqrt((w + pad) * (h + pad))


def mean_colour(frame: np.ndarray) -> tuple[float, float, float]:
    """Per-channel mean of a ``(H, W, 3)`` frame (the border colour of every crop of a sequence)."""
    means = frame.reshape(-1, frame.shape[-1]).mean(axis=0, dtype=np.float64)
    return tuple(float(v) for v in means)  # type: ignore[return-value]


def crop_corner(centre: float, size: int,
                corner: Literal["pysot", "siamfc"] = "pysot") -> float:
    """Left (or top) pixel index of a window of integer side ``size`` centred at ``centre``."""
    if corner == "pysot":
        return float(math.floor(centre - (size + 1) / 2 + 0.5))
    return float(np.round(centre - (size - 1) / 2))


def crop_window(frame: np.ndarray, centre: tuple[float, float] | np.ndarray, size: float,
                out: int, border: tuple[float, float, float], *,
                corner: Literal["pysot", "siamfc"] = "pysot") -> np.ndarray:
    """The ``out x out x 3`` crop of side ``round(size)`` (at least 1) around ``centre`` = ``(cx, cy)``.

    ``size`` is rounded half up (``floor(size + 0.5)``; pysot's Python-3 ``round(s_x)`` sends exact
    halves to even, siamfc-pytorch's ``np.round`` too — they differ only at exact .5). The border
    colour is rounded to the frame's dtype by OpenCV. The input frame is not modified; the result
    is a new array of the frame's dtype.
    """
    side = max(1, int(math.floor(float(size) + 0.5)))
    xmin = crop_corner(float(centre[0]), side, corner)
    ymin = crop_corner(float(centre[1]), side, corner)
    scale = side / out
    matrix = np.array([[scale, 0.0, xmin + 0.5 * scale - 0.5],
                       [0.0, scale, ymin + 0.5 * scale - 0.5]], dtype=np.float64)
    return cv2.warpAffine(frame, matrix, (out, out),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(border))
