"""Fault catalogue of raw-result files: every malformed input class -> one clear line.

The catalogue runs ``siambench report`` once over a results folder holding one tracker (or
entry) per fault class beside a good tracker, and checks each class's single-line message; the
classes that ``--strict`` turns into errors are run again with ``--compare <case> --strict``.
Then: zip member names and zip bombs, the sandboxed ``.mat`` reader (a file that crashes
scipy, a hung or broken worker), symbolic links, and bounded hypothesis fuzzing of every reader
and parser (any input gives results or a SiambenchError, never another exception).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.base import Dataset, Sequence
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import DataFormatError, SiambenchError
from siambench.results import (
    Run,
    TrackerResults,
    align,
    find_trackers,
    matfile,
    read_tracker,
    tree,
    write_ope,
)
from siambench.results.parse import (
    parse_boxes,
    parse_otb_json,
    parse_otb_mat,
    parse_times,
    parse_vot_run,
)
from siambench.textio import (
    decode_text,
    parse_number_rows,
    read_flags,
    read_key_values,
    read_number_rows,
)

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32",
                                    reason="symbolic links need a POSIX system")


# -- helpers -----------------------------------------------------------------------------------

def put(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows(boxes: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in boxes)


def mat_element(kind: int, payload: bytes) -> bytes:
    return struct.pack("<II", kind, len(payload)) + payload + b"\0" * ((-len(payload)) % 8)


def hand_made_mat(boxes: np.ndarray, data_type: int = 9) -> bytes:
    """A MAT v5 file holding ``result`` (N x 4 doubles), written byte by byte (no scipy).

    ``data_type`` 9 is miDOUBLE; 238 is no MAT type at all, which crashed scipy 1.17's reader
    with a segmentation fault.
    """
    n = len(boxes)
    body = (mat_element(6, struct.pack("<II", 6, 0)) + mat_element(5, struct.pack("<ii", n, 4))
            + mat_element(1, b"result")
            + mat_element(data_type, np.asarray(boxes, dtype="<f8").T.tobytes()))
    header = b"MATLAB 5.0 MAT-file, hand made".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"
    return header + mat_element(14, body)


def otb_mat(boxes: np.ndarray) -> bytes:
    fields = [("res", "O"), ("type", "O"), ("fps", "O"), ("len", "O"), ("annoBegin", "O"),
              ("startFrame", "O")]
    record = np.empty((1, 1), dtype=fields)
    record[0, 0] = (np.asarray(boxes), "rect", 25.0, len(boxes), 1, 1)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"results": record})
    return buffer.getvalue()


def otb_json(boxes: np.ndarray) -> str:
    return json.dumps([{"res": np.asarray(boxes).tolist(), "resType": "rect", "startFrame": 1,
                        "evalType": "OPE", "fps": 10.0}])


def zip_of(members: dict[str, bytes | str], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)  # kept as written: no name clean-up
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return path


def toy(lengths: dict[str, int]) -> Dataset:
    return Dataset("toy", [Sequence(name, groundtruth=np.tile([10.0, 20.0, 30.0, 40.0], (n, 1)))
                           for name, n in lengths.items()])


def clean(result) -> str:
    """The CLI's output, after checking it ended by a clean exit, never by an exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert "Traceback" not in result.output
    return result.output


def one_line(output: str, fragment: str) -> str:
    """The one output line holding ``fragment`` (the message must not be split over lines)."""
    lines = [line for line in output.splitlines() if fragment in line]
    assert lines, f"{fragment!r} not in:\n{output}"
    return lines[0]


# -- the catalogue through `siambench report` ----------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """A malformed-input class: what to write, the message fragment, and what --strict does."""

    name: str
    write: Callable[[Path, list[str], dict[str, np.ndarray]], None]
    fragment: str | None  # None: no message, the tracker is scored as the good one
    strict_fails: bool
    scored: bool = True  # the tracker appears in the summary (non-strict run)


def tracker_with(first: Callable[[np.ndarray], str | bytes]):
    """A tracker folder whose first sequence's file is ``first(gt)``, the others correct."""
    def write(folder: Path, names: list[str], gt: dict[str, np.ndarray]) -> None:
        for index, seq in enumerate(names):
            put(folder, f"{seq}.txt", first(gt[seq]) if index == 0 else rows(gt[seq]))
    return write


def negative(gt: np.ndarray) -> str:
    boxes = gt.copy()
    boxes[1, 2] = -3.0
    boxes[2, 3] = -1.0
    return rows(boxes)


