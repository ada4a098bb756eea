"""Shared machinery of the metric families: input checks, exact threshold counting, histograms.

Curves are computed by counting, never by broadcasting every frame against every threshold:
for each frame the number of thresholds strictly below its value (``np.searchsorted(thr, v,
"left")``, obtained arithmetically on the uniform grid and recounted exactly near grid points) is
histogrammed per segment (a (tracker, sequence) pair) with one ``np.bincount``. A strict success
``v > thr[i]`` holds iff ``i < count``; a precision hit ``v <= thr[i]`` holds iff ``i >= count``.
The counts are exact, so curves equal the broadcast ones (got10k's) bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from siambench.errors import SiambenchError


class ScoringError(SiambenchError, ValueError):
    """Raw results that cannot be scored against their ground truth (wrong length, bad shape)."""


def as_runs(value: Any, width: int | tuple[int, ...], what: str) -> list[np.ndarray]:
    """One run ``(N, width)`` or several (a list, or a ``(R, N, width)`` array) as a list of 2-D arrays."""
    widths = (width,) if isinstance(width, int) else width
    if isinstance(value, np.ndarray) and value.ndim == 3:
        runs = list(value)
    elif isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and value
                                           and np.ndim(value[0]) == 1):
        runs = [np.asarray(value, dtype=np.float64)]
    else:
        runs = [np.asarray(v, dtype=np.float64) for v in value]
    if not runs:
        raise ScoringError(f"{what}: no runs given")
    for r in runs:
        if r.ndim != 2 or r.shape[1] not in widths:
            raise ScoringError(f"{what}: expected boxes of shape (N, {' or '.join(map(str, widths))}), "
                               f"got {r.shape}")
    return runs


def grid_counts(values: np.ndarray, scale: float, thresholds: np.ndarray, nan_count: int,
                 out: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> None:
    """``out[i] = #{thresholds < values[i]}`` for ``thresholds == arange(n) / scale`` (exact).

    ``ceil(v * scale)``; values within 1e-6 grid steps of a grid point are recounted with
    ``np.searchsorted`` so rounding never moves a value across a threshold. NaN gives ``nan_count``.
    """
    np.multiply(values, scale, out=t1)
    np.rint(t1, out=t2)
    t2 -= t1
    np.abs(t2, out=t2)
    near = t2 < 1e-6
    np.ceil(t1, out=t1)
    np.fmax(t1, 0.0, out=t1)
    np.minimum(t1, float(len(thresholds)), out=t1)
    if nan_count:
        t1[np.isnan(values)] = nan_count
    out[...] = t1
    if near.any():
        out[near] = np.searchsorted(thresholds, values[near], side="left")


def segment_histogram(segments: np.ndarray, counts: np.ndarray, n_segments: int,
                      n_bins: int) -> np.ndarray:
    """``(n_segments, n_bins)`` int64 histogram of ``counts`` per segment id (ids >= n_segments dropped)."""
    keys = segments * n_bins
    keys += counts
    hist = np.bincount(keys, minlength=(n_segments + 1) * n_bins)
    return hist[: n_segments * n_bins].reshape(n_segments, n_bins)


def success_from_histogram(hist: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Strict success curves ``#(v > thr[i]) / frames`` from count histograms ``(..., n + 1)``."""
    cum = np.cumsum(hist, axis=-1)[..., :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (frames[..., None] - cum) / frames[..., None]


def precision_from_histogram(hist: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Hit curves ``#(v <= thr[i]) / frames`` from count histograms ``(..., n + 1)``."""
    cum = np.cumsum(hist, axis=-1)[..., :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return cum / frames[..., None]
