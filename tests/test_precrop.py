"""Tests of pre-cropping for training (siambench.train.precrop, ``siambench data crop``): crop
geometry, the crop folder, resume after a crash, the CLI, and training on the crops."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import DataFormatError, SiambenchError
from siambench.trackers.crops import context_size
from siambench.train import precrop as pc
from siambench.train.augment import CropParams, augment_crop
from siambench.train.loop import load_train_datasets, train
from siambench.train.pairs import build_index
from siambench.train.precrop import (
    ANNOTATION_FILE,
    CropSettings,
    crop_box,
    crop_frame,
    crop_name,
    is_crop_folder,
    load_crops,
    precrop,
)

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


# ----------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic training set in the OTB layout (1-based boxes): 4 sequences x 10 frames."""
    folder = tmp_path_factory.mktemp("precrop-source") / "synth"
    write_benchmark(folder, fmt="otb", sequences=4, frames=10, seed=11, progress=False)
    return folder


def _crop(source: Path, out: Path, **kwargs) -> pc.CropSummary:
    return precrop("synthetic-train", out, root=source, workers=kwargs.pop("workers", 1),
                   progress=False, **kwargs)


# ----------------------------------------------------------------------------------- geometry

def test_crop_geometry_against_a_hand_computed_case() -> None:
    # 200 x 150 blue frame, red target at x 60..99, y 40..59 (0-based box 60, 40, 40, 20) with a
    # green 4 x 4 marker in its top-left corner.
    frame = np.zeros((150, 200, 3), dtype=np.uint8)
    frame[:] = BLUE
    frame[40:60, 60:100] = RED
    frame[40:44, 60:64] = GREEN
    crop, box = crop_frame(frame, np.array([60.0, 40.0, 40.0, 20.0]))
    assert crop.shape == (511, 511, 3) and crop.dtype == np.uint8
    # p = 0.5 (40 + 20) = 30, s_z = sqrt(70 * 50) = 59.1608, k = 127 / s_z = 2.1466918;
    # w' = 40 k = 85.867672, h' = 20 k = 42.933836, centre (510 / 2) = 255:
    # x' = 255 - (w' - 1) / 2 = 212.566164, y' = 255 - (h' - 1) / 2 = 234.033082
    np.testing.assert_allclose(box, [212.566164, 234.033082, 85.867672, 42.933836], atol=1e-6)
    # the target centre (79.5, 49.5) -> (255, 255); crop pixel u of image x: u = 255 + k (x - 79.5)
    assert tuple(crop[255, 255]) == RED
    assert tuple(crop[238, 216]) == GREEN                  # marker centre (61.5, 41.5) -> (216.4, 237.8)
    assert tuple(crop[255, 149]) == BLUE                   # image (30, 49.5) -> (148.7, 255)
    mean = frame.reshape(-1, 3).mean(axis=0)               # image x = -20 -> u = 41.4: padding
    np.testing.assert_allclose(crop[255, 41].astype(float), mean, atol=1.0)
    # the box edges (continuous extent x - 0.5 ... x + w - 0.5): 1.5 px inside red, outside blue
    x, y, w, h = box
    assert tuple(crop[255, round(x + 1)]) == RED and tuple(crop[255, int(x - 2)]) == BLUE
    assert tuple(crop[round(y + h - 2), 255]) == RED and tuple(crop[round(y + h + 1), 255]) == BLUE


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 400), st.floats(0.5, 400), st.floats(-100, 500), st.floats(-100, 500),
       st.sampled_from([127, 255, 511]))
def test_the_crop_box_is_centred_with_its_context_square_as_the_exemplar(
        w: float, h: float, x: float, y: float, size: int) -> None:
    box = crop_box(np.array([x, y, w, h]), CropSettings(size=size))
    assert box[0] + (box[2] - 1) / 2 == pytest.approx((size - 1) / 2)
    assert box[1] + (box[3] - 1) / 2 == pytest.approx((size - 1) / 2)
    assert context_size(box[2], box[3]) == pytest.approx(127.0)
    assert box[2] / box[3] == pytest.approx(w / h)


def test_a_training_crop_of_the_precrop_is_the_training_crop_of_the_frame() -> None:
    yy, xx = np.mgrid[0:240, 0:320]
    frame = np.stack([(xx * 0.7) % 256, (yy * 0.9) % 256, ((xx + yy) * 0.3) % 256], axis=-1)
    frame = cv2.GaussianBlur(frame.astype(np.uint8), (0, 0), 2.0)
    box = np.array([140.0, 90.0, 36.0, 52.0])
    pre, pre_box = crop_frame(frame, box)
    params = CropParams(255, shift=64.0, scale=0.18)
    for seed in range(5):
        original, target = augment_crop(frame, box, params, np.random.default_rng(seed))
        again, target_again = augment_crop(pre, pre_box, params, np.random.default_rng(seed))
        np.testing.assert_allclose(target_again, target, atol=1e-6)
        inside = (slice(40, 215), slice(40, 215))  # away from the padding of either
        diff = np.abs(original[inside].astype(int) - again[inside].astype(int))
        assert diff.mean() < 2.0


