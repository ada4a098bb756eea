"""Tests of the GOT-10k loader on small layouts written in tmp_path in the official formats."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.datasets import got10k, load_dataset
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError

META = """[METAINFO]
url: https://youtu.be/abcdefghijk
begin: 00:00:03
end: 00:00:09
anno_fps: 10Hz
object_class: {cls}
motion_class: running
major_class: canine
root_class: animal
motion_adverb: slowly
resolution: ({w}, {h})
"""

# name -> (ground truth rows, absence, cover, cut_by_image, object class, resolution)
SEQUENCES = {
    "GOT-10k_{S}_000001": (["1.5,2,3,4", "2,3.25,3,4", "0,0,0,0"], [0, 0, 1], [8, 5, 0],
                           [0, 1, 0], "dog", (640, 360)),
    "GOT-10k_{S}_000002": (["3,3,2,2", "4,4,2,2"], [0, 0], [7, 8], [0, 0], "wolf", (1280, 720)),
    "GOT-10k_{S}_000003": (["0.125,1,5,6", "1,1,5,6", "2,1,5,6", "3,1,5,6"], [0, 0, 0, 0],
                           [1, 2, 3, 4], [1, 1, 0, 0], "fox", (1920, 1080)),
}


def _write_jpg(path: Path) -> None:
    assert cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))


def _write_split(root: Path, split: str) -> Path:
    folder = root / split
    folder.mkdir(parents=True)
    names = []
    for pattern, (rows, absence, cover, cut, cls, (w, h)) in SEQUENCES.items():
        name = pattern.format(S=split.capitalize())
        names.append(name)
        seq = folder / name
        seq.mkdir()
        for index in range(1, len(rows) + 1):
            _write_jpg(seq / f"{index:08d}.jpg")
        if split == "test":
            (seq / "groundtruth.txt").write_text(rows[0] + "\n")
            continue
        (seq / "groundtruth.txt").write_text("\n".join(rows) + "\n")
        (seq / "absence.label").write_text("".join(f"{v}\n" for v in absence))
        (seq / "cover.label").write_text("".join(f"{v}\n" for v in cover))
        (seq / "cut_by_image.label").write_text("".join(f"{v}\n" for v in cut))
        (seq / "meta_info.ini").write_text(META.format(cls=cls, w=w, h=h))
    (folder / "list.txt").write_text("\n".join(names) + "\n")
    return folder


@pytest.fixture()
def got_root(tmp_path: Path) -> Path:
    root = tmp_path / "GOT-10k"
    for split in got10k.SPLITS:
        _write_split(root, split)
    return root


@pytest.mark.parametrize("split", ["train", "val"])
def test_train_val_values(got_root: Path, split: str) -> None:
    dataset = got10k.load(got_root, split)
    assert dataset.name == f"got10k-{split}"
    assert dataset.root == got_root / split
    assert dataset.names == [p.format(S=split.capitalize()) for p in SEQUENCES]
    assert dataset.meta["missing"] == []
    first = dataset[0]
    assert first.groundtruth.tolist() == [[1.5, 2, 3, 4], [2, 3.25, 3, 4], [0, 0, 0, 0]]
    assert len(first) == 3
    assert first.absent.tolist() == [False, False, True]
    assert first.absent.dtype == bool
    assert first.cover.tolist() == [8, 5, 0]
    assert first.flags.cut_by_image.tolist() == [False, True, False]
    assert first.tags == {}
    assert first.image_size == (640, 360)
    assert first.meta["object_class"] == "dog"
    assert first.meta["motion_class"] == "running"
    assert first.meta["url"] == "https://youtu.be/abcdefghijk"
    assert first.meta["resolution"] == "(640, 360)"
    assert first.meta["split"] == split
    assert first.frame_paths[0].name == "00000001.jpg"
    assert first.frame(2).shape == (8, 8, 3)
    third = dataset[2]
    assert third.groundtruth[0].tolist() == [0.125, 1, 5, 6]
    assert third.cover.tolist() == [1, 2, 3, 4]
    assert third.image_size == (1920, 1080)
    assert all(sequence.problems(decode="all") == [] for sequence in dataset)


def test_test_split(got_root: Path) -> None:
    dataset = load_dataset("got10k-test", got_root)
    assert dataset.names[0] == "GOT-10k_Test_000001"
    lengths = [len(sequence) for sequence in dataset]
    assert lengths == [3, 2, 4]  # frames, not ground-truth rows
    third = dataset[2]
    assert third.groundtruth.shape == (1, 4)
    assert third.init_box.tolist() == [0.125, 1, 5, 6]
    assert third.absent is None and third.cover is None and third.flags.cut_by_image is None
    assert third.image_size == (8, 8)  # no meta_info.ini: measured from the first frame
    assert third.meta == {"split": "test"}
    assert all(sequence.problems() == [] for sequence in dataset)


def test_root_is_the_split_folder(got_root: Path) -> None:
    dataset = got10k.load(got_root / "val", "val")
    assert dataset.root == got_root / "val"
    assert len(dataset) == 3
    with pytest.raises(DatasetNotFoundError, match="val split, not test"):
        got10k.load(got_root / "val", "test")


def test_not_found_and_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="list.txt"):
        got10k.load(tmp_path, "val")
    with pytest.raises(UnknownNameError):
        got10k.load(tmp_path, "validation")


def test_empty_list(tmp_path: Path) -> None:
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "list.txt").write_text("")
    with pytest.raises(DataFormatError, match="empty sequence list") as info:
        got10k.load(tmp_path, "val")
    assert info.value.path == tmp_path / "val" / "list.txt"


def test_missing_folder_is_recorded(got_root: Path) -> None:
    list_file = got_root / "train" / "list.txt"
    list_file.write_text(list_file.read_text() + "GOT-10k_Train_009999\n")
    dataset = got10k.load(got_root, "train")
    assert len(dataset) == 3
    assert dataset.meta["missing"] == ["GOT-10k_Train_009999"]


def _val_sequence(got_root: Path, index: int = 1) -> Path:
    return got_root / "val" / f"GOT-10k_Val_{index:06d}"


def test_wrong_number_of_columns(got_root: Path) -> None:
    (_val_sequence(got_root) / "groundtruth.txt").write_text("1,2,3,4\n1,2,3,4,5\n1,2,3,4\n")
    dataset = got10k.load(got_root, "val")  # loads: nothing parsed yet
    with pytest.raises(DataFormatError, match="5 values, expected 4 numbers") as info:
        dataset[0].groundtruth  # noqa: B018
    assert info.value.line == 2
    assert dataset[1].problems() == []  # the other sequences are unaffected
    assert "line 2" in dataset[0].problems()[0]


def test_cover_out_of_range(got_root: Path) -> None:
    (_val_sequence(got_root, 2) / "cover.label").write_text("8\n9\n")
    sequence = got10k.load(got_root, "val")[1]
    assert sequence.groundtruth.shape == (2, 4)
    with pytest.raises(DataFormatError, match="expected an integer 0..8") as info:
        sequence.cover  # noqa: B018
    assert (info.value.path.name, info.value.line) == ("cover.label", 2)


@pytest.mark.parametrize("label", ["absence.label", "cover.label", "cut_by_image.label"])
def test_label_length_mismatch(got_root: Path, label: str) -> None:
    (_val_sequence(got_root) / label).write_text("0\n0\n")
    sequence = got10k.load(got_root, "val")[0]
    with pytest.raises(DataFormatError, match="2 lines for 3 ground-truth rows") as info:
        sequence.flags  # noqa: B018
    assert info.value.path.name == label
    assert "2 lines for 3" in sequence.problems()[0]


def test_missing_label_file(got_root: Path) -> None:
    (_val_sequence(got_root) / "absence.label").unlink()
    with pytest.raises(DataFormatError, match="file not found"):
        got10k.load(got_root, "val")[0].absent  # noqa: B018


def test_ground_truth_frame_mismatch_is_a_problem(got_root: Path) -> None:
    (_val_sequence(got_root) / "00000003.jpg").unlink()
    sequence = got10k.load(got_root, "val")[0]
    assert len(sequence) == 2
    assert sequence.problems() == [f"{sequence.name}: 3 ground-truth rows for 2 frames"]


def test_bad_meta_info(got_root: Path) -> None:
    info_file = _val_sequence(got_root) / "meta_info.ini"
    info_file.write_text(META.format(cls="dog", w="wide", h=3))
    sequence = got10k.load(got_root, "val")[0]
    with pytest.raises(DataFormatError, match="resolution") as info:
        sequence.image_size  # noqa: B018
    assert info.value.line == 11
    info_file.write_text("[METAINFO]\nurl: x\nno colon here\n")
    with pytest.raises(DataFormatError, match="key: value") as info:
        got10k.load(got_root, "val")[0].meta  # noqa: B018
    assert info.value.line == 3


def test_construction_reads_no_sequence_file(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    root = tmp_path / "big" / "train"
    root.mkdir(parents=True)
    names = [f"GOT-10k_Train_{i:06d}" for i in range(1, 2001)]
    for name in names:
        (root / name).mkdir()  # no files at all: any read would fail
    (root / "list.txt").write_text("\n".join(names))
    calls: list[Path] = []
    monkeypatch.setattr(got10k, "read_number_rows", lambda *a, **k: calls.append(a[0]))
    monkeypatch.setattr(got10k, "read_flags", lambda *a, **k: calls.append(a[0]))
    dataset = got10k.load(root.parent, "train")
    assert len(dataset) == 2000 and calls == []
    assert dataset[-1].name == "GOT-10k_Train_002000"


@settings(max_examples=30, deadline=None)
@given(width=st.integers(1, 100000), height=st.integers(1, 100000),
       spaces=st.sampled_from(["", " ", "  "]))
def test_parse_resolution_property(width: int, height: int, spaces: str) -> None:
    text = f"({spaces}{width},{spaces}{height}{spaces})"
    assert got10k.parse_resolution(text, Path("meta_info.ini")) == (width, height)
