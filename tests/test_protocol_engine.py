"""Tests of the protocol runners (OPE, VOT supervised, repetitions) and the prefetching reader.

Protocol logic is checked with scripted trackers on small hand-made sequences whose PNG frames
carry their own index in pixel (0, 0) (so a tracker can check it is given the right frame), and
end to end on the synthetic benchmark's OTB, VOT and GOT-10k layouts.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from siambench.boxes import polygon_to_rect, region_has_area
from siambench.datasets import base as dataset_base
from siambench.datasets import get_spec
from siambench.datasets.base import Sequence
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import FrameReadError, SiambenchError
from siambench.protocols import Protocol, load_protocol
from siambench.protocols.engine import (
    FramePrefetcher,
    init_box,
    run_one_pass,
    run_sequence,
    run_supervised,
    same_run,
)
from siambench.results import REGION, read_tracker, write_got10k, write_ope, write_vot
from siambench.trackers.base import Tracker, TrackOutput

W, H = 100, 80
FAR = np.array([80.0, 60.0, 5.0, 5.0])  # inside the image, away from every target below


# -- helpers -------------------------------------------------------------------------------------

def make_sequence(folder: Path, groundtruth: np.ndarray, name: str = "seq") -> Sequence:
    """A sequence of ``len(groundtruth)`` PNG frames ``W x H``; frame i has i in pixel (0, 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(len(groundtruth)):
        image = np.zeros((H, W, 3), dtype=np.uint8)
        image[0, 0, 2], image[0, 0, 1] = index % 256, index // 256  # BGR on disk
        path = folder / f"{index + 1:04d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    gt = np.array(groundtruth, dtype=np.float64)
    return Sequence(name, groundtruth=gt, frame_paths=paths, image_size=(W, H))


def frame_index(frame: np.ndarray) -> int:
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])


def moving_rects(n: int, origin: int = 0) -> np.ndarray:
    """Ground-truth rects ``x, y, w, h`` moving one pixel right per frame (distinct rows)."""
    return np.array([[10.0 + i + origin, 20.0 + origin, 12.0, 10.0] for i in range(n)])


class Scripted(Tracker):
    """Answers ``answers[i]`` (0-based) at frame ``i``, ``FAR`` at the frames in ``lose``.

    Records its ``init`` calls as ``(frame index, box)``; checks every frame it gets is the next
    one. ``jitter`` > 0 adds random noise (a non-deterministic tracker); ``deterministic`` is the
    flag the repetition logic reads.
    """

    name = "scripted"

    def __init__(self, answers: np.ndarray, lose: tuple[int, ...] = (), *,
                 deterministic: bool = True, jitter: float = 0.0,
                 update_sleep: float = 0.0) -> None:
        self.answers = np.array(answers, dtype=np.float64)
        self.lose = set(lose)
        self.deterministic = deterministic
        self.jitter = jitter
        self.update_sleep = update_sleep
        self.rng = np.random.default_rng(0)
        self.inits: list[tuple[int, np.ndarray]] = []
        self.updates: list[int] = []
        self.index = -1

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.index = frame_index(frame)
        self.inits.append((self.index, np.array(box, dtype=np.float64)))

    def update(self, frame: np.ndarray) -> TrackOutput:
        self.index += 1
        if frame_index(frame) != self.index:
            raise AssertionError(f"frame {frame_index(frame)} given, {self.index} expected")
        self.updates.append(self.index)
        if self.update_sleep:
            time.sleep(self.update_sleep)
        box = FAR if self.index in self.lose else self.answers[self.index]
        if self.jitter:
            box = box + self.rng.normal(0, self.jitter, 4) * [1, 1, 0, 0]
        return TrackOutput(box, 1.0)