def with_blank_line(gt: np.ndarray) -> str:
    lines = rows(gt).splitlines()
    return "\n".join([*lines[:2], "", *lines[2:]]) + "\n"


def duplicate(folder: Path, names: list[str], gt: dict[str, np.ndarray]) -> None:
    tracker_with(rows)(folder, names, gt)
    put(folder, names[0].replace("-", "_").upper() + ".txt", rows(gt[names[0]]))


def json_tracker(first: Callable[[np.ndarray], str | bytes]):
    def write(folder: Path, names: list[str], gt: dict[str, np.ndarray]) -> None:
        for index, seq in enumerate(names):
            put(folder, f"{seq}.json", first(gt[seq]) if index == 0 else otb_json(gt[seq]))
    return write


def mat_tracker(first: Callable[[np.ndarray], bytes]):
    def write(folder: Path, names: list[str], gt: dict[str, np.ndarray]) -> None:
        for index, seq in enumerate(names):
            put(folder, f"{seq}.mat", first(gt[seq]) if index == 0 else otb_mat(gt[seq]))
    return write


def zipped(members: Callable[[list[str], dict[str, np.ndarray]], dict[str, bytes | str]],
           cut: int | None = None):
    def write(folder: Path, names: list[str], gt: dict[str, np.ndarray]) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        path = zip_of(members(names, gt), folder.with_suffix(".zip"))
        if cut is not None:
            path.write_bytes(path.read_bytes()[:cut])
    return write


def deep(depth: int) -> str:
    return json.dumps([{"res": None}]).replace("null", "[" * depth + "1" + "]" * depth)


