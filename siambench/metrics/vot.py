"""VOT supervised (reset-based, "baseline") metrics: accuracy, robustness, EAO; per tag too.

Input per sequence: the runs (repetitions) as status codes + regions (see
:mod:`siambench.results.types`: ``REGION`` = -1 where the line is a region, ``INIT`` = 1,
``FAILURE`` = 2, ``SKIPPED`` = 0; regions ``(N, 8)`` NaN-padded), the ground truth (``(N, 4)``,
``(N, 8)`` or a NaN-padded mix), the image size and per-frame tags. Every rule is a parameter.

* **Overlap** of a region frame with the GT: ``overlap="raster"`` (default) rasterises both regions
  on the pixel grid bounded by the image ``[0, W] x [0, H]`` (:func:`siambench.boxes.raster_overlap`,
  the VOT/pysot region code); ``"analytic"`` is the exact polygon IoU clipped to the image
  (:func:`siambench.boxes.poly_iou`, got10k). Without an image size the overlap is unbounded.
  A raster overlap is NaN when neither region has a pixel inside the image (empty union, e.g. a
  ground truth wholly out of view and a prediction there too): accuracy skips such frames (pysot's
  ``nanmean``), both EAO flavours count them as 0 (pysot sets NaN to 0 in its fragments).
* **Accuracy** (VOT toolkit ``compute_accuracy`` and pysot ``calculate_accuracy``): overlaps of region
  frames, excluding every frame in ``[i, i + burnin)`` after each (re)initialisation ``i``
  (``burnin=10``), failure and skipped frames, and NaN overlaps. Aggregation ``accuracy="pysot"``
  (default): per frame the mean over the runs that have a value, then the mean over all frames of
  all sequences pooled;
  ``accuracy="vot"``: per run the mean over its valid frames (0 when it has none, as the VOT toolkit),
  per sequence the mean over runs, then the mean over sequences weighted by their frame count.
* **Robustness**: ``failures`` = number of ``FAILURE`` lines, averaged over runs, summed over
  sequences (pysot's "Lost Number"); ``robustness`` = failures / frames, a **per-frame rate**
  (pysot prints ``100 · F / N``, i.e. failures per 100 frames: multiply by 100 to compare).
* **EAO** (VOT toolkit ``EAOCurve`` / ``EAOScore``): each run is cut at its (re)initialisations into
  fragments ``overlaps[init_k : failure_k]`` (failed; zero-padded to the longest fragment, they count
  at every length) and a final ``overlaps[init_last:]`` when no failure follows (successful; counts
  only for lengths it reaches); status frames have overlap 0. ``curve[j]`` (``j >= 1``) is the
  weighted mean over fragments of ``mean(fragment[1 : j + 1])`` (the init frame excluded);
  ``curve[0]`` is the mean first-frame overlap. Fragments of all runs and sequences weigh 1 each.
  Score = ``mean(curve[low : high + 1])`` for the challenge's interval ``(low, high)`` (passed by
  the caller: each VOT protocol file states its ``eao_interval``, see :mod:`siambench.protocols`).
  Computed in float64 (the VOT toolkit uses float32: ~1e-7 apart).
  This is the default, ``eao="vot"``.
* **EAO, pysot flavour** (``eao="pysot"``: pysot ``EAOBenchmark`` + ``calculate_expected_overlap``,
  the numbers printed by pysot-based ``eval.py`` scripts): fragments are cut at the re-init
  points ``p = f + 5`` of the failures ``f`` (a failure with ``f + 5 > N`` is dropped, so its run
  ends in a successful tail); a failed fragment is ``overlaps[p_i : p_(i+1) + 1]`` (it includes
  the next init frame, which counts 0) zero-filled to the longest sequence, the last fragment
  ``overlaps[p_last:]`` counts only for the lengths it reaches; NaN overlaps (status frames)
  count 0. Each fragment weighs ``1 / runs`` of its sequence times the fraction of its frames
  having the tag. ``curve[0] = 1``; ``curve[j]`` is the weighted mean of ``mean(fragment[1 : j+1])``
  over the fragments valid at ``j`` (0 where none is). Score = mean of the non-NaN entries
  ``curve[low - 1 : high]`` (pysot's window, one index earlier than the VOT toolkit's). The
  overlaps of the EAO are bounded by ``(W - 1, H - 1)`` (pysot) while accuracy keeps ``(W, H)``.
  Differences to pysot, none of which changes a number on pysot-written results: pysot keeps
  NaN (does not zero) in a failure-free run, which would void the curve from that length on;
  pysot weighs by ``1 / runs`` of the *last* sequence it read (the same when every sequence has
  the same number of runs); its ``empty`` tag weighs every fragment by the whole sequence.
  Checked against published pysot EAOs (HonglinChu/SiamTrackers, NanoTrack README): 9 of 10
  equal at 3 decimals; SiamTPN on VOT2018 gives 0.1902 from the archived results, 0.191 published
  (``tests/test_metrics_vot.py``).
* **Tags**: per-tag accuracy and robustness use the frames having the tag (accuracy over valid tagged
  frames, failures at tagged frames divided by tagged frames); per-tag EAO weighs each fragment by
  the fraction of its frames having the tag (pysot's ``EAOBenchmark``). Tag ``"all"`` is every frame.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd

from siambench.boxes import pad_regions, poly_iou, raster_overlap, region_polygons
from siambench.metrics._core import ScoringError, score_each
from siambench.results.types import FAILURE, INIT, REGION, SKIPPED

__all__ = ["ALL_TAG", "FAILURE", "INIT", "REGION", "SKIPPED", "VOTReport", "VOTSequenceScore",
           "EaoParts", "accuracy_parts", "aggregate_vot", "eao_curve", "eao_of_resamples",
           "eao_parts", "eao_score", "region_overlaps", "score_vot",
           "vot_sequence_score"]

ALL_TAG = "all"


@dataclass(frozen=True)
class VOTSequenceScore:
    """Per-frame facts of one tracker's runs on one sequence, from which every VOT metric follows.

    ``overlaps``: ``(R, N)`` overlap of each region frame with the GT (NaN at status frames);
    ``codes``: ``(R, N)`` status codes; ``tags``: tag name → ``(N,)`` bool (always has ``"all"``);
    ``burnin``: frames excluded from accuracy after each initialisation; ``eao_overlaps``: the
    overlaps the EAO uses when they differ (pysot bounds them by ``(W - 1, H - 1)``), else None.
    """

    overlaps: np.ndarray
    codes: np.ndarray
    tags: dict[str, np.ndarray]
    burnin: int = 10
    eao_overlaps: np.ndarray | None = None

    @property
    def runs(self) -> int:
        return int(self.overlaps.shape[0])

    @property
    def length(self) -> int:
        return int(self.overlaps.shape[1])

    def accuracy_mask(self) -> np.ndarray:
        """``(R, N)`` frames that count for accuracy (region frames outside the burn-in windows)."""
        mask = (self.codes == REGION) & ~np.isnan(self.overlaps)
        if self.burnin > 0:
            runs, frames = np.nonzero(self.codes == INIT)
            marks = np.zeros((self.runs, self.length + 1), dtype=np.int64)
            np.add.at(marks, (runs, frames), 1)
            np.add.at(marks, (runs, np.minimum(frames + self.burnin, self.length)), -1)
            mask &= np.cumsum(marks, axis=1)[:, :-1] <= 0
        return mask

    def tag_mask(self, tag: str) -> np.ndarray:
        """``(N,)`` frames having ``tag`` (no frame when the sequence lacks the tag)."""
        return self.tags.get(tag, np.zeros(self.length, dtype=bool))

    def failures(self, tag: str = ALL_TAG) -> np.ndarray:
        """``(R,)`` failure counts per run (at frames having ``tag``)."""
        return np.count_nonzero((self.codes == FAILURE) & self.tag_mask(tag)[None, :], axis=1)

    def fragments(self) -> list[tuple[int, int, int, bool]]:
        """``(run, start, stop, successful)`` EAO fragments as the VOT toolkit cuts them."""
        out = []
        for r in range(self.runs):
            fails = np.flatnonzero(self.codes[r] == FAILURE)
            inits = np.flatnonzero(self.codes[r] == INIT)
            if len(fails):
                for k, stop in enumerate(fails):
                    if k < len(inits):
                        out.append((r, int(inits[k]), int(stop), False))
                if len(inits) > len(fails):
                    out.append((r, int(inits[-1]), self.length, True))
            else:
                out.append((r, 0, self.length, True))
        return out

    def pysot_fragments(self, skipping: int = 5) -> list[tuple[int, int, int, bool]]:
        """``(run, start, stop, failed)`` EAO fragments as pysot's ``EAOBenchmark`` cuts them.

        Cut points ``p = f + skipping`` for each failure ``f`` with ``f + skipping <= N``, plus 0;
        a failed fragment is ``[p_i, p_(i+1)]`` inclusive (``stop = p_(i+1) + 1``), the last one
        ``[p_last, N)`` (possibly empty). ``skipping=5`` is pysot's fixed value.
        """
        out = []
        for r in range(self.runs):
            fails = np.flatnonzero(self.codes[r] == FAILURE)
            points = [0] + [int(f) + skipping for f in fails if f + skipping <= self.length]
            for start, nxt in pairwise(points):
                out.append((r, start, nxt + 1, True))
            out.append((r, points[-1], self.length, False))
        return out


# --------------------------------------------------------------------------------------------
# per-sequence scoring
# --------------------------------------------------------------------------------------------

def _region_rows(rows: Any, n: int, what: str) -> np.ndarray:
    """Regions as ``(n, 8)`` NaN-padded rows (a rect is ``x, y, w, h`` then four NaN)."""
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] not in (4, 8) or len(array) != n:
        raise ScoringError(f"{what}: expected ({n}, 4) or ({n}, 8) regions, got shape {array.shape}")
    return pad_regions(array)


def region_overlaps(pred: np.ndarray, gt: np.ndarray, *, image_size: tuple[float, float] | None,
                    overlap: Literal["raster", "analytic"] = "raster") -> np.ndarray:
    """Row-wise overlaps of NaN-padded ``(M, 8)`` regions, bounded by ``image_size`` ``(W, H)``."""
    if not len(pred):
        return np.zeros(0)
    if overlap == "raster":
        return np.asarray(raster_overlap(pred, gt, bound=image_size), dtype=np.float64)
    if overlap == "analytic":
        return np.asarray(poly_iou(region_polygons(pred), region_polygons(gt), bound=image_size),
                          dtype=np.float64)
    raise ScoringError(f"overlap: expected 'raster' or 'analytic', got {overlap!r}")


def _run_arrays(run: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(run, "codes"):
        return np.asarray(run.codes), np.asarray(run.regions, dtype=np.float64)
    codes, regions = run
    return np.asarray(codes), np.asarray(regions, dtype=np.float64)


def vot_sequence_score(runs: Iterable[Any], groundtruth: Any, *,
                       image_size: tuple[float, float] | None = None,
                       tags: Mapping[str, Any] | None = None, burnin: int = 10,
                       overlap: Literal["raster", "analytic"] = "raster",
                       eao: Literal["vot", "pysot"] = "vot") -> VOTSequenceScore:
    """Per-frame overlaps and codes of a sequence's runs.

    ``runs``: :class:`~siambench.results.types.Run` objects (``codes``, ``regions``) or
    ``(codes, regions)`` pairs; ``groundtruth``: ``(N, 4)``/``(N, 8)`` regions; ``tags``: name →
    ``(N,)`` per-frame flags (shorter lists are zero-padded, as a missing ``.tag`` file means 0).
    ``eao="pysot"`` also computes the EAO's overlaps bounded by ``(W - 1, H - 1)`` (pysot).
    """
    run_list = [_run_arrays(r) for r in runs]
    if not run_list:
        raise ScoringError("no runs given")
    gt_raw = np.asarray(groundtruth, dtype=np.float64)
    n = len(gt_raw)
    gt = _region_rows(gt_raw, n, "ground truth")
    if eao not in ("vot", "pysot"):
        raise ScoringError(f"eao: expected 'vot' or 'pysot', got {eao!r}")
    eao_size = None
    if eao == "pysot" and image_size is not None:
        eao_size = (float(image_size[0]) - 1.0, float(image_size[1]) - 1.0)
    overlaps = np.full((len(run_list), n), np.nan)
    eao_overlaps = np.full((len(run_list), n), np.nan) if eao_size is not None else None
    codes = np.full((len(run_list), n), SKIPPED, dtype=np.int8)
    for r, (run_codes, regions) in enumerate(run_list):
        if len(run_codes) != n:
            raise ScoringError(f"run {r + 1}: {len(run_codes)} result lines but the ground truth has {n} "
                               f"(expected one line per frame)")
        codes[r] = run_codes
        where = np.flatnonzero(codes[r] == REGION)
        regions = _region_rows(regions, n, f"run {r + 1} regions")
        overlaps[r, where] = region_overlaps(regions[where], gt[where], image_size=image_size,
                                             overlap=overlap)
        if eao_overlaps is not None:
            eao_overlaps[r, where] = region_overlaps(regions[where], gt[where],
                                                     image_size=eao_size, overlap=overlap)
    tag_arrays = {ALL_TAG: np.ones(n, dtype=bool)}
    for name, flags in (tags or {}).items():
        values = np.asarray(flags).astype(bool).ravel()[:n]
        if len(values) < n:
            values = np.concatenate([values, np.zeros(n - len(values), dtype=bool)])
        tag_arrays[name] = values
    return VOTSequenceScore(overlaps, codes, tag_arrays, burnin, eao_overlaps)


# --------------------------------------------------------------------------------------------
# EAO
# --------------------------------------------------------------------------------------------

def eao_curve(scores: Iterable[VOTSequenceScore], *, tag: str = ALL_TAG,
              eao: Literal["vot", "pysot"] = "vot") -> np.ndarray:
    """The expected-average-overlap curve over fragment lengths (index = frames since init).

    ``eao="vot"``: VOT toolkit ``EAOCurve``; ``eao="pysot"``: pysot ``EAOBenchmark`` (module doc).
    """
    _check_flavour(eao)
    scores = list(scores)
    rows = [row for score in scores for row in _fragment_rows(score, tag, eao)]
    if not rows:
        return np.zeros(0)
    length = _curve_length(scores, rows, eao)
    numerator, weight, valid = _curve_terms(rows, length)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = np.sum(numerator, axis=0) / np.sum(weight, axis=0)
    if eao == "pysot":
        curve[~valid.any(axis=0)] = 0.0       # pysot leaves lengths no fragment reaches at 0
        curve[0] = 1.0
    return curve


def _check_flavour(eao: str) -> None:
    if eao not in ("vot", "pysot"):
        raise ScoringError(f"eao: expected 'vot' or 'pysot', got {eao!r}")


def _fragment_rows(score: VOTSequenceScore, tag: str, eao: str
                   ) -> list[tuple[np.ndarray, bool, float]]:
    """``(overlaps, counts_at_every_length, weight)`` per EAO fragment of one sequence: the VOT
    toolkit's fragments (failed ones count at every length) or pysot's (module doc)."""
    rows: list[tuple[np.ndarray, bool, float]] = []
    if eao == "pysot":
        source = score.overlaps if score.eao_overlaps is None else score.eao_overlaps
        values = np.where(np.isnan(source), 0.0, source)
        flags = score.tag_mask(tag).astype(np.float64)
        for r, start, stop, failed in score.pysot_fragments():
            frames = stop - start
            fraction = float(flags[start:stop].sum()) / frames if frames > 0 else 0.0
            rows.append((values[r, start:stop], failed, fraction / score.runs))
        return rows
    values = np.where(np.isnan(score.overlaps), 0.0, score.overlaps)
    flags = score.tag_mask(tag)
    for r, start, stop, ok in score.fragments():
        if stop <= start:
            continue
        weight = 1.0 if tag == ALL_TAG else float(np.mean(flags[start:stop]))
        rows.append((values[r, start:stop], not ok, weight))
    return rows


def _curve_length(scores: list[VOTSequenceScore], rows: list[tuple[np.ndarray, bool, float]],
                  eao: str) -> int:
    """The curve's length: the longest fragment (VOT toolkit) or the longest sequence (pysot)."""
    if eao == "pysot":
        return max((score.length for score in scores), default=0)
    return max((len(row) for row, _, _ in rows), default=0)


