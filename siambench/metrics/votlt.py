"""VOT long-term metrics: tracking precision, recall and F-score over confidence thresholds.

Input per sequence: the runs (boxes ``(N, 4)`` ``x, y, w, h`` and the per-frame ``confidence``
``(N,)``, see :mod:`siambench.results.types`), the ground truth ``(N, 4)`` or ``(N, 8)`` with NaN
rows where the target is absent, and the image size. Definitions (Lukežič et al., "Now you see
me: evaluating performance in long-term visual tracking", and the VOT-LT challenges):

* **Overlap** of frame ``i``: the VOT raster overlap (:func:`siambench.boxes.raster_overlap`,
  pysot's ``vot_overlap``) of the box with the ground truth, bounded by the image ``(W, H)``;
  **0** where it is undefined: no box (a NaN row, e.g. the ``0`` status line), the target
  absent (a NaN ground-truth row), an empty union. Frame 0 (the initialisation, status ``1``)
  counts 0 whatever its row holds. Both toolkits give these frames 0 (pysot sets NaN to 0; the
  VOT toolkit's overlap with a special region is 0).
* **Visible frames** ``N_v``: ground-truth rows without NaN (frame 0 included), pysot's ``N``
  and the VOT toolkit's ``n_visible``.
* At a threshold ``τ`` the frames *reported* are those with confidence ``>= τ``:
  ``Pr(τ)`` = mean overlap over the reported frames (1 when none is), ``Re(τ)`` = sum of their
  overlaps / ``N_v`` (0 when none is). Frames are selected by confidence alone, as both
  toolkits do: a box on a frame where the target is absent, and a frame without a box whose
  confidence reaches ``τ``, are reports of overlap 0 that lower precision (a tracker says "no
  target" with a low confidence).
* **Thresholds**: one grid per tracker from the confidences of all its frames of all sequences
  and runs (NaN left out), ordered from ``+inf`` (nothing reported) down to ``-inf``.
* **Aggregation**: per sequence ``Pr`` and ``Re`` are averaged over its runs, then over the
  sequences (each sequence weighs 1; not pooled over frames) at every threshold;
  ``F(τ) = 2 Pr Re / (Pr + Re)`` of the averaged curves (0 where ``Pr + Re = 0``). The
  **F-score** is ``max F(τ)``, reported with ``Pr`` and ``Re`` at the first threshold reaching
  it. Per sequence, the same maximum is taken of its own curves on the tracker's grid (pysot's
  video-level table).

The two references differ only in the grid and in which frames a threshold selects;
``convention`` picks one:

``"vot"`` (default; the VOT Python toolkit, ``vot/analysis/longterm.py`` ``determine_thresholds``
and ``compute_tpr_curves``): scores sorted descending; with ``n > R - 2`` scores (``R = 100``),
``delta = floor(n / (R - 2))`` and the ``R - 2`` thresholds are ``scores[round(linspace(delta,
n - delta, R - 2))]`` (numpy's round half to even), else every score; ``+inf`` first, ``-inf``
last. A frame is selected when ``confidence >= τ``; a NaN confidence (the initialisation frame's
empty line) is never selected.

``"pysot"`` (``toolkit/utils/statistics.py`` ``determine_thresholds`` and ``calculate_f1``,
``toolkit/evaluation/f1_benchmark.py``): scores sorted ascending, thresholds
``scores[floor(linspace(delta - 1, n - delta, R - 2) + 0.5)]`` between ``-inf`` and ``+inf``,
then reversed. NaN confidences become 0; at ``τ = -inf`` the frames with confidence ``> 0`` are
selected, elsewhere ``>= τ`` (so the initialisation frame, confidence 0, counts as an overlap-0
report at every threshold ``<= 0``). With fewer than ``R - 2`` scores pysot's indexing fails;
siambench then uses every score, as the VOT toolkit does.

Other differences, none of which changes a number on results either toolkit wrote: the VOT
toolkit rasterises overlaps with its own pixel rules (within a pixel's rounding of pysot's,
used here for both); it raises (Python's ``0 / 0``) and pysot returns NaN (which ``argmax``
then picks) where ``Pr + Re = 0``, where siambench gives ``F = 0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from siambench.boxes import pad_regions, poly_iou, raster_overlap, region_polygons
from siambench.metrics._core import ScoringError, score_each

__all__ = ["CONVENTIONS", "RESOLUTION", "LongTermReport", "LongTermSequenceScore",
           "aggregate_votlt", "f_measure", "f_score_of_resamples", "frame_overlaps",
           "longterm_sequence_score", "precision_recall", "score_votlt", "threshold_grid", "visible_count"]

#: The threshold conventions: the VOT toolkit's (default) and pysot's.
CONVENTIONS = ("vot", "pysot")
#: Thresholds in a grid (both toolkits' default resolution).
RESOLUTION = 100

Convention = Literal["vot", "pysot"]


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ScoringError(f"convention: expected one of {', '.join(CONVENTIONS)}, got "
                           f"{convention!r}")


def threshold_grid(scores: np.ndarray, *, resolution: int = RESOLUTION,
                   convention: Convention = "vot") -> np.ndarray:
    """The confidence thresholds, from ``+inf`` down to ``-inf`` (see the module docstring);
    NaN scores are left out. ``resolution`` ``R`` gives at most ``R`` thresholds."""
    _check_convention(convention)
    if resolution < 3:
        raise ScoringError(f"resolution must be at least 3, got {resolution}")
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    values = values[~np.isnan(values)]
    inner = resolution - 2
    delta = len(values) // inner
    if convention == "vot" or delta == 0:
        descending = np.sort(values)[::-1]
        if len(values) > inner:
            chosen = descending[np.round(np.linspace(delta, len(values) - delta, inner))
                                .astype(np.int64)]
        else:
            chosen = descending
    else:
        ascending = np.sort(values)
        index = np.floor(np.linspace(delta - 1, len(values) - delta, inner) + 0.5)
        chosen = ascending[index.astype(np.int64)][::-1]
    return np.concatenate([[np.inf], chosen, [-np.inf]])


def frame_overlaps(boxes: np.ndarray, groundtruth: np.ndarray, *,
                   image_size: tuple[float, float] | None = None,
                   overlap: Literal["raster", "analytic"] = "raster") -> np.ndarray:
    """``(N,)`` overlap of each frame's box with the ground truth, 0 where undefined (no box,
    target absent, empty union) and on frame 0 (see the module docstring). ``overlap``
    ``"analytic"`` is the exact polygon IoU clipped to the image instead of the raster one."""
    pred = np.asarray(boxes, dtype=np.float64)
    gt = np.asarray(groundtruth, dtype=np.float64)
    if pred.ndim != 2 or pred.shape[1] != 4:
        raise ScoringError(f"boxes of shape {pred.shape}, expected (N, 4)")
    if gt.ndim != 2 or gt.shape[1] not in (4, 8):
        raise ScoringError(f"ground truth of shape {gt.shape}, expected (N, 4) or (N, 8)")
    if len(pred) != len(gt):
        raise ScoringError(f"{len(pred)} result rows for {len(gt)} ground-truth rows")
    if not len(pred):
        return np.zeros(0)
    if overlap == "raster":
        values = np.asarray(raster_overlap(pred, gt, bound=image_size), dtype=np.float64)
    elif overlap == "analytic":
        values = np.asarray(poly_iou(region_polygons(pad_regions(pred)),
                                     region_polygons(pad_regions(gt)),
                                     bound=image_size), dtype=np.float64)
    else:
        raise ScoringError(f"overlap: expected 'raster' or 'analytic', got {overlap!r}")
    values = np.nan_to_num(values.reshape(-1), nan=0.0)
    values[0] = 0.0
    return values


def visible_count(groundtruth: np.ndarray) -> int:
    """Frames whose ground-truth row has no NaN (the target is in view)."""
    gt = np.asarray(groundtruth, dtype=np.float64)
    return int(np.count_nonzero(~np.isnan(gt).any(axis=1)))


def precision_recall(overlaps: np.ndarray, confidence: np.ndarray, visible: int,
                     thresholds: np.ndarray, *, convention: Convention = "vot"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Tracking precision and recall ``(T,)`` of one run at each threshold (module docstring).

    ``overlaps`` ``(N,)`` from :func:`frame_overlaps`, ``confidence`` ``(N,)`` (NaN: none),
    ``visible`` the number of frames with the target in view (> 0)."""
    _check_convention(convention)
    if visible <= 0:
        raise ScoringError("no frame with the target visible: recall is undefined")
    ov = np.asarray(overlaps, dtype=np.float64).reshape(-1)
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if len(ov) != len(conf):
        raise ScoringError(f"{len(conf)} confidences for {len(ov)} frames")
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        if convention == "vot":
            selected = conf[None, :] >= th[:, None]           # NaN never selected
        else:
            conf = np.nan_to_num(conf, nan=0.0)
            selected = conf[None, :] >= th[:, None]
            selected[th == -np.inf] = conf > 0
    counts = selected.sum(axis=1)
    sums = np.where(selected, ov[None, :], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
    recall = np.where(counts > 0, sums / visible, 0.0)
    return precision, recall


def f_measure(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """``2 Pr Re / (Pr + Re)``, 0 where ``Pr + Re = 0``."""
    pr = np.asarray(precision, dtype=np.float64)
    re = np.asarray(recall, dtype=np.float64)
    total = pr + re
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * pr * re / np.where(total > 0, total, 1.0), 0.0)


@dataclass(frozen=True)
class LongTermSequenceScore:
    """One tracker's runs on one sequence: ``overlaps`` and ``confidence`` ``(R, N)`` (see
    :func:`frame_overlaps`), ``visible`` frames with the target in view."""

    overlaps: np.ndarray
    confidence: np.ndarray
    visible: int

    @property
    def length(self) -> int:
        return int(self.overlaps.shape[1])

    def curves(self, thresholds: np.ndarray, convention: Convention = "vot"
               ) -> tuple[np.ndarray, np.ndarray]:
        """Precision and recall at each threshold, averaged over the runs."""
        parts = [precision_recall(o, c, self.visible, thresholds, convention=convention)
                 for o, c in zip(self.overlaps, self.confidence, strict=True)]
        return (np.mean([p for p, _ in parts], axis=0), np.mean([r for _, r in parts], axis=0))


def _run_arrays(run: Any, length: int) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(run, "boxes"):
        boxes, confidence = run.boxes, run.confidence
    else:
        boxes, confidence = run
    boxes = np.asarray(boxes, dtype=np.float64)
    if confidence is None:  # a tracker without confidence: every frame after the first is 1
        confidence = np.ones(len(boxes))
        if len(boxes):
            confidence[0] = np.nan
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if len(boxes) != length or len(confidence) != length:
        raise ScoringError(f"{len(boxes)} boxes and {len(confidence)} confidences for "
                           f"{length} ground-truth rows")
    return boxes, confidence


def longterm_sequence_score(runs: Iterable[Any], groundtruth: Any, *,
                            image_size: tuple[float, float] | None = None,
                            overlap: Literal["raster", "analytic"] = "raster"
                            ) -> LongTermSequenceScore:
    """Per-frame overlaps and confidences of a sequence's runs.

    ``runs``: :class:`~siambench.results.types.Run` objects (``boxes``, ``confidence``; a run
    without confidence counts 1 on every frame after the first) or ``(boxes, confidence)``
    pairs; ``groundtruth``: ``(N, 4)``/``(N, 8)``, NaN rows where the target is absent."""
    gt = np.asarray(groundtruth, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] not in (4, 8):
        raise ScoringError(f"ground truth of shape {gt.shape}, expected (N, 4) or (N, 8)")
    arrays = [_run_arrays(run, len(gt)) for run in runs]
    if not arrays:
        raise ScoringError("no runs given")
    overlaps = np.array([frame_overlaps(b, gt, image_size=image_size, overlap=overlap)
                         for b, _ in arrays]).reshape(len(arrays), len(gt))
    confidence = np.array([c for _, c in arrays]).reshape(len(arrays), len(gt))
    return LongTermSequenceScore(overlaps, confidence, visible_count(gt))


@dataclass
class LongTermReport:
    """Scores of several trackers.

    ``overall``: one row per tracker (``tracker``, ``sequences``, ``f_score``, ``precision``,
    ``recall``, ``threshold`` where F peaks); ``sequences``: one row per (tracker, sequence)
    (``frames``, ``visible``, ``f_score``, ``precision``, ``recall``, ``threshold``);
    ``curves[tracker]``: ``thresholds``, ``precision``, ``recall``, ``f`` arrays (the averaged
    curves) and ``best`` (index of the F-score); ``scores[tracker][sequence]``: the per-sequence
    records.
    """

    overall: pd.DataFrame
    sequences: pd.DataFrame
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: dict[str, dict[str, LongTermSequenceScore]] = field(default_factory=dict)
    #: The threshold convention the scores follow (:func:`aggregate_votlt`'s).
    convention: str = "vot"

    def sequence_curves(self, tracker: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """``(sequences, precision (S, T), recall (S, T))``: each sequence's curves on the
        tracker's threshold grid, whose means are the tracker's curves."""
        thresholds = self.curves[tracker]["thresholds"]
        names = list(self.scores[tracker])
        parts = [self.scores[tracker][name].curves(thresholds, self.convention) for name in names]
        return (names, np.array([pr for pr, _ in parts]).reshape(len(names), len(thresholds)),
                np.array([re for _, re in parts]).reshape(len(names), len(thresholds)))


def aggregate_votlt(scores: Mapping[str, Mapping[str, LongTermSequenceScore]], *,
                    convention: Convention = "vot", resolution: int = RESOLUTION
                    ) -> LongTermReport:
    """The per-tracker thresholds, averaged curves and F-scores (module docstring)."""
    _check_convention(convention)
    overall_rows: list[dict[str, Any]] = []
    sequence_rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, Any]] = {}
    for tracker, by_seq in scores.items():
        if not by_seq:
            continue
        pooled = np.concatenate([s.confidence.reshape(-1) for s in by_seq.values()])
        thresholds = threshold_grid(pooled, resolution=resolution, convention=convention)
        per_seq = {name: s.curves(thresholds, convention) for name, s in by_seq.items()}
        for name, (pr, re) in per_seq.items():
            f = f_measure(pr, re)
            best = int(np.argmax(f))
            sequence_rows.append({"tracker": tracker, "sequence": name,
                                  "frames": by_seq[name].length, "visible": by_seq[name].visible,
                                  "f_score": float(f[best]), "precision": float(pr[best]),
                                  "recall": float(re[best]), "threshold": float(thresholds[best])})
        precision = np.mean([pr for pr, _ in per_seq.values()], axis=0)
        recall = np.mean([re for _, re in per_seq.values()], axis=0)
        f = f_measure(precision, recall)
        best = int(np.argmax(f))
        curves[tracker] = {"thresholds": thresholds, "precision": precision, "recall": recall,
                           "f": f, "best": best}
        overall_rows.append({"tracker": tracker, "sequences": len(by_seq),
                             "f_score": float(f[best]), "precision": float(precision[best]),
                             "recall": float(recall[best]),
                             "threshold": float(thresholds[best])})
    overall = pd.DataFrame(overall_rows, columns=["tracker", "sequences", "f_score", "precision",
                                                  "recall", "threshold"])
    sequences = pd.DataFrame(sequence_rows, columns=["tracker", "sequence", "frames", "visible",
                                                     "f_score", "precision", "recall",
                                                     "threshold"])
    return LongTermReport(overall, sequences, curves, {t: dict(s) for t, s in scores.items()},
                          convention=convention)