FAULTS = [
    Fault("columns", tracker_with(lambda gt: "\n".join([*rows(gt).splitlines()[:-1], "1,2,3"])),
          "line 12: 3 values, expected 4 numbers", True),
    Fault("letters", tracker_with(lambda gt: "1,2,3,4\n1,2,abc,4\n"),
          "line 2: non-numeric value 'abc'", True),
    Fault("infinite", tracker_with(lambda gt: rows(gt).replace("\n", "\n1,2,inf,4\n", 1)),
          "line 2: infinite value", True),
    Fault("nan", tracker_with(lambda gt: rows(gt[:6]) + "nan,nan,nan,nan\n" * 6), None, False),
    Fault("negative", tracker_with(negative),
          "results of negative have a negative width or height in 2 rows of 1 sequences: "
          "synth-000-occlusion (2 rows)", False),
    Fault("empty", tracker_with(lambda gt: ""), "synth-000-occlusion: 0 of 12 frames", True),
    Fault("binary", tracker_with(lambda gt: b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
          "not a text file", True),
    Fault("longer", tracker_with(lambda gt: rows(np.vstack([gt, gt[:1]]))),
          "synth-000-occlusion: 13 rows for 12 frames", True, scored=False),
    Fault("shorter", tracker_with(lambda gt: rows(gt[:10])),
          "synth-000-occlusion: 10 of 12 frames", True),
    Fault("blank", tracker_with(with_blank_line), "line 3: empty line", True),
    Fault("utf16", tracker_with(lambda gt: rows(gt).encode("utf-16")), None, False),
    Fault("utf8bom", tracker_with(lambda gt: rows(gt).encode("utf-8-sig")), None, False),
    Fault("crlf", tracker_with(lambda gt: rows(gt).replace("\n", "\r\n")), None, False),
    Fault("nobom16", tracker_with(lambda gt: rows(gt).encode("utf-16-le")),
          "not a text file (holds NUL bytes)", True),
    Fault("duplicate", duplicate, "two result files for one sequence", True),
    Fault("jsoncut", json_tracker(lambda gt: otb_json(gt)[:40]), "not valid JSON", True),
    Fault("jsondeep", json_tracker(lambda gt: deep(100_000)), "not valid JSON (nested too deeply)",
          True),
    Fault("jsondims", json_tracker(lambda gt: deep(70)), "'res' is not a matrix of numbers", True),
    Fault("jsonhuge", json_tracker(lambda gt: otb_json(gt).replace('"startFrame": 1',
                                                                   '"startFrame": 1' + "0" * 400)),
          "'startFrame' is 1000000000", True),
    # "startFrame": 10**19 made align allocate 10**19 rows: "Maximum allowed dimension exceeded"
    Fault("jsonstart", json_tracker(lambda gt: otb_json(gt).replace('"startFrame": 1',
                                                                    '"startFrame": 1' + "0" * 19)),
          "'startFrame' is 10000000000000000000, expected an integer image number", True),
    Fault("jsonlate", json_tracker(lambda gt: otb_json(gt[:10]).replace(
        '"startFrame": 1', f'"startFrame": {2**31 - 1}')),
          "synth-000-occlusion: 10 rows starting at image 2147483647, past the 12 frames from "
          "image 1", True, scored=False),
    Fault("matcut", mat_tracker(lambda gt: otb_mat(gt)[:300]), "truncated MAT-file", True),
    Fault("matcrash", mat_tracker(lambda gt: hand_made_mat(gt, data_type=238)),
          "synth-000-occlusion.mat: ", True),
    Fault("ziptrunc", zipped(lambda names, gt: {f"{s}.txt": rows(gt[s]) for s in names}, cut=200),
          "ziptrunc.zip: skipped: not a readable zip archive", False, scored=False),
    Fault("absolute", zipped(lambda names, gt: {"/etc/passwd": "x", "a.txt": rows(gt[names[0]])}),
          "absolute.zip: skipped: member '/etc/passwd' is an absolute path; the archive is "
          "refused", False, scored=False),
    Fault("climbing", zipped(lambda names, gt: {"t/../../outside/x.txt": "1,2,3,4\n"}),
          "climbing.zip: skipped: member 't/../../outside/x.txt' climbs out of the archive (..)",
          False, scored=False),
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """A synthetic OTB set, a results folder with one entry per fault, and the report's output."""
    base = tmp_path_factory.mktemp("faults")
    root = write_benchmark(base / "data", fmt="otb", sequences=3, frames=12, seed=5)
    dataset = load_dataset("synthetic", root)
    names = list(dataset.names)
    gt = {seq: dataset[seq].groundtruth for seq in names}
    results = base / "results"
    for seq in names:
        write_ope(results / "good", seq, gt[seq])
    for fault in FAULTS:
        fault.write(results / fault.name, names, gt)
    common = ["report", "--dataset", "synthetic", "--root", str(root), "--results-dir",
              str(results), "--out", str(base / "out")]
    result = CliRunner().invoke(cli, common)
    summary = (base / "out" / "synthetic" / "summary.csv").read_text() if result.exit_code == 0 \
        else ""
    html = (base / "out" / "synthetic" / "index.html").read_text() if result.exit_code == 0 \
        else ""
    return {"result": result, "common": common, "summary": summary, "html": html}


def test_the_catalogue_report_runs_clean(catalogue):
    result = catalogue["result"]
    clean(result)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_gives_one_clear_line(catalogue, fault):
    output = clean(catalogue["result"])
    scored = [line.split(",")[0] for line in catalogue["summary"].splitlines()[1:]]
    assert (fault.name in scored) == fault.scored, catalogue["summary"]
    if fault.fragment is None:  # read as the good tracker is
        mine = [line for line in output.splitlines() if line.startswith(f"warning: {fault.name}:")]
        assert mine == [], mine
        good = next(line for line in catalogue["summary"].splitlines() if line.startswith("good,"))
        same = next(line for line in catalogue["summary"].splitlines()
                    if line.startswith(f"{fault.name},"))
        assert same.split(",")[1:4] == good.split(",")[1:4]
        return
    line = one_line(output, fault.fragment)
    assert line.startswith("warning: ")
    if fault.scored:
        assert line.startswith(f"warning: {fault.name}: ")


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.strict_fails],
                         ids=[f.name for f in FAULTS if f.strict_fails])
def test_strict_makes_the_fault_an_error(catalogue, fault):
    result = CliRunner().invoke(cli, [*catalogue["common"], "--compare", fault.name, "--strict"])
    clean(result)
    assert result.exit_code == 1, result.output
    one_line(result.output, fault.fragment)


