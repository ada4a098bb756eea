"""Context crops of the Siamese trackers: siambench's one-warp crop and the references' crops.

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

:func:`crop_reference` reproduces the reference implementations' crops bit for bit (checked
against their recorded crops by ``tests/test_parity.py``): pad with the border colour, cut the
window, ``cv2.resize`` (bilinear). The methods (:data:`CROP_METHODS`) differ in three details:

- ``pysot``: side ``round(size)`` half to even (Python 3), corner ``floor(cx − (side+1)/2 + 0.5)``,
  border colour truncated to uint8 (assigned into a uint8 array);
- ``dasiamrpn``: side and corner ``round(cx − (side+1)/2)`` with Python 2's half-away-from-zero
  ``round``, border truncated;
- ``siamfc`` (siamfc-pytorch and siamrpn-pytorch ``crop_and_resize``): side half to even, corner
  ``np.round(cx − (side−1)/2)`` computed in the centre's dtype (float32 state there), border
  colour rounded (``cv2.copyMakeBorder``).

pysot and DaSiamRPN skip the resize when the side equals the output size (siamfc-pytorch
resizes anyway, which OpenCV turns into a copy). ``warp`` (:func:`crop_window`) is siambench's
own crop and its default: one affine warp, no padded copy of the frame.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import cv2
import numpy as np

from siambench.errors import SiambenchError

__all__ = ["CROP_METHODS", "context_size", "crop_corner", "crop_geometry", "crop_reference", "crop_side",
           "crop_window", "mean_colour", "round_half_away"]

CropMethod = Literal["warp", "pysot", "dasiamrpn", "siamfc", "tensor"]
#: The ``crop`` parameter values of the Siamese trackers: siambench's warp, a reference's crop, or
#: the warp's windows sampled by torch on the network's device (:mod:`siambench.trackers.tensor_crops`).
CROP_METHODS: tuple[str, ...] = get_args(CropMethod)


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


def round_half_away(value: float) -> float:
    """Python 2's ``round``: halves go away from zero (``round_half_away(-2.5) == -3.0``)."""
    return math.copysign(math.floor(abs(value) + 0.5), value)


def crop_side(size: float, method: str = "warp") -> int:
    """The integer window side a crop method makes of ``size`` (at least 1).

    ``warp`` / ``tensor``: half up (``floor(size + 0.5)``); ``pysot`` / ``siamfc``: half to even (Python 3
    ``round``); ``dasiamrpn``: half away from zero (its Python 2 ``round``).
    """
    if method == "dasiamrpn":
        side = round_half_away(float(size))
    elif method in ("pysot", "siamfc"):
        side = round(float(size))
    else:
        side = math.floor(float(size) + 0.5)
    return max(1, int(side))


def _reference_corner(centre: np.floating | float, side: int, method: str) -> int:
    if method == "pysot":
        return int(math.floor(float(centre) - (side + 1) / 2 + 0.5))
    if method == "dasiamrpn":
        return int(round_half_away(float(centre) - (side + 1) / 2))
    # siamfc-pytorch: np.round(center - (size - 1) / 2) in the centre's own dtype (float32 state)
    return int(np.round(np.asarray(centre) - (side - 1) / 2))


def crop_geometry(centre: tuple[float, float] | np.ndarray, size: float,
                  method: str = "warp") -> tuple[int, int, int]:
    """``(xmin, ymin, side)``: the frame-array window a crop of ``method`` cuts (before resizing).

    ``warp`` (and ``tensor``, the same windows) uses the pysot corner; a siamfc-style warp
    (:func:`crop_window` with ``corner="siamfc"``) is ``method="siamfc-warp"``.
    """
    if method in ("warp", "tensor", "siamfc-warp"):
        side = crop_side(size, "warp")
        corner = "siamfc" if method == "siamfc-warp" else "pysot"
        return (int(crop_corner(float(centre[0]), side, corner)),
                int(crop_corner(float(centre[1]), side, corner)), side)
    side = crop_side(size, method)
    return _reference_corner(centre[0], side, method), _reference_corner(centre[1], side, method), side


def crop_reference(frame: np.ndarray, centre: tuple[float, float] | np.ndarray, size: float, out: int,
                   border: tuple[float, float, float] | np.ndarray, method: str) -> np.ndarray:
    """The ``out x out x 3`` crop of ``method`` (``pysot``, ``dasiamrpn``, ``siamfc``; table above).

    ``centre`` = ``(cx, cy)`` in frame-array pixels; for ``siamfc`` a float32 centre is used in
    float32 arithmetic as siamfc-pytorch's state is. Only the part of the window inside the frame
    is copied (the references pad the whole frame first; the crop is the same). Returns a new
    array of the frame's dtype (uint8).
    """
    if method not in ("pysot", "dasiamrpn", "siamfc"):
        raise SiambenchError(f"crop method {method!r} has no reference crop; expected one of "
                             "pysot, dasiamrpn, siamfc")
    side = crop_side(size, method)
    xmin = _reference_corner(centre[0], side, method)
    ymin = _reference_corner(centre[1], side, method)
    colour = np.asarray(border, dtype=np.float64)
    fill = np.rint(colour) if method == "siamfc" else np.trunc(colour)
    patch = np.empty((side, side, frame.shape[2]), dtype=frame.dtype)
    patch[:] = np.clip(fill, 0, 255).astype(frame.dtype)
    height, width = frame.shape[:2]
    x0, y0 = max(xmin, 0), max(ymin, 0)
    x1, y1 = min(xmin + side, width), min(ymin + side, height)
    if x0 < x1 and y0 < y1:
        patch[y0 - ymin:y1 - ymin, x0 - xmin:x1 - xmin] = frame[y0:y1, x0:x1]
    if side == out and method != "siamfc":
        return patch
    return cv2.resize(patch, (out, out), interpolation=cv2.INTER_LINEAR)
