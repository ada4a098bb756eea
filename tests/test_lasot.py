"""LaSOT: the shipped split lists and attributes, and small realistic layouts in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siambench.datasets import load_dataset
from siambench.datasets.lasot import ATTRIBUTES, load, manifest, read_binary_flags
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError

GT = np.array([[10, 20, 30, 40], [11, 21, 31, 41], [0, 0, 0, 0], [13, 23, 33, 43],
               [14.5, 24, 34, 44]], dtype=float)


def _write_sequence(folder: Path, *, occlusion: str | None = "0,0,1,0,0",
                    out_of_view: str | None = "0,0,0,1,0", frames: int = 5) -> None:
    """A LaSOT sequence as in the release: 8-digit frames, one-line comma-separated flags."""
    folder.mkdir(parents=True)
    (folder / "groundtruth.txt").write_text(
        "".join(",".join(f"{v:g}" for v in row) + "\n" for row in GT))
    if occlusion is not None:
        (folder / "full_occlusion.txt").write_text(occlusion)
    if out_of_view is not None:
        (folder / "out_of_view.txt").write_text(out_of_view)
    (folder / "nlp.txt").write_text("white airplane flying over the runway\n")
    if frames:
        (folder / "img").mkdir()
        for index in range(1, frames + 1):
            cv2.imwrite(str(folder / "img" / f"{index:08d}.jpg"), np.full((4, 6, 3), 9, np.uint8))


# -- the shipped table --------------------------------------------------------------------------
def test_split_lists():
    test, train = manifest("test"), manifest("train")
    assert len(test) == 280 and len(train) == 1120
    assert not {e.name for e in test} & {e.name for e in train}
    assert [e.name for e in test[:4]] == ["airplane-1", "airplane-9", "airplane-13", "airplane-15"]
    classes = {e.category for e in test}
    assert len(classes) == 70 and {e.category for e in train} == classes
    assert all(sum(e.category == c for e in test) == 4 for c in classes)
    assert _get(test, "rubicCube-1").category == "rubicCube"
    assert _get(test, "airplane-1").attributes == ("POC", "ROT", "SV", "LR")
    assert _get(train, "train-4").attributes == ()  # no attribute listed for it
    assert len(ATTRIBUTES) == 14 and all(set(e.attributes) <= set(ATTRIBUTES) for e in test)
    with pytest.raises(UnknownNameError, match="unknown LaSOT split 'val'"):
        manifest("val")


def _get(entries, name):
    return next(e for e in entries if e.name == name)


def test_manifest_equals_the_public_files(shared_data):
    lists = json.loads((shared_data / "got-10k_toolkit/got10k/datasets/lasot.json").read_text())
    assert [e.name for e in manifest("test")] == lists["test"]
    assert [e.name for e in manifest("train")] == lists["train"]
    attrs = json.loads((shared_data / "visionml_pytracking/pytracking/evaluation/"
                        "dataset_attribute_specs/LaSOT_attributes.json").read_text())
    assert list(ATTRIBUTES) == attrs["att_name_short"]
    assert list(ATTRIBUTES.values()) == attrs["att_name_long"]
    for entry in manifest("test") + manifest("train"):
        assert list(entry.attributes) == attrs[entry.name], entry.name


# -- flag files ---------------------------------------------------------------------------------
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.sampled_from([",", ", ", "\n", "\t"]))
def test_binary_flags_round_trip(tmp_path_factory, values, separator):
    path = tmp_path_factory.mktemp("flags") / "out_of_view.txt"
    path.write_text(separator.join(str(int(v)) for v in values))
    np.testing.assert_array_equal(read_binary_flags(path, len(values)), values)


def test_binary_flags_errors(tmp_path):
    path = tmp_path / "full_occlusion.txt"
    path.write_text("0,1,2,0\n")
    with pytest.raises(DataFormatError,
                       match=r"full_occlusion.txt, line 1: value '2' at position 3"):
        read_binary_flags(path, 4)
    path.write_text("0,1,0\n")
    with pytest.raises(DataFormatError, match="3 values for 4 frames"):
        read_binary_flags(path, 4)


# -- generated layouts --------------------------------------------------------------------------
def test_class_layout(tmp_path):
    _write_sequence(tmp_path / "airplane" / "airplane-1")
    _write_sequence(tmp_path / "zebra" / "zebra-10", frames=0)
    _write_sequence(tmp_path / "zebra" / "zebra-1")  # a train sequence: not in the test split
    dataset = load_dataset("lasot", tmp_path)
    assert dataset.name == "lasot" and dataset.names == ["airplane-1", "zebra-10"]
    assert len(dataset.meta["missing"]) == 278 and "bear-2" in dataset.meta["missing"]
    seq = dataset["airplane-1"]
    np.testing.assert_array_equal(seq.groundtruth, GT)
    assert seq.absent.tolist() == [False, False, True, True, False]
    assert seq.notes == () and seq.attributes == ("POC", "ROT", "SV", "LR")
    assert len(seq) == 5 and seq.frame_paths[0] == tmp_path / "airplane/airplane-1/img/00000001.jpg"
    assert seq.frame(4).shape == (4, 6, 3) and seq.problems(decode="all") == []
    assert seq.meta["class"] == "airplane" and seq.meta["nlp_file"].read_text().startswith("white")
    annotated = dataset["zebra-10"]
    assert not annotated.has_frames and len(annotated) == 5 and annotated.problems() == []

    train = load_dataset("lasot-train", tmp_path)
    assert train.name == "lasot-train" and train.names == ["zebra-1"]


def test_flat_layout_and_missing_flag_file(tmp_path):
    _write_sequence(tmp_path / "bear-2", occlusion=None, out_of_view="0,1,0,0,0\n")
    seq = load(tmp_path, "test")["bear-2"]
    assert seq.absent.tolist() == [False, True, False, False, False]
    assert len(seq.notes) == 1 and "full_occlusion.txt missing" in seq.notes[0]
    assert seq.frame_paths[-1] == tmp_path / "bear-2/img/00000005.jpg"


def test_bad_files_raise_only_for_their_sequence(tmp_path):
    _write_sequence(tmp_path / "airplane" / "airplane-1", occlusion="0,0,0,0")
    _write_sequence(tmp_path / "airplane" / "airplane-9", out_of_view="0,0,0,0,1,0")
    _write_sequence(tmp_path / "airplane" / "airplane-13")
    (tmp_path / "airplane/airplane-13/groundtruth.txt").write_text("1,2,3,4\n1,2,3\n")
    _write_sequence(tmp_path / "airplane" / "airplane-15", frames=3)
    dataset = load(tmp_path, "test")  # nothing parsed yet
    with pytest.raises(DataFormatError, match=r"airplane-1/full_occlusion.txt: 4 values for 5"):
        dataset["airplane-1"].absent
    with pytest.raises(DataFormatError, match=r"out_of_view.txt: 6 values for 5 frames"):
        dataset["airplane-9"].flags
    with pytest.raises(DataFormatError, match=r"groundtruth.txt, line 2: 3 values, expected 4"):
        dataset["airplane-13"].groundtruth
    assert dataset["airplane-15"].problems() == ["airplane-15: 5 ground-truth rows for 3 frames"]
    assert "4 values for 5 frames" in dataset["airplane-1"].problems()[0]


def test_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"none of the 280 LaSOT test.*<class>-<n>/img"):
        load(tmp_path, "test")
    _write_sequence(tmp_path / "zebra" / "zebra-1")  # train only
    with pytest.raises(DatasetNotFoundError, match="none of the 280 LaSOT test sequences"):
        load_dataset("lasot", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="is not a folder"):
        load(tmp_path / "nowhere", "train")
    with pytest.raises(UnknownNameError):
        load(tmp_path, "val")