class Counting(Tracker):
    """Returns its init box (shifted by ``jitter`` noise when non-deterministic); counts inits."""

    name = "counting"

    def __init__(self, deterministic: bool, jitter: float = 0.0) -> None:
        self.deterministic = deterministic
        self.jitter = jitter
        self.rng = np.random.default_rng(1)
        self.init_calls = 0
        self.box = np.zeros(4)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.init_calls += 1
        self.box = np.array(box, dtype=np.float64)

    def update(self, frame: np.ndarray) -> TrackOutput:
        noise = self.rng.normal(0, self.jitter, 4) * [1, 1, 0, 0] if self.jitter else 0.0
        return TrackOutput(self.box + noise, 1.0)


VOT = load_protocol("vot2018")
R = REGION


# -- VOT supervised --------------------------------------------------------------------------------

def test_vot_failures_give_the_prescribed_pattern(tmp_path: Path) -> None:
    gt = moving_rects(20)
    seq = make_sequence(tmp_path / "s", gt)
    tracker = Scripted(gt, lose=(3, 9))
    run = run_supervised(tracker, seq, VOT, origin=0)
    assert run.codes.tolist() == [1, R, R, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, R, R, R, R, R]
    assert run.codes.dtype == np.int8 and run.regions.shape == (20, 8)
    assert [i for i, _ in tracker.inits] == [0, 8, 14]  # failure at f -> re-init at f + 5
    for index, box in tracker.inits:
        assert np.array_equal(box, gt[index])  # origin 0: the ground truth itself
    assert tracker.updates == [1, 2, 3, 9, 15, 16, 17, 18, 19]
    tracked = run.codes == R
    assert np.array_equal(run.regions[tracked, :4], gt[tracked])
    assert np.isnan(run.regions[tracked, 4:]).all() and np.isnan(run.regions[~tracked]).all()
    times_known = ~np.isnan(run.times)
    assert np.array_equal(times_known, run.codes != 0)  # skipped frames: NaN time
    assert (run.times[times_known] >= 0).all()


def test_failure_in_the_last_frames(tmp_path: Path) -> None:
    gt = moving_rects(12)
    seq = make_sequence(tmp_path / "s", gt)
    late = run_supervised(Scripted(gt, lose=(8,)), seq, VOT, origin=0)
    assert late.codes.tolist() == [1, R, R, R, R, R, R, R, 2, 0, 0, 0]  # no re-init past the end
    last = run_supervised(Scripted(gt, lose=(11,)), seq, VOT, origin=0)
    assert last.codes.tolist() == [1] + [R] * 10 + [2]
    tracker = Scripted(gt, lose=(6,))
    edge = run_supervised(tracker, seq, VOT, origin=0)  # re-init on the very last frame
    assert edge.codes.tolist() == [1, R, R, R, R, R, 2, 0, 0, 0, 0, 1]
    assert [i for i, _ in tracker.inits] == [0, 11]


def test_reinit_moves_past_ground_truth_without_area(tmp_path: Path) -> None:
    gt = moving_rects(20)
    gt[8] = [18.0, 20.0, 0.0, 10.0]  # zero width at the re-init point
    gt[9] = np.nan                   # not annotated
    seq = make_sequence(tmp_path / "s", gt)
    tracker = Scripted(gt, lose=(3,))
    run = run_supervised(tracker, seq, VOT, origin=0)
    assert run.codes.tolist() == [1, R, R, 2, 0, 0, 0, 0, 0, 0, 1] + [R] * 9
    assert [i for i, _ in tracker.inits] == [0, 10]
    # frame 0 without area: the first initialisation moves too
    gt0 = moving_rects(8)
    gt0[0] = [10.0, 20.0, 12.0, 0.0]
    tracker0 = Scripted(gt0)
    first = run_supervised(tracker0, make_sequence(tmp_path / "t", gt0), VOT, origin=0)
    assert first.codes.tolist() == [0, 1, R, R, R, R, R, R]
    assert np.isnan(first.times[0]) and [i for i, _ in tracker0.inits] == [1]


