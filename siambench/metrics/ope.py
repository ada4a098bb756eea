"""One-pass evaluation (OPE) metrics: success, precision, normalised precision, speed.

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
* **fps**: per sequence ``mean(1 / t)`` over positive, non-NaN frame times (init included), dataset =
  mean over the sequences that have a speed (got10k).

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

Speed: all runs of a tracker are scored in one fused, chunked numpy pass (IoU, centre errors and
exact per-frame threshold counts), curves come from one ``np.bincount`` per curve family, and
trackers run on a thread pool. ``benchmarks/scoring.py`` compares with got10k's per-sequence loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from siambench.metrics._core import (
    ScoringError,
    as_runs,
    grid_counts,
    precision_from_histogram,
    segment_histogram,
    success_from_histogram,
)

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(0.0, 51.0)
NORM_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 51)
PRECISION_AT = 20          # index of 20 px in PRECISION_THRESHOLDS
SUCCESS_RATE_AT = 10       # index of IoU 0.5 in SUCCESS_THRESHOLDS
PERFECT_IOU = 1.0 - 1e-9   # "IoU == 1" for the inclusive last threshold

InvalidRule = Literal["otb", "exclude", "miss", "none"]


@dataclass(frozen=True)
class OPEConvention:
    """How a one-pass result is scored (see the module docstring for the named presets).

    ``first_frame_gt``: replace each run's frame 0 with the GT before scoring (OTB toolkit, got10k).
    ``invalid_gt``: frames whose GT row has NaN or ``w <= 0`` / ``h <= 0`` —
    ``"otb"`` IoU fails and centre errors hit at every threshold, denominator unchanged (OTB toolkit,
    pysot); ``"miss"`` fail everywhere, denominator unchanged (pysot's LaSOT ``absent``);
    ``"exclude"`` dropped from the denominator (got10k LaSOT, UAV123 NaN rows = target absent);
    ``"none"`` scored as they are (got10k OTB).
    ``inclusive_last``: at threshold 1.0 success means ``IoU >= 1`` instead of ``IoU > 1``.
    ``norm``: normalised centre error flavour, ``"got10k"`` or ``"pysot"``.
    """

    name: str
    first_frame_gt: bool = True
    invalid_gt: InvalidRule = "otb"
    inclusive_last: bool = False
    norm: Literal["got10k", "pysot"] = "got10k"


CONVENTIONS: dict[str, OPEConvention] = {
    "otb": OPEConvention("otb"),
    "got10k": OPEConvention("got10k", invalid_gt="none"),
    "pysot": OPEConvention("pysot", first_frame_gt=False, norm="pysot"),
    "lasot": OPEConvention("lasot", invalid_gt="exclude"),
    "siambench": OPEConvention("siambench", invalid_gt="exclude", inclusive_last=True),
}
DEFAULT_CONVENTION = "otb"


def resolve_convention(convention: str | OPEConvention) -> OPEConvention:
    """A preset name or an :class:`OPEConvention` as an :class:`OPEConvention`."""
    if isinstance(convention, OPEConvention):
        if convention.invalid_gt not in ("otb", "exclude", "miss", "none"):
            raise ScoringError(f"invalid_gt: expected otb/exclude/miss/none, got {convention.invalid_gt!r}")
        return convention
    try:
        return CONVENTIONS[convention]
    except KeyError:
        raise ScoringError(f"unknown OPE convention {convention!r}; expected one of "
                           f"{', '.join(CONVENTIONS)} or an OPEConvention") from None


@dataclass(frozen=True)
class OPESequenceScore:
    """Curves of one tracker on one sequence (mean over its runs) and its speed.

    ``frames``: frames in the denominator of one run; ``runs``: number of runs averaged.
    Curves are NaN when no frame is scored.
    """

    success_curve: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    frames: int
    runs: int = 1
    fps: float = float("nan")

    @property
    def success_auc(self) -> float:
        """Mean of the 21-point success curve."""
        return float(np.mean(self.success_curve))

    @property
    def success_rate(self) -> float:
        """Success at IoU 0.5."""
        return float(self.success_curve[SUCCESS_RATE_AT])

    @property
    def precision(self) -> float:
        """Precision at 20 px."""
        return float(self.precision_curve[PRECISION_AT])

    @property
    def norm_precision(self) -> float:
        """Mean of the 51-point normalised precision curve (AUC)."""
        return float(np.mean(self.norm_precision_curve))


@dataclass
class OPEReport:
    """Scores as DataFrames plus the curves behind them.

    ``sequences``: one row per (tracker, sequence): ``tracker, sequence, frames, runs, success_auc,
    success_rate, precision, norm_precision, fps``. ``overall``: one row per tracker: ``tracker,
    sequences, success_auc, precision, norm_precision, fps, success_rate``. ``by_attribute``: one
    row per (tracker, attribute) with the overall columns plus ``attribute``. ``curves[tracker]`` and
    ``attribute_curves[(tracker, attribute)]`` hold ``success``, ``precision``, ``norm_precision``.
    ``scores(tracker)`` gives the per-sequence records. Scores are unrounded fractions.
    """

    sequences: pd.DataFrame
    overall: pd.DataFrame
    by_attribute: pd.DataFrame
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    attribute_curves: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)
    blocks: dict[str, Any] = field(default_factory=dict, repr=False)

    def scores(self, tracker: str) -> dict[str, OPESequenceScore]:
        """Per-sequence records of one tracker (built on demand)."""
        return self.blocks[tracker].records()


# --------------------------------------------------------------------------------------------
# per-frame work, vectorised over every run of every sequence of one tracker
# --------------------------------------------------------------------------------------------

def _invalid_rows(gt: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isnan(gt).any(axis=1) | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)


@dataclass(frozen=True)
class _GTColumns:
    """Ground-truth quantities of concatenated runs, computed once and shared by trackers."""

    boxes: np.ndarray        # (M, 4)
    x: np.ndarray
    y: np.ndarray
    x2: np.ndarray           # x + w
    y2: np.ndarray
    area: np.ndarray         # w * h
    cx: np.ndarray           # x + (w - 1) / 2
    cy: np.ndarray
    sx: np.ndarray           # normaliser of the normalised centre error (x)
    sy: np.ndarray
    ncx: np.ndarray          # pysot flavour: cx / sx
    ncy: np.ndarray
    invalid: np.ndarray      # (M,) bool

    @classmethod
    def build(cls, gts: list[np.ndarray], invalid: list[np.ndarray], norm: str) -> _GTColumns:
        boxes = np.concatenate(gts) if len(gts) > 1 else gts[0]
        x, y, w, h = (np.ascontiguousarray(c) for c in boxes.T)
        cx, cy = x + (w - 1) / 2, y + (h - 1) / 2
        if norm == "pysot":
            sx, sy = w + 1e-16, h + 1e-16
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ncx, ncy = cx / sx, cy / sy
        else:
            sx, sy = np.maximum(1.0, w), np.maximum(1.0, h)
            ncx, ncy = cx, cy
        return cls(boxes, x, y, x + w, y + h, w * h, cx, cy, sx, sy, ncx, ncy,
                   np.concatenate(invalid) if len(invalid) > 1 else invalid[0])


_CHUNK = 1 << 15   # frames per pass of the fused kernel (buffers stay in cache)


def _frame_counts(pred: np.ndarray, g: _GTColumns, conv: OPEConvention
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame, the number of success / precision / normalised-precision thresholds below it.

    A fused form of :func:`siambench.boxes.rect_iou`, :func:`~siambench.boxes.centre_error` and
    :func:`~siambench.boxes.normalized_centre_error` (same formulas and operation order; the tests
    pin the values to those functions): the scorer's hot loop, run in cache-sized chunks with
    preallocated buffers. A NaN or non-positive IoU counts as no success, a NaN distance as no hit.
    """
    m = len(pred)
    n_s, n_p, n_n = len(SUCCESS_THRESHOLDS), len(PRECISION_THRESHOLDS), len(NORM_PRECISION_THRESHOLDS)
    c_s = np.empty(m, dtype=np.intp)
    c_p = np.empty(m, dtype=np.intp)
    c_n = np.empty(m, dtype=np.intp)
    buffers = np.empty((6, min(m, _CHUNK)))
    pysot = conv.norm == "pysot"
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for a in range(0, m, _CHUNK):
            b = min(a + _CHUNK, m)
            t0, t1, t2, t3, t4, t5 = buffers[:, : b - a]
            px, py, pw, ph = pred[a:b, 0], pred[a:b, 1], pred[a:b, 2], pred[a:b, 3]
            # rect IoU, continuous extent: inter / (area_p + area_g - inter)
            np.add(px, pw, out=t0)
            np.minimum(t0, g.x2[a:b], out=t0)
            np.maximum(px, g.x[a:b], out=t1)
            t0 -= t1
            np.maximum(t0, 0.0, out=t0)
            np.add(py, ph, out=t1)
            np.minimum(t1, g.y2[a:b], out=t1)
            np.maximum(py, g.y[a:b], out=t2)
            t1 -= t2
            np.maximum(t1, 0.0, out=t1)
            t0 *= t1
            np.multiply(pw, ph, out=t1)
            t1 += g.area[a:b]
            t1 -= t0
            t0 /= t1
            np.minimum(t0, 1.0, out=t0)
            grid_counts(t0, 20.0, SUCCESS_THRESHOLDS, 0, c_s[a:b], t1, t2)
            if conv.inclusive_last:
                c_s[a:b][t0 >= PERFECT_IOU] = n_s
            # centre offsets: x + (w - 1) / 2
            np.subtract(pw, 1.0, out=t2)
            t2 /= 2
            t2 += px
            np.subtract(ph, 1.0, out=t3)
            t3 /= 2
            t3 += py
            if pysot:
                np.divide(t2, g.sx[a:b], out=t4)
                np.divide(t3, g.sy[a:b], out=t5)
                t4 -= g.ncx[a:b]
                t5 -= g.ncy[a:b]
            t2 -= g.cx[a:b]
            t3 -= g.cy[a:b]
            if not pysot:
                np.divide(t2, g.sx[a:b], out=t4)
                np.divide(t3, g.sy[a:b], out=t5)
            t2 *= t2
            t3 *= t3
            t2 += t3
            np.sqrt(t2, out=t2)
            # integer pixel thresholds: d <= k  <=>  ceil(d) <= k, exactly; NaN -> never a hit
            np.fmin(t2, float(n_p), out=t2)
            np.ceil(t2, out=t2)
            c_p[a:b] = t2
            t4 *= t4
            t5 *= t5
            t4 += t5
            np.sqrt(t4, out=t4)
            grid_counts(t4, 100.0, NORM_PRECISION_THRESHOLDS, n_n, c_n[a:b], t1, t2)
    return c_s, c_p, c_n



@dataclass
class _Block:
    """Per-sequence curves of one tracker as arrays (rows follow ``names``)."""

    names: list[str]
    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    frames: np.ndarray
    runs: np.ndarray
    fps: np.ndarray

    @classmethod
    def from_records(cls, records: Mapping[str, OPESequenceScore]) -> _Block:
        values = list(records.values())
        return cls(list(records), np.array([r.success_curve for r in values]).reshape(len(values), -1),
                   np.array([r.precision_curve for r in values]).reshape(len(values), -1),
                   np.array([r.norm_precision_curve for r in values]).reshape(len(values), -1),
                   np.array([r.frames for r in values], dtype=np.int64),
                   np.array([r.runs for r in values], dtype=np.int64),
                   np.array([r.fps for r in values], dtype=np.float64))

    def records(self) -> dict[str, OPESequenceScore]:
        return {name: OPESequenceScore(self.success[i], self.precision[i], self.norm_precision[i],
                                       int(self.frames[i]), int(self.runs[i]), float(self.fps[i]))
                for i, name in enumerate(self.names)}


def _check_gt(name: str, gt: Any) -> np.ndarray:
    array = np.asarray(gt, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ScoringError(f"ground truth of {name!r}: expected (N, 4) x, y, w, h rows, got {array.shape}")
    return array


def _has_times(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (list, tuple)):
        return any(t is not None and np.size(t) for t in value)
    return bool(np.size(value))


def _times_rate(times: list[np.ndarray]) -> np.ndarray:
    """Per array, ``mean(1 / t)`` over positive non-NaN times (NaN when none), vectorised."""
    lengths = np.fromiter((len(t) for t in times), dtype=np.intp, count=len(times))
    flat = np.concatenate(times) if len(times) > 1 else times[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = flat > 0
        inv = np.divide(1.0, flat, where=ok, out=np.zeros(len(flat)))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        nonempty = lengths > 0
        sums = np.zeros(len(times))
        counts = np.zeros(len(times))
        if nonempty.any():
            sums[nonempty] = np.add.reduceat(inv, starts[nonempty])
            counts[nonempty] = np.add.reduceat(ok.astype(np.float64), starts[nonempty])
        return np.where(counts > 0, sums / counts, np.nan)


def _tracker_block(tracker: str, runs_by_seq: Mapping[str, Any], gts: Mapping[str, np.ndarray],
                   invalid: Mapping[str, np.ndarray], times: Mapping[str, Any] | None,
                   conv: OPEConvention, gt_cache: dict[tuple[str, ...], _GTColumns]) -> _Block:
    names: list[str] = []
    preds: list[np.ndarray] = []
    run_seqs: list[str] = []
    runs_per_seq: list[int] = []
    for seq, value in runs_by_seq.items():
        if seq not in gts:
            raise ScoringError(f"tracker {tracker!r}: sequence {seq!r} has results but no ground truth")
        runs = as_runs(value, 4, f"tracker {tracker!r}, sequence {seq!r}")
        gt = gts[seq]
        for r, run in enumerate(runs):
            if len(run) != len(gt):
                raise ScoringError(f"tracker {tracker!r}, sequence {seq!r}, run {r + 1}: "
                                   f"{len(run)} result rows but the ground truth has {len(gt)} "
                                   f"(expected one box per frame)")
            preds.append(run)
            run_seqs.append(seq)
        names.append(seq)
        runs_per_seq.append(len(runs))
    n_seq = len(names)
    if not preds:
        empty = np.zeros((0, 0))
        return _Block([], empty, empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    key = tuple(run_seqs)
    if key not in gt_cache:
        gt_cache[key] = _GTColumns.build([gts[s] for s in run_seqs], [invalid[s] for s in run_seqs],
                                         conv.norm)
    g = gt_cache[key]
    k = len(preds)
    lengths = np.fromiter((len(p) for p in preds), dtype=np.intp, count=k)
    pred = np.concatenate(preds) if k > 1 else preds[0].copy()
    if conv.first_frame_gt:
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[lengths > 0]
        pred[starts] = g.boxes[starts]
    c_s, c_p, c_n = _frame_counts(pred, g, conv)
    segments = np.repeat(np.arange(k, dtype=np.intp), lengths)
    bad = g.invalid
    if conv.invalid_gt != "none" and bad.any():
        if conv.invalid_gt == "otb":
            c_s[bad], c_p[bad], c_n[bad] = 0, 0, 0
        elif conv.invalid_gt == "miss":
            c_s[bad], c_p[bad], c_n[bad] = 0, len(PRECISION_THRESHOLDS), len(NORM_PRECISION_THRESHOLDS)
        else:  # exclude
            segments[bad] = k
    frames = np.bincount(segments, minlength=k + 1)[:k].astype(np.float64)
    n_s, n_p, n_n = len(SUCCESS_THRESHOLDS), len(PRECISION_THRESHOLDS), len(NORM_PRECISION_THRESHOLDS)
    succ = success_from_histogram(segment_histogram(segments, c_s, k, n_s + 1), frames)
    prec = precision_from_histogram(segment_histogram(segments, c_p, k, n_p + 1), frames)
    norm = precision_from_histogram(segment_histogram(segments, c_n, k, n_n + 1), frames)
    runs = np.asarray(runs_per_seq, dtype=np.int64)
    if k != n_seq:  # mean over the runs of each sequence
        first = np.concatenate([[0], np.cumsum(runs)[:-1]])
        succ, prec, norm = (np.add.reduceat(c, first, axis=0) / runs[:, None] for c in (succ, prec, norm))
        frames = frames[first]
    if times is None:
        fps = np.full(n_seq, np.nan)
    else:
        fps = np.full(n_seq, np.nan)
        have = [i for i, s in enumerate(names) if _has_times(times.get(s))]
        if have:
            parts = []
            for i in have:
                value = times[names[i]]
                parts.append(np.concatenate([np.asarray(t, dtype=np.float64).ravel() for t in value
                                             if t is not None])
                             if isinstance(value, (list, tuple))
                             else np.asarray(value, dtype=np.float64).ravel())
            fps[have] = _times_rate(parts)
    return _Block(names, succ, prec, norm, frames.astype(np.int64), runs, fps)


def ope_sequence_score(pred: Any, gt: Any, *, times: Any = None,
                       convention: str | OPEConvention = DEFAULT_CONVENTION) -> OPESequenceScore:
    """Score one sequence: ``pred`` is one ``(N, 4)`` run or a list of runs; ``gt`` ``(N, 4)``.

    ``times``: per-frame seconds (array, or one array per run) or None. Inputs are not modified.
    """
    conv = resolve_convention(convention)
    gt_arr = _check_gt("sequence", gt)
    block = _tracker_block("tracker", {"sequence": pred}, {"sequence": gt_arr},
                           {"sequence": _invalid_rows(gt_arr)},
                           None if times is None else {"sequence": times}, conv, {})
    return block.records()["sequence"]


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------

OVERALL_COLUMNS = ["tracker", "sequences", "success_auc", "precision", "norm_precision", "fps",
                   "success_rate"]
SEQUENCE_COLUMNS = ["tracker", "sequence", "frames", "runs", "success_auc", "success_rate",
                    "precision", "norm_precision", "fps"]


def _overall(tracker: str, block: _Block, rows: np.ndarray | slice
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Mean curves over the selected sequences (those with scored frames) and the scores."""
    succ, prec, norm = block.success[rows], block.precision[rows], block.norm_precision[rows]
    keep = block.frames[rows] > 0
    if not keep.all():
        succ, prec, norm = succ[keep], prec[keep], norm[keep]
    with np.errstate(invalid="ignore"):
        curves = {"success": np.mean(succ, axis=0) if len(succ) else np.full(succ.shape[1], np.nan),
                  "precision": np.mean(prec, axis=0) if len(prec) else np.full(prec.shape[1], np.nan),
                  "norm_precision": (np.mean(norm, axis=0) if len(norm)
                                     else np.full(norm.shape[1], np.nan))}
    fps = block.fps[rows]
    fps = fps[np.isfinite(fps)]
    row = {
        "tracker": tracker,
        "sequences": len(block.frames[rows]),
        "success_auc": float(np.mean(curves["success"])),
        "precision": float(curves["precision"][PRECISION_AT]),
        "norm_precision": float(np.mean(curves["norm_precision"])),
        "fps": float(np.sum(fps) / len(fps)) if len(fps) else float("nan"),
        "success_rate": float(curves["success"][SUCCESS_RATE_AT]),
    }
    return row, curves


def _report(blocks: Mapping[str, _Block], attributes: Mapping[str, Iterable[str]] | None) -> OPEReport:
    seq_parts: list[pd.DataFrame] = []
    overall_rows: list[dict[str, Any]] = []
    attr_rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, np.ndarray]] = {}
    attribute_curves: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    attr_sets = {s: set(a) for s, a in (attributes or {}).items()}
    all_attrs = sorted(set().union(*attr_sets.values())) if attr_sets else []
    for tracker, block in blocks.items():
        if not block.names:
            continue
        with np.errstate(invalid="ignore"):
            seq_parts.append(pd.DataFrame({
                "tracker": tracker, "sequence": block.names, "frames": block.frames, "runs": block.runs,
                "success_auc": np.mean(block.success, axis=1),
                "success_rate": block.success[:, SUCCESS_RATE_AT],
                "precision": block.precision[:, PRECISION_AT],
                "norm_precision": np.mean(block.norm_precision, axis=1), "fps": block.fps}))
        row, curves[tracker] = _overall(tracker, block, slice(None))
        overall_rows.append(row)
        for attr in all_attrs:
            mask = np.array([attr in attr_sets.get(seq, ()) for seq in block.names])
            if not mask.any():
                continue
            row, attribute_curves[(tracker, attr)] = _overall(tracker, block, mask)
            attr_rows.append({"tracker": tracker, "attribute": attr,
                              **{k: v for k, v in row.items() if k != "tracker"}})
    sequences = (pd.concat(seq_parts, ignore_index=True) if seq_parts
                 else pd.DataFrame(columns=SEQUENCE_COLUMNS))
    return OPEReport(
        sequences=sequences[SEQUENCE_COLUMNS],
        overall=pd.DataFrame(overall_rows, columns=OVERALL_COLUMNS),
        by_attribute=pd.DataFrame(attr_rows, columns=["tracker", "attribute", *OVERALL_COLUMNS[1:]]),
        curves=curves, attribute_curves=attribute_curves, blocks=dict(blocks))


def aggregate_ope(scores: Mapping[str, Mapping[str, OPESequenceScore]], *,
                  attributes: Mapping[str, Iterable[str]] | None = None) -> OPEReport:
    """Tables from per-sequence records: ``scores[tracker][sequence]``.

    ``attributes[sequence]`` lists the sequence's attributes (e.g. ``["IV", "OCC"]``); each attribute
    gets a row per tracker aggregated over the sequences having it, with the same code as overall.
    """
    return _report({t: _Block.from_records(r) for t, r in scores.items()}, attributes)


def score_ope(results: Mapping[str, Mapping[str, Any]], groundtruth: Mapping[str, Any], *,
              times: Mapping[str, Mapping[str, Any]] | None = None,
              attributes: Mapping[str, Iterable[str]] | None = None,
              convention: str | OPEConvention = DEFAULT_CONVENTION,
              workers: int | None = None) -> OPEReport:
    """Score every tracker on every sequence it has results for.

    ``results[tracker][sequence]``: one ``(N, 4)`` run, a list of runs or an ``(R, N, 4)`` array, in
    the ground truth's pixel frame. ``groundtruth[sequence]``: ``(N, 4)``. ``times[tracker][sequence]``:
    per-frame seconds, one array or one per run (optional). ``attributes``: see :func:`aggregate_ope`.
    All frames of a tracker are scored in one vectorised pass; trackers run on ``workers`` threads
    (default: one per CPU; results do not depend on it). Inputs are never modified.
    """
    conv = resolve_convention(convention)
    gts = {seq: _check_gt(seq, gt) for seq, gt in groundtruth.items()}
    invalid = {seq: _invalid_rows(gt) for seq, gt in gts.items()}
    cache: dict[tuple[str, ...], _GTColumns] = {}

    def one(item: tuple[str, Mapping[str, Any]]) -> _Block:
        tracker, by_seq = item
        return _tracker_block(tracker, by_seq, gts, invalid,
                              None if times is None else times.get(tracker), conv, cache)

    items = list(results.items())
    n_workers = min(workers if workers is not None else (os.cpu_count() or 1), len(items))
    if n_workers > 1:
        # numpy releases the GIL inside its loops: trackers are scored side by side
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            built = list(pool.map(one, items))
    else:
        built = [one(item) for item in items]
    return _report(dict(zip(results, built)), attributes)


def with_convention(base: str | OPEConvention, **changes: Any) -> OPEConvention:
    """A preset with some fields changed, e.g. ``with_convention("otb", invalid_gt="miss")``."""
    return replace(resolve_convention(base), **changes)
