"""OTB loaders: the shipped manifest, the three sources of ``load``, ``load_folder``, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siambench.datasets import load_dataset
from siambench.datasets.otb import ATTRIBUTES, load, load_folder, manifest, sequence_names
from siambench.errors import (
    DataFormatError,
    DatasetNotFoundError,
    FrameReadError,
    SiambenchError,
    UnknownNameError,
)

JWLIM = "jwlim_tracker_benchmark/data"
ANNO = "zhangzheng0131_Tracker_Benchmark_tb100/anno_TB100"
JOGGING = "zhangzheng0131_Tracker_Benchmark_tb100/trackers/MUSTER/Jogging"
DASIAM_JSON = "foolwood_DaSiamRPN/code/data/OTB2015.json"


# -- helpers ------------------------------------------------------------------------------------

def _write_jpegs(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        image = np.full((4, 6, 3), index % 256, dtype=np.uint8)
        ok, data = cv2.imencode(".jpg", image)
        assert ok
        (folder / name).write_bytes(data.tobytes())


def _write_gt(path: Path, rows: int, sep: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sep.join(str(v) for v in (i + 1, i + 2, 10, 20)) + "\n"
                            for i in range(rows)))


def _deer(root: Path, gt_rows: int = 71) -> Path:
    """A fake ``Deer`` (frames 1-71 in the manifest) in the image-folder layout."""
    _write_jpegs(root / "Deer" / "img", [f"{i:04d}.jpg" for i in range(1, 72)])
    _write_gt(root / "Deer" / "groundtruth_rect.txt", gt_rows)
    return root / "Deer"


# -- the manifest -------------------------------------------------------------------------------

def test_manifest_counts_and_quirks() -> None:
    entries = {entry.name: entry for entry in manifest()}
    assert len(entries) == 100
    assert len(sequence_names("otb2013")) == 51
    assert len(sequence_names("otb50")) == 50
    assert len(sequence_names("otb100")) == 100
    assert set(sequence_names("otb2013")) <= set(sequence_names("otb100"))
    assert {"Jogging-1", "Jogging-2"} <= set(sequence_names("otb2013"))
    assert {"Human4-2", "Skating2-1", "Skating2-2"} <= set(sequence_names("otb50"))
    assert "Skating2-1" not in sequence_names("otb2013")
    assert (entries["Tiger1"].start, entries["Tiger1"].end, entries["Tiger1"].skip_gt_rows) \
        == (6, 354, 5)
    assert (entries["David"].start, entries["David"].end) == (300, 770)
    assert (entries["BlurCar1"].start, entries["BlurCar3"].start, entries["BlurCar4"].start) \
        == (247, 3, 18)
    assert entries["Football1"].num_frames == 74
    assert (entries["Freeman3"].end, entries["Freeman4"].end, entries["Diving"].end) \
        == (460, 283, 215)
    assert entries["Board"].digits == 5
    assert entries["Board"].image_names()[:1] == ["00001.jpg"]
    assert (entries["Human4-2"].folder, entries["Human4-2"].gt_file) \
        == ("Human4", "groundtruth_rect.2.txt")
    assert (entries["Jogging-2"].folder, entries["Jogging-2"].gt_file) \
        == ("Jogging", "groundtruth_rect.2.txt")
    assert entries["Board"].attributes == ("SV", "MB", "FM", "OPR", "OV", "BC")
    assert entries["Man"].attributes == ("IV",)
    for entry in entries.values():
        assert set(entry.attributes) <= set(ATTRIBUTES)
        assert list(entry.attributes) == [a for a in ATTRIBUTES if a in entry.attributes]


def test_unknown_variant() -> None:
    with pytest.raises(UnknownNameError, match="otb2013"):
        sequence_names("otb42")


# -- real files: image folders ------------------------------------------------------------------

def test_jwlim_image_folders(shared_data: Path) -> None:
    ds = load(shared_data / JWLIM, "otb100")
    assert ds.names == ["Couple", "Crossing", "Football1"]
    assert ds.meta["source"] == "images"
    assert len(ds.meta["missing"]) == 97 and "Basketball" in ds.meta["missing"]
    couple = ds["couple"]
    np.testing.assert_array_equal(couple.groundtruth[0], [51, 47, 25, 62])
    assert couple.groundtruth.dtype == np.float64
    assert len(couple) == 140 and len(couple.groundtruth) == 140
    frame = couple.frame(0)
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    bgr = cv2.imread(str(shared_data / JWLIM / "Couple" / "img" / "0001.jpg"))
    np.testing.assert_array_equal(frame, bgr[:, :, ::-1])  # RGB
    assert couple.attributes == ("SV", "DEF", "FM", "OPR", "BC")
    assert ds["Crossing"].frame(0).shape == (240, 360, 3)
    # Football1: 81 images on disk, the benchmark uses frames 1-74
    football = ds["Football1"]
    assert len(football) == 74 and len(football.groundtruth) == 74
    assert football.frame_paths[-1].name == "0074.jpg"
    np.testing.assert_array_equal(football.groundtruth[0], [153, 105, 26, 43])
    assert [s.problems() for s in ds] == [[], [], []]


def test_jwlim_variants(shared_data: Path) -> None:
    assert load(shared_data / JWLIM, "otb2013").names == ["Couple", "Crossing", "Football1"]
    otb50 = load(shared_data / JWLIM, "otb50")
    assert otb50.names == ["Couple"] and len(otb50.meta["missing"]) == 49
    assert load_dataset("otb2015", shared_data / JWLIM).name == "otb100"


def test_jogging_two_targets_one_folder(shared_data: Path, tmp_path: Path) -> None:
    (tmp_path / "jogging").symlink_to(shared_data / JOGGING, target_is_directory=True)
    ds = load(tmp_path, "otb2013")
    assert ds.names == ["Jogging-1", "Jogging-2"]
    np.testing.assert_array_equal(ds["jogging.1"].groundtruth[0], [111, 98, 25, 101])
    np.testing.assert_array_equal(ds["Jogging_2"].groundtruth[0], [180, 79, 37, 114])
    assert len(ds["Jogging-1"]) == len(ds["Jogging-2"]) == 307
    assert ds["Jogging-1"].frame_paths == ds["Jogging-2"].frame_paths
    assert ds["Jogging-2"].frame(306).shape == (288, 352, 3)
    assert ds["Jogging-2"].problems() == []


def test_jogging_pysot_copies(shared_data: Path, tmp_path: Path) -> None:
    for name in ("Jogging-1", "Jogging-2"):
        (tmp_path / name).symlink_to(shared_data / JOGGING, target_is_directory=True)
    ds = load(tmp_path, "otb100")
    assert ds.names == ["Jogging-1", "Jogging-2"]
    assert ds["Jogging-2"].source == tmp_path / "Jogging-2" / "groundtruth_rect.2.txt"
    np.testing.assert_array_equal(ds["Jogging-2"].groundtruth[0], [180, 79, 37, 114])


def test_load_folder_on_real_folders(shared_data: Path, tmp_path: Path) -> None:
    ds = load_folder(shared_data / JWLIM, "mine")
    assert ds.names == ["Couple", "Crossing", "Football1"]
    assert ds["Football1"].attributes == ("IPR", "OPR", "BC")
    assert len(ds["Football1"]) == 81  # no manifest: every image counts
    assert ds["Football1"].problems() == ["Football1: 74 ground-truth rows for 81 frames"]
    (tmp_path / "Jogging").symlink_to(shared_data / JOGGING, target_is_directory=True)
    jog = load_folder(tmp_path, "mine")
    assert jog.names == ["Jogging-1", "Jogging-2"]
    np.testing.assert_array_equal(jog["Jogging-2"].groundtruth[0], [180, 79, 37, 114])


# -- real files: annotation folder and JSON -----------------------------------------------------

def test_anno_tb100_folder(shared_data: Path) -> None:
    ds = load(shared_data / ANNO, "otb100")
    assert len(ds) == 100 and ds.meta["missing"] == [] and ds.meta["source"] == "annotations"
    assert ds.names == sequence_names("otb100")
    tiger = ds["Tiger1"]
    raw = np.loadtxt(shared_data / ANNO / "tiger1.txt", delimiter=",")
    assert len(raw) == 354 and len(tiger.groundtruth) == 349 and len(tiger) == 349
    np.testing.assert_array_equal(tiger.groundtruth, raw[5:])
    assert len(ds["David"].groundtruth) == 471
    assert "Human4-2" in ds and ds["human4.2"].source.name == "Human4.2.txt"
    blur = ds["BlurCar1"].groundtruth  # tabs and one space-separated row
    assert blur.shape == (742, 4)
    np.testing.assert_array_equal(blur[0], [250, 168, 106, 105])
    np.testing.assert_array_equal(ds["Board"].groundtruth[-1], [0, 0, 0, 0])
    assert len(ds["Board"].groundtruth) == 698
    assert not ds["Couple"].has_frames and ds["Couple"].frame_paths == []
    with pytest.raises(SiambenchError, match="no images"):
        ds["Couple"].frame(0)
    assert all(s.problems() == [] for s in ds)
    assert len(load(shared_data / ANNO, "otb2013")) == 51
    assert len(load(shared_data / ANNO, "otb50")) == 50


def test_dasiamrpn_json_matches_anno_folder(shared_data: Path) -> None:
    from_json = load(shared_data / DASIAM_JSON.rsplit("/", 1)[0], "otb100")
    from_anno = load(shared_data / ANNO, "otb100")
    assert from_json.meta["source"] == "OTB2015.json" and from_json.meta["missing"] == []
    assert from_json.names == from_anno.names
    for sequence in from_anno:
        np.testing.assert_array_equal(from_json[sequence.name].groundtruth,
                                      sequence.groundtruth, err_msg=sequence.name)
        assert len(from_json[sequence.name]) == len(sequence)
    assert not from_json["Tiger1"].has_frames
    assert from_json["jogging_1"].meta["json_key"] == "jogging_1"


def test_dasiamrpn_json_with_images(shared_data: Path, tmp_path: Path) -> None:
    data = json.loads((shared_data / DASIAM_JSON).read_text())
    (tmp_path / "OTB2015.json").write_text(json.dumps({"couple": data["couple"]}))
    (tmp_path / "OTB2015").mkdir()
    (tmp_path / "OTB2015" / "Couple").symlink_to(shared_data / JWLIM / "Couple")
    ds = load(tmp_path, "otb100")
    assert ds.names == ["Couple"] and len(ds.meta["missing"]) == 99
    couple = ds["Couple"]
    assert couple.has_frames and len(couple) == 140
    assert couple.frame(0).shape == (240, 320, 3)
    np.testing.assert_array_equal(couple.groundtruth[0], [51, 47, 25, 62])


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, 99), upper=st.booleans(), sep=st.sampled_from(["", ".", "_", "-"]))
def test_names_resolve_insensitively(shared_data: Path, index: int, upper: bool,
                                     sep: str) -> None:
    ds = _anno_dataset(shared_data)
    name = sequence_names("otb100")[index]
    variant = name.replace("-", sep)
    variant = variant.upper() if upper else variant.lower()
    assert ds[variant].name == name


def _anno_dataset(shared_data: Path):
    return load(shared_data / ANNO, "otb100")


# -- generated layouts --------------------------------------------------------------------------

def test_pysot_json_annotation_only_and_tiger1_cut(tmp_path: Path) -> None:
    tiger = [[i, i, 5, 5] for i in range(354)]
    data = {
        "Tiger1": {"video_dir": "Tiger1", "init_rect": tiger[0],
                   "img_names": [f"Tiger1/img/{i:04d}.jpg" for i in range(1, 355)],
                   "gt_rect": tiger, "attr": ["IV"]},
        "Jogging-2": {"video_dir": "Jogging-2", "init_rect": [1, 2, 3, 4],
                      "img_names": [f"Jogging-2/img/{i:04d}.jpg" for i in range(1, 308)],
                      "gt_rect": [[1, 2, 3, 4.25]] * 307, "attr": []},
    }
    (tmp_path / "OTB100.json").write_text(json.dumps(data))
    ds = load(tmp_path, "otb100")
    assert ds.meta["source"] == "OTB100.json"
    assert ds.names == ["Jogging-2", "Tiger1"]
    assert len(ds["tiger1"]) == 349
    np.testing.assert_array_equal(ds["tiger1"].groundtruth[0], [5, 5, 5, 5])
    assert not ds["tiger1"].has_frames
    np.testing.assert_array_equal(ds["jogging.2"].groundtruth[0], [1, 2, 3, 4.25])
    assert ds["Tiger1"].attributes == ("IV", "OCC", "DEF", "MB", "FM", "IPR", "OPR")


def test_tiger1_rows_in_annotation_folder(tmp_path: Path) -> None:
    for rows, expected in ((354, 349), (349, 349)):
        _write_gt(tmp_path / "tiger1.txt", rows)
        ds = load(tmp_path, "otb100")
        assert len(ds["Tiger1"].groundtruth) == expected
        assert ds["Tiger1"].groundtruth[0][0] == rows - expected + 1
    _write_gt(tmp_path / "tiger1.txt", 350)
    ds = load(tmp_path, "otb100")
    with pytest.raises(DataFormatError, match=r"tiger1\.txt: 350 ground-truth rows for 349"):
        ds["Tiger1"].groundtruth  # noqa: B018


def test_image_layout_with_generated_frames(tmp_path: Path) -> None:
    _deer(tmp_path)
    ds = load(tmp_path, "otb2013")
    deer = ds["Deer"]
    assert ds.names == ["Deer"] and len(deer) == 71 and deer.problems(decode="all") == []
    assert deer.meta["format"] == "images"
    np.testing.assert_array_equal(deer.groundtruth[2], [3, 4, 10, 20])
    assert deer.frame(5).shape == (4, 6, 3)
    assert int(deer.frame(5)[0, 0, 0]) in range(3, 8)  # JPEG of a flat value 5


def test_gt_shorter_than_frames(tmp_path: Path) -> None:
    _deer(tmp_path, gt_rows=70)
    deer = load(tmp_path, "otb100")["Deer"]
    with pytest.raises(DataFormatError) as info:
        deer.groundtruth  # noqa: B018
    message = str(info.value)
    assert "groundtruth_rect.txt" in message and "70 ground-truth rows for 71 frames" in message
    assert len(deer.problems()) == 1 and "70 ground-truth rows" in deer.problems()[0]


def test_missing_and_corrupt_frames(tmp_path: Path) -> None:
    folder = _deer(tmp_path)
    (folder / "img" / "0005.jpg").unlink()
    (folder / "img" / "0007.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    deer = load(tmp_path, "otb100")["Deer"]
    problems = deer.problems(decode="all")
    assert any("1 of 71 frames missing" in p and "0005.jpg" in p for p in problems)
    assert any("0007.jpg" in p and "cannot decode" in p for p in problems)
    with pytest.raises(FrameReadError, match="0007.jpg"):
        deer.frame(6)
    with pytest.raises(FrameReadError, match="0005.jpg"):
        deer.frame(4)


def test_bad_gt_raises_only_for_its_sequence(tmp_path: Path) -> None:
    (tmp_path / "Deer.txt").write_text("1,2,3,4\n1,2,3\n")
    (tmp_path / "fish.txt").write_text("1,2,3,4\n1,2,x,4\n")
    _write_gt(tmp_path / "Matrix.txt", 100, sep="\t")
    ds = load(tmp_path, "otb2013")  # nothing parsed yet
    assert ds.names == ["Deer", "Fish", "Matrix"] and len(ds.meta["missing"]) == 48
    with pytest.raises(DataFormatError, match=r"Deer\.txt, line 2: 3 values, expected 4"):
        ds["Deer"].groundtruth  # noqa: B018
    with pytest.raises(DataFormatError, match=r"fish\.txt, line 2: non-numeric value 'x'"):
        ds["Fish"].groundtruth  # noqa: B018
    assert ds["Matrix"].groundtruth.shape == (100, 4)


def test_not_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="Expected folder structure"):
        load(tmp_path, "otb100")
    with pytest.raises(DatasetNotFoundError, match="no otb50 sequence"):
        load(tmp_path / "absent", "otb50")
    (tmp_path / "NotASequence").mkdir()
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DatasetNotFoundError):
        load(tmp_path, "otb100")
    with pytest.raises(DatasetNotFoundError, match="OTB layout"):
        load_folder(tmp_path, "x")


def test_load_folder_generated(tmp_path: Path) -> None:
    _write_jpegs(tmp_path / "b_seq" / "img", ["0001.jpg", "0002.jpg", "0003.jpg"])
    _write_gt(tmp_path / "b_seq" / "groundtruth_rect.txt", 3, sep="\t")
    (tmp_path / "b_seq" / "attrs.txt").write_text("SV, DEF, FM, OPR, BC")
    _write_jpegs(tmp_path / "a_two" / "img", ["00001.png", "00002.png", "00003.png"])
    _write_gt(tmp_path / "a_two" / "groundtruth_rect.1.txt", 3)
    _write_gt(tmp_path / "a_two" / "groundtruth_rect.2.txt", 2)
    (tmp_path / "a_two" / "groundtruth_rect.3.txt").write_text("")  # empty: not a target
    _write_gt(tmp_path / "a_two" / "groundtruth_rect.txt", 3)  # the toolkit's copy of .1
    (tmp_path / "no_gt" / "img").mkdir(parents=True)
    ds = load_folder(tmp_path, "synthetic")
    assert ds.names == ["a_two-1", "a_two-2", "b_seq"]
    assert ds.name == "synthetic" and ds["b_seq"].dataset == "synthetic"
    assert ds["b_seq"].attributes == ("SV", "DEF", "FM", "OPR", "BC")
    assert ds["a_two-1"].attributes == ()
    assert [p.name for p in ds["a_two.1"].frame_paths] == ["00001.png", "00002.png", "00003.png"]
    np.testing.assert_array_equal(ds["b_seq"].groundtruth,
                                  [[1, 2, 10, 20], [2, 3, 10, 20], [3, 4, 10, 20]])
    assert ds["b_seq"].frame(2).shape == (4, 6, 3)
    assert ds["a_two-1"].problems(decode="all") == []
    assert ds["a_two-2"].problems() == ["a_two-2: 2 ground-truth rows for 3 frames"]


def test_malformed_json_entry_raises_only_for_its_sequence(tmp_path: Path) -> None:
    data = {"Deer": {"name": "Deer", "image_files": [f"{i:04d}.jpg" for i in range(1, 72)],
                     "init_rect": [1, 2, 3, 4], "gt_rect": [[1, 2, 3, 4]] * 71},
            "fish": {"name": "Fish", "image_files": ["0001.jpg"]},
            "matrix": {"name": "Matrix", "image_files": ["0001.jpg", "0002.jpg"],
                       "gt_rect": [[1, 2, 3]] * 2}}
    (tmp_path / "CVPR13.json").write_text(json.dumps(data))
    ds = load(tmp_path, "otb2013")
    assert ds.names == ["Deer", "Fish", "Matrix"] and ds.meta["source"] == "CVPR13.json"
    assert ds["Deer"].groundtruth.shape == (71, 4) and len(ds["Deer"]) == 71
    with pytest.raises(DataFormatError, match=r"CVPR13\.json: video 'fish': expected an object"):
        ds["Fish"].groundtruth  # noqa: B018
    with pytest.raises(DataFormatError, match=r"video 'matrix': gt_rect has shape \(2, 3\)"):
        ds["Matrix"].groundtruth  # noqa: B018
    assert "gt_rect has shape" in ds["Matrix"].problems()[0]
    (tmp_path / "CVPR13.json").write_text("{not json")
    with pytest.raises(DataFormatError, match=r"CVPR13\.json: not valid JSON"):
        load(tmp_path, "otb2013")