# ----------------------------------------------------------------------------------- the folder

def test_precrop_writes_one_crop_per_usable_frame_with_its_box(source: Path, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        summary = _crop(source, tmp_path / "crops")
    finally:
        os.umask(old)
    original = load_dataset("synthetic-train", source)
    index = build_index([(original, 1.0, 1)])
    usable = {t.name: t for t in index.tracks}
    assert summary.sequences == summary.cropped == 4 and summary.resumed == 0
    assert summary.crops == sum(len(t.usable) for t in index.tracks)
    data = json.loads((tmp_path / "crops" / ANNOTATION_FILE).read_text())
    assert data["dataset"] == "synthetic-train" and data["complete"] is True
    assert (data["size"], data["exemplar"], data["context_amount"]) == (511, 127, 0.5)
    assert [s["name"] for s in data["sequences"]] == original.names
    for entry in data["sequences"]:
        track = usable[entry["name"]]
        assert [row[0] for row in entry["crops"]] == list(track.usable)
        assert entry["source_folder"] == f"{entry['name']}/img"
        for frame, *xywh, file in entry["crops"]:
            np.testing.assert_allclose(xywh, crop_box(track.boxes[frame]), atol=1e-9)
            assert Path(track.frames[frame]).name == file
            path = tmp_path / "crops" / entry["folder"] / crop_name(frame)
            assert cv2.imread(str(path)).shape == (511, 511, 3)
            assert path.stat().st_mode & 0o777 == 0o640
    crops = sorted((tmp_path / "crops").rglob("*.x.jpg"))
    assert len(crops) == summary.crops and not list((tmp_path / "crops").rglob("*.tmp*"))


def test_a_large_dataset_is_cropped_in_blocks_of_sequences(source: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pc, "MAX_BLOCKS", 2)
    _crop(source, tmp_path / "crops")
    folders = sorted(p.name for p in (tmp_path / "crops").iterdir() if not p.name.startswith("."))
    assert folders == ["000000", "000001", ANNOTATION_FILE]
    for block in ("000000", "000001"):  # 4 sequences, 2 per block: tracks 00 and 01
        assert {p.name.split(".")[1] for p in (tmp_path / "crops" / block).iterdir()} == {"00", "01"}
    crops = load_crops(tmp_path / "crops")
    plain = load_crops(_crop(source, tmp_path / "plain").out)
    for a, b in zip(crops, plain, strict=True):
        np.testing.assert_array_equal(a.groundtruth, b.groundtruth)
        usable = np.flatnonzero(np.isfinite(a.groundtruth[:, 0]))
        assert np.array_equal(a.frame(int(usable[0])), b.frame(int(usable[0])))


def test_an_unreadable_frame_gives_no_crop_and_is_listed(source: Path, tmp_path: Path) -> None:
    broken = tmp_path / "synth"
    shutil.copytree(source, broken)
    first = load_dataset("synthetic-train", broken)[0]
    first.frame_paths[2].write_bytes(b"not a jpeg")
    summary = _crop(broken, tmp_path / "crops")
    assert len(summary.unreadable) == 1 and "frame 2" in summary.unreadable[0]
    crops = load_crops(tmp_path / "crops")
    assert np.all(np.isnan(crops[first.name].groundtruth[2]))
    assert not (tmp_path / "crops" / first.name / crop_name(2)).exists()


# ----------------------------------------------------------------------------------- resume

def test_a_crash_loses_only_the_blocks_in_flight_and_a_rerun_trusts_no_partial_file(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "crops"
    real = pc._crop_block
    calls: list[str] = []

    def crashing(job):
        calls.append(job.folder)
        if len(calls) == 3:  # dies half-way through the third sequence
            Path(job.out, job.folder).mkdir(parents=True, exist_ok=True)
            Path(job.out, job.folder, crop_name(0)).write_bytes(b"\xff\xd8 half a jpeg")
            raise RuntimeError("worker crashed")
        return real(job)

    monkeypatch.setattr(pc, "_crop_block", crashing)
    with pytest.raises(RuntimeError, match="worker crashed"):
        _crop(source, out)
    assert not (out / ANNOTATION_FILE).exists()
    assert is_crop_folder(out)
    with pytest.raises(SiambenchError, match="unfinished crop folder"):
        load_train_datasets([("synthetic-train", 1.0)], out)
    done = sorted(p.stem for p in (out / ".precrop" / "done").iterdir())
    assert done == sorted(calls[:2])
    kept = {p: p.stat().st_mtime_ns for p in (out / calls[0]).iterdir()}
    # a resume record that is not valid JSON (or of other sequences) is not trusted either
    (out / ".precrop" / "done" / f"{calls[1]}.json").write_text('{"folder": "x", "names": [')

    calls.clear()
    monkeypatch.setattr(pc, "_crop_block", lambda job: calls.append(job.folder) or real(job))
    summary = _crop(source, out)
    names = load_dataset("synthetic-train", source).names
    assert calls == names[1:] and summary.resumed == 1 and summary.cropped == 3
    assert {p: p.stat().st_mtime_ns for p in (out / names[0]).iterdir()} == kept
    assert cv2.imread(str(out / names[2] / crop_name(0))) is not None  # the half file replaced
    fresh = _crop(source, tmp_path / "fresh")
    assert summary.crops + len(kept) == fresh.crops
    for name in names:
        for path in sorted((tmp_path / "fresh" / name).iterdir()):
            assert (out / name / path.name).read_bytes() == path.read_bytes()


def test_a_rerun_of_a_finished_folder_crops_nothing(source: Path, tmp_path: Path) -> None:
    first = _crop(source, tmp_path / "crops")
    before = (tmp_path / "crops" / ANNOTATION_FILE).read_text()
    again = _crop(source, tmp_path / "crops")
    assert (again.cropped, again.crops, again.resumed) == (0, 0, first.sequences)
    assert (tmp_path / "crops" / ANNOTATION_FILE).read_text() == before


def test_ctrl_c_keeps_the_finished_sequences(source: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real = pc._crop_block
    calls: list[str] = []

    def interrupted(job):
        calls.append(job.folder)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(pc, "_crop_block", interrupted)
    args = ["data", "crop", "synthetic-train", "--root", str(source), "--out",
            str(tmp_path / "crops"), "--workers", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130
    assert "interrupted: 1 of 4 sequences done in" in result.output
    assert "the same command continues from there" in result.output
    monkeypatch.setattr(pc, "_crop_block", real)
    again = CliRunner().invoke(cli, [*args, "--quiet"])
    assert again.exit_code == 0 and "3 sequences cropped" in again.output
    assert "1 already done" in again.output


@pytest.mark.slow
def test_ctrl_c_stops_the_worker_processes_and_the_rerun_finishes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    write_benchmark(tmp_path / "synth", fmt="otb", sequences=24, frames=40, seed=3,
                    progress=False)
    out = tmp_path / "crops"
    command = [sys.executable, "-m", "siambench", "data", "crop", "synthetic-train", "--root",
               str(tmp_path / "synth"), "--out", str(out), "--workers", "2", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    done = out / ".precrop" / "done"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not (
            done.is_dir() and any(done.iterdir())):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err
    kept = sorted(p.name for p in done.iterdir())
    assert 0 < len(kept) < 24 and not (out / ANNOTATION_FILE).exists()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(kept)} already done" in rerun.stdout
    assert load_crops(out).names == load_dataset("synthetic-train", tmp_path / "synth").names
    assert not list(out.rglob(".*.tmp*"))


@pytest.mark.slow
def test_parallel_workers_write_the_same_crops(source: Path, tmp_path: Path) -> None:
    one = _crop(source, tmp_path / "one")
    two = _crop(source, tmp_path / "two", workers=2)
    assert two.crops == one.crops
    for path in sorted((tmp_path / "one").rglob("*.x.jpg")):
        assert (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes() == path.read_bytes()
    assert json.loads((tmp_path / "one" / ANNOTATION_FILE).read_text())["sequences"] == \
        json.loads((tmp_path / "two" / ANNOTATION_FILE).read_text())["sequences"]


# ----------------------------------------------------------------------------------- CLI

def test_cli_crops_resumes_and_prints_the_summary(source: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "crops"
    args = ["data", "crop", "synthetic-train", "--root", str(source), "--out", str(out),
            "--workers", "1", "--quiet"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "synthetic-train: 4 sequences cropped (" in result.output
    assert "0 already done, 0 skipped" in result.output
    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and "0 sequences cropped (0 crops" in again.output
    assert "4 already done" in again.output


@pytest.mark.parametrize("case, message", [
    ("out-file", "is a file, expected a folder for the crops"),
    ("out-other", "holds other files and no crops"),
    ("unknown", "unknown dataset 'no-such-set'"),
    ("missing", "dataset got10k-train not found"),
    ("settings", "holds crops made with other settings (quality 95 there, 80 now)"),
    ("root-is-crops", "is a crop folder already"),
])
def test_cli_errors_are_one_clear_message(case: str, message: str, source: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "crops"
    name, root, extra = "synthetic-train", source, []
    if case == "out-file":
        out.write_text("x")
    elif case == "out-other":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif case == "unknown":
        name = "no-such-set"
    elif case == "missing":
        name, root = "got10k-train", None
    elif case in ("settings", "root-is-crops"):
        _crop(source, out)
        if case == "settings":
            extra = ["--quality", "80"]
        else:
            root, out = out, tmp_path / "again"
    args = ["data", "crop", name, "--out", str(out), "--workers", "1", "--quiet", *extra]
    result = CliRunner().invoke(cli, args + (["--root", str(root)] if root else []))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


# ----------------------------------------------------------------------------------- training

def test_training_loads_the_crop_folder_with_the_same_pairs(source: Path, tmp_path: Path) -> None:
    _crop(source, tmp_path / "crops")
    [(crops, weight, origin, frame_range)] = load_train_datasets(
        [("synthetic-train", 2.0)], tmp_path / "crops")
    assert (crops.root, weight, origin, frame_range) == (tmp_path / "crops", 2.0, 0, None)
    data = json.loads((tmp_path / "crops" / ANNOTATION_FILE).read_text())
    original = build_index([(load_dataset("synthetic-train", source), 1.0, 1)])
    cropped = build_index([(crops, 1.0, origin)])
    for a, b, entry in zip(original.tracks, cropped.tracks, data["sequences"], strict=True):
        assert a.name == b.name and len(a.boxes) == len(b.boxes)
        np.testing.assert_array_equal(a.usable, b.usable)
        for frame, *xywh, _ in entry["crops"]:
            np.testing.assert_array_equal(b.boxes[frame], xywh)
            assert b.frames[frame] == str(tmp_path / "crops" / entry["folder"] / crop_name(frame))
    for epoch in range(2):
        np.testing.assert_array_equal(
            original.sample_pairs(50, seed=3, epoch=epoch, frame_range=4, neg_prob=0.2),
            cropped.sample_pairs(50, seed=3, epoch=epoch, frame_range=4, neg_prob=0.2))


def test_crops_are_found_through_siambench_data_and_checked_against_the_dataset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_benchmark(tmp_path / "GOT-10k" / "train", fmt="got10k", sequences=2, frames=6, seed=4,
                    progress=False)
    summary = precrop("got10k-train", tmp_path / "data" / "GOT-10k", root=tmp_path / "GOT-10k",
                      workers=1, progress=False)
    assert summary.crops > 0
    monkeypatch.setenv("SIAMBENCH_DATA", str(tmp_path / "data"))
    [(crops, _, origin, _)] = load_train_datasets([("got10k-train", 1.0)], None)
    assert crops.name == "got10k-train" and origin == 0 and len(crops) == 2
    with pytest.raises(SiambenchError, match="holds crops of dataset got10k-train .* not of "
                                             "synthetic-train"):
        load_train_datasets([("synthetic-train", 1.0)], tmp_path / "data" / "GOT-10k")
    (tmp_path / "data" / "GOT-10k" / ANNOTATION_FILE).write_text("{broken")
    with pytest.raises(DataFormatError, match="not a siambench-precrop annotation file"):
        load_crops(tmp_path / "data" / "GOT-10k")


def test_one_epoch_of_training_on_the_crop_folder(source: Path, tmp_path: Path) -> None:
    _crop(source, tmp_path / "crops")
    result = train("siamrpn", tmp_path / "run", datasets=[("synthetic-train", 1.0)],
                   root=tmp_path / "crops", config="cpu", progress=False, command="test",
                   overrides={"model": {"width_mult": 0.25}, "epochs": 1, "pairs_per_epoch": 8,
                              "batch_size": 4, "log_every": 1, "val_sequences": 0, "threads": 1})
    assert result.model_path is not None and result.step == 2
    assert all(np.isfinite(v) for v in result.losses.values())


def test_crop_workers_start_without_torch() -> None:
    """``siambench.train`` imports its torch parts on first use: the crop module (what each
    ``data crop`` worker process imports) loads without torch; the package's names still work."""
    import subprocess
    import sys

    code = ("import sys, siambench.train.precrop; print('torch' in sys.modules); "
            "from siambench.train import train, resolve_config; print(callable(train), "
            "callable(resolve_config))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True", "True"]
    import siambench.train

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        siambench.train.nothing  # noqa: B018
