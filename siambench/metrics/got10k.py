"""GOT-10k metrics: average overlap (AO), success rates SR@0.5 and SR@0.75, speeds.

As got10k's ``ExperimentGOT10k.report`` (``experiments/got10k.py``) defines them:

* per run, IoUs of frames ``1 .. N-1`` (frame 0, the initialisation, excluded: ``skip_first``) with
  both boxes clipped to the image when its size is known (``rect_iou(..., bound=(W, H))``:
  ``x`` into ``[0, W]``, then ``w`` into ``[0, W - x]``);
* only frames with the target visible are kept (``cover > 0``; pass ``visible`` per frame,
  frame 0 included, or None for all frames);
* the IoUs of all repetitions are pooled, so a sequence's AO is the mean over its runs' frames;
  the overall AO / SR pool every frame of every run of every sequence (frame-weighted, not a mean
  of per-sequence means);
* ``sr50 = mean(IoU > 0.5)``, ``sr75 = mean(IoU > thr[75])`` on got10k's 101-point grid
  ``linspace(0, 1, 101)`` (strict ``>``); the 101-point success curve is returned for plots;
* speeds, from the valid (positive, non-NaN) frame times, init included: ``fps_mean`` = ``mean(1 / t)``
  (got10k's ``speed``; like AO, pooled over every frame of every repetition and, overall, of every
  sequence); ``fps_total`` = frames with a valid time / the sum of those times (pooled likewise).

One difference, documented: a NaN result row (the tracker gave no box) scores IoU 0 here, where
got10k's mean would become NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siambench.boxes import rect_iou
from siambench.metrics._core import ScoringError, as_runs, score_each

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 101)
SR50_THRESHOLD = 0.5
SR75_THRESHOLD = float(SUCCESS_THRESHOLDS[75])


@dataclass(frozen=True)
class GOT10kSequenceScore:
    """One tracker on one sequence: the pooled IoUs of its runs and its timing sums (over the
    valid times: ``sum(1 / t)``, their count and ``sum(t)``)."""

    ious: np.ndarray
    runs: int
    inv_time_sum: float = 0.0
    time_count: int = 0
    time_sum: float = 0.0

    @property
    def frames(self) -> int:
        """Scored frames per run."""
        return len(self.ious) // max(self.runs, 1)

    @property
    def ao(self) -> float:
        """Average overlap (NaN when no frame is scored)."""
        return float(np.mean(self.ious)) if len(self.ious) else float("nan")

    @property
    def sr50(self) -> float:
        """Fraction of frames with IoU > 0.5."""
        return float(np.mean(self.ious > SR50_THRESHOLD)) if len(self.ious) else float("nan")

    @property
    def sr75(self) -> float:
        """Fraction of frames with IoU > 0.75."""
        return float(np.mean(self.ious > SR75_THRESHOLD)) if len(self.ious) else float("nan")

    @property
    def fps_mean(self) -> float:
        """``mean(1 / t)`` over the valid frame times (got10k's speed; NaN without times)."""
        return self.inv_time_sum / self.time_count if self.time_count else float("nan")

    @property
    def fps_total(self) -> float:
        """Frames with a valid time / the sum of those times (NaN without times)."""
        return self.time_count / self.time_sum if self.time_count and self.time_sum > 0 \
            else float("nan")

    @property
    def success_curve(self) -> np.ndarray:
        """Fraction of frames with IoU > thr on the 101-point grid."""
        return success_curve(self.ious)


def success_curve(ious: np.ndarray) -> np.ndarray:
    """got10k's 101-point success curve ``mean(IoU > linspace(0, 1, 101))``."""
    if not len(ious):
        return np.full(len(SUCCESS_THRESHOLDS), np.nan)
    counts = np.searchsorted(SUCCESS_THRESHOLDS, ious, side="left")
    hist = np.bincount(counts, minlength=len(SUCCESS_THRESHOLDS) + 1)
    return (len(ious) - np.cumsum(hist)[:-1]) / len(ious)


@dataclass
class GOT10kReport:
    """``sequences``: ``tracker, sequence, frames, runs, ao, sr50, sr75, fps_mean, fps_total``;
    ``overall``: ``tracker, sequences, ao, sr50, sr75, fps_mean, fps_total``; ``curves[tracker]``:
    the pooled 101-point success curve; ``scores[tracker][sequence]``: the records. Unrounded
    fractions."""

    sequences: pd.DataFrame
    overall: pd.DataFrame
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, GOT10kSequenceScore]] = field(default_factory=dict)


def _time_sums(times: Any) -> tuple[float, int, float]:
    """``(sum(1 / t), count, sum(t))`` over the valid (positive, non-NaN) times."""
    if times is None:
        return 0.0, 0, 0.0
    if isinstance(times, np.ndarray):
        flat = times.astype(np.float64).ravel()
    else:
        parts = [np.asarray(t, dtype=np.float64).ravel() for t in times if t is not None]
        if not parts:
            return 0.0, 0, 0.0
        flat = np.concatenate(parts)
    with np.errstate(invalid="ignore"):
        flat = flat[flat > 0]
    return float(np.sum(1.0 / flat)), len(flat), float(np.sum(flat))