def test_no_host_path_reaches_the_report(tmp_path):
    """A member named by an absolute host path used to make `report` read that host folder."""
    data = write_benchmark(tmp_path / "data", fmt="otb", sequences=1, frames=5, seed=2)
    dataset = load_dataset("synthetic", data)
    seq = dataset.names[0]
    host = tmp_path / "host" / "SECRETTRACKER"
    write_ope(host, seq, dataset[seq].groundtruth)
    put(host.parent, "sibling/notes.txt", "private")
    results = tmp_path / "results"
    write_ope(results / "good", seq, dataset[seq].groundtruth)
    # before: the absolute member made `ok` resolve to /ok, and report walked the host's "/"
    zip_of({f"{host}/{seq}.txt": "1,2,3,4\n", f"ok/{seq}.txt": "1,2,3,4\n"}, results / "evil.zip")
    result = CliRunner().invoke(cli, ["report", "--dataset", "synthetic", "--root", str(data),
                                      "--results-dir", str(results), "--out", str(tmp_path / "o")])
    clean(result)
    assert result.exit_code == 0, result.output
    assert "holds the results of" not in result.output and "not scored" not in result.output
    assert "SECRETTRACKER" not in (tmp_path / "o/synthetic/summary.csv").read_text()
    assert "sibling" not in result.output
    for line in result.output.splitlines():
        if line.startswith("warning: /"):
            assert line.startswith(f"warning: {results}/"), line
    one_line(result.output, "evil.zip: skipped: member ")
    with pytest.raises(DataFormatError, match="is an absolute path; the archive is refused"):
        read_tracker(results / "evil.zip")


# -- zip member names and zip bombs ----------------------------------------------------------------

@pytest.mark.parametrize("name, problem", [
    ("/abs/Car.txt", "is an absolute path"),
    ("../Car.txt", "climbs out of the archive"),
    ("T/../../Car.txt", "climbs out of the archive"),
    ("C:/T/Car.txt", "starts with a drive letter"),
    ("C:Car.txt", "starts with a drive letter"),
    ("T\\..\\Car.txt", "holds a backslash"),
    ("T//Car.txt", "empty or '.' path component"),
    ("./T/Car.txt", "empty or '.' path component"),
    ("T/Car\x1b.txt", "holds a control character"),
])
def test_unsafe_member_names_refuse_the_archive(tmp_path, name, problem):
    archive = zip_of({name: "1,2,3,4\n", "T/Bolt.txt": "1,2,3,4\n"}, tmp_path / "r.zip")
    with pytest.raises(DataFormatError) as info:
        read_tracker(archive)
    assert problem in str(info.value) and "r.zip" in str(info.value)
    assert "\n" not in str(info.value)
    rejected: list[tuple[Path, str]] = []
    assert find_trackers(tmp_path, rejected) == {}
    assert rejected[0][0] == archive and problem in rejected[0][1]


def test_safe_member_names_read(tmp_path):
    archive = zip_of({"T/": b"", "T/Car.txt": "1,2,3,4\n", "__MACOSX/T/._Car.txt": b"\0"},
                     tmp_path / "r.zip")
    assert list(read_tracker(archive).sequences) == ["Car"]


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(tree, "MAX_FILE_BYTES", 2**20)
    monkeypatch.setattr(tree, "RATIO_FLOOR_BYTES", 2**16)
    monkeypatch.setattr(tree, "MAX_RATIO", 50)
    monkeypatch.setattr(tree, "MAX_ARCHIVE_BYTES", 3 * 2**20)


