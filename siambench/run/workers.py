"""Tracking one sequence and writing its results; the worker processes of ``siambench run``.

A *job* is one sequence: the tracker runs under the dataset's protocol
(:func:`siambench.protocols.engine.run_sequence`), the runs are written in the protocol's
official result format (:mod:`siambench.results.write`), and a status dict is returned (``done`` with
the SHA-256 of every file written, or ``failed`` with the error). The caller records it
(:func:`siambench.run.manifest.write_status`) only after the files are in place, so a kill
during a job leaves that sequence without a status: it is redone on resume.

Workers are ``spawn``-context processes (safe on every OS): each loads the dataset (lazily, by
name and root), builds the tracker once, limits torch's and OpenCV's threads to
``cpus // workers``, then takes sequence names from a shared queue until it reads ``None``
(dynamic distribution) and reports progress and results on an event queue. Workers ignore
SIGINT (the parent handles Ctrl-C and terminates them) and stop when the parent process dies.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import platform
import random
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.base import Sequence
from siambench.errors import SiambenchError
from siambench.results.types import Run
from siambench.results.write import remove_sequence_results, write_runs
from siambench.run.manifest import file_sha256, now_iso
from siambench.trackers.base import BatchTracker, Tracker, TrackOutput

__all__ = ["SEQUENCE_INPUTS", "CountingTracker", "JobContext", "TrackerSpec", "available_cpus",
           "build_tracker", "limit_threads", "per_sequence", "run_batch_jobs", "run_job",
           "seed_sequence", "speed_fields", "tracker_spec_entry", "worker_main"]

_PROGRESS_INTERVAL_S = 0.1
_PARENT_CHECK_S = 1.0


@dataclass(frozen=True)
class TrackerSpec:
    """How to build the tracker (picklable, sent to worker processes): the arguments of
    :func:`siambench.trackers.create_tracker`."""

    name: str
    weights: str | None = None
    params: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    module: str | None = None  # the module that registered a tracker from outside siambench


@dataclass(frozen=True)
class JobContext:
    """Everything a worker needs besides the tracker spec (picklable)."""

    dataset: str
    root: Path | None
    protocol: str
    origin: int
    repetitions: int | None
    folder: Path
    result_format: str  # the protocol's result_format (siambench.results.write)
    seed: int
    label: str
    video_dir: Path | None = None
    batch: int = 1  # sequences tracked in lockstep by each process (1: one at a time)


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def limit_threads(threads: int) -> None:
    """Give torch (when it is imported) and OpenCV ``threads`` threads each."""
    import sys

    import cv2

    cv2.setNumThreads(int(threads))
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(int(threads))


def _shifted_groundtruth(sequence: Sequence, origin: int) -> np.ndarray:
    """The ground truth in 0-based array coordinates as ``x, y, w, h`` (polygons by the
    ``area`` rule, as the engine initialises on them)."""
    from siambench.boxes import polygon_to_rect

    gt = np.array(sequence.groundtruth, dtype=np.float64, copy=True)
    if gt.shape[1] == 8:
        gt = gt - origin
        return np.array([polygon_to_rect(row, rule="area") if np.all(np.isfinite(row))
                         else np.full(4, np.nan) for row in gt]).reshape(-1, 4)
    gt[:, :2] -= origin
    return gt


#: Per-sequence inputs a registry entry may ask for (``TrackerEntry.sequence_input``) -> how the
#: engine computes it from the sequence and the dataset's index origin.
SEQUENCE_INPUTS: dict[str, Callable[[Sequence, int], Any]] = {
    "groundtruth": _shifted_groundtruth,
}


def tracker_spec_entry(spec: TrackerSpec) -> Any:
    """The registry entry of ``spec`` (importing the module that registered it, for a tracker
    registered outside siambench and its entry points, e.g. in a worker process)."""
    from siambench.trackers import tracker_entry

    if spec.module:
        import importlib

        try:
            importlib.import_module(spec.module)
        except ImportError as error:
            raise SiambenchError(f"tracker {spec.name!r} was registered in module {spec.module}, "
                                 f"which this process cannot import ({error}); register it in an "
                                 f"importable module or through an entry point") from error
    return tracker_entry(spec.name)


def per_sequence(spec: TrackerSpec) -> bool:
    """True when the tracker of ``spec`` is built anew for each sequence (it takes a
    per-sequence input, such as the sequence's ground truth)."""
    return tracker_spec_entry(spec).sequence_input is not None


def build_tracker(spec: TrackerSpec, sequence: Sequence | None = None,
                  origin: int = 0) -> Tracker:
    """Create the tracker of ``spec``; a tracker with a per-sequence input is built for
    ``sequence`` (its input computed with the dataset's index ``origin``)."""
    from siambench.trackers import create_tracker

    entry = tracker_spec_entry(spec)
    kwargs: dict[str, Any] = dict(spec.overrides)
    if entry.sequence_input is not None:
        if sequence is None:
            raise SiambenchError(f"tracker {spec.name!r} is built per sequence")
        if entry.sequence_input not in SEQUENCE_INPUTS:
            raise SiambenchError(f"tracker {spec.name!r} asks for the per-sequence input "
                                 f"{entry.sequence_input!r}; the run engine provides "
                                 f"{', '.join(SEQUENCE_INPUTS)}")
        kwargs[entry.sequence_input] = SEQUENCE_INPUTS[entry.sequence_input](sequence, origin)
    if spec.model_config:
        kwargs["model_config"] = dict(spec.model_config)
    if spec.weights is not None:
        kwargs["weights"] = spec.weights
    if spec.params is not None:
        kwargs["params"] = spec.params
    if entry.takes_seed:
        kwargs["seed"] = spec.seed
    if spec.device != "cpu":
        kwargs["device"] = spec.device
    return create_tracker(spec.name, **kwargs)


class CountingTracker(Tracker):
    """Wraps a tracker and calls ``tick(n)`` with the number of ``init``/``update`` calls since
    the last tick, at most every 0.1 s (and on :meth:`flush`): frame-level progress without
    a hook in the protocol runners."""

    def __init__(self, inner: Tracker, tick: Callable[[int], None]) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self.deterministic = bool(getattr(inner, "deterministic", False))
        self._tick = tick
        self._count = 0
        self._last = time.monotonic()

    def _step(self) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last >= _PROGRESS_INTERVAL_S:
            self.flush()
            self._last = now

    def flush(self) -> None:
        """Report the calls not reported yet."""
        if self._count:
            count, self._count = self._count, 0
            self._tick(count)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.inner.init(frame, box)
        self._step()

    def update(self, frame: np.ndarray) -> TrackOutput:
        output = self.inner.update(frame)
        self._step()
        return output


def seed_sequence(seed: int, sequence: str) -> int:
    """Seed Python's, NumPy's and (when imported) torch's global RNGs from ``seed`` and the
    sequence name, so a stochastic tracker's results do not depend on which worker ran which
    sequence in which order. Returns the derived seed."""
    import sys

    derived = int.from_bytes(hashlib.sha256(f"{seed}:{sequence}".encode()).digest()[:4], "big")
    random.seed(derived)
    np.random.seed(derived)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(derived)
    return derived


def speed_fields(times: np.ndarray) -> dict[str, Any]:
    """The speed fields of a sequence's status from its per-frame tracker times (seconds, every
    repetition): ``tracked_frames`` (frames with a valid time: positive, not NaN), ``seconds``
    (their sum), ``fps_total`` = tracked_frames / seconds and ``fps_mean`` = mean of ``1 / t``
    (got10k's per-sequence speed); None without a valid time."""
    flat = np.asarray(times, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        valid = flat[flat > 0]
    seconds = float(valid.sum())
    return {"tracked_frames": len(valid), "seconds": seconds,
            "fps_total": float(len(valid) / seconds) if seconds > 0 else None,
            "fps_mean": float(np.mean(1.0 / valid)) if len(valid) else None}


def run_job(make_tracker: Callable[[], Tracker], sequence: Sequence, context: JobContext,
            tick: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Track one sequence with the tracker ``make_tracker()`` returns, write its results and
    return its status (``done``/``failed``).

    Never raises for an error of the tracker, the data or the writers (``Exception``); the
    status then holds ``error`` and ``traceback``. Times in the status are the tracker's
    (``init``/``update`` only, decode excluded).
    """
    from siambench.protocols import load_protocol
    from siambench.protocols.engine import run_sequence

    started = time.time()
    status = _new_status(sequence.name)
    counting: CountingTracker | None = None
    try:
        counting = CountingTracker(make_tracker(), tick or (lambda n: None))
        seed_sequence(context.seed, sequence.name)
        protocol = load_protocol(context.protocol)
        runs = run_sequence(counting, sequence, protocol, origin=context.origin,
                            repetitions=context.repetitions)
        counting.flush()
        _write_results(status, sequence, runs, context)
    except Exception as error:  # noqa: BLE001 - one sequence's failure must not stop the run
        if counting is not None:
            counting.flush()
        _record_failure(status, sequence, error)
    return _closed(status, started)


def _new_status(name: str) -> dict[str, Any]:
    return {"sequence": name, "host": platform.node(), "started": now_iso()}


def _write_results(status: dict[str, Any], sequence: Sequence, runs: list[Run],
                   context: JobContext) -> None:
    """Write ``runs`` in the protocol's result format (replacing the sequence's old files) and
    fill ``status`` as ``done``: files with their SHA-256, speed fields, the video."""
    remove_sequence_results(context.folder, context.result_format, sequence.name)
    paths = write_runs(context.folder, context.result_format, sequence.name, list(runs))
    times = np.concatenate([np.asarray(r.times, dtype=np.float64).reshape(-1)
                            for r in runs if r.times is not None] or [np.zeros(0)])
    status.update({
        "status": "done", "frames": len(sequence), "repetitions": len(runs),
        **speed_fields(times),
        "files": {p.relative_to(context.folder).as_posix(): file_sha256(p) for p in paths},
    })
    if context.video_dir is not None:
        status["video"] = _save_video(context, sequence, runs[0])


def _record_failure(status: dict[str, Any], sequence: Sequence, error: BaseException) -> None:
    status.update({"status": "failed", "frames": len(sequence),
                   "error": f"{type(error).__name__}: {error}",
                   "traceback": "".join(traceback.format_exception(error, limit=8))})


def _closed(status: dict[str, Any], started: float) -> dict[str, Any]:
    status["wall_seconds"] = time.time() - started
    status["finished"] = now_iso()
    return status


def run_batch_jobs(batch: BatchTracker, jobs: Iterable[tuple[str, Sequence]],
                   context: JobContext, *, on_start: Callable[[str, int], None],
                   on_tick: Callable[[str, int], None],
                   on_status: Callable[[str, dict[str, Any]], None]) -> None:
    """Track ``jobs`` (name, sequence; taken one at a time as slots free up) in lockstep with
    ``batch`` (:func:`siambench.protocols.batch.run_batched`), write each sequence's results as
    it ends and report its status to ``on_status``; ``on_start(name, frames)`` when a sequence
    gets a slot, ``on_tick(name, n)`` with its processed frames (at most every 0.1 s). Times in
    the statuses are each batch call's time divided among the slots it served."""
    from siambench.protocols import load_protocol
    from siambench.protocols.batch import BatchJob, run_batched
    from siambench.protocols.engine import sequence_steps

    protocol = load_protocol(context.protocol)
    deterministic = bool(getattr(batch, "deterministic", False))
    started: dict[str, float] = {}
    statuses: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    last = [time.monotonic()]

    def flush(name: str | None = None) -> None:
        for key in [name] if name is not None else list(counts):
            count = counts.pop(key, 0)
            if count:
                on_tick(key, count)

    def batch_jobs() -> Iterator[BatchJob]:
        for name, sequence in jobs:
            def steps(name: str = name, sequence: Sequence = sequence) -> Any:
                started[name] = time.time()
                statuses[name] = _new_status(name)
                on_start(name, len(sequence))
                return sequence_steps(sequence, protocol, origin=context.origin,
                                      deterministic=deterministic,
                                      repetitions=context.repetitions)
            yield BatchJob(name, sequence, steps)

    def on_frame(job: BatchJob, index: int) -> None:
        counts[job.key] = counts.get(job.key, 0) + 1
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_INTERVAL_S:
            last[0] = now
            flush()

    def on_done(job: BatchJob, runs: list[Run] | None, error: BaseException | None) -> None:
        flush(job.key)
        status = statuses.pop(job.key, None) or _new_status(job.key)
        try:
            if error is not None:
                raise error
            _write_results(status, job.sequence, list(runs or []), context)
        except Exception as failure:  # noqa: BLE001 - one sequence's failure must not stop the run
            _record_failure(status, job.sequence, failure)
        on_status(job.key, _closed(status, started.pop(job.key, time.time())))

    run_batched(batch, batch_jobs(), on_done=on_done, on_frame=on_frame)


def _save_video(context: JobContext, sequence: Sequence, run: Run) -> str:
    from siambench.report.video import write_video

    out = Path(context.video_dir) / f"{sequence.name}.mp4"
    path = write_video(out, sequence.frames(), {context.label: run},
                       groundtruth=sequence.groundtruth, origin=context.origin)
    return str(path)


def _parent_alive() -> bool:
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


def worker_main(index: int, spec: TrackerSpec, context: JobContext, threads: int,
                tasks: Any, events: Any) -> None:
    """Body of worker process ``index``: take sequence names from ``tasks`` until ``None`` and
    put ``("start", index, name, frames)``, ``("progress", index, name, n)`` and
    ``("done", index, name, status)`` on ``events`` (``("fatal", index, None, message)`` when
    the worker cannot start). With ``context.batch`` > 1 and a tracker that can batch, up to
    that many sequences are tracked at once (:func:`run_batch_jobs`)."""
    import queue as queue_module

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from siambench.datasets import load_dataset

        dataset = load_dataset(context.dataset, context.root)
        tracker = None if per_sequence(spec) else build_tracker(spec)
        batch = tracker.batched(context.batch) if tracker is not None and context.batch > 1 \
            else None
        limit_threads(threads)
    except Exception as error:  # noqa: BLE001 - reported to the parent
        events.put(("fatal", index, None, f"{type(error).__name__}: {error}"))
        return
    last_check = time.monotonic()

    def check_parent() -> None:
        nonlocal last_check
        now = time.monotonic()
        if now - last_check >= _PARENT_CHECK_S:
            last_check = now
            if not _parent_alive():
                raise SystemExit(1)  # the parent was killed: stop, write nothing more

    def sequences() -> Iterator[tuple[str, Sequence]]:
        """The sequences sent to this worker, until ``None``; a name the dataset cannot give
        is reported as that sequence's failure."""
        while True:
            try:
                name = tasks.get(timeout=_PARENT_CHECK_S)
            except queue_module.Empty:
                if not _parent_alive():
                    return
                continue
            if name is None:
                return
            try:
                sequence = dataset[name]
            except Exception as error:  # noqa: BLE001 - reported as this sequence's failure
                events.put(("start", index, name, 0))
                events.put(("done", index, name, {
                    "sequence": name, "status": "failed", "frames": 0, "host": platform.node(),
                    "finished": now_iso(), "error": f"{type(error).__name__}: {error}"}))
                continue
            yield name, sequence

    if batch is not None:
        def tick_batch(name: str, count: int) -> None:
            events.put(("progress", index, name, count))
            check_parent()

        run_batch_jobs(batch, sequences(), context,
                       on_start=lambda name, frames: events.put(("start", index, name, frames)),
                       on_tick=tick_batch,
                       on_status=lambda name, status: events.put(("done", index, name, status)))
        return

    for name, sequence in sequences():
        events.put(("start", index, name, len(sequence)))

        def tick(count: int, name: str = name) -> None:
            events.put(("progress", index, name, count))
            check_parent()

        def make(sequence: Sequence = sequence) -> Tracker:
            if tracker is not None:
                return tracker
            return build_tracker(spec, sequence, context.origin)

        status = run_job(make, sequence, context, tick)
        events.put(("done", index, name, status))