def got10k_sequence_score(runs: Any, groundtruth: Any, *, visible: Any = None,
                          image_size: tuple[float, float] | None = None, times: Any = None,
                          skip_first: bool = True) -> GOT10kSequenceScore:
    """Score one sequence.

    ``runs``: one ``(N, 4)`` result or a list of repetitions; ``groundtruth``: ``(N, 4)``;
    ``visible``: ``(N,)`` booleans (or cover levels: ``> 0`` means visible), frame 0 included;
    ``image_size``: ``(W, H)`` to clip boxes to the image, or None; ``times``: per-frame seconds
    (``(N,)``, ``(N, R)`` or a list per run). Inputs are never modified.
    """
    gt = np.asarray(groundtruth, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] != 4:
        raise ScoringError(f"ground truth: expected (N, 4) x, y, w, h rows, got {gt.shape}")
    run_list = as_runs(runs, 4, "GOT-10k results")
    keep = np.ones(len(gt), dtype=bool)
    if visible is not None:
        vis = np.asarray(visible)
        if vis.shape != (len(gt),):
            raise ScoringError(f"visible: expected {len(gt)} per-frame values, got shape {vis.shape}")
        keep &= vis > 0
    if skip_first and len(keep):
        keep[0] = False
    pooled = []
    for r, run in enumerate(run_list):
        if len(run) != len(gt):
            raise ScoringError(f"run {r + 1}: {len(run)} result rows but the ground truth has "
                               f"{len(gt)} (expected one box per frame)")
        iou = np.asarray(rect_iou(run[keep], gt[keep], bound=image_size), dtype=np.float64)
        pooled.append(np.nan_to_num(iou, nan=0.0))
    inv_sum, count, total = _time_sums(times)
    return GOT10kSequenceScore(np.concatenate(pooled), len(run_list), inv_sum, count, total)


def aggregate_got10k(scores: Mapping[str, Mapping[str, GOT10kSequenceScore]]) -> GOT10kReport:
    """Per-sequence and pooled overall tables from ``scores[tracker][sequence]``."""
    seq_rows: list[dict[str, Any]] = []
    overall_rows: list[dict[str, Any]] = []
    curves: dict[str, np.ndarray] = {}
    for tracker, by_seq in scores.items():
        for seq, s in by_seq.items():
            seq_rows.append({"tracker": tracker, "sequence": seq, "frames": s.frames, "runs": s.runs,
                             "ao": s.ao, "sr50": s.sr50, "sr75": s.sr75, "fps_mean": s.fps_mean,
                             "fps_total": s.fps_total})
        if not by_seq:
            continue
        ious = np.concatenate([s.ious for s in by_seq.values()])
        inv = sum(s.inv_time_sum for s in by_seq.values())
        count = sum(s.time_count for s in by_seq.values())
        seconds = sum(s.time_sum for s in by_seq.values())
        pooled = GOT10kSequenceScore(ious, 1, inv, count, seconds)
        curves[tracker] = pooled.success_curve
        overall_rows.append({"tracker": tracker, "sequences": len(by_seq), "ao": pooled.ao,
                             "sr50": pooled.sr50, "sr75": pooled.sr75, "fps_mean": pooled.fps_mean,
                             "fps_total": pooled.fps_total})
    return GOT10kReport(
        sequences=pd.DataFrame(seq_rows, columns=["tracker", "sequence", "frames", "runs", "ao", "sr50",
                                                  "sr75", "fps_mean", "fps_total"]),
        overall=pd.DataFrame(overall_rows, columns=["tracker", "sequences", "ao", "sr50", "sr75",
                                                    "fps_mean", "fps_total"]),
        curves=curves, scores={t: dict(v) for t, v in scores.items()})


def score_got10k(results: Mapping[str, Mapping[str, Any]], groundtruth: Mapping[str, Any], *,
                 visible: Mapping[str, Any] | None = None,
                 image_sizes: Mapping[str, tuple[float, float]] | None = None,
                 times: Mapping[str, Mapping[str, Any]] | None = None,
                 skip_first: bool = True) -> GOT10kReport:
    """Score ``results[tracker][sequence]`` (one run or a list of repetitions) against
    ``groundtruth[sequence]``; ``visible``/``image_sizes`` per sequence, ``times[tracker][sequence]``."""
    def score_one(tracker: str, seq: str, runs: Any) -> GOT10kSequenceScore:
        return got10k_sequence_score(
            runs, groundtruth[seq], visible=None if visible is None else visible.get(seq),
            image_size=None if image_sizes is None else image_sizes.get(seq),
            times=None if times is None else times.get(tracker, {}).get(seq),
            skip_first=skip_first)

    scores = score_each(results, groundtruth, score_one)
    return aggregate_got10k(scores)
