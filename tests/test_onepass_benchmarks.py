"""NfS, TC128 / TC128-ce, DTB70, UAVDT and the LaSOT extension: shipped tables, small layouts
built in tmp_path, the NfS annotation parser and 240 -> 30 fps mapping, ``data check`` messages,
and a ``run`` + ``report`` round trip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets import get_spec, load_dataset, nfs, tc128, uavdt
from siambench.datasets.dtb70 import manifest as dtb70_manifest
from siambench.datasets.lasot import manifest as lasot_manifest
from siambench.errors import DataFormatError, DatasetNotFoundError, SiambenchError


def _frames(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((4, 6, 3), 10 * index, np.uint8))


def _rows(gt: np.ndarray) -> str:
    return "".join(",".join(f"{v:g}" for v in row) + "\n" for row in gt)


def _check(root: Path, name: str, *extra: str):
    return CliRunner().invoke(cli, ["data", "check", name, "--root", str(root), *extra])


# -- aliases, specs, tables ---------------------------------------------------------------------
@pytest.mark.parametrize("alias, name", [
    ("nfs", "nfs30"), ("NfS-30", "nfs30"), ("nfs-240", "nfs240"), ("tcolor128", "tc128"),
    ("Temple-Color-128", "tc128"), ("TC128-ce", "tc128-ce"), ("DTB70", "dtb70"),
    ("uavdt", "uavdt"), ("lasot-extension", "lasot-ext"), ("lasotext", "lasot-ext")])
def test_aliases_resolve(alias, name):
    assert get_spec(alias).name == name


def test_specs_origin_and_protocol():
    assert [get_spec(n).origin for n in ("nfs30", "nfs240")] == [0, 0]  # VATIC: 0-based
    assert [get_spec(n).origin for n in ("tc128", "tc128-ce", "dtb70", "uavdt", "lasot-ext")] \
        == [1, 1, 1, 1, 1]
    assert {get_spec(n).protocol for n in ("nfs30", "tc128", "dtb70", "uavdt")} == {"ope"}
    assert get_spec("lasot-ext").protocol == "lasot"


def test_shipped_tables():
    table = nfs.manifest()
    assert len(table) == 100 and len({e.name for e in table}) == 100
    first = table[0]
    assert (first.name, first.frames_30fps, first.object_class) == ("Gymnastics", 368, "person")
    assert next(e for e in table if e.name == "suv").frames_30fps == 2584
    assert sum(e.occlusion for e in table) == 20  # pytracking: 20 True
    everything, ce = tc128.manifest("tc128"), tc128.manifest("tc128-ce")
    assert len(everything) == 129 and len(ce) == 78 and all("_ce" in e.name for e in ce)
    assert sum(e.otb for e in everything) == 44
    david = next(e for e in everything if e.name == "David")
    assert (david.start, david.end, david.ce) == (300, 770, False)
    assert next(e for e in everything if e.name == "Yo-yos_ce1").folders == (
        "Yo-yos_ce1", "Yo_yos_ce1", "tpl_Yo-yos_ce1", "tpl_Yo_yos_ce1")
    dtb = dtb70_manifest()
    assert len(dtb) == 70 and dtb[0].name == "Animal1" and dtb[-1].frames == 177
    sot = uavdt.manifest()
    assert len(sot) == 50 and sot[0].name == "S0101" and sot[0].frames == 1784
    ext = lasot_manifest("extension")
    assert len(ext) == 150 and len({e.category for e in ext}) == 15
    assert all(sum(e.category == c for e in ext) == 10 for c in {e.category for e in ext})
    assert not {e.name for e in ext} & {e.name for e in lasot_manifest("test")}


# -- NfS: the parser ----------------------------------------------------------------------------
def test_nfs_parser_reads_vatic_rows():
    lines = ['0 10 20 40 60 1 0 0 0 "person"',
             '0 11 21 41.5 61 2 1 0 1 "person"',
             '',
             '0 12 22 42 62 3 0 1 0 "tall person" extra_attribute']
    annotation = nfs.parse_annotation(lines, Path("a.txt"))
    np.testing.assert_array_equal(annotation.boxes, [[10, 20, 30, 40], [11, 21, 30.5, 40],
                                                     [12, 22, 30, 40]])
    assert annotation.frames.tolist() == [1, 2, 3]
    assert annotation.lost.tolist() == [False, True, False]
    assert annotation.occluded.tolist() == [False, False, True]
    assert annotation.generated.tolist() == [False, True, False]
    assert annotation.label == "person / tall person"


@pytest.mark.parametrize("line, problem", [
    ('0 1 2 3 4 1 0 0 "x"', r"a.txt, line 1: 8 values before the label"),
    ('0 1 2 x 4 1 0 0 0 "x"', r"line 1: non-numeric value"),
    ('0 1 2 3 4 1 2 0 0 "x"', r"line 1: lost/occluded/generated"),
])
def test_nfs_parser_errors_name_file_and_line(line, problem):
    with pytest.raises(DataFormatError, match=problem):
        nfs.parse_annotation([line], Path("a.txt"))
    with pytest.raises(DataFormatError, match="line 2: track 1 after track 0"):
        nfs.parse_annotation(['0 1 2 3 4 1 0 0 0 "x"', '1 1 2 3 4 2 0 0 0 "x"'], Path("a.txt"))


_ROW = st.tuples(st.integers(0, 2000), st.integers(0, 2000), st.integers(1, 300),
                 st.integers(1, 300), st.booleans(), st.booleans(), st.booleans())


@given(st.lists(_ROW, min_size=1, max_size=30), st.integers(0, 1), st.sampled_from([" ", "\t"]),
       st.sampled_from(['"person"', '"a b"', "car", ""]))
def test_nfs_parser_round_trip(rows, first, separator, label):
    lines = [separator.join(str(v) for v in (3, x, y, x + w, y + h, first + i, int(lost),
                                             int(occ), int(gen))) + (f" {label}" if label else "")
             for i, (x, y, w, h, lost, occ, gen) in enumerate(rows)]
    annotation = nfs.parse_annotation(lines, Path("a.txt"))
    np.testing.assert_array_equal(annotation.boxes, [[x, y, w, h] for x, y, w, h, *_ in rows])
    assert annotation.frames.tolist() == [first + i for i in range(len(rows))]
    assert annotation.lost.tolist() == [r[4] for r in rows]
    assert annotation.occluded.tolist() == [r[5] for r in rows]
    assert annotation.generated.tolist() == [r[6] for r in rows]
    assert len(nfs.to_30fps(annotation)) == (len(rows) + 7) // 8


def test_nfs_240_to_30_mapping_by_hand():
    # 20 annotated 240 fps frames numbered from 0: the 30 fps frames are positions 0, 8, 16,
    # i.e. 240 fps frames 1, 9, 17 (1-based) -> rows with x = 100, 108, 116
    lines = [f'0 {100 + i} 5 {110 + i} 25 {i} {int(i == 8)} 0 0 "ball"' for i in range(20)]
    low = nfs.to_30fps(nfs.dense(nfs.parse_annotation(lines, Path("a.txt")), Path("a.txt")))
    np.testing.assert_array_equal(low.boxes, [[100, 5, 10, 20], [108, 5, 10, 20],
                                              [116, 5, 10, 20]])
    assert low.frames.tolist() == [0, 8, 16] and low.lost.tolist() == [False, True, False]


def test_nfs_dense_fills_gaps_and_rejects_disorder():
    lines = ['0 1 1 2 2 5 0 0 0 "x"', '0 3 3 4 4 7 0 1 0 "x"']
    full = nfs.dense(nfs.parse_annotation(lines, Path("a.txt")), Path("a.txt"))
    assert full.frames.tolist() == [5, 6, 7] and np.isnan(full.boxes[1]).all()
    assert full.lost.tolist() == [False, True, False]
    assert full.occluded.tolist() == [False, False, True]
    with pytest.raises(DataFormatError, match="line 2: frame 5 after frame 5"):
        nfs.dense(nfs.parse_annotation(['0 1 1 2 2 5 0 0 0 "x"'] * 2, Path("a.txt")),
                  Path("a.txt"))


# -- NfS: layouts -------------------------------------------------------------------------------
def _nfs_sequence(root: Path, name: str, fps: int, rows: int, images: int | None,
                  first: int = 1) -> None:
    folder = root / name / str(fps)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text("".join(
        f'1 {10 + i} {20 + i} {40 + i} {60 + i} {first + i} {int(i % 8 == 0 and i > 0)} '
        f'{int(i % 16 == 0)} 0 "obj"\n' for i in range(rows)))
    if images is not None:
        _frames(folder / name, [f"{k:05d}.jpg" for k in range(1, images + 1)])


def test_nfs30_reads_the_240fps_annotation_of_the_30fps_folder(tmp_path):
    _nfs_sequence(tmp_path, "bee", 30, rows=17, images=3)   # positions 0, 8, 16
    _nfs_sequence(tmp_path, "cup", 30, rows=24, images=2, first=0)  # 3 rows mapped, 2 frames
    dataset = load_dataset("nfs", tmp_path)
    assert dataset.name == "nfs30" and dataset.names == ["bee", "cup"]
    assert len(dataset.meta["missing"]) == 98 and "Gymnastics" in dataset.meta["missing"]
    bee = dataset["bee"]
    np.testing.assert_array_equal(bee.groundtruth, [[10, 20, 30, 40], [18, 28, 30, 40],
                                                    [26, 36, 30, 40]])
    assert bee.absent.tolist() == [False, True, True]
    assert bee.tags["occluded"].tolist() == [True, False, True]
    assert [p.name for p in bee.frame_paths] == ["00001.jpg", "00002.jpg", "00003.jpg"]
    assert bee.frame_paths[0] == tmp_path / "bee/30/bee/00001.jpg"
    assert bee.problems(decode="all") == [] and "every 8th row" in bee.notes[0]
    assert bee.meta["object_class"] == "insect"
    cup = dataset["cup"]  # one row more than frames: both cut to 2, as got10k does
    assert len(cup) == 2 and len(cup.groundtruth) == 2 and cup.problems() == []
    assert any("both cut to 2" in note for note in cup.notes)


def test_nfs240_and_annotation_only(tmp_path):
    _nfs_sequence(tmp_path, "bee", 240, rows=5, images=5)
    _nfs_sequence(tmp_path, "bee", 30, rows=17, images=None)  # no 30 fps frames: scoring only
    seq240 = load_dataset("nfs-240", tmp_path)["bee"]
    assert len(seq240) == 5 and seq240.groundtruth[4].tolist() == [14, 24, 30, 40]
    assert seq240.problems(decode="first") == [] and seq240.notes == ()
    # bee has 45 frames at 30 fps in the table: 17 rows < 4 x 45, so they are 30 fps rows
    seq30 = load_dataset("nfs30", tmp_path)["bee"]
    assert not seq30.has_frames and len(seq30) == 17 and seq30.problems() == []
    with pytest.raises(SiambenchError, match="annotations but no images"):
        seq30.frame(0)


def test_nfs_data_check_messages(tmp_path):
    _nfs_sequence(tmp_path, "bee", 30, rows=17, images=3)
    (tmp_path / "book" / "30").mkdir(parents=True)             # annotation file missing
    _nfs_sequence(tmp_path, "cup", 30, rows=8 * 5, images=5)
    for frame in ("00002.jpg", "00004.jpg"):
        (tmp_path / "cup/30/cup" / frame).unlink()             # frames missing
    result = _check(tmp_path, "nfs30")
    assert result.exit_code == 0, result.output
    assert "1 of 100 sequences usable" in result.output
    assert "missing (97):" in result.output
    assert f"{tmp_path / 'book/30/book.txt'}: annotation file not found" in result.output
    assert "expected <root>/book/30/book.txt" in result.output
    assert "cup: 5 ground-truth rows for 3 frames (missing from the frame numbering: " \
           "00002.jpg, 00004.jpg)" in result.output
    result = _check(tmp_path / "nowhere", "nfs")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "<root>/<seq>/30/<seq>/00001.jpg" in result.output


# -- TC128 / TC128-ce ---------------------------------------------------------------------------
def _tc_sequence(root: Path, folder: str, name: str, start: int, end: int, *,
                 images: bool = True, att: str | None = None, frames_file: bool = True) -> None:
    path = root / folder
    path.mkdir(parents=True)
    gt = np.array([[5 + i, 6, 7, 8] for i in range(end - start + 1)], dtype=float)
    (path / f"{name}_gt.txt").write_text(_rows(gt))
    if frames_file:
        (path / f"{name}_frames.txt").write_text(f"{start},{end}\n")
    if att is not None:
        (path / f"{name}_att.txt").write_text(att)
    if images:
        _frames(path / "img", [f"{k:04d}.jpg" for k in range(start, end + 1)])


def test_tc128_official_and_pytracking_folders(tmp_path):
    _tc_sequence(tmp_path, "David", "David", 300, 302, att="IV\nSV\nOCC\n")
    _tc_sequence(tmp_path, "tpl_Yo_yos_ce1", "Yo-yos_ce1", 1, 3, att="VI,MB")
    _tc_sequence(tmp_path, "Airport_ce", "Airport_ce", 1, 2, images=False, frames_file=False)
    dataset = load_dataset("tcolor128", tmp_path)
    assert dataset.names == ["Yo-yos_ce1", "David", "Airport_ce"]
    assert len(dataset.meta["missing"]) == 126
    david = dataset["David"]
    assert david.frame_paths[0] == tmp_path / "David/img/0300.jpg" and len(david) == 3
    assert david.attributes == ("IV", "SV", "OCC") and david.problems(decode="all") == []
    np.testing.assert_array_equal(david.groundtruth[2], [7, 6, 7, 8])
    yoyo = dataset["yo_yos_ce1"]
    assert yoyo.attributes == ("IV", "MB") and yoyo.source == tmp_path / "tpl_Yo_yos_ce1"
    airport = dataset["Airport_ce"]  # the table's range 1-148 when _frames.txt is absent
    assert not airport.has_frames and "148" in airport.problems()[0]
    assert airport.notes == (f"Airport_ce_frames.txt missing in {tmp_path / 'Airport_ce'}; the "
                             "shipped range 1-148 is used",)
    ce = load_dataset("tc128-ce", tmp_path)
    assert ce.names == ["Yo-yos_ce1", "Airport_ce"] and len(ce.meta["missing"]) == 76


def test_tc128_data_check_messages(tmp_path):
    _tc_sequence(tmp_path, "David", "David", 300, 303)
    (tmp_path / "David/img/0301.jpg").unlink()
    _tc_sequence(tmp_path, "Bolt", "Bolt", 1, 2)
    (tmp_path / "Bolt/Bolt_gt.txt").unlink()
    _tc_sequence(tmp_path, "Coke", "Coke", 1, 2, att="XYZ\n")
    result = _check(tmp_path, "tc128", "--decode", "none")
    assert result.exit_code == 0, result.output
    assert "1 of 129 sequences usable" in result.output
    assert f"David: 1 of 4 frames missing, the first is {tmp_path / 'David/img/0301.jpg'}" \
        in result.output
    assert f"{tmp_path / 'Bolt/Bolt_gt.txt'}: annotation file not found" in result.output
    assert "note: Coke: attributes not read:" in result.output and "unknown attribute 'XYZ'" \
        in result.output


# -- DTB70 --------------------------------------------------------------------------------------
def _dtb_sequence(root: Path, name: str, rows: int, images: int | None) -> np.ndarray:
    folder = root / name
    folder.mkdir(parents=True)
    gt = np.array([[1 + i, 2.5, 30, 40] for i in range(rows)], dtype=float)
    (folder / "groundtruth_rect.txt").write_text(_rows(gt))
    if images is not None:
        _frames(folder / "img", [f"{k:05d}.jpg" for k in range(1, images + 1)])
    return gt


def test_dtb70_layout_and_messages(tmp_path):
    gt = _dtb_sequence(tmp_path, "Animal1", 4, 4)
    _dtb_sequence(tmp_path, "Zebra", 3, None)                   # annotation-only
    _dtb_sequence(tmp_path, "Car2", 3, 2)                       # one frame short
    (tmp_path / "Gull1").mkdir()                                # no annotation file
    dataset = load_dataset("dtb70", tmp_path)
    assert dataset.names == ["Animal1", "Car2", "Gull1", "Zebra"]
    assert len(dataset.meta["missing"]) == 66
    animal = dataset["Animal1"]
    np.testing.assert_array_equal(animal.groundtruth, gt)       # 1-based, as written
    assert animal.frame_paths[-1] == tmp_path / "Animal1/img/00004.jpg"
    assert not dataset["Zebra"].has_frames and dataset["Zebra"].problems() == []
    result = _check(tmp_path, "dtb70")
    assert result.exit_code == 0, result.output
    assert "2 of 70 sequences usable" in result.output and "1 with annotations only" \
        in result.output
    assert "Car2: 3 ground-truth rows for 2 frames" in result.output
    assert f"{tmp_path / 'Gull1/groundtruth_rect.txt'}: annotation file not found" in result.output


# -- UAVDT --------------------------------------------------------------------------------------
def _uavdt(root: Path, images: bool = True) -> None:
    anno = root / "UAV-benchmark-SOT_v1.0" / "anno"
    (anno / "att").mkdir(parents=True)
    for name, rows in (("S0101", 3), ("S0102", 2)):
        gt = np.array([[100 + i, 50, 20, 10] for i in range(rows)], dtype=float)
        (anno / f"{name}_gt.txt").write_text(_rows(gt))
        if images:
            _frames(root / "UAV-benchmark-S" / name, [f"img{k:06d}.jpg" for k in range(1, 4)])
    (anno / "att" / "S0101_att.txt").write_text("1,0,0,1,0,0,1,0\n")
    (anno / "att" / "S0102_att.txt").write_text("1,0,1\n")


def test_uavdt_layout_attributes_and_roots(tmp_path):
    _uavdt(tmp_path)
    dataset = load_dataset("uavdt", tmp_path)
    assert dataset.names == ["S0101", "S0102"] and len(dataset.meta["missing"]) == 48
    first = dataset["S0101"]
    assert first.attributes == ("BC", "SO", "SV")
    assert first.frame_paths[0] == tmp_path / "UAV-benchmark-S/S0101/img000001.jpg"
    assert first.groundtruth[2].tolist() == [102, 50, 20, 10] and first.problems() == []
    second = dataset["S0102"]
    assert second.attributes == () and "attributes not read" in second.notes[0]
    assert "S0102: 2 ground-truth rows for 3 frames" in second.problems()[0]
    for root in (tmp_path / "UAV-benchmark-SOT_v1.0", tmp_path / "UAV-benchmark-SOT_v1.0/anno"):
        again = load_dataset("uavdt", root)
        assert again["S0101"].frame_paths == first.frame_paths


def test_uavdt_annotation_only_and_not_found(tmp_path):
    _uavdt(tmp_path, images=False)
    result = _check(tmp_path, "uavdt")
    assert result.exit_code == 0, result.output
    assert "2 of 50 sequences usable" in result.output and "2 with annotations only" \
        in result.output
    with pytest.raises(DatasetNotFoundError, match=r"no UAVDT annotation file .*UAV-benchmark-S/"):
        load_dataset("uavdt", tmp_path / "UAV-benchmark-SOT_v1.0" / "anno" / "att")


# -- LaSOT extension ----------------------------------------------------------------------------
def test_lasot_extension_layout(tmp_path):
    folder = tmp_path / "atv" / "atv-1"
    folder.mkdir(parents=True)
    gt = np.array([[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]], dtype=float)
    (folder / "groundtruth.txt").write_text(_rows(gt))
    (folder / "full_occlusion.txt").write_text("0,1,0")
    (folder / "out_of_view.txt").write_text("0,0,1")
    _frames(folder / "img", [f"{k:08d}.jpg" for k in range(1, 4)])
    (tmp_path / "wingsuit-10").mkdir()  # the class level may be left out
    (tmp_path / "wingsuit-10" / "groundtruth.txt").write_text(_rows(gt[:2]))
    dataset = load_dataset("lasot-extension", tmp_path)
    assert dataset.name == "lasot-ext" and dataset.names == ["atv-1", "wingsuit-10"]
    assert len(dataset.meta["missing"]) == 148
    atv = dataset["atv-1"]
    assert atv.absent.tolist() == [False, True, True] and atv.problems(decode="all") == []
    assert atv.meta["class"] == "atv" and atv.attributes == ()
    assert not dataset["wingsuit-10"].has_frames


# -- run + report round trip --------------------------------------------------------------------
def test_run_and_report_round_trip_on_dtb70(tmp_path):
    _dtb_sequence(tmp_path / "data", "Animal1", 5, 5)
    _dtb_sequence(tmp_path / "data", "BMX2", 4, 4)
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--tracker", "identity", "--dataset", "DTB70",
                                 "--root", str(tmp_path / "data"), "--results-dir",
                                 str(tmp_path / "res"), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = np.loadtxt(tmp_path / "res/dtb70/identity/Animal1.txt", delimiter=",")
    np.testing.assert_allclose(rows, np.tile([1, 2.5, 30, 40], (5, 1)), atol=1e-9)
    result = runner.invoke(cli, ["report", "--dataset", "dtb70", "--root", str(tmp_path / "data"),
                                 "--results-dir", str(tmp_path / "res/dtb70"), "--out",
                                 str(tmp_path / "rep"), "--ci", "none"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "rep/dtb70/summary.csv").read_text()
    assert summary.startswith("tracker,sequences,success_auc") and "identity,2," in summary


def test_annotation_only_uavdt_is_scored(tmp_path):
    _uavdt(tmp_path / "data", images=False)
    results = tmp_path / "res" / "mine"
    results.mkdir(parents=True)
    (results / "S0101.txt").write_text("100,50,20,10\n101,50,20,10\n102,50,20,10\n")
    (results / "S0102.txt").write_text("100,50,20,10\n0,0,1,1\n")
    result = CliRunner().invoke(cli, ["report", "--dataset", "uavdt", "--root",
                                      str(tmp_path / "data"), "--results-dir",
                                      str(tmp_path / "res"), "--out", str(tmp_path / "rep"),
                                      "--ci", "none"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    row = pd.read_csv(tmp_path / "rep/uavdt/summary.csv").iloc[0]
    # S0101: every frame IoU 1 -> 20 of 21 strict thresholds; S0102: frame 0 (= GT) and a miss
    assert row["sequences"] == 2
    assert row["success_auc"] == pytest.approx((20 / 21 + 10 / 21) / 2)
    assert row["precision"] == pytest.approx((1 + 0.5) / 2)
