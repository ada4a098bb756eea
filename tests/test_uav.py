"""UAV123, UAV20L and UAV123@10fps: the shipped table, the layouts, the real annotations."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siambench.datasets import load_dataset
from siambench.datasets.uav import ATTRIBUTES, load, manifest, to_10fps
from siambench.errors import (
    DataFormatError,
    DatasetNotFoundError,
    SiambenchError,
    UnknownNameError,
)
from siambench.textio import read_number_rows

ANNO = "zhangzheng0131_Tracker_Benchmark_tb100/anno_UAV123"
ARCF = "vision4robotics_ARCF-tracker/seq"

UAV20L = ["bike1", "bird1", "car1", "car3", "car6", "car8", "car9", "car16", "group1", "group2",
          "group3", "person2", "person4", "person5", "person7", "person14", "person17",
          "person19", "person20", "uav1"]


def _entry(variant: str, name: str):
    return next(e for e in manifest(variant) if e.name == name)


def _write_gt(path: Path, rows: int, *, nan_rows: tuple[int, ...] = ()) -> np.ndarray:
    gt = np.column_stack([np.arange(rows) + 10.0, np.arange(rows) + 20.5,
                          np.full(rows, 30.0), np.full(rows, 40.0)])
    gt[list(nan_rows)] = np.nan
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("NaN,NaN,NaN,NaN\n" if np.isnan(r).any() else
                            f"{r[0]:g},{r[1]:g},{r[2]:g},{r[3]:g}\n" for r in gt))
    return gt


# -- the shipped table --------------------------------------------------------------------------
def test_manifest_sizes_names_and_ranges():
    uav123, uav20l = manifest("uav123"), manifest("uav20l")
    assert len(uav123) == 123 and len(uav20l) == 20
    assert [e.name for e in uav20l] == UAV20L
    assert all((e.folder, e.start) == (e.name, 1) for e in uav20l)
    assert (_entry("uav123", "car1_1").folder, _entry("uav123", "car1_1").start,
            _entry("uav123", "car1_1").end) == ("car1", 1, 751)
    assert (_entry("uav123", "car1_2").start, _entry("uav123", "car1_2").end) == (751, 1627)
    assert (_entry("uav123", "uav1_3").start, _entry("uav123", "uav1_3").end) == (2473, 3469)
    assert _entry("uav20l", "bird1").end == 2437 and len(_entry("uav20l", "group3")) == 5527
    assert _entry("uav123", "bird1_1").attributes == ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV")
    assert list(ATTRIBUTES) == ["SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC",
                                "CM", "SOB"]
    assert all(set(e.attributes) <= set(ATTRIBUTES) for e in uav123 + uav20l)


def test_10fps_ranges_match_the_uav123_10fps_configseqs_table():
    # hand-copied from the UAV123_10fps configSeqs table (startFrame, endFrame)
    expected = {"bird1_1": (1, 85), "bird1_2": (259, 493), "bird1_3": (525, 813),
                "car1_2": (251, 543), "uav1_2": (519, 793), "uav1_3": (825, 1157),
                "group3_4": (1457, 1843), "person2_s": (1, 84), "wakeboard7": (1, 67),
                "truck4_2": (193, 421)}
    got = {e.name: (e.start, e.end) for e in manifest("uav123-10fps")}
    assert {name: got[name] for name in expected} == expected
    assert len(got) == 123 and to_10fps(775, 1477) == (259, 493)


@given(st.integers(0, 3000), st.integers(0, 3000))
def test_10fps_range_holds_every_third_frame(k, extra):
    start = 3 * k + 1  # every UAV123 part starts at a frame 3k+1
    end = start + extra
    s10, e10 = to_10fps(start, end)
    assert e10 - s10 + 1 == len(range(start, end + 1, 3))
    assert 3 * (s10 - 1) + 1 == start and 3 * (e10 - 1) + 1 <= end < 3 * e10 + 1


def test_manifest_equals_the_toolkit_tables(shared_data):
    table = json.loads((shared_data / "got-10k_toolkit/got10k/datasets/uav123.json").read_text())
    for variant, split in (("uav123", "UAV123"), ("uav20l", "UAV20L")):
        ours = {e.name: (e.folder, e.start, e.end) for e in manifest(variant)}
        theirs = {k: (v["folder_name"], v["start_frame"], v["end_frame"])
                  for k, v in table[split].items()}
        assert ours == theirs
        for entry in manifest(variant):
            flags = (shared_data / ANNO / "att" / f"{entry.name}.txt").read_text().strip()
            assert [int(f) for f in flags.split(",")] == [
                int(a in entry.attributes) for a in ATTRIBUTES], entry.name


# -- the real annotation folder -----------------------------------------------------------------
def test_real_annotation_folder_as_uav123_and_uav20l(shared_data):
    dataset = load_dataset("uav123", shared_data / ANNO)
    assert len(dataset) == 123 and dataset.meta["missing"] == []
    bird = dataset["bird1_1"]
    assert len(bird) == 253 and bird.groundtruth.shape == (253, 4)
    assert int(bird.absent.sum()) == 59
    np.testing.assert_array_equal(bird.absent, np.isnan(bird.groundtruth).all(axis=1))
    np.testing.assert_array_equal(bird.groundtruth[0], [858, 456, 82, 33])
    car = dataset["car1_1"]
    assert (car.meta["folder"], car.meta["start_frame"], car.meta["end_frame"]) == ("car1", 1, 751)
    assert len(car.groundtruth) == 751 and not car.has_frames and car.frame_paths == []
    assert dataset["car11"].meta["folder"] == "car11"  # car1_1 and car11 are two sequences
    with pytest.raises(SiambenchError, match="no images"):
        car.frame(0)
    assert all(seq.problems(decode="none") == [] for seq in dataset)

    long = load_dataset("uav20l", shared_data / ANNO)
    assert long.names == UAV20L and long.meta["missing"] == []
    assert len(long["bird1"].groundtruth) == 2437 and long["group3"].absent.shape == (5527,)


def test_real_10fps_wakeboard7_with_frames(shared_data):
    dataset = load(shared_data / ARCF, "uav123-10fps")
    assert sorted(dataset.names) == ["boat1", "building4", "person12_1", "truck4_1", "truck4_2",
                                     "wakeboard10", "wakeboard7"]
    assert len(dataset.meta["missing"]) == 116
    wake = dataset["wakeboard7"]
    assert len(wake) == 67 and wake.has_frames and len(wake.frame_paths) == 67
    assert wake.frame_paths[-1].name == "000067.jpg"
    first = wake.frame(0)
    assert first.shape == (720, 1280, 3) and first.dtype == np.uint8
    assert wake.problems(decode="first") == []
    for seq in dataset:
        full = read_number_rows(shared_data / ANNO / f"{seq.name}.txt")
        np.testing.assert_array_equal(seq.groundtruth, full[::3])
        assert len(seq.groundtruth) == seq.meta["end_frame"] - seq.meta["start_frame"] + 1
    assert not dataset["boat1"].has_frames  # only wakeboard7's images are in that folder


def test_30fps_annotation_loaded_as_10fps_names_the_mistake(shared_data):
    dataset = load(shared_data / ANNO, "uav123-10fps")
    with pytest.raises(DataFormatError, match=r"boat1.txt: 901 rows, expected 301 .*every third"):
        dataset["boat1"].groundtruth


# -- generated layouts --------------------------------------------------------------------------
def test_official_layout_with_parent_folders(tmp_path):
    gt = _write_gt(tmp_path / "anno/UAV123/car1_2.txt", 877, nan_rows=(3, 4))
    _write_gt(tmp_path / "anno/UAV123/bike3.txt", 433)
    (tmp_path / "data_seq/UAV123/car1").mkdir(parents=True)
    dataset = load_dataset("uav123", tmp_path)
    assert dataset.names == ["bike3", "car1_2"] and len(dataset.meta["missing"]) == 121
    assert dataset.meta["format"] == "official"
    car = dataset["car1_2"]
    assert car.frame_paths[0] == tmp_path / "data_seq/UAV123/car1/000751.jpg"
    assert car.frame_paths[-1].name == "001627.jpg" and len(car.frame_paths) == 877
    np.testing.assert_array_equal(car.groundtruth, gt)
    assert car.absent.tolist()[:6] == [False, False, False, True, True, False]
    assert car.attributes == _entry("uav123", "car1_2").attributes
    assert car.source == tmp_path / "anno/UAV123/car1_2.txt"
    assert "877 frames missing" in car.problems(decode="none")[0]


def test_official_10fps_layout_reads_frames(tmp_path):
    _write_gt(tmp_path / "anno/UAV123_10fps/uav2.txt", 45)
    folder = tmp_path / "data_seq/UAV123_10fps/uav2"
    folder.mkdir(parents=True)
    for index in range(1, 46):
        cv2.imwrite(str(folder / f"{index:06d}.jpg"), np.full((6, 8, 3), index, np.uint8))
    seq = load_dataset("uav123-10fps", tmp_path)["uav2"]
    assert len(seq) == 45 and seq.problems(decode="all") == []
    assert seq.frame(0).shape == (6, 8, 3) and seq.meta["fps"] == 10


def test_annotation_only_roots(tmp_path):
    _write_gt(tmp_path / "anno/UAV20L/person20.txt", 1783)
    dataset = load(tmp_path, "uav20l")
    assert dataset.names == ["person20"] and not dataset["person20"].has_frames
    # the annotation folder itself, with data_seq two levels up
    (tmp_path / "data_seq/UAV123/person20").mkdir(parents=True)
    seq = load(tmp_path / "anno/UAV20L", "uav20l")["person20"]
    assert seq.frame_paths[0] == tmp_path / "data_seq/UAV123/person20/000001.jpg"


def test_malformed_file_raises_only_for_its_sequence(tmp_path):
    _write_gt(tmp_path / "bike2.txt", 552)  # one row short of 1..553
    _write_gt(tmp_path / "bike3.txt", 433)
    (tmp_path / "boat1.txt").write_text("1,2,3,4\n" * 10 + "1,2,x,4\n" + "1,2,3,4\n" * 890)
    _write_gt(tmp_path / "boat2.txt", 799)
    (tmp_path / "boat2.txt").write_text(
        (tmp_path / "boat2.txt").read_text().replace("16,26.5,30,40", "16,NaN,30,40"))
    dataset = load(tmp_path, "uav123")  # nothing parsed yet
    assert len(dataset["bike3"].groundtruth) == 433
    with pytest.raises(DataFormatError, match=r"bike2.txt: 552 rows, expected 553 \(frames 1-553"):
        dataset["bike2"].groundtruth
    with pytest.raises(DataFormatError, match=r"boat1.txt, line 11: non-numeric value 'x'"):
        dataset["boat1"].groundtruth
    with pytest.raises(DataFormatError, match=r"boat2.txt, line 7: some but not all values"):
        dataset["boat2"].flags
    assert dataset["bike2"].problems() and dataset["bike3"].problems() == []


def test_missing_and_unknown(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DatasetNotFoundError, match=r"no uav123 annotation.*data_seq/UAV123"):
        load(tmp_path, "uav123")
    with pytest.raises(DatasetNotFoundError, match="is not a folder"):
        load(tmp_path / "notes.txt", "uav123")
    with pytest.raises(DatasetNotFoundError, match="Expected folder structure"):
        load_dataset("uav20l", tmp_path / "absent")
    with pytest.raises(UnknownNameError, match="unknown UAV variant 'uav99'"):
        load(tmp_path, "uav99")
