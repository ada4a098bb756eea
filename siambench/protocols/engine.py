"""The protocol runners: one pass (OTB/UAV/LaSOT/GOT-10k), VOT supervised resets, repetitions.

Coordinates: trackers work in 0-based frame-array coordinates; a dataset's ground truth is in its
spec's ``origin`` (1 for OTB/UAV/LaSOT/synthetic, 0 for VOT/GOT-10k). The runners subtract
``origin`` from x, y (and polygon vertices) before ``init`` and add it back to every box they
record, so a :class:`~siambench.results.Run` is in the ground truth's frame, float64, never
rounded. An init box from a VOT polygon is ``polygon_to_rect(gt, rule="area")`` (pysot's
``get_axis_aligned_bbox``).

Times: ``times[i]`` is the wall time (``time.perf_counter``) of the tracker's ``init`` or
``update`` call for frame ``i`` only; frames are decoded ahead by a
:class:`~siambench.protocols.prefetch.FramePrefetcher`, so decoding is never counted. Frames
the VOT protocol skips have NaN times (got10k's ``run_supervised`` does the same).

Repetitions (:func:`run_sequence`): a tracker with ``deterministic = True`` runs once; otherwise
runs stop early as soon as the first three are identical (boxes, codes and regions; times are
not compared), as the VOT toolkit's ``_can_stop`` and got10k's ``_check_deterministic`` do.

Steps: each protocol is written once, as a generator of :class:`Step` requests (``init`` on frame
``i`` with a box, ``update`` on frame ``i``, ``end`` of a run) that receives an :class:`Answer`
(the tracker's output, its time and the frame's size) and returns the runs
(:func:`sequence_steps`). :func:`run_sequence` serves the steps with one tracker;
:mod:`siambench.protocols.batch` serves the steps of many sequences at once with a
:class:`~siambench.trackers.base.BatchTracker`, so both give the same runs by construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from siambench.boxes import (
    poly_iou,
    polygon_to_rect,
    raster_overlap,
    rect_to_polygon,
    region_has_area,
    unpad_region,
)
from siambench.datasets.base import Sequence
from siambench.errors import SiambenchError
from siambench.protocols import Protocol, load_protocol
from siambench.protocols.prefetch import FramePrefetcher
from siambench.results.types import FAILURE, INIT, REGION, SKIPPED, Run
from siambench.trackers.base import Tracker, TrackOutput

__all__ = ["Answer", "FramePrefetcher", "Step", "init_box", "one_pass_steps", "run_one_pass",
           "run_sequence", "run_supervised", "same_run", "sequence_steps", "supervised_steps"]

FrameCallback = Callable[[int], None]
"""``on_frame(index)``: called after each frame is processed (for progress bars)."""


# -- regions --------------------------------------------------------------------------------------

def init_box(row: np.ndarray, origin: int) -> np.ndarray:
    """The 0-based ``x, y, w, h`` a tracker is initialised with for ground-truth ``row``.

    A rect is shifted by ``-origin`` in x and y; a polygon's vertices are shifted by ``-origin``
    and converted with ``polygon_to_rect(rule="area")`` (pysot ``get_axis_aligned_bbox``).
    """
    region = unpad_region(row)
    if region.size == 4:
        return region - np.array([origin, origin, 0.0, 0.0])
    return polygon_to_rect(region - float(origin), rule="area")


def _to_gt_frame(box: np.ndarray, origin: int) -> np.ndarray:
    """A tracker's 0-based box in the ground truth's frame (``+ origin`` on x and y), a copy."""
    return np.asarray(box, dtype=np.float64) + np.array([origin, origin, 0.0, 0.0])


def _checked_init_box(sequence: Sequence, row: np.ndarray, index: int, origin: int
                      ) -> np.ndarray:
    if not region_has_area(row):
        raise SiambenchError(f"{sequence.name}: the ground truth of frame {index} "
                             f"({np.asarray(row).tolist()}) has no area; a tracker cannot be "
                             "initialised on it")
    return init_box(row, origin)


def _tracked_box(output: object, sequence: Sequence, index: int) -> np.ndarray:
    if not isinstance(output, TrackOutput):
        raise SiambenchError(f"{sequence.name}, frame {index}: Tracker.update must return a "
                             f"TrackOutput, got {type(output).__name__}")
    if np.isinf(output.box).any():
        raise SiambenchError(f"{sequence.name}, frame {index}: the tracker returned an infinite "
                             f"box {output.box.tolist()}")
    return output.box


def _groundtruth(sequence: Sequence, frames: int, what: str) -> np.ndarray:
    gt = np.asarray(sequence.groundtruth, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] not in (4, 8) or len(gt) == 0:
        raise SiambenchError(f"{sequence.name}: ground truth of shape {gt.shape}, expected "
                             "(N, 4) rects or (N, 8) polygons")
    if what == "supervised" and len(gt) < frames:
        raise SiambenchError(f"{sequence.name}: {len(gt)} ground-truth rows for {frames} "
                             "frames; the supervised protocol needs one per frame")
    return gt


# -- steps ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """What a protocol asks next: ``kind`` ``"init"`` (frame ``index``, 0-based ``box``),
    ``"update"`` (frame ``index``) or ``"end"`` (the run is over; ``index`` = the frame count,
    the frames not asked for are skipped). Frames are asked for in increasing order within a
    run; the next run (a repetition) starts again at frame 0."""

    kind: str
    index: int
    box: np.ndarray | None = None


@dataclass(frozen=True)
class Answer:
    """The tracker's answer to a step: ``output`` (None for ``init``), ``seconds`` its time
    (the tracker's call only), ``frame_size`` ``(W, H)`` of the frame."""

    output: TrackOutput | None
    seconds: float
    frame_size: tuple[int, int]


Steps = Generator[Step, "Answer | None", Run]


def _end(frames: int) -> Generator[Step, "Answer | None", None]:
    yield Step("end", frames)


# -- one pass -------------------------------------------------------------------------------------

def one_pass_steps(sequence: Sequence, *, origin: int, confidence: bool = False) -> Steps:
    """The steps of one-pass evaluation (see :func:`run_one_pass`); returns its :class:`Run`.
    ``confidence=True`` (a long-term protocol) also records each ``update``'s ``score`` in
    ``Run.confidence`` (NaN on the initialisation frame)."""
    frames = len(sequence)
    gt = _groundtruth(sequence, frames, "one-pass")
    first = _checked_init_box(sequence, gt[0], 0, origin)
    boxes = np.full((frames, 4), np.nan, dtype=np.float64)
    times = np.full(frames, np.nan, dtype=np.float64)
    scores = np.full(frames, np.nan, dtype=np.float64) if confidence else None
    region = unpad_region(gt[0])
    boxes[0] = region if region.size == 4 else _to_gt_frame(first, origin)
    answer = yield Step("init", 0, first.copy())
    times[0] = answer.seconds
    for index in range(1, frames):
        answer = yield Step("update", index)
        times[index] = answer.seconds
        boxes[index] = _to_gt_frame(_tracked_box(answer.output, sequence, index), origin)
        if scores is not None:
            scores[index] = answer.output.score
    yield from _end(frames)
    return Run(boxes=boxes, times=times, confidence=scores)


def run_one_pass(tracker: Tracker, sequence: Sequence, *, origin: int,
                 on_frame: FrameCallback | None = None, prefetch: int = 8) -> Run:
    """One-pass evaluation (OPE): ``init`` on frame 0 with the ground truth, ``update`` on every
    following frame.

    Returns a :class:`Run` with ``boxes`` float64 ``(N, 4)`` in the ground truth's frame, one row
    per frame: row 0 is the ground truth's first row as read (the init box; for a polygon, its
    ``rule="area"`` rect), rows ``i >= 1`` are the tracker's boxes ``+ origin``; ``times`` (N,)
    seconds of ``init``/``update`` per frame, decoding excluded. Only the first ground-truth row
    is used (GOT-10k test sequences have no other).
    """
    return serve_steps(tracker, sequence, one_pass_steps(sequence, origin=origin),
                       on_frame=on_frame, prefetch=prefetch)


# -- VOT supervised ------------------------------------------------------------------------------

def _overlap_function(protocol: Protocol) -> Callable[[np.ndarray, np.ndarray, tuple], float]:
    kind = protocol.get("overlap", "raster")
    if kind == "raster":
        return lambda pred, gt, bound: float(raster_overlap(pred, gt, bound))
    if kind == "analytic":
        def analytic(pred: np.ndarray, gt: np.ndarray, bound: tuple) -> float:
            if gt.size == 8:
                pred = rect_to_polygon(pred)
            return float(poly_iou(pred, gt, bound))
        return analytic
    raise SiambenchError(f"protocol {protocol.name}: overlap must be 'raster' or 'analytic', "
                         f"not {kind!r}")


def supervised_steps(sequence: Sequence, protocol: Protocol | str, *, origin: int,
                     image_size: tuple[int, int] | None = None) -> Steps:
    """The steps of the VOT supervised experiment (see :func:`run_supervised`); returns its
    :class:`Run`."""
    protocol = load_protocol(protocol) if isinstance(protocol, str) else protocol
    threshold = float(protocol.get("failure_overlap", 0.0))
    skip = int(protocol.get("skip_initialize", 5))
    if skip < 1:
        raise SiambenchError(f"protocol {protocol.name}: skip_initialize must be at least 1")
    overlap = _overlap_function(protocol)
    frames = len(sequence)
    gt = _groundtruth(sequence, frames, "supervised")
    codes = np.full(frames, SKIPPED, dtype=np.int8)
    regions = np.full((frames, 8), np.nan, dtype=np.float64)
    times = np.full(frames, np.nan, dtype=np.float64)
    next_init = 0  # the next frame to initialise on (the earliest; frames without area are passed)
    tracking = False
    for index in range(frames):
        if not tracking:
            if index >= next_init and region_has_area(gt[index]):
                answer = yield Step("init", index, init_box(gt[index], origin))
                times[index] = answer.seconds
                codes[index] = INIT
                tracking = True
        else:
            answer = yield Step("update", index)
            times[index] = answer.seconds
            box = _to_gt_frame(_tracked_box(answer.output, sequence, index), origin)
            bound = image_size if image_size is not None else answer.frame_size
            value = np.nan if np.isnan(box).any() else overlap(box, unpad_region(gt[index]), bound)
            if np.isnan(box).any() or value <= threshold:
                codes[index] = FAILURE
                tracking = False
                next_init = index + skip
            else:
                codes[index] = REGION
                regions[index, :4] = box
    yield from _end(frames)
    return Run(codes=codes, regions=regions, times=times)


def run_supervised(tracker: Tracker, sequence: Sequence, protocol: Protocol | str, *,
                   origin: int, image_size: tuple[int, int] | None = None,
                   on_frame: FrameCallback | None = None, prefetch: int = 8) -> Run:
    """The VOT supervised ("baseline") experiment with resets (VOT toolkit
    ``SupervisedExperiment``, pysot ``tools/test.py``, got10k ``run_supervised``).

    ``init`` on the first frame whose ground truth has an area (code ``1``); on each next frame
    the prediction (``+ origin``) is compared with the ground truth by the protocol's ``overlap``
    (``raster``: :func:`~siambench.boxes.raster_overlap`, or ``analytic``) bounded by the image
    (``image_size`` ``(W, H)``, else each frame's own size). Overlap ``<= failure_overlap`` is a
    failure (code ``2``); the tracker is re-initialised ``skip_initialize`` frames later, or on
    the next frame after that whose ground truth has an area; frames in between are skipped
    (code ``0``, NaN time). A NaN overlap (no ground truth, or both regions outside the image) is
    not a failure; a prediction with NaN numbers is one. Other frames record the tracker's box as
    a region row (``x, y, w, h`` then four NaN). A failure in the last ``skip_initialize``
    frames leaves the rest of the sequence skipped.
    """
    steps = supervised_steps(sequence, protocol, origin=origin, image_size=image_size)
    return serve_steps(tracker, sequence, steps, on_frame=on_frame, prefetch=prefetch)


# -- repetitions ---------------------------------------------------------------------------------

def same_run(a: Run, b: Run) -> bool:
    """True when two runs recorded the same boxes, codes and regions (NaN equal to NaN; times
    ignored): the test of the VOT toolkit's ``_can_stop`` and got10k's ``_check_deterministic``."""
    for name in ("boxes", "codes", "regions"):
        left, right = getattr(a, name), getattr(b, name)
        if (left is None) != (right is None):
            return False
        if left is not None and not np.array_equal(left, right, equal_nan=True):
            return False
    return True


def sequence_steps(sequence: Sequence, protocol: Protocol | str, *, origin: int,
                   deterministic: bool, repetitions: int | None = None,
                   on_run: Callable[[int, Run], None] | None = None
                   ) -> Generator[Step, "Answer | None", list[Run]]:
    """The steps of every run of ``sequence`` under ``protocol`` (see :func:`run_sequence`);
    returns the runs."""
    protocol = load_protocol(protocol) if isinstance(protocol, str) else protocol
    if protocol.kind == "one-pass":
        def once() -> Steps:
            return one_pass_steps(sequence, origin=origin,
                                  confidence=bool(protocol.get("confidence", False)))
    elif protocol.kind == "supervised":
        def once() -> Steps:
            return supervised_steps(sequence, protocol, origin=origin)
    else:
        raise SiambenchError(f"protocol {protocol.name}: unknown kind {protocol.kind!r} "
                             "(expected 'one-pass' or 'supervised')")
    count = protocol.repetitions if repetitions is None else int(repetitions)
    if count < 1:
        raise SiambenchError(f"repetitions must be at least 1, got {count}")
    runs: list[Run] = []
    for number in range(1, count + 1):
        runs.append((yield from once()))
        if on_run is not None:
            on_run(number, runs[-1])
        if deterministic:
            break
        if len(runs) >= 3 and all(same_run(runs[0], run) for run in runs[1:]):
            break
    return runs


def run_sequence(tracker: Tracker, sequence: Sequence, protocol: Protocol | str, *,
                 origin: int, repetitions: int | None = None,
                 on_frame: FrameCallback | None = None,
                 on_run: Callable[[int, Run], None] | None = None) -> list[Run]:
    """Run ``tracker`` on ``sequence`` under ``protocol`` (a :class:`Protocol` or its name).

    ``protocol.kind`` ``one-pass`` → :func:`run_one_pass`, ``supervised`` →
    :func:`run_supervised`. Up to ``repetitions`` runs (default: the protocol's, VOT 15 /
    GOT-10k 3 / OPE 1); a tracker with ``deterministic = True`` runs once, any other stops as
    soon as its first three runs are identical (:func:`same_run`). ``on_run(r, run)`` is called
    after run ``r`` (1-based). Returns the runs in order.
    """
    steps = sequence_steps(sequence, protocol, origin=origin, repetitions=repetitions,
                           deterministic=bool(getattr(tracker, "deterministic", False)),
                           on_run=on_run)
    return serve_steps(tracker, sequence, steps, on_frame=on_frame)


def serve_steps(tracker: Tracker, sequence: Sequence, steps: Generator[Step, Answer | None, Any],
                *, on_frame: FrameCallback | None = None, prefetch: int = 8) -> Any:
    """Serve ``steps`` with ``tracker`` on the frames of ``sequence`` (decoded ahead by a
    :class:`FramePrefetcher`, one pass over the frames per run) and return what the steps
    return. ``on_frame(index)`` is called after each frame, asked for or skipped."""
    clock = time.perf_counter
    try:
        step = next(steps)
        while True:
            with FramePrefetcher(sequence, depth=prefetch) as reader:
                for index, frame in reader:
                    if step.kind != "end" and step.index == index:
                        start = clock()
                        if step.kind == "init":
                            tracker.init(frame, step.box)
                            output = None
                        else:
                            output = tracker.update(frame)
                        seconds = clock() - start
                        step = steps.send(Answer(output, seconds, (frame.shape[1], frame.shape[0])))
                    elif step.kind != "end" and step.index < index:
                        raise SiambenchError(f"{sequence.name}: the protocol asked for frame "
                                             f"{step.index} after frame {index}")
                    if on_frame is not None:
                        on_frame(index)
            if step.kind != "end":
                raise SiambenchError(f"{sequence.name}: the protocol asked for frame {step.index} "
                                     f"of {len(sequence)}")
            step = steps.send(None)
    except StopIteration as stop:
        return stop.value