def _curve_terms(rows: list[tuple[np.ndarray, bool, float]], length: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per fragment and length ``j < length``: ``weight * mean(fragment[1 : j + 1])`` where the
    fragment counts at ``j`` (the numerator terms of the curve), ``weight`` there (the
    denominator terms) and where it counts (a failed fragment, zero-filled, counts at every
    length; a successful one up to its own length); ``(F, length)`` each."""
    frag = np.zeros((len(rows), length))
    valid = np.zeros((len(rows), length), dtype=bool)
    for i, (row, everywhere, _) in enumerate(rows):
        row = row[:length]
        frag[i, : len(row)] = row
        valid[i, :] = everywhere
        valid[i, : len(row)] = True
    means = frag.copy()
    if length > 1:
        means[:, 1:] = np.cumsum(frag[:, 1:], axis=1) / np.arange(1, length)
    weight = np.array([w for _, _, w in rows])[:, None] * valid
    return weight * means, weight, valid


@dataclass(frozen=True)
class EaoParts:
    """One tracker's EAO split by sequence, so that resampled sequence sets get their EAO without
    re-cutting fragments: ``numerators``/``weights``/``valid`` ``(S, L)`` are each sequence's
    sums of :func:`_curve_terms` over the first ``L`` lengths (those the score's window can
    reach), ``reach`` ``(S,)`` the curve length each sequence makes exist (its longest fragment,
    or for pysot its length); ``interval`` and ``eao`` as :func:`eao_score` takes them."""

    sequences: tuple[str, ...]
    numerators: np.ndarray
    weights: np.ndarray
    valid: np.ndarray
    reach: np.ndarray
    interval: tuple[int, int]
    eao: str

    def subset(self, index: np.ndarray) -> EaoParts:
        """The parts of the sequences at ``index`` (in that order)."""
        return EaoParts(tuple(self.sequences[i] for i in index), self.numerators[index],
                        self.weights[index], self.valid[index], self.reach[index], self.interval,
                        self.eao)


def eao_parts(scores: Mapping[str, VOTSequenceScore], *, interval: tuple[int, int],
              tag: str = ALL_TAG, eao: Literal["vot", "pysot"] = "vot") -> EaoParts:
    """Per-sequence parts of the EAO of ``scores[sequence]`` (see :class:`EaoParts`);
    :func:`eao_of_resamples` with every sequence drawn once gives :func:`eao_score` of
    :func:`eao_curve` (up to the order of a floating-point sum)."""
    _check_flavour(eao)
    names = tuple(scores)
    low, high = interval
    limit = high + 1 if eao == "vot" else high          # pysot's window is one index earlier
    length = max(limit, 1)
    numerators = np.zeros((len(names), length))
    weights = np.zeros((len(names), length))
    valid = np.zeros((len(names), length))
    reach = np.zeros(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        rows = _fragment_rows(scores[name], tag, eao)
        reach[i] = _curve_length([scores[name]], rows, eao)
        if rows:
            numerator, weight, counted = _curve_terms(rows, length)
            numerators[i], weights[i], valid[i] = numerator.sum(0), weight.sum(0), counted.sum(0)
    return EaoParts(names, numerators, weights, valid, reach, (int(low), int(high)), eao)


def eao_of_resamples(parts: EaoParts, counts: np.ndarray) -> np.ndarray:
    """The EAO of each resample: ``counts`` ``(K, S)`` says how often each sequence of ``parts``
    is drawn; the curve is recomputed from the drawn sequences' parts (its length that of the
    longest drawn fragment or sequence, as :func:`eao_curve` on the drawn sequences) and scored
    with :func:`eao_score`'s window. ``(K,)``; NaN where the window holds no curve value."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != len(parts.sequences):
        raise ScoringError(f"counts of shape {counts.shape} for {len(parts.sequences)} sequences")
    with np.errstate(invalid="ignore", divide="ignore"):
        curves = (counts @ parts.numerators) / (counts @ parts.weights)       # (K, L)
    positions = np.arange(parts.numerators.shape[1])
    drawn_reach = np.max(np.where(counts > 0, parts.reach[None, :], 0), axis=1)
    exists = positions[None, :] < drawn_reach[:, None]
    if parts.eao == "pysot":
        curves = np.where((counts @ parts.valid) > 0, curves, 0.0)
        curves[:, 0] = 1.0
    curves = np.where(exists, curves, np.nan)
    low, high = parts.interval
    if parts.eao == "pysot":
        low, high = low - 1, high - 1
    window = curves[:, max(low, 0): high + 1]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # an all-NaN window gives NaN
        return np.nanmean(window, axis=1) if window.shape[1] else np.full(len(counts), np.nan)