def test_zip_bomb_member_is_refused_before_inflating(tmp_path, small_limits):
    bomb = ("1,2,3,4\n" * (2**21 // 8)).encode()  # 2 MiB, compresses ~500x
    archive = zip_of({"T/Car.txt": bomb, "T/Bolt.txt": "1,2,3,4\n"}, tmp_path / "r.zip")
    results = read_tracker(archive)
    assert list(results.sequences) == ["Bolt"]
    message = results.unreadable["Car"]
    assert "r.zip/T/Car.txt: would inflate to 2.0 MiB" in message and "zip bomb" in message
    with pytest.raises(DataFormatError, match="would inflate to 2.0 MiB"):
        read_tracker(archive, strict=True)


def test_zip_compression_ratio_is_bounded(tmp_path, small_limits):
    ratio = ("0,0,0,0\n" * (2**19 // 8)).encode()  # 512 KiB: under the size limit, > 50x
    archive = zip_of({"T/Car.txt": ratio}, tmp_path / "r.zip")
    message = read_tracker(archive).unreadable["Car"]
    assert "r.zip/T/Car.txt: would inflate" in message and "(more than 50x)" in message


def test_zip_total_inflated_size_is_bounded(tmp_path, small_limits):
    text = bytes(np.random.default_rng(0).integers(48, 58, 900_000, dtype=np.uint8))
    lines = b"\n".join(b"1,2,3," + text[i:i + 80] for i in range(0, len(text), 80)) + b"\n"
    members = {f"T/S{i}.txt": lines for i in range(6)}  # ~1 MiB each, 6 MiB in all
    archive = zip_of(members, tmp_path / "r.zip")
    with pytest.raises(SiambenchError, match=r"r\.zip: reading member 'T/S\d\.txt' would inflate "
                                             r"the archive past 3\.0 MiB in all"):
        read_tracker(archive)


def test_a_member_that_inflates_past_its_header_is_refused(tmp_path):
    archive = tmp_path / "r.zip"
    zip_of({"T/Car.txt": "1,2,3,4\n" * 100}, archive)
    data = bytearray(archive.read_bytes())
    # shrink the stated size in the central directory (the local header is not consulted)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 16)
    archive.write_bytes(bytes(data))
    message = read_tracker(archive).unreadable["Car"]
    assert "Car.txt: " in message and "\n" not in message


def test_folder_files_larger_than_any_result_are_refused(tmp_path, small_limits):
    put(tmp_path / "T", "Car.txt", "1,2,3,4\n" * (2**21 // 8))
    assert "larger than any result file" in read_tracker(tmp_path / "T").unreadable["Car"]


# -- the sandboxed .mat reader -----------------------------------------------------------------

BOXES = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.5, 7.0, 8.0], [9.0, 10.0, 11.0, 12.25]])


def test_hand_made_mat_reads():
    run, notes = parse_otb_mat(hand_made_mat(BOXES), Path("Car.mat"))
    assert run.boxes.tolist() == BOXES.tolist() and notes == [] and run.start_frame is None


def test_a_mat_that_crashed_scipy_is_one_clear_error(tmp_path):
    """This file segfaulted the whole process inside scipy's reader; now only it is refused."""
    with pytest.raises(DataFormatError) as info:
        parse_otb_mat(hand_made_mat(BOXES, data_type=238), tmp_path / "Car.mat")
    assert str(info.value).startswith(f"{tmp_path / 'Car.mat'}: ") and "\n" not in str(info.value)
    # the reader works on for the next file, and a tracker with the bad file keeps the rest
    put(tmp_path / "T", "Car.mat", hand_made_mat(BOXES, data_type=238))
    put(tmp_path / "T", "Bolt.mat", otb_mat(BOXES))
    results = read_tracker(tmp_path / "T")
    assert results.sequences["Bolt"][0].boxes.tolist() == BOXES.tolist()
    assert list(results.unreadable) == ["Car"]


@pytest.mark.parametrize("cut, problem", [
    (0, "empty file"), (60, "shorter than the 128-byte header"),
    (300, "truncated MAT-file: the variable at byte 128 needs"),
])
def test_truncated_mat(cut, problem):
    with pytest.raises(DataFormatError, match=problem):
        parse_otb_mat(otb_mat(BOXES)[:cut], Path("Car.mat"))


@pytest.mark.parametrize("data, problem", [
    (b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(600, b"\0"), r"v7\.3 \(HDF5\)"),
    (b"<html>not found</html>".ljust(200, b" "), "not a MATLAB .mat file"),
])
def test_mat_that_is_no_mat(data, problem):
    with pytest.raises(DataFormatError, match=problem):
        parse_otb_mat(data, Path("Car.mat"))


@pytest.fixture
def fresh_workers(monkeypatch):
    """Workers started by the test only (closed after it); the session's worker is kept."""
    workers: dict = {}
    monkeypatch.setattr(matfile, "_WORKERS", workers)
    yield
    for worker in workers.values():
        worker.close()


@pytest.fixture
def stub_worker(fresh_workers, monkeypatch):
    """Replace the worker by a stand-in script."""
    def use(script: str) -> None:
        monkeypatch.setattr(matfile, "_command", lambda: [sys.executable, "-c", script])
    return use


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="memory limit needs Linux")
def test_a_mat_that_inflates_past_the_memory_limit_is_refused(fresh_workers, monkeypatch):
    """A 160 kB .mat whose compressed variable inflates to a 160 MB matrix."""
    monkeypatch.setattr(matfile, "MAT_MEMORY_BYTES", 64 * 2**20)
    rows_ = 5_000_000
    head = (struct.pack("<II", 6, 8) + struct.pack("<II", 6, 0) + struct.pack("<II", 5, 8)
            + struct.pack("<ii", rows_, 4) + struct.pack("<II", 1, 6) + b"result\0\0"
            + struct.pack("<II", 9, rows_ * 32))
    deflate = zlib.compressobj(1)
    stream = deflate.compress(struct.pack("<II", 14, len(head) + rows_ * 32) + head)
    stream += b"".join(deflate.compress(bytes(2**22)) for _ in range(rows_ * 32 // 2**22))
    stream += deflate.compress(bytes(rows_ * 32 % 2**22)) + deflate.flush()
    header = b"MATLAB 5.0 MAT-file, bomb".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"
    with pytest.raises(DataFormatError, match=r"bomb\.mat: needs more than 64 MiB of memory"):
        parse_otb_mat(header + struct.pack("<II", 15, len(stream)) + stream, Path("bomb.mat"))


READY = "import sys, time; sys.stdout.buffer.write(b'siambench-mat-worker 1\\n'); " \
        "sys.stdout.flush(); "


def test_a_hung_worker_is_stopped(stub_worker, monkeypatch):
    monkeypatch.setattr(matfile, "MAT_TIMEOUT_S", 0.5)
    stub_worker(READY + "time.sleep(60)")
    with pytest.raises(DataFormatError, match=r"Car\.mat: reading took longer than 0\.5 s"):
        parse_otb_mat(hand_made_mat(BOXES), Path("Car.mat"))


def test_a_babbling_worker_is_an_error_for_the_file(stub_worker):
    stub_worker(READY + "sys.stdin.buffer.readline(); print('hello'); sys.stdout.flush(); "
                "time.sleep(60)")
    with pytest.raises(DataFormatError, match=r"Car\.mat: the MATLAB reader gave a malformed "
                                              r"answer"):
        parse_otb_mat(hand_made_mat(BOXES), Path("Car.mat"))


def test_a_worker_that_cannot_start_is_one_clear_error(stub_worker):
    stub_worker("import sys; sys.exit('ModuleNotFoundError: no scipy here')")
    with pytest.raises(SiambenchError, match="cannot start the .mat reader process: "
                                             "ModuleNotFoundError: no scipy here"):
        parse_otb_mat(hand_made_mat(BOXES), Path("Car.mat"))


# -- fault policy: read_tracker + align ----------------------------------------------------------

def test_an_unreadable_sequence_counts_like_a_missing_one(tmp_path):
    put(tmp_path / "T", "Car.txt", "1,2,3,4\n1,2,3\n")
    put(tmp_path / "T", "Bolt.txt", "1,2,3,4\n1,2,3,4\n")
    put(tmp_path / "T", "Bolt_time.txt", "0.1\nfast\n")
    results = read_tracker(tmp_path / "T")
    assert list(results.sequences) == ["Bolt"] and results.sequences["Bolt"][0].times is None
    assert any("Bolt_time.txt, line 2: non-numeric value 'fast'" in w and "times unknown" in w
               for w in results.warnings)
    aligned, warnings = align(results, toy({"car": 2, "Bolt": 2, "Deer": 2}))
    assert list(aligned.sequences) == ["Bolt"]
    assert list(aligned.unreadable) == ["car"]
    line = one_line("\n".join(warnings), "unreadable results for 1 sequences")
    assert "left out like missing ones" in line and "Car.txt, line 2: 3 values" in line
    assert "no results for 1 of 3 sequences of toy: Deer" in warnings
    with pytest.raises(DataFormatError, match="unreadable results of T .strict mode.*Car.txt"):
        align(results, toy({"car": 2, "Bolt": 2}), strict=True)
    with pytest.raises(DataFormatError, match="Bolt_time.txt, line 2"):
        read_tracker(tmp_path / "T", strict=True)


def test_vot_run_with_one_bad_repetition_leaves_the_sequence_out(tmp_path):
    put(tmp_path / "T", "baseline/car/car_001.txt", "1\n1,2,3,4\n")
    put(tmp_path / "T", "baseline/car/car_002.txt", "1\n7\n")
    put(tmp_path / "T", "baseline/bag/bag_001.txt", "1\n1,2,-3,4\n")
    results = read_tracker(tmp_path / "T")
    assert list(results.sequences) == ["bag"]
    assert "car_002.txt, line 2: status code '7'" in results.unreadable["car"]
    one_line("\n".join(results.warnings), "results of T have a negative width or height in 1 "
                                          "rows of 1 sequences: bag (1 row)")


def test_a_run_starting_after_the_sequence_is_too_long_without_allocating_it():
    results = TrackerResults("T", "otb-json", "/r/T", sequences={
        "Car": [Run(boxes=BOXES, start_frame=10**15)], "Bolt": [Run(boxes=BOXES, start_frame=2)]})
    with pytest.raises(DataFormatError, match=r"Car: 3 rows starting at image 1000000000000000, "
                                              r"past the 4 frames from image 1"):
        align(results, toy({"Car": 4, "Bolt": 3}))
    aligned, _ = align(TrackerResults("T", "otb-json", "/r/T", sequences={
        "Bolt": [Run(boxes=BOXES[:2], start_frame=2)]}), toy({"Bolt": 3}))
    assert np.isnan(aligned.sequences["Bolt"][0].boxes[0]).all()


def test_negative_sizes_are_read_with_a_warning_naming_tracker_sequence_and_rows(tmp_path):
    put(tmp_path / "siamx", "Car.txt", "1,2,-3,4\n1,2,3,-4\n1,2,3,4\nnan,nan,nan,nan\n")
    put(tmp_path / "siamx", "Bolt.txt", "1,2,3,4\n")
    results = read_tracker(tmp_path / "siamx")
    assert results.sequences["Car"][0].boxes[0, 2] == -3.0
    assert results.warnings == ["results of siamx have a negative width or height in 2 rows of 1 "
                                "sequences: Car (2 rows); scored as written"]


# -- symbolic links and rejected entries -----------------------------------------------------------

@needs_symlinks
def test_symlinked_tracker_folders_are_followed_and_every_rejected_entry_listed(tmp_path):
    elsewhere = tmp_path / "published"
    put(elsewhere / "SiamFC", "Car.txt", "1,2,3,4\n")
    put(elsewhere / "VOTzip", "x.txt", "")
    zip_of({"SiamRPN/Car.txt": "1,2,3,4\n"}, elsewhere / "both.zip")
    results = tmp_path / "results"
    put(results / "mine", "Car.txt", "1,2,3,4\n")
    (results / "siamfc").symlink_to(elsewhere / "SiamFC")
    (results / "siamfc-again").symlink_to(elsewhere / "SiamFC")
    (results / "zipped.zip").symlink_to(elsewhere / "both.zip")
    (results / "gone").symlink_to(tmp_path / "nowhere")
    (results / "loop").symlink_to(results)
    (results / "self").symlink_to("self")
    (results / "empty").mkdir()
    (results / "empty" / "inner").mkdir()
    put(results, "notes.md", "hello")
    put(results, "scores/ALL.json", "[]")
    put(results, ".hidden/Car.txt", "1,2,3,4\n")
    rejected: list[tuple[Path, str]] = []
    found = find_trackers(results, rejected)
    assert found == {"mine": results / "mine", "siamfc": results / "siamfc",
                     "SiamRPN": results / "zipped.zip/SiamRPN"}
    reasons = {entry.name: reason for entry, reason in rejected}
    assert reasons.pop("gone").startswith("broken symlink")
    assert reasons.pop("loop").startswith("symlink loop")
    assert reasons.pop("self") == "symlink loop"
    assert reasons.pop("siamfc-again").startswith("same folder as siamfc")
    assert reasons == {"empty": "empty folder", "notes.md": "a file, not a tracker folder or zip "
                       "archive", "scores": "no result files recognised"}
    assert read_tracker(found["siamfc"]).sequences["Car"][0].boxes.tolist() == [[1, 2, 3, 4]]


@needs_symlinks
def test_a_folder_of_only_broken_links_explains_itself(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "siamfc").symlink_to(tmp_path / "nowhere")
    (results / "group").mkdir()
    (results / "group" / "siamrpn").symlink_to(tmp_path / "nowhere2")
    rejected: list[tuple[Path, str]] = []
    assert find_trackers(results, rejected) == {}
    reasons = {entry.name: reason for entry, reason in rejected}
    assert reasons["siamfc"].startswith("broken symlink")
    assert reasons["group"].startswith("no result files recognised; inside: siamrpn: broken "
                                       "symlink")
    data = write_benchmark(tmp_path / "data", fmt="otb", sequences=1, frames=5, seed=2)
    result = CliRunner().invoke(cli, ["report", "--dataset", "synthetic", "--root", str(data),
                                      "--results-dir", str(results), "--out", str(tmp_path / "o")])
    clean(result)
    assert result.exit_code == 1 and "no tracker results found" in result.output
    one_line(result.output, "siamfc: skipped: broken symlink")


def test_find_trackers_keeps_its_old_call_and_names_a_file_given_as_folder(tmp_path):
    put(tmp_path / "r", "A/Car.txt", "1,2,3,4\n")
    assert find_trackers(tmp_path / "r") == {"A": tmp_path / "r/A"}
    with pytest.raises(SiambenchError, match="is a file, not a results folder"):
        find_trackers(put(tmp_path, "x.csv", "a"))


# -- bounded fuzzing of every reader and parser ----------------------------------------------------

cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["nan", "NaN", "-inf", "1e999", "", " ", "abc", "1_0", "0x1",
                                   "m1", "1.0", "2", "0", "\x00", "\ufeff", "−1"]),
                  st.text(max_size=4))
separators = st.sampled_from([",", ", ", "\t", " ", ";", ",,", "\r", "\x0c"])
lines = st.lists(cells, min_size=0, max_size=9).flatmap(
    lambda row: separators.map(lambda sep: sep.join(row)))
line_ends = st.sampled_from(["\n", "\r\n", "\r"])
texts = st.tuples(st.lists(lines, max_size=12), line_ends).map(lambda t: t[1].join(t[0]))
encoded = st.tuples(texts, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32",
                                            "latin-1"])).map(
    lambda t: t[0].encode(t[1], errors="replace"))
