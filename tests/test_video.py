"""Videos of results: ``write_video``/``annotate_frame``, ``save_sequence_video`` and
``siambench render``.

Drawn pixels are checked exactly on the frames ``write_video`` hands to the encoder (the
``encoded`` fixture records them), never on the decoded video: MPEG-4 is lossy (its 4:2:0
chroma blurs a 3-pixel coloured line differently from one OpenCV build to the next), and what
covers a pixel depends on the OpenCV build too: opencv 5.1's text is wider than 4.x's, so the
legend panel now darkens the box edge that the old test read as pure red (it read (101, 0, 0)).
The written file is read back with ``cv2.VideoCapture`` for what any codec keeps: frame count,
size, fps, and frames close to the encoded ones on average."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError
from siambench.report import video
from siambench.report.video import (
    GROUNDTRUTH_COLOUR,
    TRACKER_COLOURS,
    VideoFallbackWarning,
    annotate_frame,
    render_sequence,
    save_sequence_video,
    write_video,
)
from siambench.results import FAILURE, INIT, REGION, SKIPPED, Run, write_ope, write_vot

RED, BLUE = TRACKER_COLOURS[0], TRACKER_COLOURS[1]
GREY = 100
W, H, N = 96, 64, 10


def _frames(count: int = N, width: int = W, height: int = H):
    for _ in range(count):
        yield np.full((height, width, 3), GREY, np.uint8)


def _read(path: Path) -> tuple[int, int, int, list[np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return count, width, height, frames


def _is(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.array_equal(pixel, colour))


class _Recording:
    """A ``cv2.VideoWriter`` stand-in that keeps (RGB copies of) the frames it is given and
    passes them on to the real writer."""

    def __init__(self, writer, frames: list[np.ndarray]) -> None:
        self.writer, self.frames = writer, frames

    def write(self, frame: np.ndarray) -> None:
        self.frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        self.writer.write(frame)

    def release(self) -> None:
        self.writer.release()


@pytest.fixture
def encoded(monkeypatch) -> list[list[np.ndarray]]:
    """The frames (RGB) handed to each video writer opened during the test, in order."""
    videos: list[list[np.ndarray]] = []
    real = video._open_writer

    def recording(path, fourcc, fps, size):
        writer = real(path, fourcc, fps, size)
        if writer is None:
            return None
        videos.append([])
        return _Recording(writer, videos[-1])
    monkeypatch.setattr(video, "_open_writer", recording)
    return videos


def _same_video(decoded: list[np.ndarray], encoded: list[np.ndarray]) -> None:
    """The decoded file holds the encoded frames: same count and size, and each decoded frame is
    on average within 25 grey levels of its encoded frame (a lossy codec at any quality meets
    that; another frame, a black or a blank one, does not)."""
    assert len(decoded) == len(encoded)
    for got, sent in zip(decoded, encoded):
        assert got.shape == sent.shape
        assert np.abs(got.astype(int) - sent.astype(int)).mean() < 25


# 1-based boxes (origin 1): 0-based outer pixels are x-1 .. x+w-2.
GT = np.tile([11.0, 11.0, 20.0, 20.0], (N, 1))          # 0-based columns/rows 10..29
TRACK_A = np.tile([51.0, 11.0, 30.0, 40.0], (N, 1))     # columns 50..79, rows 10..49
TRACK_B = np.tile([11.0, 41.0, 30.0, 16.0], (N, 1))     # columns 10..39, rows 40..55


# -- drawing, exact pixels -----------------------------------------------------------------------

def test_annotate_frame_draws_on_the_outer_pixels_after_subtracting_origin():
    frame = np.zeros((H, W, 3), np.uint8)
    image = annotate_frame(frame, 0, {"A": TRACK_A}, GT, origin=1, labels=False)
    assert not frame.any()  # input untouched
    red = np.all(image == RED, axis=2)
    green = np.all(image == GROUNDTRUTH_COLOUR, axis=2)
    ys, xs = np.nonzero(red)
    # thickness-2 lines are 3 pixels wide, centred on the box's outermost pixel
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (49, 80, 9, 50)
    assert red[30, 49:52].all() and not red[30, 48] and not red[30, 52]
    ys, xs = np.nonzero(green)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (9, 30, 9, 30)
    assert not image[20, 20].any() and not image[30, 65].any()  # interiors untouched
    same = annotate_frame(frame, 0, {"A": TRACK_A - [1, 1, 0, 0]}, GT - [1, 1, 0, 0], origin=0,
                          labels=False)
    assert np.array_equal(same, image)


def test_polygons_nan_and_zero_area_rows():
    frame = np.zeros((H, W, 3), np.uint8)
    polygon = np.array([[10.0, 10.0, 30.0, 10.0, 30.0, 30.0, 10.0, 30.0]])
    image = annotate_frame(frame, 0, {}, polygon, origin=0, labels=False)
    green = np.all(image == GROUNDTRUTH_COLOUR, axis=2)
    ys, xs = np.nonzero(green)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (9, 31, 9, 31)
    for row in ([np.nan] * 4, [10.0, 10.0, 0.0, 5.0], [1e300, 1e300, 5.0, 5.0]):
        image = annotate_frame(frame, 0, {"A": np.array([row])}, None, labels=False)
        assert not image.any()
    huge = annotate_frame(frame, 0, {"A": np.array([[-1e12, 5.0, 2e12, 20.0]])}, None,
                          labels=False)
    assert np.all(huge[5] == RED, axis=1).all()  # the top edge crosses the whole frame


def test_vot_status_frames_are_text_not_boxes():
    codes = np.array([INIT, REGION, FAILURE, SKIPPED], np.int8)
    regions = np.full((4, 8), np.nan)
    regions[1, :4] = [10.0, 10.0, 20.0, 20.0]
    run = Run(codes=codes, regions=regions)
    painter = video._Painter(W, H)
    texts = []
    for index in range(4):
        image = np.zeros((H, W, 3), np.uint8)
        lines = video._draw(painter, image, index, video._prepare({"B": run}), None, 0.0)
        texts.append([text for text, _ in lines])
        assert np.all(image == RED, axis=2).any() == (index == 1)
    assert texts == [["frame 1", "B: init"], ["frame 2", "B"], ["frame 3", "B: failure"],
                     ["frame 4", "B: skipped"]]
    # a list of repetitions draws the first
    image = annotate_frame(np.zeros((H, W, 3), np.uint8), 1, {"B": [run, Run(boxes=GT)]}, None,
                           labels=False)
    assert np.all(image == RED, axis=2).any()


def test_labels_draw_a_legend_top_left():
    frame = np.full((H, W, 3), GREY, np.uint8)
    plain = annotate_frame(frame, 0, {"A": TRACK_A}, GT, origin=1, labels=False)
    labelled = annotate_frame(frame, 0, {"A": TRACK_A}, GT, origin=1)
    assert not np.array_equal(plain[:30, :40], labelled[:30, :40])
    assert np.array_equal(plain[H - 5:], labelled[H - 5:])


# -- the video file ------------------------------------------------------------------------------

def test_write_video_reads_back_with_boxes_in_their_colours(tmp_path, encoded):
    out = tmp_path / "videos" / "seq.mp4"
    path = write_video(out, _frames(), {"A": TRACK_A, "B": TRACK_B}, GT, origin=1, labels=False)
    assert path == out and sorted(p.name for p in out.parent.iterdir()) == ["seq.mp4"]
    count, width, height, frames = _read(out)
    assert (count, width, height, len(frames)) == (N, W, H, N)
    [sent] = encoded
    _same_video(frames, sent)
    expected = annotate_frame(next(_frames()), 0, {"A": TRACK_A, "B": TRACK_B}, GT, origin=1,
                              labels=False)
    for frame in sent:
        assert np.array_equal(frame, expected)
        assert _is(frame[30, 50], RED)             # A's left edge (0-based column 50)
        assert _is(frame[40, 25], BLUE)            # B's top edge (row 40)
        assert _is(frame[20, 10], GROUNDTRUTH_COLOUR)
        assert _is(frame[20, 20], (GREY, GREY, GREY))  # inside the GT box: unchanged
        assert _is(frame[30, 65], (GREY, GREY, GREY))


def test_frames_are_streamed_and_tracks_may_be_shorter(tmp_path, encoded):
    seen = []

    def frames():
        for index, frame in enumerate(_frames(12)):
            seen.append(index)
            yield frame
    path = write_video(tmp_path / "a.mp4", frames(), {"A": TRACK_A[:5]}, None, origin=1,
                       labels=False, fps=10)
    count, _, _, read = _read(path)
    assert seen == list(range(12)) and count == 12
    [sent] = encoded
    _same_video(read, sent)
    assert _is(sent[4][30, 50], RED) and _is(sent[5][30, 50], (GREY,) * 3)
    assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == 10


def test_odd_sizes_are_padded_and_other_sizes_resized(tmp_path, encoded):
    def frames():
        yield np.full((47, 65, 3), GREY, np.uint8)
        yield np.full((94, 130, 3), GREY, np.uint8)
    count, width, height, read = _read(write_video(tmp_path / "odd.mp4", frames(), {},
                                                   labels=False))
    assert (count, width, height) == (2, 66, 48)
    [sent] = encoded
    _same_video(read, sent)
    for frame in sent:  # the black padding; the second frame resized to the first's size
        assert not frame[:, 65].any() and not frame[47].any() and (frame[:47, :65] == GREY).all()


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "seq.mp4"
    out.write_bytes(b"old")

    def frames():
        yield from _frames(3)
        raise SiambenchError("frame 4: cannot decode")
    with pytest.raises(SiambenchError, match="frame 4"):
        write_video(out, frames(), {"A": TRACK_A}, GT)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["seq.mp4"]


def test_avi_and_the_mjpg_fallback(tmp_path, monkeypatch):
    count, width, _, _ = _read(write_video(tmp_path / "x.avi", _frames(3), {}))
    assert (count, width) == (3, W)
    real = video._open_writer

    def no_mp4v(path, fourcc, fps, size):
        return None if fourcc == "mp4v" else real(path, fourcc, fps, size)
    monkeypatch.setattr(video, "_open_writer", no_mp4v)
    with pytest.warns(VideoFallbackWarning, match="mp4v"):
        path = write_video(tmp_path / "y.mp4", _frames(3), {"A": TRACK_A}, GT, origin=1)
    assert path == tmp_path / "y.avi" and _read(path)[0] == 3
    assert not (tmp_path / "y.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.avi", "y.avi"]


def test_write_video_errors(tmp_path):
    with pytest.raises(SiambenchError, match="no frames"):
        write_video(tmp_path / "a.mp4", iter(()), {})
    with pytest.raises(SiambenchError, match="extension"):
        write_video(tmp_path / "a.gif", _frames(), {})
    with pytest.raises(SiambenchError, match=r"shape \(10, 5\)"):
        write_video(tmp_path / "a.mp4", _frames(), {"A": np.zeros((10, 5))})
    with pytest.raises(SiambenchError, match="RGB uint8"):
        write_video(tmp_path / "a.mp4", [np.zeros((4, 4), np.uint8)], {})
    with pytest.raises(SiambenchError, match="fps"):
        write_video(tmp_path / "a.mp4", _frames(), {}, fps=0)
    assert list(tmp_path.iterdir()) == []


# -- datasets: save_sequence_video and render -----------------------------------------------------

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("synth") / "otb", "otb", sequences=1,
                           frames=N, seed=0, size=(W, H), workers=1)


@pytest.fixture(scope="module")
def synthetic_vot(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("synth") / "vot", "vot", sequences=1,
                           frames=N, seed=0, size=(W, H), workers=1)


def test_save_sequence_video(tmp_path, synthetic):
    sequence = load_dataset("synthetic", synthetic)[0]
    boxes = sequence.groundtruth + [3.0, 0.0, 0.0, 0.0]
    path = save_sequence_video(tmp_path / "videos", sequence, [Run(boxes=boxes)], origin=1,
                               tracker_name="siamfc")
    assert path == tmp_path / "videos" / f"{sequence.name}.mp4"
    count, width, height, _ = _read(path)
    assert (count, width, height) == (N, W, H)


def _tracks(sequence, dataset_name: str) -> dict[str, np.ndarray | Run]:
    """Two trackers' results: A a fixed box (VOT: with init, failure and skipped frames 1, 6, 7),
    B the ground truth."""
    if dataset_name == "synthetic":
        return {"A": TRACK_A, "B": sequence.groundtruth}
    regions = np.full((N, 8), np.nan)
    regions[:, :4] = TRACK_A - [1.0, 1.0, 0.0, 0.0]  # origin 0
    codes = np.full(N, REGION, np.int8)
    codes[0], codes[5:7] = INIT, [FAILURE, SKIPPED]
    regions[[0, 5, 6]] = np.nan
    return {"A": Run(codes=codes, regions=regions),
            "B": Run(codes=np.full(N, REGION, np.int8), regions=sequence.groundtruth)}


def _results(root: Path, dataset_name: str) -> tuple[str, Path]:
    """Two trackers' saved results (see ``_tracks``) in the dataset's layout."""
    sequence = load_dataset(dataset_name, root)[0]
    results = root.parent / "results"
    write = write_ope if dataset_name == "synthetic" else write_vot
    for tracker, track in _tracks(sequence, dataset_name).items():
        write(results / tracker, sequence.name, track)
    return sequence.name, results


@pytest.mark.parametrize("dataset_name", ["synthetic", "vot2018"])
def test_render_cli_draws_every_tracker(tmp_path, synthetic, synthetic_vot, dataset_name, encoded):
    root = synthetic if dataset_name == "synthetic" else synthetic_vot
    name, results = _results(root, dataset_name)
    out = tmp_path / "render.mp4"
    result = CliRunner().invoke(cli, ["render", "--dataset", dataset_name, "--root", str(root),
                                      "--results-dir", str(results), "--compare", "A", "B",
                                      "--sequence", name.upper(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} ({N} frames: ground truth, A, B)" in result.output
    count, width, height, frames = _read(out)
    assert (count, width, height) == (N, W, H)
    [sent] = encoded
    _same_video(frames, sent)
    sequence = load_dataset(dataset_name, root)[0]
    tracks = _tracks(sequence, dataset_name)
    origin = 1 if dataset_name == "synthetic" else 0
    # A's right edge (columns 78..80): red, or red darkened to 2/5 where the legend panel covers
    # it (its width follows the font metrics of the OpenCV build: 5.x's text is wider than 4.x's)
    dark_red = tuple(value * 2 // 5 for value in RED)
    drawn = [all(_is(frame[row, 79], RED) or _is(frame[row, 79], dark_red) for row in (30, 45))
             for frame in sent]
    if dataset_name == "synthetic":
        assert all(drawn)
    else:  # init, failure and skipped frames carry no box
        assert drawn == [False, True, True, True, True, False, False, True, True, True]
    for index, (frame, image) in enumerate(zip(sent, sequence.frames())):
        # every pixel as drawn from the saved results: B (blue, over the green ground truth) too
        expected = annotate_frame(image, index, tracks, sequence.groundtruth, origin=origin)
        assert np.array_equal(frame, expected), f"frame {index + 1}"
        without_b = annotate_frame(image, index, {"A": tracks["A"]}, sequence.groundtruth,
                                   origin=origin, labels=False)
        with_b = annotate_frame(image, index, tracks, sequence.groundtruth, origin=origin,
                                labels=False)
        assert np.all(with_b == BLUE, axis=2).any() and not np.array_equal(with_b, without_b)


def test_render_all_trackers_by_default_and_warnings(tmp_path, synthetic):
    name, results = _results(synthetic, "synthetic")
    write_ope(results / "C", name, TRACK_A[:6])
    rendered = render_sequence("synthetic", name, [], tmp_path / "all.mp4", root=synthetic,
                               results_dir=results)
    assert rendered.trackers == ["A", "B", "C"] and rendered.frames == N
    assert len(rendered.warnings) == 1 and rendered.warnings[0].startswith("C: shorter")


def test_render_errors(tmp_path, synthetic):
    name, results = _results(synthetic, "synthetic")
    runner = CliRunner()
    base = ["render", "--root", str(synthetic), "--results-dir", str(results),
            "--out", str(tmp_path / "x.mp4")]

    def fails(*args: str) -> str:
        result = runner.invoke(cli, [*base, *args])
        assert result.exit_code != 0 and "Traceback" not in result.output
        return result.output
    assert "no sequence 'nope'" in fails("--sequence", "nope", "--compare", "A")
    output = fails("--sequence", name, "--compare", "A", "Z")
    assert "no results for 'Z'" in output and "trackers found: A, B" in output
    (results / "D").mkdir()
    write_ope(results / "D", "other-sequence", TRACK_A)
    assert f"D: no results for sequence {name!r}" in fails("--sequence", name, "--compare", "D")
    (results / "E").mkdir()
    (results / "E" / f"{name}.txt").write_text("1,2,3,4\n1,2,3\n")  # unreadable, not absent
    output = fails("--sequence", name, "--compare", "E")
    assert f"E: the results of {name!r} cannot be read" in output and "line 2" in output
    assert "does not exist" in runner.invoke(cli, [
        "render", "--root", str(synthetic), "--results-dir", str(tmp_path / "none"),
        "--sequence", name, "--out", str(tmp_path / "x.mp4")]).output
    assert not (tmp_path / "x.mp4").exists()


def test_render_dataset_without_images(tmp_path):
    rows = "\n".join("1,1,10,10" for _ in range(71))
    (tmp_path / "anno").mkdir()
    (tmp_path / "anno" / "Deer.txt").write_text(rows + "\n")
    write_ope(tmp_path / "results" / "A", "Deer", np.tile([1.0, 1.0, 10.0, 10.0], (71, 1)))
    with pytest.raises(SiambenchError, match="annotations but no images"):
        render_sequence("otb100", "deer", ["A"], tmp_path / "x.mp4", root=tmp_path / "anno",
                        results_dir=tmp_path / "results")


def test_missing_frame_names_the_file_and_writes_nothing(tmp_path, synthetic):
    sequence = load_dataset("synthetic", synthetic)[0]
    victim = sequence.frame_paths[4]
    data = victim.read_bytes()
    victim.unlink()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(SiambenchError, match=str(victim.name)):
                save_sequence_video(tmp_path, sequence, sequence.groundtruth, origin=1,
                                    tracker_name="A")
    finally:
        victim.write_bytes(data)
    assert list(tmp_path.iterdir()) == []


def test_render_real_otb_sequence_with_published_results(tmp_path, shared_data, encoded):
    """OTB Couple (jwlim's toolkit copy, 320x240, 140 frames) with STRUCK's OPE results (JSON)."""
    from siambench.results import read_tracker

    base = shared_data / "jwlim_tracker_benchmark"
    out = tmp_path / "couple.mp4"
    rendered = render_sequence("otb100", "couple", ["STRUCK"], out, root=base / "data",
                               results_dir=base / "results" / "OPE", fps=25)
    assert (rendered.path, rendered.trackers, rendered.frames) == (out, ["STRUCK"], 140)
    count, width, height, frames = _read(out)
    assert (count, width, height) == (140, 320, 240)
    x, y, w, _ = read_tracker(base / "results" / "OPE" / "STRUCK").sequences["Couple"][0].boxes[60]
    top, middle = round(float(y) - 1), round(float(x) - 1 + float(w) / 2)  # 1-based OTB boxes
    assert _is(encoded[0][60][top, middle], RED)