def eao_score(curve: np.ndarray, interval: tuple[int, int],
              eao: Literal["vot", "pysot"] = "vot") -> float:
    """``mean(curve[low : high + 1])`` (VOT toolkit ``EAOScore``), or for ``eao="pysot"`` the mean
    of ``curve[low - 1 : high]`` (pysot's window); NaN entries are skipped, NaN when none is left."""
    low, high = interval
    if eao == "pysot":
        low, high = low - 1, high - 1
    elif eao != "vot":
        raise ScoringError(f"eao: expected 'vot' or 'pysot', got {eao!r}")
    part = curve[low: high + 1]
    part = part[~np.isnan(part)]
    return float(np.mean(part)) if len(part) else float("nan")


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------

@dataclass
class VOTReport:
    """``sequences``: ``tracker, sequence, frames, runs, accuracy, robustness, failures``;
    ``overall``: ``tracker, sequences, accuracy, robustness, failures, eao``; ``by_tag``:
    ``tracker, tag, frames, accuracy, robustness, failures, eao``; ``eao_curves[tracker]`` and
    ``tag_eao_curves[(tracker, tag)]`` for plots. Robustness is failures per frame."""

    sequences: pd.DataFrame
    overall: pd.DataFrame
    by_tag: pd.DataFrame
    eao_curves: dict[str, np.ndarray] = field(default_factory=dict)
    tag_eao_curves: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, VOTSequenceScore]] = field(default_factory=dict)
    #: How the scores were computed (:func:`aggregate_vot`'s arguments), for their intervals.
    interval: tuple[int, int] = (0, 0)
    accuracy: str = "pysot"
    eao: str = "vot"


