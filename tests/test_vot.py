"""Tests of the VOT loader: generated layouts in tmp_path and the real VOT files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.datasets import load_dataset, vot
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError

RVA = "AlvaroNavarroMora_RVA_VisionChallenge"
THOR_JSON = "xl-sr_THOR/data/VOT2018.json"
VOT2019_JSON = "Soarkey_tracking_raw_results/fix_vot2019_json_file/VOT2019.json"


# -- helpers ------------------------------------------------------------------------------------

def _write_jpg(path: Path, size: tuple[int, int] = (8, 6)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    assert cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))


def _write_sequence(root: Path, name: str, rows: list[str], *, tags: dict[str, str] | None = None,
                    frames: str | None = "color", sequence_file: str | None = None,
                    size: tuple[int, int] = (8, 6)) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    for file_name, text in (tags or {}).items():
        (folder / file_name).write_text(text)
    if sequence_file is not None:
        (folder / "sequence").write_text(sequence_file)
    if frames is not None:
        for index in range(1, len(rows) + 1):
            sub = folder / frames if frames else folder
            _write_jpg(sub / f"{index:08d}.jpg", size)
    return folder


POLY = "1,2,11,2,11,12,1,12"


# -- the VOT toolkit layout, generated ----------------------------------------------------------

def test_workspace_layout_values(tmp_path: Path) -> None:
    root = tmp_path / "vot2018"
    _write_sequence(root, "poly", [POLY, "1.5,2.25,11,2,11,12,1,12.125", POLY],
                    tags={"occlusion.tag": "0\n1\n1\n", "camera_motion.tag": "1\n"},
                    sequence_file="channels.color=color/%08d.jpg\r\nfps=30\r\nformat=default\r\n"
                                  "name=poly\r\n", size=(10, 7))
    _write_sequence(root, "rect", ["3,4,5,6", "3.5,4,5,6"], frames="",
                    tags={"keyframe.tag": "1\n0\n", "size_change.label": "0\n1\n"})
    (root / "list.txt").write_text("poly\nrect\n")
    dataset = vot.load(root, "vot2018")
    assert dataset.names == ["poly", "rect"]
    assert dataset.meta["year"] == 2018 and "eao_interval" not in dataset.meta  # the protocol's
    assert dataset.meta["tags"] == [*vot.STANDARD_TAGS, "keyframe"]
    assert dataset.meta["missing"] == []

    poly = dataset["poly"]
    assert poly.groundtruth.shape == (3, 8)
    assert poly.groundtruth[1].tolist() == [1.5, 2.25, 11, 2, 11, 12, 1, 12.125]
    assert len(poly) == 3
    assert poly.frame_paths[0] == root / "poly" / "color" / "00000001.jpg"
    assert poly.image_size == (10, 7)
    assert poly.frame(2).shape == (7, 10, 3)
    assert poly.tags["occlusion"].tolist() == [False, True, True]
    assert poly.tags["camera_motion"].tolist() == [True, False, False]  # short file: padded
    assert poly.tags["keyframe"].tolist() == [False] * 3  # a dataset tag missing here
    assert set(poly.tags) == set(dataset.meta["tags"])
    assert poly.notes == ("camera_motion.tag has 1 lines for 3 frames; padded with 0",)
    assert poly.problems(decode="all") == []

    rect = dataset["rect"]
    assert rect.groundtruth.tolist() == [[3, 4, 5, 6], [3.5, 4, 5, 6]]  # kept as rectangles
    assert rect.frame_paths == [root / "rect" / "00000001.jpg", root / "rect" / "00000002.jpg"]
    assert rect.tags["size_change"].tolist() == [False, True]  # a .label file
    assert rect.tags["keyframe"].tolist() == [True, False]
    assert rect.tags["occlusion"].dtype == bool
    assert rect.notes == ()


def test_workspace_root_holding_sequences(tmp_path: Path) -> None:
    _write_sequence(tmp_path / "sequences", "a", [POLY], frames=None)
    (tmp_path / "sequences" / "list.txt").write_text("a\n")
    (tmp_path / "config.yaml").write_text("stack: vot2017\n")
    dataset = vot.load(tmp_path, "vot2017")
    assert dataset.root == tmp_path / "sequences"
    assert dataset.names == ["a"]
    assert dataset.meta["year"] == 2017


def test_sequence_file_pattern_is_used(tmp_path: Path) -> None:
    folder = _write_sequence(tmp_path, "s", [POLY, POLY], frames=None,
                             sequence_file="channels.color=img/%05d.jpg\nname=s\n")
    for index in (1, 2):
        _write_jpg(folder / "img" / f"{index:05d}.jpg")
    (folder / "color").mkdir()  # ignored: the sequence file names the channel
    (tmp_path / "list.txt").write_text("s\n")
    sequence = vot.load(tmp_path, "vot2016")["s"]
    assert sequence.frame_paths == [folder / "img" / "00001.jpg", folder / "img" / "00002.jpg"]
    assert sequence.problems() == []


def test_missing_frames_are_problems_not_errors(tmp_path: Path) -> None:
    _write_sequence(tmp_path, "noimg", [POLY, POLY], frames=None,
                    sequence_file="channels.color=color/%08d.jpg\n")
    (tmp_path / "list.txt").write_text("noimg\n")
    sequence = vot.load(tmp_path, "vot2019")["noimg"]
    assert sequence.image_size is None
    assert len(sequence) == 2
    problems = sequence.problems()
    assert len(problems) == 1 and "no images: the folder" in problems[0]
    assert problems[0].endswith("noimg/color does not exist")


def test_missing_folder_is_recorded(tmp_path: Path) -> None:
    _write_sequence(tmp_path, "here", [POLY], frames=None)
    (tmp_path / "list.txt").write_text("here\n\ngone\n")
    dataset = vot.load(tmp_path, "vot2018")
    assert dataset.names == ["here"]
    assert dataset.meta["missing"] == ["gone"]


def test_no_listed_folder_present(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("gone\n")
    with pytest.raises(DatasetNotFoundError, match="none of the 1 sequences"):
        vot.load(tmp_path, "vot2018")


def test_empty_list(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("\n\n")
    with pytest.raises(DataFormatError, match="empty sequence list") as info:
        vot.load(tmp_path, "vot2018")
    assert info.value.path == tmp_path / "list.txt"


def test_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="VOT2018.json"):
        vot.load(tmp_path, "vot2018")


def test_unknown_variant(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError):
        vot.load(tmp_path, "vot2020")


def test_malformed_files_raise_for_their_own_sequence_on_access(tmp_path: Path) -> None:
    _write_sequence(tmp_path, "good", [POLY, POLY], frames=None)
    _write_sequence(tmp_path, "badgt", [POLY, "1,2,3,4,5,6,7"], frames=None)
    _write_sequence(tmp_path, "badtag", [POLY], frames=None, tags={"occlusion.tag": "0\n1\n"})
    _write_sequence(tmp_path, "badval", [POLY, POLY], frames=None,
                    tags={"illum_change.tag": "0\n2\n"})
    _write_sequence(tmp_path, "badseq", [POLY], frames=None, sequence_file="fps=30\nnonsense\n")
    _write_sequence(tmp_path, "badpat", [POLY], frames=None,
                    sequence_file="channels.color=color/frame.jpg\n")
    (tmp_path / "list.txt").write_text("good\nbadgt\nbadtag\nbadval\nbadseq\nbadpat\n")
    dataset = vot.load(tmp_path, "vot2018")  # nothing parsed yet
    assert dataset["good"].groundtruth.shape == (2, 8)

    with pytest.raises(DataFormatError, match="7 values") as info:
        dataset["badgt"].groundtruth  # noqa: B018
    assert (info.value.path.name, info.value.line) == ("groundtruth.txt", 2)
    assert "7 values" in dataset["badgt"].problems()[0]

    with pytest.raises(DataFormatError, match="2 lines for 1 frames"):
        dataset["badtag"].tags  # noqa: B018
    with pytest.raises(DataFormatError) as info:
        dataset["badval"].tags  # noqa: B018
    assert (info.value.path.name, info.value.line) == ("illum_change.tag", 2)
    with pytest.raises(DataFormatError, match="key=value") as info:
        dataset["badseq"].frame_paths  # noqa: B018
    assert (info.value.path.name, info.value.line) == ("sequence", 2)
    with pytest.raises(DataFormatError, match="frame-number"):
        dataset["badpat"].frame_paths  # noqa: B018


def test_list_txt_wins_over_json(tmp_path: Path) -> None:
    _write_sequence(tmp_path, "a", [POLY], frames=None)
    (tmp_path / "list.txt").write_text("a\n")
    (tmp_path / "VOT2018.json").write_text("{}")
    assert vot.load(tmp_path, "vot2018").meta["format"] == "vot"


def test_registry_entry(tmp_path: Path) -> None:
    _write_sequence(tmp_path, "a", [POLY], frames=None)
    (tmp_path / "list.txt").write_text("a\n")
    dataset = load_dataset("vot2016", tmp_path)
    assert dataset.name == "vot2016"
    assert dataset.meta["year"] == 2016
    assert load_dataset("vot2019", tmp_path).meta["year"] == 2019


# -- pysot json, generated ----------------------------------------------------------------------

def _json_entry(name: str, rows: list[list[float]], **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "video_dir": name, "init_rect": rows[0],
        "img_names": [f"{name}/color/{i:08d}.jpg" for i in range(1, len(rows) + 1)],
        "gt_rect": rows, "camera_motion": [], "illum_change": [1] * len(rows),
        "motion_change": [0] * len(rows), "size_change": [0, 1], "occlusion": [0] * len(rows)}
    entry.update(extra)
    return entry


def test_json_layout(tmp_path: Path) -> None:
    poly = [[1, 2, 11, 2, 11, 12, 1, 12], [1.25, 2, 11, 2, 11, 12, 1, 12.5],
            [1, 2, 3, 4, 5, 6, 7, 8]]
    table = {"withimages": _json_entry("withimages", poly, width=640, height=480),
             "noimages": _json_entry("noimages", [[5, 6, 7, 8], [5.5, 6, 7, 8]])}
    (tmp_path / "vot2016.JSON").write_text(json.dumps(table))
    for index in range(1, 4):
        _write_jpg(tmp_path / "withimages" / "color" / f"{index:08d}.jpg")
    dataset = vot.load(tmp_path, "vot2016")
    assert dataset.meta["format"] == "pysot-json"
    assert dataset.meta["year"] == 2016
    with_images, no_images = dataset["withimages"], dataset["noimages"]
    assert with_images.groundtruth[1].tolist() == [1.25, 2, 11, 2, 11, 12, 1, 12.5]
    assert with_images.image_size == (640, 480)  # from the json, not from the 8x6 frame
    assert with_images.has_frames and with_images.problems() == []
    assert with_images.tags["size_change"].tolist() == [False, True, False]
    assert with_images.tags["camera_motion"].tolist() == [False] * 3  # empty list
    assert with_images.tags["illum_change"].tolist() == [True] * 3
    assert with_images.notes == (
        "size_change in vot2016.JSON has 2 values for 3 frames; padded with 0",)
    assert no_images.groundtruth.shape == (2, 4)
    assert not no_images.has_frames and no_images.frame_paths == []
    assert no_images.image_size is None
    assert len(no_images) == 2 and no_images.notes == ()


def test_json_flat_frames_fallback_and_measured_size(tmp_path: Path) -> None:
    table = {"flat": _json_entry("flat", [[1, 2, 3, 4]] * 2)}
    (tmp_path / "VOT2019.json").write_text(json.dumps(table))
    for index in (1, 2):
        _write_jpg(tmp_path / "flat" / f"{index:08d}.jpg", (12, 9))
    sequence = vot.load(tmp_path, "vot2019")["flat"]
    assert sequence.frame_paths[1] == tmp_path / "flat" / "00000002.jpg"
    assert sequence.image_size == (12, 9)  # measured lazily: the json has no width/height


def test_frame_count_is_ground_truth_rows(tmp_path: Path) -> None:
    entry = _json_entry("s", [[1, 2, 3, 4]] * 3)
    entry["img_names"] = entry["img_names"][:2]  # type: ignore[index]
    (tmp_path / "VOT2018.json").write_text(json.dumps({"s": entry}))
    for index in (1, 2):
        _write_jpg(tmp_path / "s" / "color" / f"{index:08d}.jpg")
    sequence = vot.load(tmp_path, "vot2018")["s"]
    assert len(sequence) == 3 and len(sequence.frame_paths) == 2
    assert sequence.problems() == ["s: 3 ground-truth rows for 2 frames"]


@pytest.mark.parametrize(("change", "message"), [
    ({"gt_rect": [[1, 2, 3]]}, r"gt_rect\[0\]"),
    ({"gt_rect": []}, "gt_rect is missing or empty"),
    ({"occlusion": [0, 2]}, r"occlusion\[1\]"),
    ({"occlusion": [0, 0, 0]}, "3 values for 2 frames"),
    ({"width": 6.5, "height": 4}, "width/height"),
])
def test_json_malformed_sequence(tmp_path: Path, change: dict[str, object], message: str) -> None:
    table = {"ok": _json_entry("ok", [[1, 2, 3, 4]] * 2),
             "bad": _json_entry("bad", [[1, 2, 3, 4]] * 2, **change)}
    (tmp_path / "VOT2018.json").write_text(json.dumps(table))
    dataset = vot.load(tmp_path, "vot2018")
    assert dataset["ok"].problems() == []
    with pytest.raises(DataFormatError, match=message):
        dataset["bad"].groundtruth  # noqa: B018
        dataset["bad"].tags  # noqa: B018
        dataset["bad"].image_size  # noqa: B018


def test_json_not_json(tmp_path: Path) -> None:
    (tmp_path / "VOT2018.json").write_text("{\n  \"a\": [1,\n")
    with pytest.raises(DataFormatError, match="invalid JSON") as info:
        vot.load(tmp_path, "vot2018")
    assert info.value.line is not None


@settings(max_examples=40, deadline=None)
@given(length=st.integers(1, 30), data=st.data())
def test_json_tag_padding_property(length: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, 1), max_size=length))
    flags, note = vot._json_tag(Path("x.json"), "s", "occlusion", values, length)
    assert flags.tolist() == [bool(v) for v in values] + [False] * (length - len(values))
    assert (note is not None) == (0 < len(values) < length)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=8, max_size=8),
                     min_size=1, max_size=5))
def test_ground_truth_is_never_rounded(tmp_path_factory: pytest.TempPathFactory,
                                       rows: list[list[float]]) -> None:
    root = tmp_path_factory.mktemp("vot")
    (root / "s").mkdir()
    (root / "s" / "groundtruth.txt").write_text(
        "\n".join(",".join(repr(v) for v in row) for row in rows))
    (root / "list.txt").write_text("s\n")
    (root / "VOT2018.json").write_text(json.dumps({"s": _json_entry("s", rows)}))
    assert vot.load(root, "vot2018")["s"].groundtruth.tolist() == rows
    assert vot.load_pysot_json(root / "VOT2018.json", "vot2018")["s"].groundtruth.tolist() == rows


# -- real files ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workspace(shared_data: Path):
    return vot.load(shared_data / RVA, "vot2017")  # the workspace root, holding sequences/


@pytest.fixture(scope="module")
def vot2018(shared_data: Path):
    return vot.load(shared_data / THOR_JSON.rsplit("/", 1)[0], "vot2018")


@pytest.mark.shared
def test_real_workspace(workspace, shared_data: Path) -> None:
    assert workspace.names == ["ball1", "basketball", "bolt1", "book", "car1", "tiger", "traffic",
                               "zebrafish1"]
    assert workspace.root == shared_data / RVA / "sequences"
    assert workspace.meta["missing"] == []
    assert workspace.meta["tags"] == [*vot.STANDARD_TAGS, "keyframe"]  # car1's keyframe.tag

    ball1 = workspace["ball1"]
    assert len(ball1) == 105 and ball1.groundtruth.shape == (105, 8)
    assert ball1.groundtruth[0].tolist() == [496.0, 419.0, 536.0, 419.0, 536.0, 461.0, 496.0,
                                             461.0]
    assert ball1.groundtruth[1].tolist() == [491.3, 409.47, 528.95, 399.01, 540.42, 440.33,
                                             502.77, 450.79]
    assert ball1.image_size == (1280, 720)
    assert ball1.frame(0).shape == (720, 1280, 3) and ball1.frame(0).dtype == np.uint8
    assert not ball1.tags["occlusion"].any()  # no occlusion.tag
    assert ball1.tags["motion_change"].sum() == 105
    assert ball1.notes == ()
    assert ball1.problems(decode="first") == []

    book = workspace["book"]
    assert len(book) == 175
    assert book.groundtruth[0].tolist() == [199.0, 49.0, 287.0, 49.0, 287.0, 113.0, 199.0, 113.0]
    assert {tag: int(book.tags[tag].sum()) for tag in vot.STANDARD_TAGS} == {
        "camera_motion": 78, "illum_change": 0, "motion_change": 91, "occlusion": 0,
        "size_change": 99}
    assert book.image_size == (640, 480)
    assert book.problems(decode="first") == []

    car1 = workspace["car1"]
    assert car1.tags["keyframe"].sum() == 62 and not car1.tags["occlusion"].any()
    assert car1.tags["camera_motion"].sum() == 606


@pytest.mark.shared
def test_real_workspace_sequences_without_images(workspace) -> None:
    lengths = {"basketball": 725, "bolt1": 350, "car1": 742, "tiger": 365, "traffic": 191,
               "zebrafish1": 400}
    for name, length in lengths.items():
        sequence = workspace[name]
        assert len(sequence) == length and sequence.groundtruth.shape == (length, 8)
        assert sequence.image_size is None
        problems = sequence.problems(decode="none")
        assert len(problems) == 1
        assert problems[0] == (f"{name}: no images: the folder {workspace.root / name / 'color'} "
                               "does not exist")
    assert workspace["tiger"].tags["occlusion"].sum() == 225


@pytest.mark.shared
def test_real_vot2018_json(vot2018, workspace) -> None:
    assert len(vot2018) == 60
    assert sum(len(sequence) for sequence in vot2018) == 21356
    conduction1 = vot2018["conduction1"]
    assert conduction1.groundtruth.shape == (345, 4)
    assert conduction1.groundtruth[0].tolist() == [712.0, 231.0, 22.0, 24.0]
    assert vot2018["ants1"].image_size == (1024, 1024)
    assert vot2018["ants1"].groundtruth[0].tolist() == [137.21, 458.36, 156.83, 460.78, 148.35,
                                                        529.41, 128.72, 526.99]
    assert not vot2018["ants1"].has_frames  # annotation-only: no images beside the json
    assert all(sequence.notes == () for sequence in vot2018)
    assert not vot2018["matrix"].tags["camera_motion"].any()
    for sequence in workspace:
        twin = vot2018[sequence.name]
        np.testing.assert_array_equal(twin.groundtruth, sequence.groundtruth)
        for tag in vot.STANDARD_TAGS:
            np.testing.assert_array_equal(twin.tags[tag], sequence.tags[tag])


@pytest.mark.shared
def test_real_vot2019_json(shared_data: Path) -> None:
    dataset = load_dataset("vot2019", shared_data / VOT2019_JSON.rsplit("/", 1)[0])
    assert len(dataset) == 60
    assert sum(len(sequence) for sequence in dataset) == 19935
    assert dataset["conduction1"].groundtruth.shape == (345, 4)
    graduate = dataset["graduate"]
    assert len(graduate) == 844
    assert all(len(values) == 844 for values in graduate.tags.values())
    assert not graduate.tags["camera_motion"][768:].any()
    assert len(graduate.notes) == 4
    assert "camera_motion in VOT2019.json has 768 values for 844 frames; padded with 0" \
        in graduate.notes
    assert not any("illum_change" in note for note in graduate.notes)
    assert len(dataset["gymnastics1"].notes) == 3 and len(dataset["hand"].notes) == 2
    assert graduate.image_size is None  # VOT2019.json has no width/height and no images here
