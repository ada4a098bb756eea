"""Lockstep tracking of many sequences (:mod:`siambench.protocols.batch`): the same runs as the
one-sequence runner for every protocol, slots re-used, errors kept to their job, times divided.

The trackers here answer from the frame alone (frame ``i`` carries ``i`` in pixel (0, 0) and a
"lose the target" flag in pixel (0, 1)), so one tracker per slot behaves exactly like one tracker
per sequence and the runs can be compared exactly.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from pathlib import Path

import cv2
import numpy as np
import pytest

from siambench.datasets.base import Sequence
from siambench.errors import SiambenchError
from siambench.protocols import load_protocol
from siambench.protocols.batch import BatchJob, run_batched
from siambench.protocols.engine import run_sequence, same_run, sequence_steps
from siambench.results.types import FAILURE, INIT, Run
from siambench.trackers.base import BatchTracker, Tracker, TrackOutput

W, H = 64, 48
FAR = np.array([50.0, 38.0, 4.0, 4.0])


def make_sequence(folder: Path, frames: int, lose: SequenceOf[int] = (), name: str = "s",
                  shift: float = 0.0, poison: SequenceOf[int] = ()) -> Sequence:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(frames):
        image = np.zeros((H, W, 3), dtype=np.uint8)
        image[0, 0, 2] = index  # BGR on disk: red = the index
        image[0, 1, 2] = 255 if index in lose else 128 if index in poison else 0
        path = folder / f"{index + 1:04d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    gt = np.array([[5.0 + i + shift, 8.0, 10.0, 9.0] for i in range(frames)])
    return Sequence(name, groundtruth=gt, frame_paths=paths, image_size=(W, H))


class FrameDriven(Tracker):
    """Moves the init box one pixel right per frame since init; ``FAR`` on flagged frames."""

    name = "frame-driven"

    def __init__(self, deterministic: bool = True) -> None:
        self.deterministic = deterministic
        self.start, self.box = 0, np.zeros(4)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.start, self.box = int(frame[0, 0, 0]), np.array(box, dtype=np.float64)

    def update(self, frame: np.ndarray) -> TrackOutput:
        if frame[0, 1, 0] == 255:
            return TrackOutput(FAR, 0.5)
        return TrackOutput(self.box + [int(frame[0, 0, 0]) - self.start, 0, 0, 0], 1.0)


class PerSlot(BatchTracker):
    """One :class:`FrameDriven` per slot; counts the calls and the slots each call served."""

    name = "per-slot"

    def __init__(self, capacity: int, deterministic: bool = True) -> None:
        self.capacity = capacity
        self.deterministic = deterministic
        self.trackers = [FrameDriven(deterministic) for _ in range(capacity)]
        self.calls: list[tuple[str, list[int]]] = []

    def init_slots(self, slots, frames, boxes) -> None:
        self.calls.append(("init", list(slots)))
        for slot, frame, box in zip(slots, frames, boxes, strict=True):
            self.trackers[slot].init(frame, box)

    def update_slots(self, slots, frames) -> list[TrackOutput]:
        self.calls.append(("update", list(slots)))
        return [self.trackers[slot].update(frame) for slot, frame in zip(slots, frames, strict=True)]


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> list[Sequence]:
    base = tmp_path_factory.mktemp("batch-seqs")
    specs = [(12, (4,)), (7, ()), (15, (3, 9, 13)), (5, (4,)), (9, (1, 2))]
    return [make_sequence(base / f"s{i}", frames, lose, name=f"s{i}", shift=i)
            for i, (frames, lose) in enumerate(specs)]


def _batched(batch: BatchTracker, sequences: list[Sequence], protocol: str,
             deterministic: bool = True, repetitions: int | None = None
             ) -> tuple[dict[str, list[Run] | None], dict[str, BaseException], dict[str, list[int]]]:
    runs: dict[str, list[Run] | None] = {}
    errors: dict[str, BaseException] = {}
    frames: dict[str, list[int]] = {}
    proto = load_protocol(protocol)

    def done(job: BatchJob, result: list[Run] | None, error: BaseException | None) -> None:
        runs[job.key] = result
        if error is not None:
            errors[job.key] = error

    jobs = [BatchJob(seq.name, seq, lambda seq=seq: sequence_steps(
        seq, proto, origin=0, deterministic=deterministic, repetitions=repetitions))
        for seq in sequences]
    run_batched(batch, jobs, on_done=done,
                on_frame=lambda job, index: frames.setdefault(job.key, []).append(index))
    return runs, errors, frames


@pytest.mark.parametrize("protocol", ["ope", "vot2018", "got10k"])
@pytest.mark.parametrize("capacity", [1, 2, 8])
def test_batched_runs_equal_one_sequence_runs(sequences, protocol, capacity) -> None:
    batch = PerSlot(capacity)
    runs, errors, frames = _batched(batch, sequences, protocol)
    assert not errors
    for seq in sequences:
        alone = run_sequence(FrameDriven(), seq, protocol, origin=0)
        assert len(runs[seq.name]) == len(alone) == 1
        assert same_run(runs[seq.name][0], alone[0]), seq.name
        assert frames[seq.name] == list(range(len(seq)))  # every frame ticked once, in order
    assert max(len(slots) for _, slots in batch.calls) == min(capacity, len(sequences))
    if protocol == "vot2018":  # resets are init steps of the same slot
        codes = runs["s2"][0].codes
        assert codes[0] == INIT and codes[3] == FAILURE and codes[8] == INIT


def test_non_deterministic_jobs_repeat_until_three_runs_agree(sequences) -> None:
    runs, errors, frames = _batched(PerSlot(3, deterministic=False), sequences, "vot2018",
                                    deterministic=False)
    assert not errors
    for seq in sequences:
        assert len(runs[seq.name]) == 3  # identical runs stop at three of VOT's 15
        assert frames[seq.name] == list(range(len(seq))) * 3
    runs, _, _ = _batched(PerSlot(2, deterministic=False), sequences[:2], "got10k",
                          deterministic=False, repetitions=2)
    assert [len(r) for r in runs.values()] == [2, 2]


def test_an_error_ends_its_own_job_only(sequences, tmp_path: Path) -> None:
    no_area = make_sequence(tmp_path / "bad", 4, name="bad")
    no_area.groundtruth[0, 2] = 0.0  # frame 0 has no area: one-pass cannot start

    poisoned = make_sequence(tmp_path / "inf", 8, name="inf", poison=(5,))

    class Infinite(PerSlot):
        def update_slots(self, slots, frames):
            outputs = super().update_slots(slots, frames)
            return [TrackOutput([np.inf, 0, 1, 1], 1.0) if frame[0, 1, 0] == 128 else output
                    for frame, output in zip(frames, outputs, strict=True)]

    runs, errors, _ = _batched(Infinite(2), [no_area, sequences[0], poisoned, *sequences[1:]],
                               "ope")
    assert set(errors) == {"bad", "inf"} and runs["bad"] is None and runs["inf"] is None
    assert "has no area" in str(errors["bad"]) and "infinite box" in str(errors["inf"])
    for seq in sequences:
        assert same_run(runs[seq.name][0], run_sequence(FrameDriven(), seq, "ope", origin=0)[0])


def test_a_failing_batch_call_fails_the_jobs_it_served(sequences) -> None:
    class Exploding(PerSlot):
        def update_slots(self, slots, frames):
            if any(frame[0, 0, 0] == 10 for frame in frames):
                raise RuntimeError("out of memory")
            return super().update_slots(slots, frames)

    runs, errors, _ = _batched(Exploding(2), sequences, "ope")
    failed = set(errors)
    assert "s0" in failed and all("out of memory" in str(e) for e in errors.values())
    assert runs["s1"] is not None and runs["s3"] is not None  # shorter than 11 frames


def test_times_are_the_call_time_divided_among_its_slots(sequences) -> None:
    runs, _, _ = _batched(PerSlot(5), sequences, "ope")
    first_update = [runs[seq.name][0].times[1] for seq in sequences]
    assert len(set(first_update)) == 1 and first_update[0] > 0  # one call served all five
    assert all(np.isfinite(runs[seq.name][0].times).all() for seq in sequences)


def test_argument_errors() -> None:
    with pytest.raises(SiambenchError, match="at least one slot"):
        run_batched(PerSlot(0), [], on_done=lambda *a: None)
    with pytest.raises(SiambenchError, match="prefetch depth"):
        run_batched(PerSlot(1), [], on_done=lambda *a: None, prefetch=0)
