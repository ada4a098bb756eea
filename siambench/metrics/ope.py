"""One-pass evaluation (OPE) metrics: success, precision, normalised precision, speeds.

Used for OTB, UAV123, LaSOT and the synthetic benchmark; nothing here knows a dataset's name:
every rule is a field of :class:`OPEConvention`, chosen by the protocol.

Definitions (boxes ``x, y, w, h``, continuous IoU and centre ``x + (w - 1) / 2`` from
:mod:`siambench.boxes`):

* **success curve**: 21 IoU thresholds ``0, 0.05, ..., 1`` (``np.linspace(0, 1, 21)``, bit-identical
  to ``np.arange(0, 1.05, 0.05)``), success when ``IoU > thr`` (strict, as OTB, pysot, got10k);
  **success AUC** = mean of the 21 values; ``success_rate`` = value at 0.5.
* **precision curve**: 51 thresholds ``0..50`` px, hit when ``centre error <= thr``;
  **precision** = value at 20 px.
* **normalised precision**: centre error divided by the ground-truth size (got10k LaSOT:
  ``‖Δc / max(1, (w_gt, h_gt))‖``; ``norm="pysot"`` for pysot's ``Δ(c / (wh + 1e-16))``), 51 thresholds
  ``linspace(0, 0.5, 51)``, hit when ``<= thr``; **norm_precision** = mean of the curve (AUC, got10k;
  pysot prints the value at 0.2 instead — that number is ``norm_precision_curve[20]``).
* **aggregation** (OTB toolkit and got10k ``ExperimentOTB``): a sequence's curves are the mean over its
  runs; the dataset's curves are the unweighted mean of the per-sequence curves; AUC and precision are
  read from the mean curves. Per-attribute rows aggregate the sequences having the attribute.
* **speeds** (tracker seconds per frame, init included; valid times are positive and not NaN):
  ``fps_mean`` = per sequence ``mean(1 / t)`` over its valid times, dataset = mean over the sequences
  that have one (got10k's ``speed``); ``fps_total`` = frames with a valid time / the sum of those
  times, per sequence and pooled over the dataset's sequences (the rate of the whole run).

Conventions (``convention=`` a name from :data:`CONVENTIONS` or an :class:`OPEConvention`):

==============  ==============  =====================================  =======================
name            frame 0         invalid GT rows (NaN, ``w<=0``/``h<=0``)  threshold 1.0
==============  ==============  =====================================  =======================
``"otb"``       set to GT       IoU fails, centre error hits, full     strict ``>`` (OTB)
(default)                       denominator (OTB toolkit / pysot)
``"got10k"``    set to GT       no masking (computed as is; NaN fails)  strict (got10k, oracle)
``"pysot"``     as in the file  as ``"otb"``; pysot normalisation       strict
``"lasot"``     set to GT       excluded from the denominator          strict (got10k LaSOT/UAV)
``"siambench"`` set to GT       excluded from the denominator          ``IoU >= 1`` counts
==============  ==============  =====================================  =======================

Ground truth against itself: with a strict ``>`` at every threshold no frame succeeds at 1.0, so
its AUC is 20/21 = 0.952 (pysot-toolkit#7). siambench's own convention (``"siambench"``) counts a
perfect overlap (``IoU >= 1 - 1e-9``, float rounding of identical boxes) as a success at the last
threshold, so ground truth scores exactly 1.0. It cannot be the default: the frame-0 box (the GT)
then adds ``1 / (21 N)`` per sequence and the official SiamFC-3s OTB-100 release scores 0.58256
(``0.583``) instead of its published 0.582; ``"otb"`` reproduces the published 0.582 / 0.771
(the 0.771 needs the OTB rule that Board's and Twinnings' ``0,0,0,0`` GT rows count as precision
hits: without it 0.7705 rounds to 0.770).

This module is the definition: :func:`score_ope_reference` scores every frame against every
threshold with the :mod:`siambench.boxes` functions and aggregates with plain numpy, in the order
the definitions above read. :func:`score_ope` computes the same numbers fast
(:mod:`siambench.metrics.ope_fast`: chunked numpy or a numba kernel, ``backend=``) and equals the
reference bit for bit (curves, scores and tables; speeds up to the order of their sums), which
``tests/test_metrics_ope.py`` checks on generated cases. ``benchmarks/scoring.py`` times it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from siambench.boxes import centre_error, normalized_centre_error, rect_iou
from siambench.metrics._ope_base import (  # noqa: F401 - re-exported: the public names live here
    CONVENTIONS,
    DEFAULT_CONVENTION,
    NORM_PRECISION_THRESHOLDS,
    OVERALL_COLUMNS,
    PERFECT_IOU,
    PRECISION_AT,
    PRECISION_THRESHOLDS,
    SEQUENCE_COLUMNS,
    SUCCESS_RATE_AT,
    SUCCESS_THRESHOLDS,
    Backend,
    InvalidRule,
    OPEConvention,
    OPEReport,
    OPESequenceScore,
    _as_times,
    _check_gt,
    _collect_runs,
    resolve_convention,
)

# --------------------------------------------------------------------------------------------
# the reference scorer: the definition, every frame against every threshold
# --------------------------------------------------------------------------------------------

def _run_curves(pred: np.ndarray, gt: np.ndarray, conv: OPEConvention
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Success, precision and normalised precision curves of one run and its scored frames."""
    pred = np.array(pred, dtype=np.float64)   # a copy: the caller's array stays as it was
    if conv.first_frame_gt and len(pred):
        pred[0] = gt[0]
    with np.errstate(all="ignore"):
        iou = rect_iou(pred, gt)
        error = centre_error(pred, gt)
        norm_error = normalized_centre_error(pred, gt, convention=conv.norm)
        success = iou[:, None] > SUCCESS_THRESHOLDS                 # NaN never succeeds
        if conv.inclusive_last:
            success[:, -1] |= iou >= PERFECT_IOU
        precision = error[:, None] <= PRECISION_THRESHOLDS          # NaN never hits
        norm_precision = norm_error[:, None] <= NORM_PRECISION_THRESHOLDS
        invalid = np.isnan(gt).any(axis=1) | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)
    if conv.invalid_gt == "otb":
        success[invalid], precision[invalid], norm_precision[invalid] = False, True, True
    elif conv.invalid_gt == "miss":
        success[invalid], precision[invalid], norm_precision[invalid] = False, False, False
    elif conv.invalid_gt == "exclude":
        success, precision, norm_precision = success[~invalid], precision[~invalid], norm_precision[~invalid]
    frames = len(success)
    with np.errstate(invalid="ignore"):   # no scored frame: NaN curves
        return (success.sum(axis=0) / frames, precision.sum(axis=0) / frames,
                norm_precision.sum(axis=0) / frames, frames)


