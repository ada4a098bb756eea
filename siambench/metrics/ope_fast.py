"""The fast OPE scorer: the definition of :mod:`siambench.metrics.ope`, computed in chunks or compiled.

:func:`siambench.metrics.ope.score_ope` scores through this module; its results equal the reference
scorer's (:func:`siambench.metrics.ope.score_ope_reference`, every frame against every threshold)
bit for bit — curves, scores, tables — which ``tests/test_metrics_ope.py`` checks on generated cases
(the speeds only up to summation order: see :func:`~siambench.metrics.ope.score_ope_reference`).

Two backends with identical curves (bit for bit; ``backend=`` of :func:`~siambench.metrics.ope.score_ope`).
``"numba"`` (:mod:`siambench.metrics._ope_kernel`, imported at the first call that uses it, never by
``import siambench.metrics``): one compiled pass per run computes IoU and errors and counts them
into histograms and writes the curves, on one thread per CPU (up to 4) for large work. ``"numpy"``: the runs
of every tracker are concatenated and scored in chunks of ``_CHUNK`` frames that stay in a core's L2
cache, with preallocated buffers and in-place numpy operations (about 60 array passes per frame),
then one ``np.bincount`` per curve family and chunk; ground-truth columns are computed once per
call and shared by all trackers. ``"auto"`` (default) takes numba when it is importable and the work
has at least ``_KERNEL_MIN_FRAMES`` frames (or the kernel is already loaded): below that, importing
numba (~0.3 s) and loading the cached kernel cost more than numpy's ~30 ns per frame.
Curves are counted, not broadcast: see :mod:`siambench.metrics._core`.
``benchmarks/scoring.py`` compares with got10k's per-sequence loop.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from siambench.metrics._core import (
    ScoringError,
    precision_from_histogram,
    success_from_histogram,
)
from siambench.metrics._ope_base import (
    _FLOAT64,
    NORM_PRECISION_THRESHOLDS,
    OVERALL_COLUMNS,
    PERFECT_IOU,
    PRECISION_AT,
    PRECISION_THRESHOLDS,
    SEQUENCE_COLUMNS,
    SUCCESS_RATE_AT,
    SUCCESS_THRESHOLDS,
    Backend,
    OPEConvention,
    OPEReport,
    OPESequenceScore,
    _as_times,
    _Runs,
)

# --------------------------------------------------------------------------------------------
# per-frame work: every run of a tracker in one pass of cache-sized chunks
# --------------------------------------------------------------------------------------------

def _invalid_rows(gt: np.ndarray) -> np.ndarray:
    """Rows with a NaN or ``w <= 0`` / ``h <= 0`` (``gt``: ``(N, 4)`` float64)."""
    nan = np.isnan(gt, order="C")   # (N, 4) bool, C-contiguous: a row's 4 flags read as one uint32
    with np.errstate(invalid="ignore"):
        return (nan.view(np.uint32).ravel() != 0) | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)


# frames per chunk: its ~20 float64 rows (5 MB) stay in cache, and each numpy call is long enough
# that Python's per-call overhead stays small (2^14 .. 2^17 measured within 5%; 2^13 is 15% slower)
_CHUNK = 1 << 15
_BINS_S = len(SUCCESS_THRESHOLDS) + 1        # per-frame success count 0..21
_BINS_P = len(PRECISION_THRESHOLDS) + 1      # per-frame precision / normalised count 0..51
_GT_ROWS = 11                                # x, y, x + w, y + h, area, cx, cy, sx, sy, ncx, ncy


def _chunk_bounds(ends: np.ndarray, m: int) -> list[tuple[int, int]]:
    """Frame ranges of about ``_CHUNK`` frames, cut at run ends where one is near (runs longer
    than a chunk are split)."""
    bounds = []
    a = 0
    while a < m:
        b = min(a + _CHUNK, m)
        j = int(np.searchsorted(ends, b, side="right")) - 1     # last run ending at or before b
        if b < m and j >= 0 and ends[j] > a + _CHUNK // 2:
            b = int(ends[j])
        bounds.append((a, b))
        a = b
    return bounds


@dataclass(frozen=True)
class _Chunk:
    """Frames ``[a, b)`` of the concatenated runs; they belong to runs ``seg0 .. seg0 + nseg - 1``.

    ``pieces``: ``(run, lo, hi)`` frame ranges of the runs in the chunk, in order; ``off_s`` /
    ``off_p``: per frame, ``local run * bins`` as floats (excluded frames point at the dropped row
    ``nseg``); ``starts``: local indices of first frames, ``start_boxes`` their GT ``(4, k)``;
    ``bad``: local indices of invalid GT frames with their fixed histogram keys.
    """

    a: int
    b: int
    seg0: int
    nseg: int
    pieces: tuple[tuple[int, int, int], ...]
    off_s: np.ndarray
    off_p: np.ndarray
    starts: np.ndarray
    start_boxes: np.ndarray
    bad: np.ndarray
    bad_keys: tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _ChunkPlan:
    """The chunk plan of a list of runs (the sequence each run scores): their ground-truth side
    and its cut into :class:`_Chunk` s of about ``_CHUNK`` frames, built once per ``score_ope``
    call and shared by every tracker with the same runs.

    ``cols``: ``(11, M)`` contiguous rows ``x, y, x + w, y + h, area, cx, cy, sx, sy, ncx, ncy``
    (``area = ((x + w) - x) * ((y + h) - y)`` as :func:`siambench.boxes.rect_iou`; ``s``: the
    normaliser, ``nc = c / s`` for pysot's flavour); ``frames``: scored frames per run.
    """

    lengths: np.ndarray
    frames: np.ndarray
    cols: np.ndarray
    chunks: tuple[_Chunk, ...]

    @classmethod
    def build(cls, gts: list[np.ndarray], conv: OPEConvention) -> _ChunkPlan:
        lengths = np.fromiter((len(g) for g in gts), dtype=np.intp, count=len(gts))
        k, m = len(gts), int(lengths.sum())
        boxes = np.concatenate(gts) if k > 1 else gts[0]
        bad = _invalid_rows(boxes)
        cols = np.empty((_GT_ROWS, m))
        x, y, x2, y2, area, cx, cy, sx, sy, ncx, ncy = cols
        w, h = boxes[:, 2], boxes[:, 3]
        np.copyto(x, boxes[:, 0])
        np.copyto(y, boxes[:, 1])
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            np.add(x, w, out=x2)
            np.add(y, h, out=y2)
            np.multiply(x2 - x, y2 - y, out=area)
            np.add(x, (w - 1) / 2, out=cx)
            np.add(y, (h - 1) / 2, out=cy)
            if conv.norm == "pysot":
                np.add(w, 1e-16, out=sx)
                np.add(h, 1e-16, out=sy)
                np.divide(cx, sx, out=ncx)
                np.divide(cy, sy, out=ncy)
            else:
                np.maximum(1.0, w, out=sx)
                np.maximum(1.0, h, out=sy)
                ncx[:], ncy[:] = cx, cy
        seg = np.repeat(np.arange(k, dtype=np.intp), lengths)
        exclude = conv.invalid_gt == "exclude"
        frames = lengths.astype(np.float64)
        if exclude and bad.any():
            frames -= np.bincount(seg[bad], minlength=k)
        run_starts = (np.cumsum(lengths) - lengths)[lengths > 0]
        fixed = {"otb": (0, 0, 0), "miss": (0, len(PRECISION_THRESHOLDS),
                                            len(NORM_PRECISION_THRESHOLDS))}.get(conv.invalid_gt)
        chunks = []
        ends = np.cumsum(lengths)
        for a, b in _chunk_bounds(ends, m):
            first, last = int(seg[a]), int(seg[b - 1])
            pieces = []
            for r in range(first, last + 1):
                start = int(ends[r]) - int(lengths[r])
                if lengths[r]:
                    pieces.append((r, max(a, start) - start, min(b, int(ends[r])) - start))
            seg0 = int(seg[a])
            local = seg[a:b] - seg0
            nseg = int(local[-1]) + 1
            bad_local = np.flatnonzero(bad[a:b]) if conv.invalid_gt != "none" else np.zeros(0, np.intp)
            if exclude:
                local[bad_local] = nseg
                bad_local = np.zeros(0, np.intp)
            off_s = local * float(_BINS_S)
            off_p = local * float(_BINS_P)
            starts = run_starts[(run_starts >= a) & (run_starts < b)] - a
            keys = (tuple(np.asarray(off[bad_local] + f, dtype=np.intp)
                          for off, f in zip((off_s, off_p, off_p), fixed))
                    if fixed is not None and len(bad_local) else (bad_local,) * 3)
            chunks.append(_Chunk(a, b, seg0, nseg, tuple(pieces), off_s, off_p, starts,
                                 np.ascontiguousarray(boxes[a + starts].T), bad_local, keys))
        return cls(lengths, frames, cols, tuple(chunks))


def _grid_keys(values: np.ndarray, scale: float, high: float, last_inner: float, nan_low: bool,
               offsets: np.ndarray, out: np.ndarray, t1: np.ndarray, t2: np.ndarray,
               near: np.ndarray) -> np.ndarray | None:
    """Histogram keys ``offsets + #{thresholds < v}`` for ``high`` thresholds ``~= arange(high) / scale``.

    The estimate ``ceil(v * scale)``, clipped to ``[0, high]`` (NaN counts 0 if ``nan_low`` else
    ``high``), can be off by one only within a few ulps of a grid point: frames within 1e-6 grid
    steps of one of ``1 .. last_inner`` are returned (local indices) for an exact recount with
    ``np.searchsorted``. Grid point 0 is exact (``v * scale == 0`` iff ``v == 0``) and so is the
    success grid's 20 (IoU <= 1 always, and IoU 1 counts 20), so ``last_inner`` is 19 there (and 50
    for the normalised grid): the many zero IoUs and perfect first frames are not recounted.
    """
    np.multiply(values, scale, out=t1)
    np.rint(t1, out=t2)
    np.clip(t2, 0.5, last_inner + 0.5, out=t2)
    t2 -= t1
    np.abs(t2, out=t2)
    np.less(t2, 1e-6, out=near)
    np.ceil(t1, out=t1)
    if nan_low:
        np.fmax(t1, 0.0, out=t1)
    np.fmin(t1, high, out=t1)
    t1 += offsets
    np.copyto(out, t1, casting="unsafe")
    return np.flatnonzero(near) if near.any() else None


class _Buffers:
    """Scratch arrays for one chunk, allocated once per worker thread and reused."""

    def __init__(self, size: int | None = None) -> None:
        size = _CHUNK if size is None else size
        self.boxes = np.empty(4 * size)
        self.tmp = np.empty((6, size))
        self.keys = np.empty((3, size), dtype=np.intp)
        self.near = np.empty(size, dtype=bool)


def _run_histograms(preds: list[np.ndarray], plan: _ChunkPlan, conv: OPEConvention,
                    chunks: tuple[_Chunk, ...], buffers: _Buffers
                    ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Histograms of the per-frame threshold counts of the runs ``chunks`` cover.

    Returns the first run ``r0`` and ``(runs, 22)``, ``(runs, 52)``, ``(runs, 52)`` int64 arrays for
    runs ``r0, r0 + 1, ...``. Frame ``i`` of run ``r`` adds 1 to ``hist_s[r - r0, c]`` with
    ``c = #{SUCCESS_THRESHOLDS < IoU}`` (strict success: ``IoU > thr[j]`` iff ``j < c``), to
    ``hist_p[r - r0, c]`` with ``c = #{px < error}`` (hit: ``error <= thr[j]`` iff ``j >= c``) and
    likewise for the normalised error. IoU, centre error and normalised error are
    :func:`siambench.boxes.rect_iou`, :func:`~siambench.boxes.centre_error` and
    :func:`~siambench.boxes.normalized_centre_error` fused (same formulas and operation order, so
    the same floats); a NaN IoU (or ``<= 0``) counts as no success, a NaN distance as no hit.
    """
    r0 = chunks[0].seg0
    rows_total = chunks[-1].seg0 + chunks[-1].nseg - r0
    hist_s = np.zeros((rows_total, _BINS_S), dtype=np.int64)
    hist_p = np.zeros((rows_total, _BINS_P), dtype=np.int64)
    hist_n = np.zeros((rows_total, _BINS_P), dtype=np.int64)
    boxes, tmp, keys, near = buffers.boxes, buffers.tmp, buffers.keys, buffers.near
    pysot = conv.norm == "pysot"
    n_s, n_p = float(len(SUCCESS_THRESHOLDS)), float(len(PRECISION_THRESHOLDS))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for ch in chunks:
            a, b, n = ch.a, ch.b, ch.b - ch.a
            p = boxes[: 4 * n].reshape(4, n)
            np.concatenate([preds[r][lo:hi].T for r, lo, hi in ch.pieces], axis=1, out=p)
            if conv.first_frame_gt and len(ch.starts):
                p[:, ch.starts] = ch.start_boxes
            xy, wh = p[0:2], p[2:4]                    # rows (x, y) and (w, h): one call for both
            g = plan.cols[:, a:b]
            g_xy, g_x2y2, g_area, g_c, g_s, g_nc = g[0:2], g[2:4], g[4], g[5:7], g[7:9], g[9:11]
            u, v, z = tmp[0:2, :n], tmp[2:4, :n], tmp[4:6, :n]
            ks, kp, kn = keys[:, :n]
            nr = near[:n]
            # rect IoU (boxes.rect_iou): inter / (area_p + area_g - inter), areas from edge differences
            np.add(xy, wh, out=u)                      # x + w, y + h
            np.minimum(u, g_x2y2, out=v)
            np.maximum(xy, g_xy, out=z)
            v -= z
            np.maximum(v, 0.0, out=v)                  # intersection width, height
            inter, union = z
            np.multiply(v[0], v[1], out=inter)
            u -= xy                                    # (x + w) - x, (y + h) - y
            np.multiply(u[0], u[1], out=union)
            union += g_area
            union -= inter
            inter /= union                             # IoU; NaN when the union is 0
            iou = inter
            fix = _grid_keys(iou, 20.0, n_s, n_s - 2, True, ch.off_s, ks, u[0], u[1], nr)
            if fix is not None:
                ks[fix] = np.searchsorted(SUCCESS_THRESHOLDS, iou[fix], side="left") + ch.off_s[fix]
            if conv.inclusive_last:
                perfect = np.flatnonzero(iou >= PERFECT_IOU)
                ks[perfect] = ch.off_s[perfect] + n_s
            # centres x + (w - 1) / 2 (boxes.box_centres) and their differences
            np.subtract(wh, 1.0, out=u)
            u *= 0.5                                   # == / 2 exactly
            u += xy
            if pysot:                                  # c / (wh + 1e-16) - c_gt / (wh_gt + 1e-16)
                np.divide(u, g_s, out=v)
                v -= g_nc
            u -= g_c
            if not pysot:                              # (c - c_gt) / max(1, wh_gt)
                np.divide(u, g_s, out=v)
            u *= u
            dist = np.add(u[0], u[1], out=u[0])
            np.sqrt(dist, out=dist)
            # integer pixel thresholds: d <= j  <=>  ceil(d) <= j exactly; NaN -> 51 (never a hit)
            np.ceil(dist, out=dist)
            np.fmin(dist, n_p, out=dist)
            dist += ch.off_p
            np.copyto(kp, dist, casting="unsafe")
            v *= v
            ndist = np.add(v[0], v[1], out=v[0])
            np.sqrt(ndist, out=ndist)
            fix = _grid_keys(ndist, 100.0, n_p, n_p - 1, False, ch.off_p, kn, u[1], z[0], nr)
            if fix is not None:
                kn[fix] = np.searchsorted(NORM_PRECISION_THRESHOLDS, ndist[fix], side="left") + ch.off_p[fix]
            if len(ch.bad):
                ks[ch.bad], kp[ch.bad], kn[ch.bad] = ch.bad_keys
            rows = slice(ch.seg0 - r0, ch.seg0 - r0 + ch.nseg)
            for hist, key, bins in ((hist_s, ks, _BINS_S), (hist_p, kp, _BINS_P), (hist_n, kn, _BINS_P)):
                counts = np.bincount(key, minlength=(ch.nseg + 1) * bins)
                hist[rows] += counts[: ch.nseg * bins].reshape(ch.nseg, bins)
    return r0, hist_s, hist_p, hist_n


