"""TrackingNet: the loader on constructed TEST / TRAIN_k layouts in tmp_path, the shipped test
list, ``data check`` messages, ``run`` + ``pack`` of the test split, and scoring a train chunk
against hand-computed values."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets import get_spec, load_dataset
from siambench.datasets import trackingnet as tn
from siambench.errors import DataFormatError, DatasetNotFoundError, SiambenchError, UnknownNameError
from siambench.protocols import load_protocol
from siambench.results import write_ope
from siambench.results.pack_trackingnet import pack_trackingnet

#: Three real test names (the devkit's list), among them two that start with punctuation.
TEST_NAMES = ("YaXKZdSEwt4_0", "-Dz7OIf54b0_0", "__WaG8fRMto_0")
FRAMES = 12


def _write_frames(folder: Path, count: int = FRAMES) -> None:
    """Frames ``0.jpg .. count-1.jpg``, frame ``i`` filled with the value ``10 * i``."""
    folder.mkdir(parents=True)
    for index in range(count):
        assert cv2.imwrite(str(folder / f"{index}.jpg"), np.full((16, 24, 3), 10 * index, np.uint8))


def _write_sequence(chunk: Path, name: str, rows: list[str], *, frames: int = FRAMES) -> None:
    _write_frames(chunk / "frames" / name, frames)
    (chunk / "anno").mkdir(exist_ok=True)
    (chunk / "anno" / f"{name}.txt").write_text("\n".join(rows) + "\n")


def _shifted_rows(count: int = FRAMES) -> list[str]:
    """Ground truth moving 2 px right per frame: ``2i, 5, 7, 7``."""
    return [f"{2 * i},5,7,7" for i in range(count)]


@pytest.fixture()
def tn_root(tmp_path: Path) -> Path:
    root = tmp_path / "TrackingNet"
    for index, name in enumerate(TEST_NAMES):
        _write_sequence(root / "TEST", name, [f"{index + 0.5},2.25,7,6"])   # first box only
    _write_sequence(root / "TRAIN_0", "trainA_0", _shifted_rows())
    _write_sequence(root / "TRAIN_3", "trainB_0", _shifted_rows())
    _write_sequence(root / "TRAIN_3", "trainB_1", _shifted_rows())
    return root


# -- the shipped list and the registry -----------------------------------------------------------

def test_shipped_test_list_has_the_511_official_sequences() -> None:
    names = tn.test_sequence_names()
    assert len(names) == 511 == len(set(names))
    assert list(names) == sorted(names)
    assert {"YaXKZdSEwt4_0", "EdQqy72QQeQ_3", "XX1eVms9ZcE_0", "_-er1Sdg3a8_0"} <= set(names)
    assert all(len(name) == 13 and name[-2] == "_" and name[-1].isdigit() for name in names)


def test_registry_entries() -> None:
    test = get_spec("trackingnet-test")
    assert (test.name, test.variant, test.protocol, test.origin, test.split) == (
        "trackingnet", "test", "trackingnet", 0, "test")
    assert get_spec("trackingnet-train").variant == "train"
    assert get_spec("TrackingNet-Train-11").variant == "train-11"
    assert all(get_spec(f"trackingnet-train-{k}").split == "train" for k in range(12))
    protocol = load_protocol("trackingnet")
    assert (protocol.kind, protocol.metric_family, protocol.result_format) == (
        "one-pass", "ope", "ope")
    assert protocol["convention"] == "got10k"


# -- loading -------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["TrackingNet", "TrackingNet/TEST"])
def test_test_split(tn_root: Path, where: str) -> None:
    dataset = load_dataset("trackingnet", tn_root.parent / where)
    assert dataset.name == "trackingnet" and dataset.root == tn_root / "TEST"
    assert dataset.names == sorted(TEST_NAMES)
    assert len(dataset.meta["missing"]) == 508 and "YaXKZdSEwt4_0" not in dataset.meta["missing"]
    assert dataset.meta["withheld"] is True
    sequence = dataset["YaXKZdSEwt4_0"]
    assert len(sequence) == FRAMES                       # frames, not ground-truth rows
    assert sequence.groundtruth.tolist() == [[0.5, 2.25, 7.0, 6.0]]
    assert sequence.init_box.tolist() == [0.5, 2.25, 7.0, 6.0]
    # numeric order: 10.jpg and 11.jpg come last, not after 1.jpg
    assert [p.name for p in sequence.frame_paths] == [f"{i}.jpg" for i in range(FRAMES)]
    assert abs(int(sequence.frame(10)[0, 0, 0]) - 100) <= 2
    assert sequence.image_size == (24, 16)
    assert sequence.meta == {"chunk": "TEST", "split": "test"}
    assert all(s.problems(decode="all") == [] for s in dataset)


def test_train_chunks(tn_root: Path) -> None:
    dataset = load_dataset("trackingnet-train", tn_root)
    assert dataset.names == ["trainA_0", "trainB_0", "trainB_1"]   # chunk order, then name
    assert dataset.meta["chunks"] == ["TRAIN_0", "TRAIN_3"]
    assert [s.meta["chunk"] for s in dataset] == ["TRAIN_0", "TRAIN_3", "TRAIN_3"]
    first = dataset[0]
    assert first.groundtruth.shape == (FRAMES, 4)
    assert first.groundtruth[11].tolist() == [22.0, 5.0, 7.0, 7.0]
    assert first.problems(decode="all") == []
    assert load_dataset("trackingnet-train-3", tn_root).names == ["trainB_0", "trainB_1"]
    assert load_dataset("trackingnet-train", tn_root / "TRAIN_0").names == ["trainA_0"]
    assert load_dataset("trackingnet-train-0", tn_root / "TRAIN_0").names == ["trainA_0"]


def test_chunk_folder_names_are_case_insensitive(tmp_path: Path) -> None:
    _write_sequence(tmp_path / "Test", "YaXKZdSEwt4_0", ["1,2,3,4"])
    _write_sequence(tmp_path / "train_2", "a_0", _shifted_rows())
    assert load_dataset("trackingnet", tmp_path).names == ["YaXKZdSEwt4_0"]
    assert load_dataset("trackingnet-train-2", tmp_path).names == ["a_0"]


def test_wrong_roots_are_clear_errors(tn_root: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"no TrackingNet train chunk TRAIN_5 found "
                       r"\(found: TRAIN_0, TRAIN_3\)"):
        load_dataset("trackingnet-train-5", tn_root)
    with pytest.raises(DatasetNotFoundError, match="is the TrackingNet test split, not a train"):
        load_dataset("trackingnet-train", tn_root / "TEST")
    with pytest.raises(DatasetNotFoundError, match="train chunk TRAIN_0, not the test split"):
        load_dataset("trackingnet", tn_root / "TRAIN_0")
    with pytest.raises(DatasetNotFoundError, match="is chunk TRAIN_0, not TRAIN_3"):
        load_dataset("trackingnet-train-3", tn_root / "TRAIN_0")
    with pytest.raises(DatasetNotFoundError, match="no TrackingNet test split found"):
        load_dataset("trackingnet", tn_root / "TRAIN_0" / "frames")
    with pytest.raises(UnknownNameError, match="unknown TrackingNet split 'train-12'"):
        tn.load(tn_root, "train-12")


def test_annotation_only_chunk_is_scorable_not_trackable(tmp_path: Path) -> None:
    (tmp_path / "TRAIN_1" / "anno").mkdir(parents=True)
    (tmp_path / "TRAIN_1" / "anno" / "a_0.txt").write_text("1,2,3,4\n2,3,4,5\n")
    sequence = load_dataset("trackingnet-train", tmp_path)["a_0"]
    assert not sequence.has_frames and len(sequence) == 2 and sequence.problems() == []


def test_frames_must_be_numbered_from_zero_without_gaps(tn_root: Path) -> None:
    folder = tn_root / "TRAIN_0" / "frames" / "trainA_0"
    (folder / "5.jpg").unlink()
    (folder / "9.jpg").unlink()
    problems = load_dataset("trackingnet-train", tn_root)["trainA_0"].problems()
    assert len(problems) == 1
    assert "10 frames not numbered 0 .. 9: missing 5.jpg, 9.jpg" in problems[0]
    (folder / "frame_1.jpg").write_bytes((folder / "0.jpg").read_bytes())
    problems = load_dataset("trackingnet-train", tn_root)["trainA_0"].problems()
    assert "frame_1.jpg: is not named <number>.jpg" in problems[0]


@settings(max_examples=25, deadline=None)
@given(st.permutations(list(range(23))), st.integers(min_value=1, max_value=23))
def test_frames_sort_numerically_whatever_the_creation_order(order: list[int], count: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        chunk = Path(temp) / "TRAIN_0"
        folder = chunk / "frames" / "s_0"
        folder.mkdir(parents=True)
        for number in (n for n in order if n < count):
            (folder / f"{number}.jpg").write_bytes(b"")
        (chunk / "anno").mkdir()
        (chunk / "anno" / "s_0.txt").write_text("1,2,3,4\n" * count)
        paths = load_dataset("trackingnet-train", chunk)["s_0"].frame_paths
        assert [tn.frame_number(p) for p in paths] == list(range(count))


@given(st.integers(min_value=0, max_value=10 ** 9))
def test_frame_number(number: int) -> None:
    assert tn.frame_number(Path(f"{number}.jpg")) == number
    assert tn.frame_number(Path(f"{number:08d}.JPG")) == number
    assert tn.frame_number(Path(f"img{number}.jpg")) is None
    assert tn.frame_number(Path(f"{number}.png")) is None


# -- data check ----------------------------------------------------------------------------------

def test_data_check_lists_missing_annotations_and_frames(tn_root: Path) -> None:
    test = tn_root / "TEST"
    (test / "anno" / "-Dz7OIf54b0_0.txt").unlink()                  # frames without annotation
    _write_frames(test / "frames" / "extra_0", 2)                     # not in the official list
    (test / "anno" / "extra_0.txt").write_text("1,1,2,2\n")
    (test / "anno" / "0cP2LRl88qM_0.txt").write_text("1,1,2,2\n")   # annotation without frames
    (test / "zips").mkdir()
    (test / "zips" / "0cP2LRl88qM_0.zip").write_bytes(b"PK")
    result = CliRunner().invoke(cli, ["data", "check", "trackingnet", "--root", str(tn_root)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "trackingnet at" in out and "3 of 512 sequences usable" in out
    assert "missing (507): " in out and "0cP2LRl88qM_0," not in out.split("missing")[1][:40]
    assert "malformed: -Dz7OIf54b0_0" in out and "annotation file not found" in out
    assert "malformed: 0cP2LRl88qM_0" in out and "no frame folder" in out
    assert "extract_frame.py" in out
    assert "Traceback" not in out


def test_data_check_train_row_count_mismatch(tn_root: Path) -> None:
    anno = tn_root / "TRAIN_3" / "anno" / "trainB_1.txt"
    anno.write_text("\n".join(_shifted_rows(11)) + "\n")
    result = CliRunner().invoke(cli, ["data", "check", "trackingnet-train", "--root",
                                      str(tn_root)])
    assert result.exit_code == 0
    assert "2 of 3 sequences usable" in result.output
    assert "trainB_1: 11 ground-truth rows for 12 frames" in result.output


# -- run, pack ----------------------------------------------------------------------------------

def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_run_then_pack_the_test_split(tn_root: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = _run(["run", "--tracker", "identity", "--dataset", "trackingnet-test", "--root",
                str(tn_root), "--results-dir", "res", "--quiet"])
    assert "withheld" in out and "siambench pack" in out
    tracker = tmp_path / "res" / "trackingnet" / "identity"
    assert (tracker / "YaXKZdSEwt4_0.txt").read_text().splitlines()[0] == "0.5,2.25,7.0,6.0"
    # the sequences not on this disk: results as another toolkit writes them (tabs, no times)
    for name in tn.test_sequence_names():
        if name not in TEST_NAMES:
            (tracker / f"{name}.txt").write_text("1\t2\t3\t4\n5\t6\t7\t8\n")
    out = _run(["pack", str(tracker), "--out", str(tmp_path / "sub.zip")])   # run.json: TrackingNet
    assert f"lines checked against the frames in {tn_root / 'TEST'}" in out
    with zipfile.ZipFile(tmp_path / "sub.zip") as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(f"{name}.txt" for name in tn.test_sequence_names())
        lines = archive.read("YaXKZdSEwt4_0.txt").decode().splitlines()
        assert len(lines) == FRAMES and set(lines) == {"0.5,2.25,7.0,6.0"}
        assert archive.read("-Dz7OIf54b0_0.txt").decode().splitlines()[0] == "1.5,2.25,7.0,6.0"
        assert archive.read("XX1eVms9ZcE_0.txt").decode() == "1.0,2.0,3.0,4.0\n5.0,6.0,7.0,8.0\n"


def test_pack_refuses_incomplete_results_with_one_listing(tmp_path: Path) -> None:
    tracker = tmp_path / "pytracking_results"
    names = tn.test_sequence_names()
    boxes = np.tile([1.0, 2.0, 3.0, 4.0], (FRAMES, 1))
    for name in names[:-12]:
        write_ope(tracker, name, boxes)
    write_ope(tracker, "not_a_test_seq_0", boxes)
    short, holes = names[0], names[1]
    write_ope(tracker, short, boxes[:10])
    with_nan = boxes.copy()
    with_nan[[3, 7]] = np.nan
    write_ope(tracker, holes, with_nan)
    frames = {short: FRAMES, holes: FRAMES}
    with pytest.raises(SiambenchError) as info:
        pack_trackingnet(tracker, tmp_path / "sub.zip", names, frames)
    message = str(info.value)
    assert message.startswith(f"cannot pack {tracker} for the TrackingNet server: ")
    assert (f"no results for 12 of 511 sequences: {', '.join(names[-12:-2])} and 2 more"
            in message)
    assert "results for 1 sequences not in the TrackingNet test set: not_a_test_seq_0" in message
    assert f"{short}: 10 lines for 12 frames" in message
    assert f"{holes}: NaN in lines 4, 8" in message
    assert not (tmp_path / "sub.zip").exists()
    # the same through the CLI: no run.json, so --benchmark says which server; frames unknown
    result = CliRunner().invoke(cli, ["pack", str(tracker), "--benchmark", "trackingnet"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no results for 12 of 511" in result.output and "lines for" not in result.output


def test_pack_without_benchmark_stays_got10k(tmp_path: Path) -> None:
    tracker = tmp_path / "T"
    write_ope(tracker, "YaXKZdSEwt4_0", np.ones((2, 4)))
    result = CliRunner().invoke(cli, ["pack", str(tracker)])
    assert result.exit_code == 1 and "GOT-10k" in result.output


def test_report_on_the_test_split_says_it_is_withheld(tn_root: Path, tmp_path: Path) -> None:
    write_ope(tmp_path / "res" / "T", "YaXKZdSEwt4_0", np.ones((FRAMES, 4)))
    result = CliRunner().invoke(cli, ["report", "--dataset", "trackingnet", "--root", str(tn_root),
                                      "--results-dir", str(tmp_path / "res"), "--ci", "none"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "ground truth of this split is withheld" in result.output


# -- scoring a train chunk -----------------------------------------------------------------------

def test_score_a_train_chunk_against_hand_computed_values(tn_root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity tracker stays at the first box ``0,5,7,7``; the target moves 2 px right per
    frame. Frame ``i``: IoU ``7(7-2i) / (98 - 7(7-2i))`` for ``i <= 3`` (1, 5/9, 3/11, 1/13),
    then 0; centre error ``2i`` px; normalised error ``2i/7``.

    * success (21 thresholds ``k/20``, strict ``>``): frame 0 passes 20 thresholds, frame 1
      (0.556) 12, frame 2 (0.273) 6, frame 3 (0.077) 2: AUC = 40 / (21 * 12);
    * precision at 20 px: frames 0..10 (error 0..20 px): 11 / 12;
    * normalised precision (51 thresholds ``j/100``, ``<=``): frame 0 all 51, frame 1 (0.2857)
      ``j = 29..50``: 22, others none: AUC = 73 / (51 * 12).
    """
    monkeypatch.chdir(tmp_path)
    _run(["run", "--tracker", "identity", "--dataset", "trackingnet-train-0", "--root",
          str(tn_root), "--results-dir", "res", "--quiet"])
    _run(["report", "--dataset", "trackingnet-train-0", "--root", str(tn_root), "--results-dir",
          "res/trackingnet-train-0", "--out", "rep", "--ci", "none"])
    with (tmp_path / "rep" / "trackingnet-train-0" / "summary.csv").open() as stream:
        (row,) = list(csv.DictReader(stream))
    assert row["tracker"] == "identity" and row["sequences"] == "1"
    assert float(row["success_auc"]) == pytest.approx(40 / 252, abs=1e-12)
    assert float(row["precision"]) == pytest.approx(11 / 12, abs=1e-12)
    assert float(row["norm_precision"]) == pytest.approx(73 / 612, abs=1e-12)


def test_annotation_errors_are_data_format_errors(tn_root: Path) -> None:
    (tn_root / "TRAIN_0" / "anno" / "trainA_0.txt").write_text("1,2,3\n")
    with pytest.raises(DataFormatError, match="trainA_0.txt"):
        load_dataset("trackingnet-train", tn_root)["trainA_0"].groundtruth  # noqa: B018
