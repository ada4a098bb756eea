"""The shared pieces of the dataset loaders' scans (``siambench.datasets.base`` / ``images``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from siambench.datasets.base import (
    Sequence,
    find_folder,
    listed_folders,
    manifest_rows,
    require_file,
    require_folder,
    scan_sequences,
    wrong_kind,
)
from siambench.datasets.images import folder_frames
from siambench.errors import DataFormatError, DatasetNotFoundError


@dataclass(frozen=True)
class Row:
    name: str


def _build(entry: Row, path: Path) -> Sequence:
    return Sequence(entry.name, groundtruth=lambda: [[1.0, 2.0, 3.0, 4.0]], source=path)


def _layout(root: Path) -> None:
    """good/ with its gt.txt, nogt/ without, file (a file), link (a broken link), gtdir/ whose
    gt.txt is a folder; ``gone`` is nowhere."""
    (root / "good").mkdir()
    (root / "good" / "gt.txt").write_text("1,2,3,4\n")
    (root / "nogt").mkdir()
    (root / "file").write_text("x")
    os.symlink(root / "nowhere", root / "link")
    (root / "gtdir" / "gt.txt").mkdir(parents=True)


def test_scan_sorts_sequences_into_usable_unusable_and_missing(tmp_path):
    _layout(tmp_path)
    rows = [Row(n) for n in ("good", "nogt", "file", "gone", "link", "gtdir")]
    sequences, missing = scan_sequences(rows, lambda row: tmp_path / row.name, _build,
                                        dataset="demo", none_found="unused",
                                        annotation=lambda row: "gt.txt")
    assert missing == ["gone"]
    assert [s.name for s in sequences] == ["good", "nogt", "file", "link", "gtdir"]
    assert sequences[0].groundtruth == [[1.0, 2.0, 3.0, 4.0]]
    messages = {}
    for sequence in sequences[1:]:
        assert sequence.dataset == "demo" and sequence.source == tmp_path / sequence.name
        with pytest.raises(DataFormatError) as caught:
            sequence.groundtruth  # noqa: B018
        messages[sequence.name] = str(caught.value)
    assert messages["nogt"] == (f"{tmp_path / 'nogt' / 'gt.txt'}: annotation file not found "
                                "(expected <root>/nogt/gt.txt)")
    assert messages["file"] == f"{tmp_path / 'file'}: is a file, expected the sequence folder"
    assert messages["link"].startswith(f"{tmp_path / 'link'}: is a broken symbolic link (to ")
    assert messages["link"].endswith("), expected the sequence folder")
    assert messages["gtdir"] == (f"{tmp_path / 'gtdir' / 'gt.txt'}: is a folder, expected the "
                                 "annotation file (expected <root>/gtdir/gt.txt)")


def test_scan_of_annotation_files_and_of_nothing(tmp_path):
    _layout(tmp_path)
    rows = [Row("good/gt.txt"), Row("good"), Row("absent.txt")]
    sequences, missing = scan_sequences(rows, lambda row: tmp_path / row.name, _build,
                                        dataset="demo", none_found="unused", file=True)
    assert missing == ["absent.txt"] and [s.name for s in sequences] == ["good/gt.txt", "good"]
    with pytest.raises(DataFormatError, match="is a folder, expected the annotation file$"):
        sequences[1].groundtruth  # noqa: B018
    with pytest.raises(DatasetNotFoundError, match="^none of the 2 demo sequences$"):
        scan_sequences([Row("a"), Row("b")], lambda row: None, _build, dataset="demo",
                       none_found="none of the 2 demo sequences")


def test_find_folder_prefers_a_folder_then_anything_there(tmp_path):
    _layout(tmp_path)
    assert find_folder([tmp_path / "gone", tmp_path / "file", tmp_path / "good"]) == tmp_path / "good"
    assert find_folder((tmp_path / "gone", tmp_path / "link", tmp_path / "file")) == tmp_path / "link"
    assert find_folder([tmp_path / "gone"]) is None


def test_folder_frames_says_why_there_are_none(tmp_path):
    _layout(tmp_path)
    for name in ("0002.jpg", "0001.jpg", "notes.txt"):
        (tmp_path / "good" / name).write_bytes(b"")
    assert folder_frames(tmp_path / "good") == [tmp_path / "good" / "0001.jpg",
                                                tmp_path / "good" / "0002.jpg"]
    assert folder_frames(tmp_path / "good", "n*.txt") == [tmp_path / "good" / "notes.txt"]
    assert folder_frames(tmp_path / "gone", first="0001.jpg") is None
    assert folder_frames(tmp_path / "link", first="0001.jpg") == [tmp_path / "link" / "0001.jpg"]
    assert folder_frames(tmp_path / "link") is None
    assert folder_frames(tmp_path / "gone", first="0001.jpg",
                         optional=False) == [tmp_path / "gone" / "0001.jpg"]


def test_required_folder_and_file_messages(tmp_path):
    _layout(tmp_path)
    assert require_folder(str(tmp_path / "good")) == tmp_path / "good"
    with pytest.raises(DatasetNotFoundError) as caught:
        require_folder(tmp_path / "file")
    assert str(caught.value) == f"{tmp_path / 'file'} is not a folder (it is a file)"
    with pytest.raises(DatasetNotFoundError) as caught:
        require_folder(tmp_path / "gone", "<root>/x.txt")
    assert str(caught.value) == (f"{tmp_path / 'gone'} is not a folder (nothing is there). "
                                 "Expected folder structure: <root>/x.txt")
    require_file(tmp_path / "file", "the CSV file", "S")
    with pytest.raises(DatasetNotFoundError) as caught:
        require_file(tmp_path / "good", "the CSV file", "S")
    assert str(caught.value) == (f"{tmp_path / 'good'}: is a folder, expected the CSV file. "
                                 "Expected folder structure: S")
    with pytest.raises(DatasetNotFoundError) as caught:
        require_file(tmp_path / "gone", "the CSV file", "S")
    assert str(caught.value) == f"{tmp_path / 'gone'}: not found. Expected folder structure: S"


def test_wrong_kind_and_listed_folders(tmp_path):
    _layout(tmp_path)
    assert str(wrong_kind(tmp_path / "good", "a file", hint="h")) == (
        f"{tmp_path / 'good'}: is a folder, expected a file (h)")
    assert str(wrong_kind(tmp_path / "x", "a file", kind="a file")) == (
        f"{tmp_path / 'x'}: is a file, expected a file")
    kinds, found, missing = listed_folders(tmp_path, ["gone", "file", "good", "nogt"],
                                           tmp_path / "list.txt", "S")
    assert (found, missing, kinds["file"]) == (["good", "nogt"], ["gone"], "a file")
    with pytest.raises(DatasetNotFoundError) as caught:
        listed_folders(tmp_path, ["file", "gone"], tmp_path / "list.txt", "S")
    assert str(caught.value) == (f"{tmp_path / 'list.txt'}: none of the 2 sequences it lists has a "
                                 f"folder in {tmp_path} (first: 'file', which is a file). "
                                 "Expected folder structure: S")


def test_manifest_rows_reads_a_shipped_table():
    rows = manifest_rows("dtb70.csv")
    assert len(rows) == 70
    assert set(rows[0]) == {"name", "frames"} and rows[0]["frames"].isdigit()
