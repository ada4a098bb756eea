"""Tracking many sequences in lockstep with one :class:`~siambench.trackers.base.BatchTracker`.

Each sequence is a *job*: its protocol's steps (:func:`siambench.protocols.engine.sequence_steps`:
the same generator the one-sequence runner serves, so both give the same runs) in a slot of the
batch tracker. Every round takes the next step of every active slot, decodes the frames it asks
for (each slot's frames are decoded ahead by its own :class:`FramePrefetcher` thread, so the
batched forward does not wait on JPEG decoding), and serves all ``init`` steps with one
:meth:`~siambench.trackers.base.BatchTracker.init_slots` call and all ``update`` steps with one
:meth:`~siambench.trackers.base.BatchTracker.update_slots` call. A finished job's slot takes the
next job at once. VOT resets are ``init`` steps like any other; repetitions are more runs of the
same job.

Times: each slot's frame time is the time of the batch call that served it divided by the number
of slots it served (``init`` and ``update`` calls timed apart), so a sequence's times add up to
its share of the tracker's work and decoding stays excluded.

Errors: an error of one job (its data, its protocol, a box the tracker returned) ends that job
only; an error raised by a batch call ends every job that call served (the tracker's state of
those slots is unknown). ``on_done`` receives each job's runs or error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siambench.datasets.base import Sequence
from siambench.errors import SiambenchError
from siambench.protocols.engine import Answer, Step
from siambench.protocols.prefetch import FramePrefetcher
from siambench.results.types import Run
from siambench.trackers.base import BatchTracker

__all__ = ["BatchJob", "run_batched"]

JobSteps = Generator[Step, "Answer | None", list[Run]]


@dataclass
class BatchJob:
    """One sequence to track: ``key`` names it to the callbacks, ``steps`` makes its protocol's
    step generator (called when the job gets a slot)."""

    key: Any
    sequence: Sequence
    steps: Callable[[], JobSteps]


@dataclass
class _Slot:
    """A slot's job in progress: its steps, the step waiting to be served, its frame reader."""

    number: int
    job: BatchJob
    steps: JobSteps
    step: Step
    reader: FramePrefetcher | None = None
    reader_iter: Iterator[tuple[int, np.ndarray]] | None = None
    next_frame: int = 0  # the index the reader yields next (frames before it were passed)
    frame: np.ndarray | None = field(default=None, repr=False)

    def close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
        self.reader = self.reader_iter = None


def run_batched(batch: BatchTracker, jobs: Iterable[BatchJob], *,
                on_done: Callable[[BatchJob, list[Run] | None, BaseException | None], None],
                on_frame: Callable[[BatchJob, int], None] | None = None,
                prefetch: int = 4) -> None:
    """Track every job of ``jobs`` (taken lazily, one when a slot is free) with ``batch``.

    ``on_done(job, runs, None)`` after a job's last run, ``on_done(job, None, error)`` when it
    failed; ``on_frame(job, index)`` after each of its frames (served or skipped). Returns when
    every job is done. ``KeyboardInterrupt`` and other ``BaseException`` propagate (readers are
    closed).
    """
    if int(prefetch) < 1:
        raise SiambenchError(f"prefetch depth must be at least 1, got {prefetch}")
    capacity = int(batch.capacity)
    if capacity < 1:
        raise SiambenchError(f"a batch tracker needs at least one slot, got {capacity}")
    pending = iter(jobs)
    slots: dict[int, _Slot] = {}
    exhausted = False
    clock = time.perf_counter
    tick = on_frame or (lambda job, index: None)

    def finish(slot: _Slot, runs: list[Run] | None, error: BaseException | None) -> None:
        slot.close_reader()
        slots.pop(slot.number, None)
        on_done(slot.job, runs, error)

    def advance(slot: _Slot) -> bool:
        """Bring ``slot`` to a step with its frame decoded; False when its job ended."""
        try:
            while slot.step.kind == "end":
                slot.close_reader()
                for index in range(slot.next_frame, len(slot.job.sequence)):
                    tick(slot.job, index)  # skipped frames at the end: not decoded
                slot.next_frame = 0
                try:
                    slot.step = slot.steps.send(None)  # the next run's first step
                except StopIteration as stop:
                    finish(slot, stop.value, None)
                    return False
            if slot.step.index < slot.next_frame:
                raise SiambenchError(f"{slot.job.sequence.name}: the protocol asked for frame "
                                     f"{slot.step.index} after frame {slot.next_frame - 1}")
            if slot.reader_iter is None:
                slot.reader = FramePrefetcher(slot.job.sequence, start=slot.next_frame,
                                              depth=prefetch)
                slot.reader_iter = iter(slot.reader.__enter__())
            while True:
                try:
                    index, frame = next(slot.reader_iter)
                except StopIteration:
                    raise SiambenchError(f"{slot.job.sequence.name}: the protocol asked for frame "
                                         f"{slot.step.index} of {len(slot.job.sequence)}") from None
                slot.next_frame = index + 1
                if index == slot.step.index:
                    slot.frame = frame
                    return True
                tick(slot.job, index)  # a frame the protocol skips (after a VOT failure)
        except Exception as error:  # noqa: BLE001 - this job's failure, reported by on_done
            finish(slot, None, error)
            return False

    def answer(slot: _Slot, output: Any, seconds: float) -> None:
        frame, slot.frame = slot.frame, None
        tick(slot.job, slot.step.index)
        try:
            slot.step = slot.steps.send(Answer(output, seconds, (frame.shape[1], frame.shape[0])))
        except StopIteration as stop:  # a generator ending without "end" (not ours)
            finish(slot, stop.value, None)
        except Exception as error:  # noqa: BLE001 - this job's failure
            finish(slot, None, error)

    def serve(kind: str, group: list[_Slot]) -> None:
        if not group:
            return
        numbers = [slot.number for slot in group]
        frames = [slot.frame for slot in group]
        try:
            start = clock()
            if kind == "init":
                batch.init_slots(numbers, frames, [slot.step.box for slot in group])
                outputs: list[Any] = [None] * len(group)
            else:
                outputs = list(batch.update_slots(numbers, frames))
            seconds = (clock() - start) / len(group)
            if len(outputs) != len(group):
                raise SiambenchError(f"{batch.name}: update_slots returned {len(outputs)} "
                                     f"outputs for {len(group)} slots")
        except Exception as error:  # noqa: BLE001 - every job of this call fails
            for slot in group:
                finish(slot, None, error)
            return
        for slot, output in zip(group, outputs, strict=True):
            answer(slot, output, seconds)

    try:
        while True:
            while not exhausted and len(slots) < capacity:
                job = next(pending, None)
                if job is None:
                    exhausted = True
                    break
                number = min(set(range(capacity)) - set(slots))
                try:
                    steps = job.steps()
                    first = next(steps)
                except StopIteration as stop:
                    on_done(job, stop.value, None)
                    continue
                except Exception as error:  # noqa: BLE001 - this job's failure
                    on_done(job, None, error)
                    continue
                slots[number] = _Slot(number, job, steps, first)
            if not slots:
                return
            ready = [slot for slot in list(slots.values()) if advance(slot)]
            if not ready and not exhausted:
                continue  # every slot's job ended this round: refill
            inits = [slot for slot in ready if slot.step.kind == "init"]
            updates = [slot for slot in ready if slot.step.kind == "update"]
            serve("init", inits)
            serve("update", updates)
    finally:
        for slot in list(slots.values()):
            slot.close_reader()