def accuracy_parts(score: VOTSequenceScore, tag: str, mode: str) -> tuple[float, float]:
    """(sum, weight) contributions of one sequence to the accuracy for ``tag`` (the accuracy is
    the sum of the sums over the sum of the weights; the report's intervals resample them)."""
    mask = score.accuracy_mask() & score.tag_mask(tag)[None, :]
    if mode == "pysot":
        counts = mask.sum(axis=0)
        sums = np.where(mask, score.overlaps, 0.0).sum(axis=0)
        have = counts > 0
        frame_means = sums[have] / counts[have]
        return float(np.sum(frame_means)), float(len(frame_means))
    if mode == "vot":
        counts = mask.sum(axis=1)
        sums = np.where(mask, score.overlaps, 0.0).sum(axis=1)
        per_run = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        weight = float(np.count_nonzero(score.tag_mask(tag)))
        return float(np.mean(per_run)) * weight, weight
    raise ScoringError(f"accuracy: expected 'pysot' or 'vot', got {mode!r}")


def _summary(scores: list[VOTSequenceScore], tag: str, mode: str, interval: tuple[int, int],
             eao: Literal["vot", "pysot"] = "vot") -> tuple[dict[str, Any], np.ndarray]:
    acc_sum = acc_weight = 0.0
    failures = 0.0
    frames = 0
    for s in scores:
        a, w = accuracy_parts(s, tag, mode)
        acc_sum += a
        acc_weight += w
        failures += float(np.mean(s.failures(tag)))
        frames += int(np.count_nonzero(s.tag_mask(tag)))
    curve = eao_curve(scores, tag=tag, eao=eao)
    return {
        "frames": frames,
        "accuracy": acc_sum / acc_weight if acc_weight else float("nan"),
        "robustness": failures / frames if frames else float("nan"),
        "failures": failures,
        "eao": eao_score(curve, interval, eao),
    }, curve