def test_nan_overlaps_are_not_failures_but_nan_predictions_are(tmp_path: Path) -> None:
    gt = moving_rects(14)
    gt[5] = np.nan                          # no ground truth: overlap NaN
    gt[6] = [-50.0, -50.0, 10.0, 10.0]      # target outside the image ...
    answers = gt.copy()
    answers[5] = [30.0, 20.0, 10.0, 10.0]
    answers[6] = [-40.0, -40.0, 5.0, 5.0]   # ... and so is the prediction: overlap NaN
    answers[7] = np.nan                     # a NaN prediction is a failure
    seq = make_sequence(tmp_path / "s", gt)
    run = run_supervised(Scripted(answers), seq, VOT, origin=0)
    assert run.codes.tolist() == [1, R, R, R, R, R, R, 2, 0, 0, 0, 0, 1, R]
    assert np.array_equal(run.regions[5, :4], answers[5])
    assert np.array_equal(run.regions[6, :4], answers[6])


def test_failure_uses_the_image_bound(tmp_path: Path) -> None:
    gt = moving_rects(6)
    gt[2] = [95.0, 20.0, 20.0, 10.0]        # half outside the 100-pixel-wide image
    answers = gt.copy()
    answers[2] = [101.0, 20.0, 10.0, 10.0]  # overlaps the ground truth only outside the image
    seq = make_sequence(tmp_path / "s", gt)
    run = run_supervised(Scripted(answers), seq, VOT, origin=0)
    assert run.codes.tolist() == [1, R, 2, 0, 0, 0]
    unbounded = run_supervised(Scripted(answers), seq, VOT, origin=0, image_size=(200, 80))
    assert unbounded.codes.tolist() == [1] + [R] * 5


def test_polygon_ground_truth_init_box_and_origin_shift(tmp_path: Path) -> None:
    # axis-aligned square polygons 20 x 20: pysot's get_axis_aligned_bbox gives w = h = 21
    gt = np.array([[10.0 + i, 20.0, 30.0 + i, 20.0, 30.0 + i, 40.0, 10.0 + i, 40.0]
                   for i in range(8)])
    seq = make_sequence(tmp_path / "s", gt)
    answers = np.array([[10.0 + i, 20.0, 20.0, 20.0] for i in range(8)])
    tracker = Scripted(answers, lose=(2,))
    run = run_supervised(tracker, seq, VOT, origin=0)
    assert run.codes.tolist() == [1, R, 2, 0, 0, 0, 0, 1]
    assert np.array_equal(tracker.inits[0][1], [10.0, 20.0, 21.0, 21.0])  # hand-computed
    assert np.array_equal(tracker.inits[1][1], polygon_to_rect(gt[7], rule="area"))
    # origin 1: the tracker gets 0-based boxes, the run records them shifted back
    tracker1 = Scripted(answers)
    run1 = run_supervised(tracker1, seq, VOT, origin=1)
    assert np.array_equal(tracker1.inits[0][1], [9.0, 19.0, 21.0, 21.0])
    assert np.array_equal(run1.regions[1, :4], answers[1] + [1, 1, 0, 0])


def test_region_helpers() -> None:
    assert region_has_area([1, 2, 3, 4]) and not region_has_area([1, 2, 0, 4])
    assert not region_has_area([1, 2, np.nan, 4])
    assert region_has_area([0, 0, 4, 0, 4, 3, 0, 3])
    assert not region_has_area([0, 0, 1, 1, 2, 2, 3, 3])  # collinear vertices
    assert region_has_area([1, 2, 3, 4] + [np.nan] * 4)  # NaN-padded rect row
    row = np.array([5.5, 6.5, 3.0, 4.0])
    assert np.array_equal(init_box(row, 1), [4.5, 5.5, 3.0, 4.0])
    assert np.array_equal(row, [5.5, 6.5, 3.0, 4.0])  # not mutated


# -- one pass ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synthetic")
    return {fmt: write_benchmark(root / fmt, fmt, sequences=1, frames=6, seed=5, size=(96, 72),
                                 workers=1)
            for fmt in ("otb", "vot", "got10k")}


