"""Raw-result reading, alignment, writing and GOT-10k packing: hand-made formats and real sets."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siambench.datasets.base import Dataset, Sequence
from siambench.errors import DataFormatError, SiambenchError
from siambench.results import (
    FAILURE,
    INIT,
    REGION,
    SKIPPED,
    Run,
    TrackerResults,
    align,
    find_trackers,
    pack_got10k,
    read_tracker,
    remove_sequence_results,
    split_mat_names,
    write_got10k,
    write_ope,
    write_runs,
    write_vot,
)


def put(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def zip_folder(folder: Path, out: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return out


def dataset(lengths: dict[str, int], starts: dict[str, int] | None = None,
            name: str = "toy") -> Dataset:
    starts = starts or {}
    sequences = [Sequence(seq, groundtruth=np.tile([10.0, 20.0, 30.0, 40.0], (n, 1)),
                          meta={"start_frame": starts[seq]} if seq in starts else {})
                 for seq, n in lengths.items()]
    return Dataset(name, sequences)


def mat_bytes(variables: dict) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    return buffer.getvalue()


def otb_struct(res, kind="rect", start=1, anno_begin=1, fps=50.0, repeat=1) -> np.ndarray:
    fields = [("res", "O"), ("type", "O"), ("fps", "O"), ("len", "O"), ("annoBegin", "O"),
              ("startFrame", "O")]
    array = np.empty((1, repeat), dtype=fields)
    for i in range(repeat):
        array[0, i] = (np.asarray(res), kind, fps, len(res), anno_begin, start + i)
    return array


# -- one-pass text formats -------------------------------------------------------------------

def test_ope_folder_delimiters_times_and_no_final_newline(tmp_path):
    tracker = tmp_path / "MyTracker"
    put(tracker, "Basketball.txt", "1.5,2,3,4\n5,6,7,8.25")  # no final newline
    put(tracker, "Basketball_time.txt", "0.01\n0.02\n")
    put(tracker, "jogging_1.txt", "1\t2\t3\t4\r\n5\t6\t7\t8\r\n\r\n")  # pytracking, CRLF
    put(tracker, "blurCar1.txt", "1 2 3 4\n5, 6\t7 8\nnan,nan,nan,nan\n")  # mixed, NaN
    put(tracker, "times/blurCar1_time.txt", "0.1\n0.2\n0.3\n")  # got10k OTB side folder
    results = read_tracker(tracker)
    assert results.format == "ope-txt" and results.name == "MyTracker"
    assert sorted(results.sequences) == ["Basketball", "blurCar1", "jogging_1"]
    run, = results.sequences["Basketball"]
    np.testing.assert_array_equal(run.boxes, [[1.5, 2, 3, 4], [5, 6, 7, 8.25]])
    np.testing.assert_array_equal(run.times, [0.01, 0.02])
    np.testing.assert_array_equal(results.sequences["jogging_1"][0].boxes,
                                  [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert results.sequences["jogging_1"][0].times is None
    blur, = results.sequences["blurCar1"]
    assert np.isnan(blur.boxes[2]).all() and blur.boxes[1].tolist() == [5, 6, 7, 8]
    np.testing.assert_array_equal(blur.times, [0.1, 0.2, 0.3])


def test_ope_full_precision_is_kept(tmp_path):
    text = "194.9203395987652,214.33332993892733,35.61327442378757,79.4957494664156\n"
    put(tmp_path / "T", "Basketball.txt", text)
    box = read_tracker(tmp_path / "T").sequences["Basketball"][0].boxes[0]
    assert box.tolist() == [194.9203395987652, 214.33332993892733, 35.61327442378757,
                            79.4957494664156]


def test_ope_malformed_line_names_file_and_line(tmp_path):
    put(tmp_path / "T", "Car.txt", "1,2,3,4\n1,2,3\n")
    put(tmp_path / "T", "Bolt.txt", "1,2,3,4\n")
    with pytest.raises(DataFormatError, match=r"Car\.txt, line 2: 3 values"):
        read_tracker(tmp_path / "T", strict=True)
    results = read_tracker(tmp_path / "T")  # not strict: the sequence is left out and listed
    assert list(results.sequences) == ["Bolt"] and list(results.unreadable) == ["Car"]
    assert "Car.txt, line 2: 3 values" in results.unreadable["Car"]
    put(tmp_path / "U", "Car.txt", "1,2,3,4\n\n1,2,3,4\n")
    with pytest.raises(DataFormatError, match=r"line 2: empty line"):
        read_tracker(tmp_path / "U", strict=True)


def test_time_file_of_wrong_length_is_a_warning(tmp_path):
    put(tmp_path / "T", "Car.txt", "1,2,3,4\n1,2,3,4\n")
    put(tmp_path / "T", "Car_time.txt", "0.1\n")
    results = read_tracker(tmp_path / "T")
    assert results.sequences["Car"][0].times is None
    assert "1 times for 2 result rows" in results.warnings[0]


# -- VOT ---------------------------------------------------------------------------------------

VOT_RUN = "1\n10.5,20,30,40\n2.0\n0.0\n0\n1.0\n1,2,3,4,5,6,7,8\n2\nnan"


def test_vot_codes_rects_polygons_and_times(tmp_path):
    tracker = tmp_path / "Ocean"
    put(tracker, "baseline/ants1/ants1_001.txt", VOT_RUN)
    put(tracker, "baseline/ants1/ants1_002.txt", "1\n2\n")
    put(tracker, "baseline/ants1/ants1_001_time.value", "\n".join(["0.5"] * 9) + "\n")
    put(tracker, "baseline/bag/bag_001.txt", "1\n1,1,5,5\n")
    put(tracker, "baseline/bag/bag_time.txt", "0.1,0.2\n0.3,0.4\n")  # got10k: column per rep
    results = read_tracker(tracker)
    assert results.format == "vot" and sorted(results.sequences) == ["ants1", "bag"]
    first, second = results.sequences["ants1"]
    assert first.is_supervised and len(first) == 9
    assert first.codes.tolist() == [INIT, REGION, FAILURE, SKIPPED, SKIPPED, INIT, REGION,
                                    FAILURE, SKIPPED]
    assert first.regions[1, :4].tolist() == [10.5, 20, 30, 40]
    assert np.isnan(first.regions[1, 4:]).all()
    assert first.regions[6].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert np.isnan(first.regions[0]).all()
    np.testing.assert_array_equal(first.times, [0.5] * 9)
    assert second.codes.tolist() == [INIT, FAILURE] and second.times is None
    np.testing.assert_array_equal(results.sequences["bag"][0].times, [0.1, 0.3])


@pytest.mark.parametrize("line, problem", [("3", "status code '3'"), ("1,2,3", "3 values"),
                                           ("m1,2,3,4,5", "mask region"), ("abc", "non-numeric")])
def test_vot_bad_lines(tmp_path, line, problem):
    put(tmp_path / "T", "baseline/car/car_001.txt", f"1\n{line}\n")
    with pytest.raises(DataFormatError, match=rf"car_001\.txt, line 2: .*{problem}"):
        read_tracker(tmp_path / "T", strict=True)
    assert re.search(rf"car_001\.txt, line 2: .*{problem}",
                     read_tracker(tmp_path / "T").unreadable["car"])


# -- GOT-10k -----------------------------------------------------------------------------------

def test_got10k_repetitions_and_time_columns(tmp_path):
    tracker = tmp_path / "SiamFC"
    seq = "GOT-10k_Test_000001"
    put(tracker, f"{seq}/{seq}_001.txt", "1,2,3,4\n5,6,7,8\n")
    put(tracker, f"{seq}/{seq}_002.txt", "1,2,3,4\n5,6,7,9\n")
    put(tracker, f"{seq}/{seq}_time.txt", "0.1,0.2\n0.3,0.4\n")
    results = read_tracker(tracker)
    assert results.format == "got10k"
    runs = results.sequences[seq]
    assert [r.boxes[1, 3] for r in runs] == [8, 9]
    np.testing.assert_array_equal(runs[1].times, [0.2, 0.4])


# -- zips ----------------------------------------------------------------------------------------

def test_zip_of_each_format_reads_like_the_folder(tmp_path):
    src = tmp_path / "src"
    put(src / "ope", "Car.txt", "1,2,3,4\n")
    put(src / "vot", "baseline/car/car_001.txt", VOT_RUN)
    put(src / "got", "car/car_001.txt", "1,2,3,4\n")
    for fmt in ("ope", "vot", "got"):
        folder = read_tracker(src / fmt)
        archive = read_tracker(zip_folder(src / fmt, tmp_path / f"{fmt}.zip"))
        assert archive.format == folder.format and archive.name == fmt
        for seq, runs in folder.sequences.items():
            other = archive.sequences[seq][0]
            for field in ("boxes", "codes", "regions"):
                a, b = getattr(runs[0], field), getattr(other, field)
                assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)


def test_zip_holding_several_trackers(tmp_path):
    src = tmp_path / "src"
    put(src, "A/baseline/car/car_001.txt", "1\n1,2,3,4\n")
    put(src, "B/baseline/car/car_001.txt", "1\n2\n")
    (tmp_path / "results").mkdir()
    archive = zip_folder(src, tmp_path / "results/VOT2018.zip", prefix="VOT2018/")
    found = find_trackers(tmp_path / "results")
    assert found == {"A": archive / "VOT2018/A", "B": archive / "VOT2018/B"}
    assert read_tracker(found["B"]).sequences["car"][0].codes.tolist() == [INIT, FAILURE]
    assert read_tracker(archive, "A").name == "A"
    with pytest.raises(SiambenchError, match="holds the results of 2 trackers"):
        read_tracker(archive)


# -- OTB .mat and JSON ---------------------------------------------------------------------

def test_otb_mat_struct_array_bare_result_and_affine(tmp_path):
    folder = tmp_path / "results_SiamFC-3s"
    res = np.array([[282.0, 104, 67, 84], [291.50588235, 105.78235294, 67, 84]])
    put(folder, "Tiger1_siamfc3s.mat", mat_bytes({"results": otb_struct(res, start=6,
                                                                        repeat=20)}))
    put(folder, "Human4_2_siamfc3s.mat", mat_bytes({"results": otb_struct(res[:1])}))
    put(folder, "Jogging_1_siamfc3s.mat", mat_bytes({"result": res.astype(np.int16)}))
    results = read_tracker(folder)
    assert results.format == "otb-mat" and results.name == "results_SiamFC-3s"
    assert sorted(results.sequences) == ["Human4_2", "Jogging_1", "Tiger1"]
    tiger, = results.sequences["Tiger1"]
    assert tiger.boxes.tolist() == res.tolist() and tiger.start_frame == 6
    assert tiger.anno_begin == 1 and tiger.times.tolist() == [0.02, 0.02]
    assert results.sequences["Human4_2"][0].boxes.shape == (1, 4)
    bare, = results.sequences["Jogging_1"]
    assert bare.start_frame is None and bare.boxes.dtype == np.float64
    assert bare.boxes.tolist() == [[282, 104, 67, 84], [291, 105, 67, 84]]
    put(tmp_path / "ASLA", "Car_ASLA.mat", mat_bytes({"results": otb_struct(np.zeros((2, 6)),
                                                                            kind="ivtAff")}))
    with pytest.raises(DataFormatError, match=r"Car_ASLA\.mat: result type 'ivtAff' holds "
                                              r"affine parameters.*cannot be scored"):
        read_tracker(tmp_path / "ASLA", strict=True)


def test_otb_shared_mat_folder_gives_one_tracker_per_suffix(tmp_path):
    shared = tmp_path / "results_OPE"
    for seq in ("Basketball", "jogging-1", "Human4.2"):
        for tracker in ("KCF_GaussHog", "KCF_LinearHog", "TLD"):
            put(shared, f"{seq}_{tracker}.mat",
                mat_bytes({"results": otb_struct([[1.0, 2, 3, 4]])}))
    found = find_trackers(tmp_path)
    assert found == {t: shared / t for t in ("KCF_GaussHog", "KCF_LinearHog", "TLD")}
    kcf = read_tracker(found["KCF_GaussHog"])
    assert kcf.name == "KCF_GaussHog" and sorted(kcf.sequences) == ["Basketball", "Human4.2",
                                                                      "jogging-1"]
    assert read_tracker(shared, "TLD").name == "TLD"
    with pytest.raises(SiambenchError, match="holds 3 trackers"):
        read_tracker(shared)


def test_split_mat_names():
    stems = [f"{s}_{t}" for s in ("Basketball", "Jogging_1", "Skating2_2")
             for t in ("KCF_GaussHog", "MDnet", "KCF_LinearGray")]
    groups = split_mat_names(stems)
    assert sorted(groups) == ["KCF_GaussHog", "KCF_LinearGray", "MDnet"]
    assert sorted(groups["MDnet"]) == ["Basketball", "Jogging_1", "Skating2_2"]
    one = split_mat_names(["Human4_2_siamfc3s", "Jogging_1_siamfc3s", "Bolt_siamfc3s"])
    assert one == {"siamfc3s": {"Human4_2": "Human4_2_siamfc3s", "Jogging_1":
                                "Jogging_1_siamfc3s", "Bolt": "Bolt_siamfc3s"}}
    assert split_mat_names(["Bolt", "Jogging_1"]) == {"": {"Bolt": "Bolt",
                                                           "Jogging_1": "Jogging_1"}}
    assert split_mat_names(["Jogging_1", "Jogging_2"]) == {"": {"Jogging_1": "Jogging_1",
                                                               "Jogging_2": "Jogging_2"}}


def test_otb_json(tmp_path):
    put(tmp_path / "STRUCK", "Tiger1.json",
        '[{"tracker": "STRUCK", "seqName": "Tiger1", "startFrame": 1, "endFrame": 2, '
        '"evalType": "OPE", "fps": 8.0, "resType": "rect", "res": [[282.0, 104.0, 66.0, 84.0],'
        ' [292.0, 106.5, 66.0, 84.0]]}]')
    put(tmp_path / "STRUCK", "scores_tb100/ALL.json", '[{"successRateList": [1, 0.5]}]')
    results = read_tracker(tmp_path / "STRUCK")
    assert results.format == "otb-json"
    run, = results.sequences["Tiger1"]
    assert run.boxes.tolist() == [[282, 104, 66, 84], [292, 106.5, 66, 84]]
    assert run.start_frame == 1 and run.times.tolist() == [0.125, 0.125]
    put(tmp_path / "L1", "Car.json", '[{"res": [[1, 2, 3, 4, 5, 6]], "resType": "L1Aff"}]')
    with pytest.raises(DataFormatError, match="'L1Aff' is not rectangles"):
        read_tracker(tmp_path / "L1", strict=True)


def test_find_trackers_skips_folders_without_results(tmp_path):
    put(tmp_path, "A/Car.txt", "1,2,3,4\n")
    put(tmp_path, "scores_only/scores_tb100/ALL.json", '[{"successRateList": [1]}]')
    put(tmp_path, "VOT/B/baseline/car/car_001.txt", "1\n")
    assert find_trackers(tmp_path) == {"A": tmp_path / "A", "B": tmp_path / "VOT/B"}
    with pytest.raises(SiambenchError, match="no raw results found"):
        read_tracker(tmp_path / "scores_only")


# -- alignment ---------------------------------------------------------------------------------

def ope(**runs: Run) -> TrackerResults:
    return TrackerResults("T", "ope-txt", "/r/T", sequences={k: [v] for k, v in runs.items()})


def boxes(n: int, start: float = 0.0) -> np.ndarray:
    return np.arange(start, start + 4 * n, dtype=np.float64).reshape(n, 4)


def test_align_names_padding_missing_and_extra():
    data = dataset({"BlurCar1": 3, "Jogging-1": 2, "Bolt": 2})
    results = ope(blurCar1=Run(boxes=boxes(2), times=np.array([0.1, 0.2])),
                  jogging_1=Run(boxes=boxes(2)), Unknown=Run(boxes=boxes(1)))
    before = results.sequences["blurCar1"][0].boxes.copy()
    aligned, warnings = align(results, data)
    assert list(aligned.sequences) == ["BlurCar1", "Jogging-1"]
    padded = aligned.sequences["BlurCar1"][0]
    assert padded.boxes[:2].tolist() == before.tolist() and np.isnan(padded.boxes[2]).all()
    assert padded.times[:2].tolist() == [0.1, 0.2] and math.isnan(padded.times[2])
    assert np.array_equal(results.sequences["blurCar1"][0].boxes, before)  # input untouched
    assert warnings == ["shorter than the ground truth on 1 sequences (BlurCar1: 2 of 3 frames); "
                        "the missing frames count as failures",
                        "no results for 1 of 3 sequences of toy: Bolt",
                        "results for 1 sequences not in toy (ignored): Unknown"]
    with pytest.raises(DataFormatError, match=r"shorter than the ground truth.*BlurCar1: 2 of 3"):
        align(results, data, strict=True)


def test_align_longer_run_is_an_error_naming_the_sequence():
    data = dataset({"fish1": 2, "bag": 2})
    with pytest.raises(DataFormatError, match=r"longer than the ground truth of toy: fish1: "
                                              r"3 rows for 2 frames"):
        align(ope(fish1=Run(boxes=boxes(3)), bag=Run(boxes=boxes(2))), data)


def test_align_duplicate_names_leave_the_sequence_out_or_fail_when_strict():
    results = ope(**{"Jogging-1": Run(boxes=boxes(1)), "jogging_1": Run(boxes=boxes(1)),
                     "Bolt": Run(boxes=boxes(1))})
    data = dataset({"Jogging-1": 1, "Bolt": 1})
    with pytest.raises(DataFormatError, match="two result files for one sequence"):
        align(results, data, strict=True)
    aligned, warnings = align(results, data)
    assert list(aligned.sequences) == ["Bolt"] and list(aligned.unreadable) == ["Jogging-1"]
    assert any("two result files for one sequence on 1 sequences" in w
               and "Jogging-1 ('Jogging-1' and 'jogging_1')" in w for w in warnings)


def test_align_start_frames():
    data = dataset({"Tiger1": 3, "David": 2, "Car": 2}, starts={"Tiger1": 6, "David": 300})
    results = ope(
        Tiger1=Run(boxes=boxes(8), start_frame=1),        # frames 1..8: rows 6..8 used
        David=Run(boxes=boxes(1), start_frame=301),       # starts one frame late
        Car=Run(boxes=boxes(2), start_frame=5))           # exact length: taken as is
    aligned, warnings = align(results, data)
    assert aligned.sequences["Tiger1"][0].boxes.tolist() == boxes(8)[5:].tolist()
    assert aligned.sequences["Tiger1"][0].start_frame == 6
    david = aligned.sequences["David"][0].boxes
    assert np.isnan(david[0]).all() and david[1].tolist() == boxes(1)[0].tolist()
    assert aligned.sequences["Car"][0].boxes.tolist() == boxes(2).tolist()
    assert any("row count matches exactly on 1 sequences (Car (5 vs 1))" in w for w in warnings)
    bare, _ = align(ope(Tiger1=Run(boxes=boxes(8))), dataset({"Tiger1": 3}, {"Tiger1": 6}))
    assert bare.sequences["Tiger1"][0].boxes.tolist() == boxes(8)[5:].tolist()


def test_align_pads_vot_runs_with_a_failure():
    data = dataset({"car": 4})
    codes = np.array([INIT, REGION], dtype=np.int8)
    regions = np.full((2, 8), np.nan)
    regions[1, :4] = [1, 2, 3, 4]
    results = TrackerResults("T", "vot", "/r", sequences={"car": [Run(codes=codes,
                                                                      regions=regions)]})
    aligned, _ = align(results, data)
    run = aligned.sequences["car"][0]
    assert run.codes.tolist() == [INIT, REGION, FAILURE, SKIPPED]
    assert run.regions.shape == (4, 8) and np.isnan(run.regions[2:]).all()


def test_align_warns_about_a_corner_format_first_row():
    data = Dataset("otb", [Sequence("Basketball", groundtruth=np.array([[198.0, 214, 34, 81]]))])
    _, warnings = align(ope(Basketball=Run(boxes=np.array([[197.0, 213, 231, 294]]))), data)
    assert "looks like corners" in warnings[0]


# -- writers -----------------------------------------------------------------------------------

FIXTURE = [HealthCheck.function_scoped_fixture]
finite = st.floats(allow_infinity=False, allow_nan=True, width=64)
box_arrays = st.integers(0, 6).flatmap(
    lambda n: st.lists(st.lists(finite, min_size=4, max_size=4), min_size=n, max_size=n))
time_lists = st.lists(st.floats(0, 10, allow_nan=False), min_size=0, max_size=6)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical (NaN equal to NaN, -0.0 distinct from 0.0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == np.where(np.isnan(b), a, b).tobytes() and \
        np.array_equal(np.isnan(a), np.isnan(b))


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(rows=box_arrays)
def test_write_ope_round_trips_bit_identically(tmp_path, rows):
    array = np.array(rows, dtype=np.float64).reshape(-1, 4)
    times = np.linspace(0.01, 0.5, len(array))
    folder = tmp_path / "ope"
    write_ope(folder, "Jogging-1", array, times)
    run = read_tracker(folder).sequences["Jogging-1"][0]
    assert same(run.boxes, array) and same(run.times, times)


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.data())
def test_write_vot_round_trips_bit_identically(tmp_path, data):
    count = data.draw(st.integers(0, 8))
    codes = np.array(data.draw(st.lists(st.sampled_from([REGION, INIT, FAILURE, SKIPPED]),
                                        min_size=count, max_size=count)), dtype=np.int8)
    regions = np.full((count, 8), np.nan)
    for i in np.flatnonzero(codes == REGION):
        width = data.draw(st.sampled_from([4, 8]))
        regions[i, :width] = data.draw(st.lists(st.floats(-1e6, 1e6), min_size=width,
                                                max_size=width))
    run = Run(codes=codes, regions=regions, times=np.full(count, 0.03125))
    folder = tmp_path / "vot"
    write_vot(folder, "ants1", run, repetition=2)
    back = read_tracker(folder).sequences["ants1"][0]
    assert back.codes.tolist() == codes.tolist() and same(back.regions, regions)
    assert same(back.times, run.times)


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURE)
@given(first=box_arrays, times=time_lists)
def test_write_got10k_round_trips_bit_identically(tmp_path, first, times):
    a = np.array(first, dtype=np.float64).reshape(-1, 4)
    b = a[::-1].copy()
    t = np.resize(np.asarray(times, dtype=np.float64), len(a)) if times else np.full(len(a), 0.5)
    folder = tmp_path / "got"
    write_got10k(folder, "GOT-10k_Val_000001", [Run(boxes=a, times=t), Run(boxes=b, times=t)])
    runs = read_tracker(folder).sequences["GOT-10k_Val_000001"]
    assert len(runs) == 2 and same(runs[0].boxes, a) and same(runs[1].boxes, b)
    if len(a):
        assert same(runs[0].times, t) and same(runs[1].times, t)


def test_writers_use_commas_and_full_precision(tmp_path):
    write_ope(tmp_path, "Car", np.array([[0.1 + 0.2, -0.0, 1e-300, np.nan]]), np.array([0.5]))
    assert (tmp_path / "Car.txt").read_text() == "0.30000000000000004,-0.0,1e-300,nan\n"
    assert (tmp_path / "Car_time.txt").read_text() == "0.5\n"
    codes = np.array([INIT, REGION, FAILURE, SKIPPED], dtype=np.int8)
    regions = np.full((4, 8), np.nan)
    regions[1, :4] = [1.25, 2, 3, 4]
    write_vot(tmp_path / "T", "car", Run(codes=codes, regions=regions))
    assert (tmp_path / "T/baseline/car/car_001.txt").read_text() == "1\n1.25,2.0,3.0,4.0\n2\n0\n"
    assert not list(tmp_path.rglob("*.tmp"))
    with pytest.raises(SiambenchError, match="infinite"):
        write_ope(tmp_path, "Bad", np.array([[np.inf, 0, 0, 0]]))


# -- GOT-10k pack ------------------------------------------------------------------------------

def test_pack_got10k(tmp_path):
    data = dataset({"GOT-10k_Test_000001": 2, "GOT-10k_Test_000002": 3})
    tracker = tmp_path / "SiamFC"
    put(tracker, "GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt", "1 2 3 4\n5 6 7 8\n")
    put(tracker, "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt", "0.1\n0.2\n")
    write_got10k(tracker, "GOT-10k_Test_000002", [Run(boxes=boxes(3), times=np.ones(3))] * 3)
    out = pack_got10k(tracker, tmp_path / "out" / "submission.zip", data)
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        assert names[:2] == ["GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt",
                             "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt"]
        assert len(names) == 6
        assert archive.read(names[0]).decode() == "1.0,2.0,3.0,4.0\n5.0,6.0,7.0,8.0\n"
    short = dataset({"GOT-10k_Test_000001": 3, "GOT-10k_Test_000003": 1})
    with pytest.raises(SiambenchError) as info:
        pack_got10k(tracker, tmp_path / "bad.zip", short)
    message = str(info.value)
    assert "GOT-10k_Test_000001_001: 2 lines for 3 frames" in message
    assert "no results for 1 of 2 sequences: GOT-10k_Test_000003" in message
    assert "not in toy: GOT-10k_Test_000002" in message
    assert not (tmp_path / "bad.zip").exists()


def test_pack_needs_times(tmp_path):
    put(tmp_path / "T", "seq/seq_001.txt", "1,2,3,4\n")
    with pytest.raises(SiambenchError, match=r"seq: no per-frame times"):
        pack_got10k(tmp_path / "T", tmp_path / "x.zip")


# -- real result sets --------------------------------------------------------------------------

SOARKEY_OTB = ["ATOM", "CFNet", "DaSiamRPN", "MDNet", "Ocean", "Ocean-online", "SiamBAN",
               "SiamFC", "SiamRPN", "SiamRPN++"]


def test_real_soarkey_otb100_sets(shared_data):
    for name in SOARKEY_OTB:
        results = read_tracker(shared_data / "Soarkey_tracking_raw_results/OTB100" / name)
        assert results.format == "ope-txt" and len(results.sequences) == 100, name
    siamrpn = read_tracker(shared_data / "Soarkey_tracking_raw_results/OTB100/SiamRPN")
    assert siamrpn.sequences["Basketball"][0].boxes[:2].tolist() == [[197, 213, 231, 294],
                                                                     [193, 212, 34, 81]]
    ocean = read_tracker(shared_data / "Soarkey_tracking_raw_results/OTB100/Ocean")
    assert ocean.sequences["basketball"][0].boxes[1].tolist() == [
        194.9203395987652, 214.33332993892733, 35.61327442378757, 79.4957494664156]
    dasiam = read_tracker(shared_data / "Soarkey_tracking_raw_results/OTB100/DaSiamRPN")
    assert dasiam.sequences["Basketball"][0].boxes[1].tolist() == [194.10, 215.27, 34.62, 80.62]
    mdnet = read_tracker(shared_data / "Soarkey_tracking_raw_results/OTB100/MDNet")
    board = next(runs for seq, runs in mdnet.sequences.items() if seq.lower() == "board")
    assert len(board[0]) == 697


def test_real_otb_mat_sets(shared_data):
    base = shared_data / "zhangzheng0131_Tracker_Benchmark_tb100/results"
    siamfc = read_tracker(base / "cfnet_cvpr17_otb100/cfnet_cvpr17_otb100/"
                                 "results_SiamFC-3s_OTB-100")
    assert len(siamfc.sequences) == 100 and "Human4_2" in siamfc.sequences
    tiger, = siamfc.sequences["Tiger1"]
    assert tiger.start_frame == 6 and len(tiger) == 349
    assert tiger.boxes[1].tolist() == [291.50588235294117, 105.78235294117647, 67.0, 84.0]
    cfnet = read_tracker(base / "cfnet_cvpr17_otb100/cfnet_cvpr17_otb100/"
                                "results_cfnet-conv2_OTB-100")
    assert len(cfnet.sequences) == 100
    found = find_trackers(base / "results_OPE")
    assert len(found) == 16 and "KCF_GaussHog" in found and "MDnet" in found
    for name, path in found.items():
        if name in ("ASLA", "IVT"):
            with pytest.raises(DataFormatError, match="'ivtAff' holds affine parameters"):
                read_tracker(path, strict=True)
            assert len(read_tracker(path).unreadable) == 100
            continue
        results = read_tracker(path)
        assert results.name == name and len(results.sequences) == 100, name
    mdnet = read_tracker(found["MDnet"])
    assert mdnet.sequences["tiger1"][0].boxes[0].tolist() == [232, 88, 76, 84]
    assert mdnet.sequences["tiger1"][0].start_frame is None
    kcf = read_tracker(found["KCF_GaussHog"])
    assert kcf.sequences["tiger1"][0].boxes[0].tolist() == [281.5, 104, 67, 84]


def test_real_jwlim_json_sets(shared_data):
    base = shared_data / "jwlim_tracker_benchmark/results/OPE"
    assert find_trackers(base) == {n: base / n for n in ("MEEM", "MUSTer", "STRUCK")}
    struck = read_tracker(base / "STRUCK")
    assert len(struck.sequences) == 100
    assert len(struck.sequences["ClifBar"][0]) == 329
    assert struck.sequences["Tiger1"][0].start_frame == 1
    assert struck.sequences["Tiger1"][0].boxes[0].tolist() == [282, 104, 66, 84]
    for name in ("MEEM", "MUSTer"):
        assert len(read_tracker(base / name).sequences) == 73


def vot_counts(results) -> dict[int, int]:
    codes = np.concatenate([runs[0].codes for runs in results.sequences.values()])
    values, counts = np.unique(codes, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def test_real_vot_sets(shared_data):
    soarkey = shared_data / "Soarkey_tracking_raw_results"
    for year, names in (("VOT2018", ("Ocean", "Ocean-online")),
                        ("VOT2019", ("Ocean", "Ocean-online", "Ocean_VOT2019_0.323"))):
        for name in names:
            results = read_tracker(soarkey / year / name)
            assert results.format == "vot" and len(results.sequences) == 60
            assert all(runs[0].codes[0] == INIT for runs in results.sequences.values())
            counts = vot_counts(results)
            # a failure within the last 5 frames has no re-initialisation after it
            assert counts[INIT] <= 60 + counts[FAILURE] and set(counts) == {-1, 0, 1, 2}
    ocean = read_tracker(soarkey / "VOT2018/Ocean")
    assert vot_counts(ocean) == {REGION: 21083, SKIPPED: 188, INIT: 107, FAILURE: 47}
    mixed = read_tracker(soarkey / "VOT2019/Ocean_VOT2019_0.323")  # "1" beside "2.0", "0.0"
    agility = mixed.sequences["agility"][0].codes
    assert agility[[0, 17, 18, 22, 23]].tolist() == [INIT, FAILURE, SKIPPED, INIT, REGION]
    ants = ocean.sequences["ants1"][0]
    assert ants.codes[0] == INIT and ants.regions[1, :4].tolist() == [
        130.79566440381203, 469.76480298552667, 23.674267789932223, 62.11862681365371]
    honglin = shared_data / "HonglinChu_SiamTrackers"
    found = find_trackers(honglin)
    assert {"DaSiamRPN", "siamban", "NanoTrack", "NanoTrack (2)", "SiamTPN (2)"} <= set(found)
    for name, path in found.items():
        results = read_tracker(path)
        assert len(results.sequences) == 60, name
        assert results.format == "vot"
    siamban = read_tracker(honglin / "SiamBAN/SiamBAN/results/VOT2018/siamban")
    assert sum(len(r[0]) for r in siamban.sequences.values()) == 21356


def test_real_vot2018_alignment_flags_fish1(shared_data):
    import json
    gt = json.loads((shared_data / "xl-sr_THOR/data/VOT2018.json").read_text())
    data = dataset({name: len(video["gt_rect"]) for name, video in gt.items()}, name="vot2018")
    honglin = read_tracker(shared_data / "HonglinChu_SiamTrackers/DaSiamRPN/DaSiamRPN/results/"
                                         "VOT2018.zip")
    aligned, warnings = align(honglin, data)
    assert len(aligned.sequences) == 60 and warnings == []
    ocean = read_tracker(shared_data / "Soarkey_tracking_raw_results/VOT2018/Ocean")
    with pytest.raises(DataFormatError, match=r"fish1: 436 rows for 366 frames"):
        align(ocean, data)


def test_align_rows_from_image_one_with_a_stated_later_start():
    """CFWLB's tiger1 in the OTB toolkit: startFrame 6, 350 rows beginning at image 1."""
    data = dataset({"Tiger1": 6}, starts={"Tiger1": 6})
    aligned, warnings = align(ope(Tiger1=Run(boxes=boxes(8), start_frame=6)), data)
    assert aligned.sequences["Tiger1"][0].boxes[:3].tolist() == boxes(8)[5:].tolist()
    assert np.isnan(aligned.sequences["Tiger1"][0].boxes[3:]).all()
    assert any("taken as images 1-8, rows 6-8 used" in w for w in warnings)