result_bytes = st.one_of(encoded, st.binary(max_size=200))


def outcome(parse: Callable[[], object]) -> None:
    """Any input gives a result or a one-line SiambenchError, never another exception."""
    try:
        parse()
    except SiambenchError as error:
        assert str(error) and "Traceback" not in str(error)


@FUZZ
@given(result_bytes)
def test_fuzz_text_result_parsers(data):
    where = Path("fuzz.txt")
    outcome(lambda: parse_boxes(data, where))
    outcome(lambda: parse_times(data, where))
    outcome(lambda: parse_vot_run(data, where))
    outcome(lambda: decode_text(data, where))


@FUZZ
@given(st.lists(lines, max_size=8), st.sampled_from([(4,), (4, 8), (1,)]))
def test_fuzz_parse_number_rows(rows_, widths):
    outcome(lambda: parse_number_rows(rows_, Path("gt.txt"), widths))


@FUZZ
@given(result_bytes, st.sampled_from([None, 3]), st.sampled_from([1, 8, None]))
def test_fuzz_textio_file_readers(tmp_path, data, length, maximum):
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    outcome(lambda: read_number_rows(path, (4, 8)))
    outcome(lambda: read_flags(path, length, maximum=maximum))
    outcome(lambda: read_key_values(path, "=", example="name=value"))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
              st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.sampled_from(["res", "resType", "startFrame",
                                                             "fps", "evalType", "x"]), inner,
                                            max_size=5)),
    max_leaves=30)