def load_first(layout: str, root: Path) -> Sequence:
    from siambench.datasets import got10k, otb, vot

    if layout == "otb":
        return otb.load_folder(root, "synthetic")[0]
    if layout == "vot":
        return vot.load_sequence_folder(root, "vot2018")[0]
    return got10k.load(root, "val")[0]


class Echo(Tracker):
    """Returns exactly the box it was initialised with; remembers it."""

    name = "echo"

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.given = np.array(box, dtype=np.float64)

    def update(self, frame: np.ndarray) -> TrackOutput:
        return TrackOutput(self.given, 1.0)


def test_one_pass_on_otb_layout_shifts_origin_both_ways(layouts) -> None:
    seq = load_first("otb", layouts["otb"])
    origin = get_spec("otb100").origin
    assert origin == 1
    gt = seq.groundtruth
    tracker = Echo()
    runs = run_sequence(tracker, seq, "ope", origin=origin)
    assert len(runs) == 1
    run = runs[0]
    assert run.boxes.shape == (6, 4) and run.boxes.dtype == np.float64 and len(run.times) == 6
    assert np.array_equal(tracker.given, gt[0] - [1, 1, 0, 0])  # 0-based for the tracker
    assert np.array_equal(run.boxes[0], gt[0])  # row 0: the init box, in the GT's frame
    assert np.array_equal(run.boxes[1:], np.tile(tracker.given + [1, 1, 0, 0], (5, 1)))
    np.testing.assert_allclose(run.boxes[1:], np.tile(gt[0], (5, 1)), rtol=0, atol=1e-12)
    assert np.all(np.isfinite(run.times)) and np.all(run.times >= 0)


def test_one_pass_on_got10k_layout_records_tracker_boxes(layouts, tmp_path: Path) -> None:
    seq = load_first("got10k", layouts["got10k"])
    gt = seq.groundtruth
    oracle = _JpegScripted(gt, lose=())  # answers the ground truth (origin 0: no shift)
    run = run_one_pass(oracle, seq, origin=get_spec("got10k-val").origin)
    assert np.array_equal(run.boxes, gt)
    folder = write_got10k(tmp_path / "res", seq.name, [run])
    assert (folder / f"{seq.name}_001.txt").is_file()
    back = read_tracker(tmp_path / "res").sequences[seq.name]
    assert np.array_equal(back[0].boxes, run.boxes) and np.array_equal(back[0].times, run.times)


def test_one_pass_refuses_an_init_box_without_area(tmp_path: Path) -> None:
    gt = moving_rects(3)
    gt[0] = np.nan
    with pytest.raises(SiambenchError, match="frame 0"):
        run_one_pass(Echo(), make_sequence(tmp_path / "s", gt), origin=0)


def test_supervised_on_vot_layout_roundtrips(layouts, tmp_path: Path) -> None:
    seq = load_first("vot", layouts["vot"])
    gt = seq.groundtruth
    assert gt.shape == (6, 8)
    origin = get_spec("vot2018").origin
    answers = np.array([init_box(row, origin) for row in gt])
    # the synthetic frames are JPEG: no index marker; Echo-like answers suffice here
    lose_tracker = _JpegScripted(answers, lose=(2,))
    run = run_sequence(lose_tracker, seq, "vot2018", origin=origin)[0]
    assert run.codes.tolist() == [1, R, 2, 0, 0, 0]
    assert np.array_equal(lose_tracker.first_init, polygon_to_rect(gt[0], rule="area"))
    write_vot(tmp_path / "res", seq.name, run)
    back = read_tracker(tmp_path / "res").sequences[seq.name][0]
    assert np.array_equal(back.codes, run.codes)
    assert np.array_equal(back.regions, run.regions, equal_nan=True)