def test_write_runs_and_remove_sequence_results_in_each_format(tmp_path):
    boxes, times = np.array([[1.0, 2.0, 3.0, 4.0]] * 3), np.full(3, 0.01)
    ope, vot = Run(boxes=boxes, times=times), Run(
        codes=np.array([INIT, REGION, FAILURE], dtype=np.int8),
        regions=np.vstack([np.full((1, 8), np.nan), np.r_[boxes[1], [np.nan] * 4][None],
                           np.full((1, 8), np.nan)]), times=times)
    expected = {"ope": ["a.txt", "a_time.txt"],
                "vot": ["baseline/a/a_001.txt", "baseline/a/a_001_time.value",
                        "baseline/a/a_002.txt", "baseline/a/a_002_time.value"],
                "got10k": ["a/a_001.txt", "a/a_002.txt", "a/a_time.txt"]}
    runs = {"ope": [ope], "vot": [vot, vot], "got10k": [ope, ope]}
    for result_format, names in expected.items():
        folder = tmp_path / result_format
        written = write_runs(folder, result_format, "a", runs[result_format])
        assert sorted(p.relative_to(folder).as_posix() for p in written) == names
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) \
            == names
        (folder / "b.txt").write_text("1,2,3,4\n")  # another sequence's file stays
        assert sorted(remove_sequence_results(folder, result_format, "a")) == sorted(written)
        assert [p.name for p in folder.rglob("*") if p.is_file()] == ["b.txt"]
    with pytest.raises(SiambenchError, match="one-pass result format holds one run"):
        write_runs(tmp_path / "x", "ope", "a", [ope, ope])
    with pytest.raises(SiambenchError, match="unknown result format 'otb'"):
        write_runs(tmp_path / "x", "otb", "a", [ope])