@FUZZ
@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()),
                 st.builds(lambda res, start, fps: json.dumps(
                     [{"res": res, "startFrame": start, "fps": fps}]).encode(),
                     json_values, json_values, json_values),
                 st.binary(max_size=100)))
def test_fuzz_otb_json(data):
    outcome(lambda: parse_otb_json(data, Path("Car.json")))


MAT_SEEDS = [otb_mat(BOXES), hand_made_mat(BOXES)]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MAT_SEEDS),
       st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=4),
       st.one_of(st.none(), st.integers(0, 2000)))
def test_fuzz_otb_mat(seed, flips, cut):
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        del data[cut:]
    outcome(lambda: parse_otb_mat(bytes(data), Path("Car.mat")))


ZIP_SEED = io.BytesIO()
with zipfile.ZipFile(ZIP_SEED, "w", zipfile.ZIP_DEFLATED) as _archive:
    _archive.writestr("VOT/A/baseline/car/car_001.txt", "1\n1,2,3,4\n2\n0\n")
    _archive.writestr("VOT/B/Car.txt", "1,2,3,4\n5,6,7,8\n")
    _archive.writestr("VOT/B/Car_time.txt", "0.1\n0.2\n")
ZIP_SEED = ZIP_SEED.getvalue()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(ZIP_SEED) - 1), st.integers(0, 255)), max_size=4),
       st.one_of(st.none(), st.integers(0, len(ZIP_SEED))))
def test_fuzz_read_tracker_on_a_zip(tmp_path, flips, cut):
    data = bytearray(ZIP_SEED)
    for position, value in flips:
        data[position] = value
    if cut is not None:
        del data[cut:]
    folder = tmp_path / "results"
    folder.mkdir(exist_ok=True)
    archive = folder / "r.zip"
    archive.write_bytes(bytes(data))
    outcome(lambda: read_tracker(archive, "A"))
    outcome(lambda: read_tracker(archive / "VOT/B"))
    rejected: list[tuple[Path, str]] = []
    outcome(lambda: [read_tracker(p) for p in find_trackers(folder, rejected).values()])