class _JpegScripted(Tracker):
    """Counts frames from frame 0 (valid while it never re-initialises)."""

    name = "jpeg-scripted"

    def __init__(self, answers: np.ndarray, lose: tuple[int, ...]) -> None:
        self.answers, self.lose, self.index = answers, set(lose), -1

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        if self.index >= 0:
            raise AssertionError("re-initialised")
        self.first_init, self.index = np.array(box), 0

    def update(self, frame: np.ndarray) -> TrackOutput:
        self.index += 1
        return TrackOutput(FAR if self.index in self.lose else self.answers[self.index], 1.0)


def test_ope_results_write_one_line_per_frame(layouts, tmp_path: Path) -> None:
    seq = load_first("otb", layouts["otb"])
    run = run_one_pass(Echo(), seq, origin=1)
    path = write_ope(tmp_path, seq.name, run.boxes, run.times)
    assert len(path.read_text().splitlines()) == len(seq) == 6


# -- repetitions ---------------------------------------------------------------------------------

def test_repetitions_and_early_stop(tmp_path: Path) -> None:
    seq = make_sequence(tmp_path / "s", moving_rects(5))
    got = load_protocol("got10k")
    assert got.repetitions == 3 and VOT.repetitions == 15
    # GOT-10k: 3 runs for a non-deterministic tracker, one for a deterministic one
    noisy = Counting(deterministic=False, jitter=1.0)
    runs = run_sequence(noisy, seq, got, origin=0)
    assert len(runs) == 3 and noisy.init_calls == 3
    assert not same_run(runs[0], runs[1])
    steady = Counting(deterministic=True)
    assert len(run_sequence(steady, seq, got, origin=0)) == 1 and steady.init_calls == 1
    # not declared deterministic but three identical runs: stop at 3 of VOT's 15, or of 5
    same = Counting(deterministic=False)
    assert len(run_sequence(same, seq, VOT, origin=0)) == 3 and same.init_calls == 3
    assert len(run_sequence(Counting(deterministic=False), seq, got, origin=0,
                            repetitions=5)) == 3
    # differing runs go on to the number asked
    seen = []
    runs = run_sequence(Counting(deterministic=False, jitter=1.0), seq, VOT, origin=0,
                        repetitions=4, on_run=lambda r, run: seen.append(r))
    assert len(runs) == 4 and seen == [1, 2, 3, 4]
    assert all(run.is_supervised for run in runs)
    assert len(run_sequence(Counting(deterministic=False), seq, "ope", origin=0)) == 1
    with pytest.raises(SiambenchError, match="at least 1"):
        run_sequence(steady, seq, got, origin=0, repetitions=0)
    with pytest.raises(SiambenchError, match="unknown kind"):
        run_sequence(steady, seq, Protocol(name="x", kind="weird", repetitions=1, metric_family="ope",
                                           result_format="ope"), origin=0)


def test_same_run_ignores_times() -> None:
    from siambench.results import Run

    boxes = np.array([[1.0, 2.0, 3.0, np.nan]])
    assert same_run(Run(boxes=boxes, times=np.array([1.0])), Run(boxes=boxes.copy(),
                                                                   times=np.array([2.0])))
    assert not same_run(Run(boxes=boxes), Run(boxes=boxes + 1))
    assert not same_run(Run(boxes=boxes), Run(codes=np.array([1], dtype=np.int8),
                                              regions=np.full((1, 8), np.nan)))


# -- timing ----------------------------------------------------------------------------------------

def test_times_exclude_decoding(tmp_path: Path, monkeypatch) -> None:
    gt = moving_rects(8)
    seq = make_sequence(tmp_path / "s", gt)
    original = dataset_base.read_frame

    def slow_read(path: Path) -> np.ndarray:
        time.sleep(0.05)
        return original(path)

    monkeypatch.setattr(dataset_base, "read_frame", slow_read)
    start = time.perf_counter()
    run = run_one_pass(Scripted(gt), seq, origin=0)
    elapsed = time.perf_counter() - start
    assert elapsed >= 8 * 0.05  # the reader was slow ...
    assert run.times.max() < 0.025  # ... but the recorded times are the tracker's only
    sup = run_supervised(Scripted(gt, lose=(2,)), seq, VOT, origin=0)
    assert np.nanmax(sup.times) < 0.025
    # a slow tracker shows up in full
    slow = run_one_pass(Scripted(gt, update_sleep=0.03), seq, origin=0)
    assert (slow.times[1:] >= 0.03).all() and slow.times[0] < 0.025


