"""Shared machinery of the metric families: input checks and curves from count histograms.

Curves are computed by counting, never by broadcasting every frame against every threshold: for
each frame the number of thresholds strictly below its value (``np.searchsorted(thr, v, "left")``,
obtained arithmetically on the uniform grid and recounted exactly near grid points, see
:mod:`siambench.metrics.ope_fast`) is histogrammed per run with ``np.bincount``. A strict success
``v > thr[i]`` holds iff ``i < count``; a precision hit ``v <= thr[i]`` holds iff ``i >= count``.
The counts are exact, so curves equal the broadcast ones (got10k's) bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from siambench.errors import SiambenchError


class ScoringError(SiambenchError, ValueError):
    """Raw results that cannot be scored against their ground truth (wrong length, bad shape)."""


def as_runs(value: Any, width: int | tuple[int, ...], what: str) -> list[np.ndarray]:
    """One run ``(N, width)`` or several (a list, or a ``(R, N, width)`` array) as a list of 2-D arrays."""
    widths = (width,) if isinstance(width, int) else width
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype == np.float64 \
            and value.shape[1] in widths:
        return [value]   # the common case, without conversions
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


def score_each(results: Mapping[str, Mapping[str, Any]], groundtruth: Mapping[str, Any],
               score_one: Callable[[str, str, Any], Any]) -> dict[str, dict[str, Any]]:
    """``score_one(tracker, sequence, runs)`` for every sequence of every tracker, as
    ``scores[tracker][sequence]``; errors name the tracker and the sequence."""
    scores: dict[str, dict[str, Any]] = {}
    for tracker, by_seq in results.items():
        scores[tracker] = {}
        for seq, runs in by_seq.items():
            if seq not in groundtruth:
                raise ScoringError(f"tracker {tracker!r}: sequence {seq!r} has results but no "
                                   "ground truth")
            try:
                scores[tracker][seq] = score_one(tracker, seq, runs)
            except ScoringError as error:
                raise ScoringError(f"tracker {tracker!r}, sequence {seq!r}: {error}") from None
    return scores