@dataclass
class _Block:
    """Per-sequence curves of one tracker as arrays (rows follow ``names``)."""

    names: list[str]
    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    frames: np.ndarray
    runs: np.ndarray
    fps_mean: np.ndarray
    timed: np.ndarray     # frames with a valid time, per sequence
    seconds: np.ndarray   # the sum of those times

    @property
    def fps_total(self) -> np.ndarray:
        """Per sequence: frames with a valid time / their summed time; NaN without times."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((self.timed > 0) & (self.seconds > 0),
                            self.timed / np.where(self.seconds > 0, self.seconds, 1.0), np.nan)

    @classmethod
    def from_records(cls, records: Mapping[str, OPESequenceScore]) -> _Block:
        values = list(records.values())
        return cls(list(records), np.array([r.success_curve for r in values]).reshape(len(values), -1),
                   np.array([r.precision_curve for r in values]).reshape(len(values), -1),
                   np.array([r.norm_precision_curve for r in values]).reshape(len(values), -1),
                   np.array([r.frames for r in values], dtype=np.int64),
                   np.array([r.runs for r in values], dtype=np.int64),
                   np.array([r.fps_mean for r in values], dtype=np.float64),
                   np.array([r.timed_frames for r in values], dtype=np.int64),
                   np.array([r.tracker_seconds for r in values], dtype=np.float64))

    def records(self) -> dict[str, OPESequenceScore]:
        return {name: OPESequenceScore(self.success[i], self.precision[i], self.norm_precision[i],
                                       int(self.frames[i]), int(self.runs[i]), float(self.fps_mean[i]),
                                       int(self.timed[i]), float(self.seconds[i]))
                for i, name in enumerate(self.names)}


def _times_rate(times: list[np.ndarray], buffers: _Buffers) -> np.ndarray:
    """Per non-empty array, ``mean(1 / t)`` over positive non-NaN times (NaN when none).

    Arrays are processed in groups that fit the thread's scratch buffers (no large temporaries).
    """
    rates = np.empty(len(times))
    scratch = buffers.tmp.reshape(-1)
    half = len(scratch) // 2
    i = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        while i < len(times):
            j, total = i + 1, len(times[i])
            while j < len(times) and total + len(times[j]) <= half:
                total += len(times[j])
                j += 1
            if total <= half:
                flat = np.concatenate(times[i:j], out=scratch[:total]) if j > i + 1 else times[i]
                inv = scratch[half: half + total]
            else:   # one array longer than the buffers
                flat, inv = times[i], np.empty(total)
            ok = flat > 0
            inv[...] = 0.0
            np.divide(1.0, flat, out=inv, where=ok)
            lengths = np.fromiter((len(t) for t in times[i:j]), dtype=np.intp, count=j - i)
            starts = np.cumsum(lengths) - lengths
            counts = np.add.reduceat(ok, starts, dtype=np.intp)
            sums = np.add.reduceat(inv, starts)
            rates[i:j] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
            i = j
    return rates


@dataclass
class _Speeds:
    """Per-sequence speeds of one tracker: ``mean(1 / t)`` (NaN without times), the number of valid
    times and their sum."""

    fps_mean: np.ndarray
    timed: np.ndarray
    seconds: np.ndarray

    @classmethod
    def none(cls, count: int) -> _Speeds:
        return cls(np.full(count, np.nan), np.zeros(count, np.int64), np.zeros(count))


def _time_totals(times: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per non-empty array: the number of valid (positive, non-NaN) times and their sum. One
    vectorised pass over all arrays; each array's sum depends only on its own values."""
    if not times:
        return np.zeros(0, np.int64), np.zeros(0)
    lengths = np.fromiter(map(len, times), dtype=np.intp, count=len(times))
    starts = np.cumsum(lengths) - lengths
    flat = np.concatenate(times) if len(times) > 1 else times[0]
    with np.errstate(invalid="ignore"):
        ok = flat > 0
    if ok.all():   # the usual case
        return lengths.astype(np.int64), np.add.reduceat(flat, starts)
    return (np.add.reduceat(ok, starts, dtype=np.int64),
            np.add.reduceat(np.where(ok, flat, 0.0), starts))