def _sequence_record(runs: list[np.ndarray], gt: np.ndarray, times: Any, conv: OPEConvention
                     ) -> OPESequenceScore:
    """One tracker on one sequence: the mean curves of its runs, and its speeds."""
    per_run = [_run_curves(run, gt, conv) for run in runs]
    # the mean over the runs, summed in np.add.reduceat's order (the fast path's; from 3 runs on it
    # differs from np.sum's in the last bit)
    succ, prec, norm = (np.add.reduceat(np.array([c[i] for c in per_run]), [0], axis=0)[0] / len(runs)
                        for i in range(3))
    t = _as_times(times)
    fps_mean, timed, seconds = float("nan"), 0, 0.0
    if t is not None:
        with np.errstate(invalid="ignore"):
            valid = t[t > 0]                   # positive and not NaN
        if len(valid):
            fps_mean, timed, seconds = float(np.mean(1.0 / valid)), len(valid), float(np.sum(valid))
    return OPESequenceScore(succ, prec, norm, per_run[0][3], len(runs), fps_mean, timed, seconds)


def _aggregate_row(records: list[OPESequenceScore]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Scores and mean curves of a set of sequences (the curves over those with scored frames)."""
    scored = [r for r in records if r.frames > 0]
    curves = {}
    for name, attr in (("success", "success_curve"), ("precision", "precision_curve"),
                       ("norm_precision", "norm_precision_curve")):
        curves[name] = (np.mean([getattr(r, attr) for r in scored], axis=0) if scored
                        else np.full(len(getattr(records[0], attr)), np.nan))
    fps = np.array([r.fps_mean for r in records])
    fps = fps[np.isfinite(fps)]
    timed = int(np.sum([r.timed_frames for r in records]))
    seconds = float(np.sum([r.tracker_seconds for r in records]))
    row = {"sequences": len(records),
           "success_auc": float(np.mean(curves["success"])),
           "precision": float(curves["precision"][PRECISION_AT]),
           "norm_precision": float(np.mean(curves["norm_precision"])),
           "fps_mean": float(np.mean(fps)) if len(fps) else float("nan"),
           "fps_total": timed / seconds if timed and seconds > 0 else float("nan"),
           "success_rate": float(curves["success"][SUCCESS_RATE_AT])}
    return row, curves


def _reference_report(records: Mapping[str, Mapping[str, OPESequenceScore]],
                      attributes: Mapping[str, Iterable[str]] | None) -> OPEReport:
    """The tables of :class:`OPEReport` from per-sequence records, row by row."""
    attr_sets = {seq: set(a) for seq, a in (attributes or {}).items()}
    all_attrs = sorted(set().union(*attr_sets.values())) if attr_sets else []
    sequence_rows, overall_rows, attr_rows = [], [], []
    curves, attribute_curves = {}, {}
    scored = {tracker: by_seq for tracker, by_seq in records.items() if by_seq}
    for tracker, by_seq in scored.items():
        for seq, r in by_seq.items():
            sequence_rows.append((tracker, seq, r.frames, r.runs, r.success_auc, r.success_rate,
                                  r.precision, r.norm_precision, r.fps_mean, r.fps_total))
        row, curves[tracker] = _aggregate_row(list(by_seq.values()))
        overall_rows.append({"tracker": tracker, **row})
        for attr in all_attrs:
            having = [r for seq, r in by_seq.items() if attr in attr_sets.get(seq, ())]
            if having:
                row, attribute_curves[(tracker, attr)] = _aggregate_row(having)
                attr_rows.append({"tracker": tracker, "attribute": attr, **row})
    columns = list(zip(*sequence_rows)) or [()] * len(SEQUENCE_COLUMNS)
    sequences = pd.DataFrame({name: np.array(values, dtype=dtype) for name, values, dtype in zip(
        SEQUENCE_COLUMNS, columns, [object, object, np.int64, np.int64, *[np.float64] * 6])})
    attribute_columns = ["tracker", "attribute", *OVERALL_COLUMNS[1:]]
    return OPEReport(sequences=sequences if sequence_rows else pd.DataFrame(columns=SEQUENCE_COLUMNS),
                     overall=pd.DataFrame(overall_rows, columns=OVERALL_COLUMNS),
                     by_attribute=pd.DataFrame(attr_rows, columns=attribute_columns),
                     curves=curves, attribute_curves=attribute_curves,
                     records={tracker: dict(by_seq) for tracker, by_seq in records.items()})


def score_ope_reference(results: Mapping[str, Mapping[str, Any]], groundtruth: Mapping[str, Any], *,
                        times: Mapping[str, Mapping[str, Any]] | None = None,
                        attributes: Mapping[str, Iterable[str]] | None = None,
                        convention: str | OPEConvention = DEFAULT_CONVENTION) -> OPEReport:
    """:func:`score_ope` as its definition reads (the module docstring), slowly and plainly.

    Equal to :func:`score_ope` bit for bit in every curve, score and table cell, except the speeds:
    ``fps_mean`` sums like ``np.mean`` (as the numba backend; the numpy one sums in order) and
    ``fps_total``'s seconds like ``np.sum`` (the fast path sums in order), so they may differ in
    the last digits. For tests and for reading; use :func:`score_ope`.
    """
    conv = resolve_convention(convention)
    gts = {seq: _check_gt(seq, gt) for seq, gt in groundtruth.items()}
    records: dict[str, dict[str, OPESequenceScore]] = {}
    for tracker, by_seq in results.items():
        checked = _collect_runs(tracker, by_seq, gts)
        tracker_times = (times or {}).get(tracker) or {}
        records[tracker], first = {}, 0
        for seq, count in zip(checked.names, checked.runs_per_seq):
            runs = checked.preds[first: first + count]
            first += count
            records[tracker][seq] = _sequence_record(runs, gts[seq], tracker_times.get(seq), conv)
    return _reference_report(records, attributes)


# --------------------------------------------------------------------------------------------
# the public API (the fast path: siambench.metrics.ope_fast)
# --------------------------------------------------------------------------------------------



def score_ope(results: Mapping[str, Mapping[str, Any]], groundtruth: Mapping[str, Any], *,
              times: Mapping[str, Mapping[str, Any]] | None = None,
              attributes: Mapping[str, Iterable[str]] | None = None,
              convention: str | OPEConvention = DEFAULT_CONVENTION,
              workers: int | None = None, backend: Backend = "auto") -> OPEReport:
    """Score every tracker on every sequence it has results for.

    ``results[tracker][sequence]``: one ``(N, 4)`` run, a list of runs or an ``(R, N, 4)`` array, in
    the ground truth's pixel frame. ``groundtruth[sequence]``: ``(N, 4)``. ``times[tracker][sequence]``:
    per-frame seconds, one array or one per run (optional). ``attributes``: see :func:`aggregate_ope`.
    ``backend``: ``"numba"`` (one compiled pass per run, :mod:`siambench.metrics._ope_kernel`),
    ``"numpy"`` (chunked vectorised passes) or ``"auto"``: numba when it can be imported and the work
    has at least 200,000 frames or the kernel is already loaded, else numpy. Curves are identical
    bit for bit (and to :func:`score_ope_reference`'s). ``workers``: threads (results do not depend
    on it); default numpy 1, numba one per CPU (up to 4) from 100,000 frames on. Inputs are never
    modified.
    """
    from siambench.metrics import ope_fast  # imports this module: loaded on first use

    conv = resolve_convention(convention)
    gts = {seq: _check_gt(seq, gt) for seq, gt in groundtruth.items()}
    collected = {tracker: _collect_runs(tracker, by_seq, gts) for tracker, by_seq in results.items()}
    return ope_fast._report(ope_fast._score_trackers(collected, gts, times, conv, workers, backend),
                            attributes)


def ope_sequence_score(pred: Any, gt: Any, *, times: Any = None,
                       convention: str | OPEConvention = DEFAULT_CONVENTION,
                       backend: Backend = "auto") -> OPESequenceScore:
    """Score one sequence: ``pred`` is one ``(N, 4)`` run or a list of runs; ``gt`` ``(N, 4)``.

    ``times``: per-frame seconds (array, or one array per run) or None. ``backend``: see
    :func:`score_ope`. Inputs are not modified.
    """
    from siambench.metrics import ope_fast

    conv = resolve_convention(convention)
    gts = {"sequence": _check_gt("sequence", gt)}
    runs = _collect_runs("tracker", {"sequence": pred}, gts)
    by_tracker = None if times is None else {"tracker": {"sequence": times}}
    block = ope_fast._score_trackers({"tracker": runs}, gts, by_tracker, conv, 1, backend)["tracker"]
    return block.records()["sequence"]


def aggregate_ope(scores: Mapping[str, Mapping[str, OPESequenceScore]], *,
                  attributes: Mapping[str, Iterable[str]] | None = None) -> OPEReport:
    """Tables from per-sequence records: ``scores[tracker][sequence]``.

    ``attributes[sequence]`` lists the sequence's attributes (e.g. ``["IV", "OCC"]``); each attribute
    gets a row per tracker aggregated over the sequences having it, with the same code as overall.
    """
    from siambench.metrics import ope_fast

    return ope_fast.aggregate(scores, attributes)


def numba_available() -> bool:
    """Whether the numba backend can be used (imports numba: ~0.3 s the first time)."""
    from siambench.metrics import ope_fast

    return ope_fast.numba_available()


def with_convention(base: str | OPEConvention, **changes: Any) -> OPEConvention:
    """A preset with some fields changed, e.g. ``with_convention("otb", invalid_gt="miss")``."""
    return replace(resolve_convention(base), **changes)