def aggregate_vot(scores: Mapping[str, Mapping[str, VOTSequenceScore]], *,
                  interval: tuple[int, int], accuracy: Literal["pysot", "vot"] = "pysot",
                  tags: Iterable[str] | None = None,
                  eao: Literal["vot", "pysot"] = "vot") -> VOTReport:
    """Tables from ``scores[tracker][sequence]``; ``interval`` is the EAO ``(low, high)`` (the
    protocol's ``eao_interval``, as the challenges state it; ``eao="pysot"`` shifts the window itself);
    ``tags`` to break down (default: every tag the sequences have); ``eao``: the EAO flavour."""
    if eao not in ("vot", "pysot"):
        raise ScoringError(f"eao: expected 'vot' or 'pysot', got {eao!r}")
    seq_rows: list[dict[str, Any]] = []
    overall_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    curves: dict[str, np.ndarray] = {}
    tag_curves: dict[tuple[str, str], np.ndarray] = {}
    for tracker, by_seq in scores.items():
        for seq, s in by_seq.items():
            a, w = accuracy_parts(s, ALL_TAG, accuracy)
            fails = float(np.mean(s.failures()))
            seq_rows.append({"tracker": tracker, "sequence": seq, "frames": s.length, "runs": s.runs,
                             "accuracy": a / w if w else float("nan"),
                             "robustness": fails / s.length if s.length else float("nan"),
                             "failures": fails})
        values = list(by_seq.values())
        if not values:
            continue
        row, curves[tracker] = _summary(values, ALL_TAG, accuracy, interval, eao)
        overall_rows.append({"tracker": tracker, "sequences": len(values),
                             **{k: row[k] for k in ("accuracy", "robustness", "failures", "eao")}})
        names = list(tags) if tags is not None else sorted(
            {t for s in values for t in s.tags if t != ALL_TAG})
        for tag in names:
            row, tag_curves[(tracker, tag)] = _summary(values, tag, accuracy, interval, eao)
            tag_rows.append({"tracker": tracker, "tag": tag, **row})
    return VOTReport(
        sequences=pd.DataFrame(seq_rows, columns=["tracker", "sequence", "frames", "runs", "accuracy",
                                                  "robustness", "failures"]),
        overall=pd.DataFrame(overall_rows, columns=["tracker", "sequences", "accuracy", "robustness",
                                                    "failures", "eao"]),
        by_tag=pd.DataFrame(tag_rows, columns=["tracker", "tag", "frames", "accuracy", "robustness",
                                               "failures", "eao"]),
        eao_curves=curves, tag_eao_curves=tag_curves, scores={t: dict(v) for t, v in scores.items()},
        interval=(int(interval[0]), int(interval[1])), accuracy=accuracy, eao=eao)


