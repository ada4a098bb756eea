"""SiamRPN anchors (spec §2.1–2.2; pysot ``Anchors`` / ``generate_anchor``, DaSiamRPN).

Base shapes: for each ratio ``r`` (= h / w) with base area ``stride²``,
``ws = int(√(stride² / r))``, ``hs = int(ws · r)`` (both truncated), times each scale;
anchor type ``a = ratio_index · len(scales) + scale_index``. The defaults give, in crop
pixels, 104×32, 88×40, 64×64, 40×80, 32×96.

Layout: ``k·S·S`` rows ordered ``a·S·S + y·S + x`` (anchor type, then row, then column — the
flattening of the heads' ``(k, S, S)`` maps, spec §1.4). Rows are ``cx, cy, w, h`` in pixels
of the resized search crop, float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from siambench.errors import SiambenchError

DEFAULT_RATIOS: tuple[float, ...] = (0.33, 0.5, 1, 2, 3)
DEFAULT_SCALES: tuple[float, ...] = (8,)


def base_anchor_sizes(stride: int = 8, ratios: Sequence[float] = DEFAULT_RATIOS,
                      scales: Sequence[float] = DEFAULT_SCALES) -> np.ndarray:
    """``(k, 2)`` anchor ``w, h`` per anchor type (truncating rule above; pysot ``Anchors``)."""
    if not ratios or not scales:
        raise SiambenchError("anchors need at least one ratio and one scale")
    size = stride * stride
    rows = []
    for r in ratios:
        if not r > 0:
            raise SiambenchError(f"anchor ratio must be positive, got {r!r}")
        ws = int(math.sqrt(size * 1.0 / r))
        hs = int(ws * r)
        for s in scales:
            rows.append((ws * s, hs * s))
    return np.asarray(rows, dtype=np.float64)


def _grid(centres: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Tile ``k`` sizes over the ``S×S`` centre grid in ``a·S·S + y·S + x`` order."""
    s = centres.shape[0]
    k = sizes.shape[0]
    xx, yy = np.meshgrid(centres, centres)  # xx varies along columns (x), yy along rows (y)
    out = np.empty((k, s * s, 4), dtype=np.float64)
    out[:, :, 0] = xx.ravel()[None, :]
    out[:, :, 1] = yy.ravel()[None, :]
    out[:, :, 2] = sizes[:, 0:1]
    out[:, :, 3] = sizes[:, 1:2]
    return out.reshape(k * s * s, 4)


def _check_size(score_size: int) -> int:
    if int(score_size) != score_size or score_size < 1:
        raise SiambenchError(f"score_size must be a positive integer, got {score_size!r}")
    return int(score_size)


def generate_anchors(score_size: int, stride: int = 8, ratios: Sequence[float] = DEFAULT_RATIOS,
                     scales: Sequence[float] = DEFAULT_SCALES) -> np.ndarray:
    """Tracker anchors ``(k·S·S, 4)`` ``cx, cy, w, h``, centres relative to the search-crop centre.

    Centres ``ori + stride·i`` with the integer ``ori = −(S // 2)·stride`` (S = 17 → −64 … +64;
    pysot; DaSiamRPN under Python 2 — not its Python-3 ``/`` quirk).
    """
    s = _check_size(score_size)
    centres = -(s // 2) * stride + stride * np.arange(s, dtype=np.float64)
    return _grid(centres, base_anchor_sizes(stride, ratios, scales))


def anchors_absolute(score_size: int, search_size: int = 255, stride: int = 8,
                     ratios: Sequence[float] = DEFAULT_RATIOS,
                     scales: Sequence[float] = DEFAULT_SCALES) -> np.ndarray:
    """Training anchors ``(k·S·S, 4)`` ``cx, cy, w, h`` in absolute search-crop pixels.

    Centres ``search_size // 2 − (S // 2)·stride + stride·i`` (pysot ``AnchorTarget``:
    63, 71, …, 191 for S = 17 and a 255 crop).
    """
    s = _check_size(score_size)
    centres = search_size // 2 - (s // 2) * stride + stride * np.arange(s, dtype=np.float64)
    return _grid(centres, base_anchor_sizes(stride, ratios, scales))


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``cx, cy, w, h`` → ``x1, y1, x2, y2`` (``x1 = cx − w/2``, ``x2 = cx + w/2``; new array)."""
    b = np.asarray(boxes, dtype=np.float64)
    half = b[..., 2:4] / 2.0
    return np.concatenate([b[..., 0:2] - half, b[..., 0:2] + half], axis=-1)


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``x1, y1, x2, y2`` → ``cx, cy, w, h`` (pysot ``corner2center``; new array)."""
    b = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([(b[..., 0:2] + b[..., 2:4]) / 2.0, b[..., 2:4] - b[..., 0:2]], axis=-1)
