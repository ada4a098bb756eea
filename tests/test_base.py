"""The lazy Sequence / Dataset types and the dataset registry."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from siambench.datasets import Dataset, FrameFlags, Sequence, get_spec
from siambench.datasets.registry import candidate_roots, resolve_root
from siambench.errors import (
    DataFormatError,
    DatasetNotFoundError,
    FrameReadError,
    SiambenchError,
    UnknownNameError,
)
from siambench.names import canonical_key


def write_frames(folder: Path, count: int, size=(16, 12)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        image = np.zeros((size[1], size[0], 3), np.uint8)
        image[..., 2] = 200  # red in BGR
        path = folder / f"{index + 1:04d}.jpg"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


@pytest.mark.parametrize("a, b", [("Jogging.1", "jogging-1"), ("Jogging_1", "JOGGING 1"),
                                  ("Human4.2", "human4_2"), ("uav123-10fps", "UAV123@10fps")])
def test_canonical_key_ignores_case_and_punctuation(a, b):
    assert canonical_key(a) == canonical_key(b)


def test_sequence_is_lazy_and_caches():
    calls = []

    def groundtruth():
        calls.append(1)
        return np.ones((3, 4))

    sequence = Sequence("a", groundtruth=groundtruth)
    assert calls == []
    assert len(sequence) == 3 and len(sequence.groundtruth) == 3
    assert calls == [1]
    np.testing.assert_array_equal(sequence.init_box, [1, 1, 1, 1])


def test_frame_is_rgb_uint8(tmp_path):
    paths = write_frames(tmp_path / "img", 2)
    sequence = Sequence("a", groundtruth=np.ones((2, 4)), frame_paths=paths)
    frame = sequence.frame(0)
    assert frame.dtype == np.uint8 and frame.shape == (12, 16, 3)
    assert frame[..., 0].mean() > 150 and frame[..., 2].mean() < 50  # red first: RGB
    assert len(list(sequence.frames())) == 2
    assert sequence.problems() == []


def test_corrupt_and_missing_frames_are_named(tmp_path):
    paths = write_frames(tmp_path / "img", 3)
    paths[1].write_bytes(b"not a jpeg")
    paths[2].unlink()
    sequence = Sequence("a", groundtruth=np.ones((3, 4)), frame_paths=paths)
    with pytest.raises(FrameReadError, match="0002.jpg.*corrupt"):
        sequence.frame(1)
    with pytest.raises(FrameReadError, match="0003.jpg.*missing"):
        sequence.frame(2)
    problems = sequence.problems(decode="all")
    assert any("1 of 3 frames missing, the first is " in p and "0003.jpg" in p for p in problems)
    assert any("0002.jpg" in p for p in problems)


def test_problems_reports_length_mismatch_and_bad_groundtruth(tmp_path):
    paths = write_frames(tmp_path / "img", 3)
    short = Sequence("short", groundtruth=np.ones((2, 4)), frame_paths=paths)
    assert short.problems() == ["short: 2 ground-truth rows for 3 frames"]

    def broken():
        raise DataFormatError(tmp_path / "groundtruth.txt", "3 values, expected 4 numbers", line=7)

    bad = Sequence("bad", groundtruth=broken, frame_paths=paths)
    assert bad.problems() == [f"{tmp_path / 'groundtruth.txt'}, line 7: 3 values, expected 4 "
                              "numbers"]


def test_annotation_only_sequence_explains_why_it_cannot_track():
    sequence = Sequence("a", groundtruth=np.ones((3, 4)), frame_paths=None, dataset="otb100")
    assert not sequence.has_frames and sequence.frame_paths == [] and len(sequence) == 3
    assert sequence.problems() == []
    with pytest.raises(SiambenchError, match="annotations but no images"):
        sequence.frame(0)


def test_flags_and_explicit_length():
    flags = FrameFlags(absent=np.array([False, True]), cover=np.array([8, 0]))
    sequence = Sequence("a", groundtruth=np.ones((1, 4)), flags=lambda: flags, length=2)
    assert len(sequence) == 2 and sequence.absent[1] and sequence.cover[1] == 0
    assert sequence.tags == {}


def test_dataset_indexing_by_position_and_alias():
    dataset = Dataset("d", [Sequence(n, groundtruth=np.ones((1, 4)))
                            for n in ["Jogging-1", "Jogging-2", "Basketball"]])
    assert dataset.names == ["Jogging-1", "Jogging-2", "Basketball"]
    assert dataset["jogging.2"].name == "Jogging-2" and dataset[2].name == "Basketball"
    assert "JOGGING_1" in dataset and "Jogging-3" not in dataset
    assert [s.name for s in dataset.subset(["basketball", "jogging_1"])] == ["Basketball",
                                                                            "Jogging-1"]
    with pytest.raises(UnknownNameError, match="no sequence 'Joggin' in d.*similar: Jogging-1"):
        dataset["Joggin"]


def test_dataset_rejects_duplicate_names():
    with pytest.raises(DataFormatError, match="two sequences named like 'a-1'"):
        Dataset("d", [Sequence(n, groundtruth=np.ones((1, 4))) for n in ["a.1", "a-1"]])


def test_registry_names_and_aliases():
    assert get_spec("OTB2015").name == "otb100"
    assert get_spec("uav123@10fps").name == "uav123-10fps"
    with pytest.raises(UnknownNameError, match="unknown dataset 'otb99'.*otb100"):
        get_spec("otb99")


def test_root_resolution_order(tmp_path, monkeypatch):
    spec = get_spec("vot2018")
    monkeypatch.chdir(tmp_path)
    assert candidate_roots(spec, "given") == [Path("given")]
    (tmp_path / "datasets" / "VOT2018").mkdir(parents=True)
    assert resolve_root(spec) == Path("datasets/VOT2018")
    env = tmp_path / "data"
    (env / "vot2018").mkdir(parents=True)
    monkeypatch.setenv("SIAMBENCH_DATA", str(env))
    assert resolve_root(spec) == env / "vot2018"


def test_missing_dataset_error_names_every_place_and_the_layout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIAMBENCH_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError) as info:
        resolve_root(get_spec("otb100"))
    message = str(info.value)
    for place in [tmp_path / "data" / "OTB100", tmp_path / "data" / "OTB2015",
                  tmp_path / "datasets" / "OTB100", tmp_path / "datasets" / "OTB"]:
        assert str(place) in message
    assert "groundtruth_rect.txt" in message and "--root" in message