def _sequence_fps(names: list[str], times: Mapping[str, Any], buffers: _Buffers) -> _Speeds:
    """Per sequence ``mean(1 / t)`` over positive non-NaN times (got10k; NaN without times) and
    the count and sum of those times."""
    speeds = _Speeds.none(len(names))
    have: list[int] = []
    parts: list[np.ndarray] = []
    for i, name in enumerate(names):
        array = _as_times(times.get(name))
        if array is not None:
            have.append(i)
            parts.append(array)
    if have:
        speeds.fps_mean[have] = _times_rate(parts, buffers)
        speeds.timed[have], speeds.seconds[have] = _time_totals(parts)
    return speeds


def _run_curves(hists: tuple[np.ndarray, np.ndarray, np.ndarray], frames: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Success, precision and normalised precision curves of each run from its histograms."""
    hist_s, hist_p, hist_n = hists
    return (success_from_histogram(hist_s, frames), precision_from_histogram(hist_p, frames),
            precision_from_histogram(hist_n, frames))


def _tracker_block(runs: _Runs, frames: np.ndarray | None, curves: tuple[np.ndarray, np.ndarray, np.ndarray],
                   speeds: _Speeds) -> _Block:
    """Per-sequence curves of one tracker from its per-run curves (:func:`_run_curves`) and scored
    frames per run (``frames`` None: the tracker has no runs)."""
    n_seq = len(runs.names)
    if frames is None:
        empty = np.zeros((0, 0))
        return _Block([], empty, empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                      np.zeros(0, np.int64), np.zeros(0))
    succ, prec, norm = curves
    per_seq = np.asarray(runs.runs_per_seq, dtype=np.int64)
    if len(runs.preds) != n_seq:  # mean over the runs of each sequence
        first = np.cumsum(per_seq) - per_seq
        succ, prec, norm = (np.add.reduceat(c, first, axis=0) / per_seq[:, None] for c in (succ, prec, norm))
        frames = frames[first]
    return _Block(runs.names, succ, prec, norm, frames.astype(np.int64), per_seq, speeds.fps_mean,
                  speeds.timed, speeds.seconds)


_CHUNKS_PER_TASK = 8   # a thread-pool task scores up to 8 chunks of one tracker


def _score_trackers_numpy(collected: Mapping[str, _Runs], gts: Mapping[str, np.ndarray],
                          times: Mapping[str, Mapping[str, Any]] | None, conv: OPEConvention,
                          workers: int) -> dict[str, _Block]:
    """numpy backend: blocks of every tracker; the chunks (and speeds) of all trackers run on
    ``workers`` threads.

    numpy releases the GIL inside its loops, so threads can score chunks side by side; each thread
    reuses one set of chunk buffers. Histograms are integer sums, so results do not depend on the
    number of threads or the order of the tasks. (On 2 vCPUs two threads measured no faster than
    one: each array pass lasts ~10 us, about as long as a GIL hand-off, and ``np.bincount`` and
    ``np.concatenate`` keep the GIL.)
    """
    plans = _chunk_plans(collected.values(), gts, conv)
    local = threading.local()

    def thread_buffers() -> _Buffers:
        buffers = getattr(local, "buffers", None)
        if buffers is None:
            buffers = local.buffers = _Buffers()
        return buffers

    def histograms(tracker: str, lo: int, hi: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        runs = collected[tracker]
        plan = plans[runs.run_seqs]
        return _run_histograms(runs.preds, plan, conv, plan.chunks[lo:hi], thread_buffers())

    def speeds(tracker: str) -> _Speeds:
        return _sequence_fps(collected[tracker].names, times[tracker], thread_buffers())

    tasks: list[tuple[str, Callable[[], Any]]] = []
    for tracker, runs in collected.items():
        plan = plans.get(runs.run_seqs)
        n_chunks = len(plan.chunks) if plan is not None else 0
        for lo in range(0, n_chunks, _CHUNKS_PER_TASK):
            tasks.append((tracker, partial(histograms, tracker, lo, min(lo + _CHUNKS_PER_TASK, n_chunks))))
        if times is not None and times.get(tracker) is not None:
            tasks.append((tracker, partial(speeds, tracker)))
    n_workers = max(1, min(workers, len(tasks)))
    if n_workers > 1:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            done = list(pool.map(lambda task: task[1](), tasks))
    else:
        done = [task() for _, task in tasks]
    hists = {tracker: (np.zeros((len(runs.preds), _BINS_S), np.int64),
                       np.zeros((len(runs.preds), _BINS_P), np.int64),
                       np.zeros((len(runs.preds), _BINS_P), np.int64)) for tracker, runs in collected.items()}
    fps: dict[str, _Speeds] = {}
    for (tracker, _), value in zip(tasks, done):
        if isinstance(value, _Speeds):
            fps[tracker] = value
            continue
        r0, *parts = value
        for total, part in zip(hists[tracker], parts):
            total[r0: r0 + len(part)] += part
    return {tracker: _tracker_block(runs, plans[runs.run_seqs].frames if runs.run_seqs else None,
                                    _run_curves(hists[tracker], plans[runs.run_seqs].frames)
                                    if runs.run_seqs else (),
                                    fps.get(tracker) or _Speeds.none(len(runs.names)))
            for tracker, runs in collected.items()}



def _addresses(arrays: list[np.ndarray], keep: list[np.ndarray], kernel: Any, ndim: int = 2) -> np.ndarray:
    """Data addresses of ``ndim``-D arrays for the kernels. An array that is not C-contiguous,
    aligned and native float64 gets a contiguous copy, appended to ``keep`` so that it outlives the
    kernel call; the callers keep ``arrays`` alive too.

    Writeable arrays of that kind (nearly all) are read by :func:`~siambench.metrics._ope_kernel.
    addresses_of` in tuples of ``ADDRESS_GROUP`` (one compiled signature, ~0.1 us an array); any
    other (read-only, say) through the public ``__array_interface__`` (~0.8 us).
    """
    group = kernel.ADDRESS_GROUP
    out = np.empty(len(arrays) + group, dtype=np.intp)
    fast: list[np.ndarray] = []
    where: list[int] = []
    for i, array in enumerate(arrays):
        flags = array.flags
        if not (flags.c_contiguous and flags.aligned and array.dtype == _FLOAT64):
            array = np.array(array, dtype=np.float64, order="C")
            keep.append(array)
        elif not (flags.writeable and array.ndim == ndim):
            out[i] = array.__array_interface__["data"][0]
            continue
        fast.append(array)
        where.append(i)
    if not fast:
        return out[: len(arrays)]
    if len(fast) == len(arrays):
        target, positions = out, None
    else:
        target, positions = np.empty(len(fast) + group, dtype=np.intp), np.array(where, dtype=np.intp)
    padding = [fast[0]] * (group - 1)
    for start in range(0, len(fast), group):
        chunk = fast[start: start + group]
        kernel.addresses_of(tuple(chunk) if len(chunk) == group else (*chunk, *padding[: group - len(chunk)]),
                            target, start)
    if positions is not None:
        out[positions] = target[: len(fast)]
    return out[: len(arrays)]


def _score_trackers_numba(collected: Mapping[str, _Runs], gts: Mapping[str, np.ndarray],
                          times: Mapping[str, Mapping[str, Any]] | None, conv: OPEConvention,
                          workers: int | None, kernel: Any) -> dict[str, _Block]:
    """numba backend: every run of every tracker in ``workers`` kernel calls, one per thread (None:
    one per CPU up to ``_MAX_WORKERS`` from 100,000 frames on), each on a contiguous range of runs
    sized so that the calling thread, which also computes the speeds, finishes with the others."""
    seq_index: dict[str, int] = {}
    gt_list: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    run_gt: list[int] = []
    previous: tuple[tuple[str, ...], list[int]] = ((), [])
    for runs in collected.values():
        preds.extend(runs.preds)
        if runs.run_seqs == previous[0]:   # usually every tracker has the same sequences
            run_gt.extend(previous[1])
            continue
        for seq in runs.names:
            if seq not in seq_index:
                seq_index[seq] = len(gt_list)
                gt_list.append(gts[seq])
        indices = list(map(seq_index.__getitem__, runs.run_seqs))
        run_gt.extend(indices)
        previous = (runs.run_seqs, indices)
    total = len(preds)
    succ = np.empty((total, _BINS_S - 1))
    prec = np.empty((total, _BINS_P - 1))
    norm = np.empty((total, _BINS_P - 1))
    frames = np.empty(total, np.int64)
    keep: list[np.ndarray] = []   # contiguous copies, alive until the kernels are done
    gt_addr = _addresses(gt_list, keep, kernel)
    lengths = np.fromiter(map(len, preds), dtype=np.intp, count=total)
    run_gt_array = np.array(run_gt, dtype=np.intp)
    rules = (SUCCESS_THRESHOLDS, NORM_PRECISION_THRESHOLDS, conv.first_frame_gt,
             kernel.RULES[conv.invalid_gt], conv.inclusive_last, PERFECT_IOU, conv.norm == "pysot")
    entered = threading.Semaphore(0)

    def score_range(lo: int, hi: int, pred_addr: np.ndarray,
                   signal: threading.Semaphore | None = None) -> None:
        if signal is not None:
            signal.release()
        kernel.ope_curves(pred_addr, gt_addr, lengths[lo:hi], run_gt_array[lo:hi], *rules,
                          succ[lo:hi], prec[lo:hi], norm[lo:hi], frames[lo:hi])

    if workers is None:   # threads pay off from ~100k frames
        workers = min(os.cpu_count() or 1, _MAX_WORKERS) if int(lengths.sum()) >= 100_000 else 1
    n_workers = max(1, min(workers, total))
    # this thread's Python work besides scoring its runs (time arrays and their speeds), in frames
    n_times = sum(len(runs.names) for runs in collected.values()) if times is not None else 0
    extra = (_COST_TIME_ARRAY * n_times + _COST_TIME * int(lengths.sum())) / _COST_FRAME
    cuts = _split_runs(lengths, n_workers, extra)
    # The pool threads start first, as soon as their runs' addresses are known; this thread then
    # reads the other addresses, scores the speeds and its own runs while they work (the kernels
    # release the GIL). It waits for each pool thread to enter its kernel before running more
    # Python: a thread waiting for the GIL would otherwise lose a whole switch interval (5 ms).
    with ThreadPoolExecutor(max_workers=n_workers - 1) if n_workers > 1 else _NoPool() as pool:
        futures = [pool.submit(score_range, lo, hi, _addresses(preds[lo:hi], keep, kernel), entered)
                   for lo, hi in itertools.pairwise(cuts[:-1])]
        for _ in futures:
            entered.acquire()
        time_arrays, where = _time_arrays(collected, times)
        rates = np.empty(len(time_arrays))
        time_lengths = np.fromiter(map(len, time_arrays), dtype=np.intp, count=len(time_arrays))
        if time_arrays:
            kernel.mean_rates(_addresses(time_arrays, keep, kernel, ndim=1), time_lengths, rates)
        timed, seconds = _time_totals(time_arrays)
        score_range(cuts[-2], cuts[-1], _addresses(preds[cuts[-2]:cuts[-1]], keep, kernel))
        for future in futures:
            future.result()
    speeds = _Speeds.none(sum(len(runs.names) for runs in collected.values()))
    speeds.fps_mean[where] = rates
    speeds.timed[where] = timed
    speeds.seconds[where] = seconds
    curves = (succ, prec, norm)
    blocks = {}
    r0 = s0 = 0
    for tracker, runs in collected.items():
        rows = slice(r0, r0 + len(runs.preds))
        r0 = rows.stop
        part = slice(s0, s0 + len(runs.names))
        blocks[tracker] = _tracker_block(runs, frames[rows] if len(runs.preds) else None,
                                         tuple(c[rows] for c in curves),
                                         _Speeds(speeds.fps_mean[part], speeds.timed[part],
                                                 speeds.seconds[part]))
        s0 += len(runs.names)
    return blocks


# estimated costs in the numba backend (ns on one core, only used to balance the threads): one
# frame of a run, one frame time's speeds (the kernel's mean rate, then the numpy count and sum), one
# time array's Python work (its address included)
_COST_FRAME, _COST_TIME, _COST_TIME_ARRAY = 11.0, 2.8, 600.0


def _split_runs(lengths: np.ndarray, n_workers: int, extra: float) -> list[int]:
    """Cuts ``[0, c1, ..., len(lengths)]`` of the runs into ``n_workers`` contiguous ranges of about
    equal work, the last range (the calling thread's) having ``extra`` frames' worth less."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    pool_frames = min(total, (total + extra) / n_workers * (n_workers - 1))
    targets = np.linspace(0.0, pool_frames, n_workers)[1:]
    return [0, *np.searchsorted(ends, targets, side="right").tolist(), len(lengths)]


class _NoPool:
    """Stands for the thread pool when the calling thread does all the work (no range to submit)."""

    def __enter__(self) -> _NoPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _time_arrays(collected: Mapping[str, _Runs], times: Mapping[str, Mapping[str, Any]] | None
                 ) -> tuple[list[np.ndarray], list[int]]:
    """The non-empty per-frame time arrays (one flat array per tracker and sequence) and where
    each belongs: its row among every tracker's sequences in order (``collected``, then ``names``)."""
    arrays: list[np.ndarray] = []
    where: list[int] = []
    if times is None:
        return arrays, where
    row = 0
    for tracker, runs in collected.items():
        by_seq = times.get(tracker)
        if by_seq is not None:
            for i, name in enumerate(runs.names, start=row):
                value = by_seq.get(name)
                if not (isinstance(value, np.ndarray) and value.ndim == 1 and value.size):
                    value = _as_times(value)
                if value is not None:
                    arrays.append(value)
                    where.append(i)
        row += len(runs.names)
    return arrays, where


# below this many frames "auto" scores with numpy unless the kernel is already loaded: importing
# numba and loading the cached kernel (~0.5 s) costs more than numpy's ~30 ns per frame
_KERNEL_MIN_FRAMES = 200_000
_KERNEL_MODULE = "siambench.metrics._ope_kernel"
_MAX_WORKERS = 4   # default threads of the numba backend (memory bandwidth caps the gain)


def _load_kernel() -> Any | None:
    """The numba kernel module, imported on first use, or None when numba cannot be imported."""
    try:
        return importlib.import_module(_KERNEL_MODULE)
    except ImportError:
        return None


def numba_available() -> bool:
    """Whether the numba backend can be used (imports numba: ~0.3 s the first time)."""
    return _load_kernel() is not None


def _score_trackers(collected: Mapping[str, _Runs], gts: Mapping[str, np.ndarray],
                    times: Mapping[str, Mapping[str, Any]] | None, conv: OPEConvention,
                    workers: int | None, backend: Backend) -> dict[str, _Block]:
    """Blocks of every tracker with the chosen backend (identical curves either way); ``workers``
    None: the backend's default (numpy: 1)."""
    if backend not in ("auto", "numba", "numpy"):
        raise ScoringError(f"backend: expected 'auto', 'numba' or 'numpy', got {backend!r}")
    kernel = None
    if backend == "numba":
        kernel = _load_kernel()
        if kernel is None:
            raise ScoringError("backend='numba' but numba cannot be imported (pip install numba), "
                               "or use backend='numpy'")
    elif backend == "auto":
        kernel = sys.modules.get(_KERNEL_MODULE)
        if kernel is None and sum(len(p) for runs in collected.values() for p in runs.preds) \
                >= _KERNEL_MIN_FRAMES:
            kernel = _load_kernel()
    if kernel is None:
        return _score_trackers_numpy(collected, gts, times, conv, 1 if workers is None else workers)
    return _score_trackers_numba(collected, gts, times, conv, workers, kernel)


def _chunk_plans(collected: Iterable[_Runs], gts: Mapping[str, np.ndarray], conv: OPEConvention
                 ) -> dict[tuple[str, ...], _ChunkPlan]:
    """The chunk plan of every distinct list of runs (usually one for all trackers)."""
    plans: dict[tuple[str, ...], _ChunkPlan] = {}
    for runs in collected:
        key = runs.run_seqs
        if key and key not in plans:
            plans[key] = _ChunkPlan.build([gts[s] for s in key], conv)
    return plans


# --------------------------------------------------------------------------------------------
# aggregation (the reference's, on arrays: every tracker's sequences at once)
# --------------------------------------------------------------------------------------------

def _mean_rows(curves: np.ndarray) -> np.ndarray:
    """``np.mean(curves, axis=0)`` (the same sum and division, so the same bits) without its
    Python overhead; NaN for no rows."""
    if not len(curves):
        return np.full(curves.shape[1], np.nan)
    return np.add.reduce(curves, axis=0) / len(curves)


def _overall(tracker: str, block: _Block, rows: np.ndarray | slice
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Mean curves over the selected sequences (those with scored frames) and the scores."""
    succ, prec, norm = block.success[rows], block.precision[rows], block.norm_precision[rows]
    keep = block.frames[rows] > 0
    if not keep.all():
        succ, prec, norm = succ[keep], prec[keep], norm[keep]
    curves = {"success": _mean_rows(succ), "precision": _mean_rows(prec), "norm_precision": _mean_rows(norm)}
    fps = block.fps_mean[rows]
    fps = fps[np.isfinite(fps)]
    timed, seconds = int(block.timed[rows].sum()), float(block.seconds[rows].sum())
    row = {
        "tracker": tracker,
        "sequences": len(keep),
        "success_auc": float(np.add.reduce(curves["success"]) / len(curves["success"])),   # np.mean
        "precision": float(curves["precision"][PRECISION_AT]),
        "norm_precision": float(np.add.reduce(curves["norm_precision"]) / len(curves["norm_precision"])),
        "fps_mean": float(np.sum(fps) / len(fps)) if len(fps) else float("nan"),
        "fps_total": timed / seconds if timed and seconds > 0 else float("nan"),
        "success_rate": float(curves["success"][SUCCESS_RATE_AT]),
    }
    return row, curves


def _sequence_table(blocks: list[tuple[str, _Block]]) -> pd.DataFrame:
    """The ``sequences`` table: one row per (tracker, sequence), every tracker's rows computed at once
    (a row's scores do not depend on the other rows)."""
    if not blocks:
        return pd.DataFrame(columns=SEQUENCE_COLUMNS)

    def per_block(values: Callable[[_Block], np.ndarray]) -> np.ndarray:
        return np.concatenate([values(block) for _, block in blocks])

    def mean_of_each_row(curves: np.ndarray) -> np.ndarray:   # np.mean(curves, axis=1), same bits
        return np.add.reduce(curves, axis=1) / curves.shape[1]

    # per-block columns, concatenated: no copy of the (sequences x 21/51) curve blocks
    with np.errstate(invalid="ignore"):
        columns = {
            "tracker": np.repeat(np.array([tracker for tracker, _ in blocks], dtype=object),
                                 [len(block.names) for _, block in blocks]),
            "sequence": np.array([name for _, block in blocks for name in block.names], dtype=object),
            "frames": per_block(lambda block: block.frames),
            "runs": per_block(lambda block: block.runs),
            "success_auc": per_block(lambda block: mean_of_each_row(block.success)),
            "success_rate": per_block(lambda block: block.success[:, SUCCESS_RATE_AT]),
            "precision": per_block(lambda block: block.precision[:, PRECISION_AT]),
            "norm_precision": per_block(lambda block: mean_of_each_row(block.norm_precision)),
            "fps_mean": per_block(lambda block: block.fps_mean),
            "fps_total": per_block(lambda block: block.fps_total),
        }
    return pd.DataFrame(columns)


def _report(blocks: Mapping[str, _Block], attributes: Mapping[str, Iterable[str]] | None) -> OPEReport:
    overall_rows: list[dict[str, Any]] = []
    attr_rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, np.ndarray]] = {}
    attribute_curves: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    attr_sets = {s: set(a) for s, a in (attributes or {}).items()}
    all_attrs = sorted(set().union(*attr_sets.values())) if attr_sets else []
    scored = [(tracker, block) for tracker, block in blocks.items() if block.names]
    for tracker, block in scored:
        row, curves[tracker] = _overall(tracker, block, slice(None))
        overall_rows.append(row)
        for attr in all_attrs:
            mask = np.array([attr in attr_sets.get(seq, ()) for seq in block.names])
            if not mask.any():
                continue
            row, attribute_curves[(tracker, attr)] = _overall(tracker, block, mask)
            attr_rows.append({"tracker": tracker, "attribute": attr,
                              **{k: v for k, v in row.items() if k != "tracker"}})
    return OPEReport(
        sequences=_sequence_table(scored),
        overall=pd.DataFrame(overall_rows, columns=OVERALL_COLUMNS),
        by_attribute=pd.DataFrame(attr_rows, columns=["tracker", "attribute", *OVERALL_COLUMNS[1:]]),
        curves=curves, attribute_curves=attribute_curves, blocks=dict(blocks))


def aggregate(scores: Mapping[str, Mapping[str, OPESequenceScore]],
              attributes: Mapping[str, Iterable[str]] | None) -> OPEReport:
    """:func:`siambench.metrics.ope.aggregate_ope` on arrays."""
    return _report({t: _Block.from_records(r) for t, r in scores.items()}, attributes)