def f_score_of_resamples(precision: np.ndarray, recall: np.ndarray, counts: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F-score, precision and recall ``(K,)`` of each resample of the sequences whose curves are
    ``precision``/``recall`` ``(S, T)`` (on one threshold grid): ``counts`` ``(K, S)`` says how
    often each sequence is drawn; the curves are averaged over the drawn sequences and the
    F-score taken as :func:`aggregate_votlt` takes it (the first maximum, Pr and Re there). The
    grid stays the one of all sequences (re-deriving it per resample would move the thresholds
    by a quantile step of the pooled confidences)."""
    counts = np.asarray(counts, dtype=np.float64)
    pr, re = np.asarray(precision, dtype=np.float64), np.asarray(recall, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != len(pr) or pr.shape != re.shape:
        raise ScoringError(f"counts {counts.shape} for curves {pr.shape} and {re.shape}")
    drawn = counts.sum(axis=1, keepdims=True)
    mean_pr, mean_re = counts @ pr / drawn, counts @ re / drawn          # (K, T)
    f = f_measure(mean_pr, mean_re)
    best = np.argmax(f, axis=1)[:, None]
    return (np.take_along_axis(f, best, 1)[:, 0], np.take_along_axis(mean_pr, best, 1)[:, 0],
            np.take_along_axis(mean_re, best, 1)[:, 0])


def score_votlt(results: Mapping[str, Mapping[str, Any]], groundtruth: Mapping[str, Any], *,
                image_sizes: Mapping[str, tuple[float, float]] | None = None,
                convention: Convention = "vot", resolution: int = RESOLUTION,
                overlap: Literal["raster", "analytic"] = "raster") -> LongTermReport:
    """Score ``results[tracker][sequence]`` (a list of runs, see
    :func:`longterm_sequence_score`) against ``groundtruth[sequence]``; overlaps are bounded by
    ``image_sizes[sequence]`` ``(W, H)`` when given."""
    _check_convention(convention)
    sizes = image_sizes or {}

    def one(tracker: str, seq: str, runs: Any) -> LongTermSequenceScore:
        return longterm_sequence_score(runs, groundtruth[seq], image_size=sizes.get(seq),
                                       overlap=overlap)

    scores = score_each(results, groundtruth, one)
    return aggregate_votlt(scores, convention=convention, resolution=resolution)