def score_vot(results: Mapping[str, Mapping[str, Iterable[Any]]], groundtruth: Mapping[str, Any], *,
              interval: tuple[int, int], image_sizes: Mapping[str, tuple[float, float]] | None = None,
              tags: Mapping[str, Mapping[str, Any]] | None = None, burnin: int = 10,
              overlap: Literal["raster", "analytic"] = "raster",
              accuracy: Literal["pysot", "vot"] = "pysot",
              eao: Literal["vot", "pysot"] = "vot") -> VOTReport:
    """Score ``results[tracker][sequence]`` (a list of runs) against ``groundtruth[sequence]``.

    ``image_sizes[sequence] = (W, H)`` bounds the overlaps; ``tags[sequence][tag]`` per-frame flags;
    ``eao``: ``"vot"`` (VOT toolkit, default) or ``"pysot"`` (pysot ``EAOBenchmark``, with its
    ``(W - 1, H - 1)`` bound); see the module docstring. ``accuracy="pysot"`` with ``eao="pysot"``
    is pysot's ``eval.py`` (accuracy, lost number, EAO).
    """
    if eao not in ("vot", "pysot"):
        raise ScoringError(f"eao: expected 'vot' or 'pysot', got {eao!r}")
    def score_one(tracker: str, seq: str, runs: Any) -> VOTSequenceScore:
        return vot_sequence_score(
            runs, groundtruth[seq],
            image_size=None if image_sizes is None else image_sizes.get(seq),
            tags=None if tags is None else tags.get(seq), burnin=burnin, overlap=overlap,
            eao=eao)

    scores = score_each(results, groundtruth, score_one)
    return aggregate_vot(scores, interval=interval, accuracy=accuracy, eao=eao)