# -- prefetcher ------------------------------------------------------------------------------------

def test_prefetcher_yields_in_order(tmp_path: Path) -> None:
    seq = make_sequence(tmp_path / "s", moving_rects(12))
    before = threading.active_count()
    with FramePrefetcher(seq, depth=2) as frames:
        got = [(index, frame_index(frame)) for index, frame in frames]
    assert got == [(i, i) for i in range(12)]
    with FramePrefetcher(seq, start=3, stop=7) as frames:
        assert [index for index, _ in frames] == [3, 4, 5, 6]
    plain = list(FramePrefetcher(seq, start=10))  # without "with": closes at the end
    assert [index for index, _ in plain] == [10, 11]
    assert np.array_equal(plain[0][1], seq.frame(10))
    assert threading.active_count() == before
    with pytest.raises(SiambenchError, match="frame range"):
        FramePrefetcher(seq, start=5, stop=13)
    with pytest.raises(SiambenchError, match="depth"):
        FramePrefetcher(seq, depth=0)


def test_prefetcher_is_bounded(tmp_path: Path, monkeypatch) -> None:
    seq = make_sequence(tmp_path / "s", moving_rects(20))
    original = dataset_base.read_frame
    decoded = []

    def counting_read(path: Path) -> np.ndarray:
        decoded.append(path)
        return original(path)

    monkeypatch.setattr(dataset_base, "read_frame", counting_read)
    with FramePrefetcher(seq, depth=2) as frames:
        next(frames)
        time.sleep(0.2)
        assert len(decoded) <= 1 + 2 + 1  # the frame consumed, the queue, one waiting to enter


def test_prefetcher_reports_a_corrupt_frame(tmp_path: Path) -> None:
    seq = make_sequence(tmp_path / "s", moving_rects(6))
    bad = seq.frame_paths[3]
    bad.write_bytes(b"not an image")
    before = threading.active_count()
    seen = []
    with pytest.raises(FrameReadError) as info, FramePrefetcher(seq) as frames:
        for index, _ in frames:
            seen.append(index)
    assert seen == [0, 1, 2]
    assert str(bad) in str(info.value)
    assert threading.active_count() == before
    with pytest.raises(FrameReadError, match="0004.png"):
        run_one_pass(Echo(), seq, origin=0)
    assert threading.active_count() == before


def test_prefetcher_wraps_other_errors_with_the_path(tmp_path: Path, monkeypatch) -> None:
    seq = make_sequence(tmp_path / "s", moving_rects(4))

    def broken(path: Path) -> np.ndarray:
        raise ValueError("decoder exploded")

    monkeypatch.setattr(dataset_base, "read_frame", broken)
    with pytest.raises(FrameReadError, match="0001.png.*decoder exploded"), \
            FramePrefetcher(seq) as frames:
        next(frames)


def test_prefetcher_stops_its_thread_on_early_exit(tmp_path: Path) -> None:
    seq = make_sequence(tmp_path / "s", moving_rects(30))
    before = threading.active_count()
    with FramePrefetcher(seq, depth=2) as frames:
        for index, _ in frames:
            if index == 1:
                break
    assert threading.active_count() == before
    with pytest.raises(KeyboardInterrupt), FramePrefetcher(seq, depth=2) as frames:
        next(frames)
        raise KeyboardInterrupt
    assert threading.active_count() == before

    class Exploding(Echo):
        def update(self, frame: np.ndarray) -> TrackOutput:
            raise RuntimeError("tracker bug")

    with pytest.raises(RuntimeError, match="tracker bug"):
        run_one_pass(Exploding(), seq, origin=0)
    assert threading.active_count() == before
