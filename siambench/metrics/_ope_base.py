"""What the OPE reference scorer (:mod:`siambench.metrics.ope`) and its fast twin
(:mod:`siambench.metrics.ope_fast`) share: thresholds, conventions, record and report types,
table columns and input checks. Both import it; neither imports the other at load time, so the
import graph has no cycle. The public names are re-exported by :mod:`siambench.metrics.ope`,
where their definitions are documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from siambench.metrics._core import ScoringError, as_runs

Backend = Literal["auto", "numba", "numpy"]
"""The OPE scorer's implementations: numba kernel, chunked numpy, or the best available."""

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
    """Curves of one tracker on one sequence (mean over its runs) and its speeds.

    ``frames``: frames in the denominator of one run; ``runs``: number of runs averaged.
    Curves are NaN when no frame is scored. ``fps_mean``: ``mean(1 / t)``; ``fps_total``: valid
    times / their sum; ``timed_frames`` and ``tracker_seconds``: that count and that sum (speeds
    NaN without times; see the module docstring).
    """

    success_curve: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    frames: int
    runs: int = 1
    fps_mean: float = float("nan")
    timed_frames: int = 0
    tracker_seconds: float = 0.0

    @property
    def fps_total(self) -> float:
        """Frames with a valid time / the sum of those times (NaN without times)."""
        if self.timed_frames and self.tracker_seconds > 0:
            return self.timed_frames / self.tracker_seconds
        return float("nan")

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
    success_rate, precision, norm_precision, fps_mean, fps_total``. ``overall``: one row per tracker:
    ``tracker, sequences, success_auc, precision, norm_precision, fps_mean, fps_total, success_rate``.
    ``by_attribute``: one row per (tracker, attribute) with the overall columns plus ``attribute``.
    ``curves[tracker]`` and ``attribute_curves[(tracker, attribute)]`` hold ``success``,
    ``precision``, ``norm_precision``.
    ``scores(tracker)`` gives the per-sequence records. Scores are unrounded fractions.
    """

    sequences: pd.DataFrame
    overall: pd.DataFrame
    by_attribute: pd.DataFrame
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    attribute_curves: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)
    blocks: dict[str, Any] = field(default_factory=dict, repr=False)   # fast path: per-tracker arrays
    records: dict[str, dict[str, OPESequenceScore]] = field(default_factory=dict, repr=False)

    def scores(self, tracker: str) -> dict[str, OPESequenceScore]:
        """Per-sequence records of one tracker (built on demand)."""
        if tracker in self.records:
            return dict(self.records[tracker])
        return self.blocks[tracker].records()


OVERALL_COLUMNS = ["tracker", "sequences", "success_auc", "precision", "norm_precision", "fps_mean",
                   "fps_total", "success_rate"]
SEQUENCE_COLUMNS = ["tracker", "sequence", "frames", "runs", "success_auc", "success_rate",
                    "precision", "norm_precision", "fps_mean", "fps_total"]


# --------------------------------------------------------------------------------------------
# inputs (shared with the fast path)
# --------------------------------------------------------------------------------------------

_FLOAT64 = np.dtype(np.float64)


def _check_gt(name: str, gt: Any) -> np.ndarray:
    array = np.asarray(gt, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ScoringError(f"ground truth of {name!r}: expected (N, 4) x, y, w, h rows, got {array.shape}")
    return array


@dataclass(frozen=True)
class _Runs:
    """One tracker's results, checked: sequences in order, their runs, the sequence of each run."""

    names: list[str]
    preds: list[np.ndarray]
    run_seqs: tuple[str, ...]
    runs_per_seq: list[int]


def _collect_runs(tracker: str, runs_by_seq: Mapping[str, Any], gts: Mapping[str, np.ndarray]) -> _Runs:
    names: list[str] = []
    preds: list[np.ndarray] = []
    run_seqs: list[str] = []
    runs_per_seq: list[int] = []
    for seq, value in runs_by_seq.items():
        gt = gts.get(seq)
        if gt is None:
            raise ScoringError(f"tracker {tracker!r}: sequence {seq!r} has results but no ground truth")
        if isinstance(value, np.ndarray) and value.shape == gt.shape and value.dtype == _FLOAT64:
            runs = [value]   # the common case, one run of the right shape: nothing to convert or check
        else:
            runs = as_runs(value, 4, f"tracker {tracker!r}, sequence {seq!r}")
            for r, run in enumerate(runs):
                if len(run) != len(gt):
                    raise ScoringError(f"tracker {tracker!r}, sequence {seq!r}, run {r + 1}: "
                                       f"{len(run)} result rows but the ground truth has {len(gt)} "
                                       f"(expected one box per frame)")
        preds.extend(runs)
        run_seqs.extend([seq] * len(runs))
        names.append(seq)
        runs_per_seq.append(len(runs))
    return _Runs(names, preds, tuple(run_seqs), runs_per_seq)


def _as_times(value: Any) -> np.ndarray | None:
    """Per-frame seconds of one sequence (one array or one per run) as one flat array, or None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        array = value.ravel() if value.dtype == np.float64 else value.astype(np.float64).ravel()
    elif isinstance(value, (list, tuple)):
        parts = [np.asarray(t, dtype=np.float64).ravel() for t in value if t is not None]
        array = np.concatenate(parts) if parts else np.zeros(0)
    else:
        array = np.asarray(value, dtype=np.float64).ravel()
    return array if array.size else None
