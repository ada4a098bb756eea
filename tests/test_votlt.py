"""VOT long-term: the dataset loader, the one-pass protocol with confidences, the ``votlt`` result
layout (write, read, pysot's layout), the precision/recall/F metrics and the report family."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets import get_spec, load_dataset
from siambench.errors import DatasetNotFoundError, SiambenchError
from siambench.metrics.votlt import (
    f_measure,
    frame_overlaps,
    precision_recall,
    score_votlt,
    threshold_grid,
)
from siambench.protocols import load_protocol
from siambench.protocols.engine import run_sequence
from siambench.report.families import FAMILIES
from siambench.results import Run, read_tracker, write_runs
from siambench.results.longterm import parse_confidence
from siambench.trackers.simple import IdentityTracker, OracleTracker

NAN4 = [math.nan] * 4


# -- constructed layouts -------------------------------------------------------------------------

def _write_sequence(root: Path, name: str, rows: list[list[float]], size=(40, 30)) -> None:
    folder = root / name
    (folder / "color").mkdir(parents=True)
    text = "".join(",".join("nan" if math.isnan(v) else repr(v) for v in row) + "\n"
                   for row in rows)
    (folder / "groundtruth.txt").write_text(text)
    for index in range(1, len(rows) + 1):
        image = np.full((size[1], size[0], 3), 40 * index % 255, np.uint8)
        assert cv2.imwrite(str(folder / "color" / f"{index:08d}.jpg"), image)


def _write_dataset(root: Path) -> Path:
    """Two sequences: ``cat`` (target absent on frames 2-3) and ``dog`` (always visible)."""
    root.mkdir(parents=True, exist_ok=True)
    _write_sequence(root, "cat", [[5, 5, 10, 8], [6, 5, 10, 8], NAN4, NAN4, [8, 6, 10, 8]])
    _write_sequence(root, "dog", [[2, 3, 12, 9], [2, 3, 12, 9], [3, 3, 12, 9], [3, 4, 12, 9]])
    (root / "list.txt").write_text("cat\ndog\n")
    return root


# -- dataset and protocol -----------------------------------------------------------------------

def test_dataset_reads_list_txt_with_absent_flags(tmp_path):
    root = _write_dataset(tmp_path / "VOT2018-LT")
    dataset = load_dataset("votlt2018", root)
    assert dataset.name == "vot-lt2018" and dataset.names == ["cat", "dog"]
    cat = dataset["cat"]
    assert len(cat) == 5 and cat.dataset == "vot-lt2018"
    assert cat.absent.tolist() == [False, False, True, True, False]
    assert np.isnan(cat.groundtruth[2]).all() and cat.image_size == (40, 30)
    assert dataset["dog"].absent.tolist() == [False] * 4
    assert get_spec("vot-lt19").name == "vot-lt2019" and get_spec("vot2018-lt").origin == 0


def test_dataset_not_found_names_the_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="list.txt"):
        load_dataset("vot-lt2019", tmp_path)


def test_protocol_records_the_confidence_of_every_update(tmp_path):
    protocol = load_protocol("vot-lt2018")
    assert (protocol.kind, protocol.metric_family, protocol.result_format) == \
        ("one-pass", "votlt", "votlt")
    sequence = load_dataset("vot-lt2018", _write_dataset(tmp_path / "d"))["cat"]

    class Scored(IdentityTracker):
        scores = iter([0.25, 0.5, 0.75, 1.0])

        def update(self, frame):
            output = super().update(frame)
            return type(output)(output.box, next(self.scores))

    (run,) = run_sequence(Scored(), sequence, protocol, origin=0)
    assert np.isnan(run.confidence[0]) and run.confidence[1:].tolist() == [0.25, 0.5, 0.75, 1.0]
    assert run.boxes[4].tolist() == [5, 5, 10, 8]


# -- result files ----------------------------------------------------------------------------------

def _run() -> Run:
    boxes = np.array([[5, 5, 10, 8], [6.5, 5.25, 10, 8], NAN4, [0.1 + 0.2, 1e-17, 3, 4],
                      [8, 6, 10, 8]])
    return Run(boxes=boxes, times=np.array([0.5, 0.01, 0.02, 0.03, 0.04]),
               confidence=np.array([math.nan, 0.9, 0.1, math.nan, 1 / 3]))


def test_write_then_read_round_trips(tmp_path):
    folder = tmp_path / "tracker"
    paths = write_runs(folder, "votlt", "cat", [_run()])
    names = sorted(p.name for p in paths)
    assert names == ["cat_001.txt", "cat_001_confidence.value", "cat_001_time.value"]
    text = (folder / "longterm" / "cat" / "cat_001.txt").read_text().splitlines()
    assert text[0] == "1" and text[2] == "0" and text[1] == "6.5,5.25,10.0,8.0"
    confidence = (folder / "longterm" / "cat" / "cat_001_confidence.value").read_text()
    assert confidence.split("\n")[:2] == ["", "0.9"]
    results = read_tracker(folder)
    assert results.format == "votlt"
    (back,) = results.sequences["cat"]
    original = _run()
    assert np.isnan(back.boxes[0]).all()          # the init frame's "1" line
    np.testing.assert_array_equal(back.boxes[1:], original.boxes[1:])   # bit-identical
    np.testing.assert_array_equal(back.confidence, original.confidence)
    np.testing.assert_array_equal(back.times, original.times)


def test_reads_a_pysot_layout_with_time_txt(tmp_path):
    seq = tmp_path / "SiamRPN" / "longterm" / "dog"
    seq.mkdir(parents=True)
    (seq / "dog_001.txt").write_text("1\n2.0,3.0,12.0,9.0\n3.5,3.0,12.0,9.0\n0,0,1,1\n")
    (seq / "dog_001_confidence.value").write_text("\n0.987654\n0.500000\n0.010000\n")
    (seq / "dog_time.txt").write_text("0.100000\n0.010000\n0.010000\n0.010000\n")
    results = read_tracker(tmp_path / "SiamRPN")
    assert results.name == "SiamRPN" and results.format == "votlt"
    (run,) = results.sequences["dog"]
    assert run.boxes[2].tolist() == [3.5, 3.0, 12.0, 9.0]
    assert np.isnan(run.confidence[0]) and run.confidence[1:].tolist() == [0.987654, 0.5, 0.01]
    assert run.times.tolist() == [0.1, 0.01, 0.01, 0.01]


def test_confidence_of_wrong_length_makes_the_sequence_unreadable(tmp_path):
    seq = tmp_path / "T" / "longterm" / "dog"
    seq.mkdir(parents=True)
    (seq / "dog_001.txt").write_text("1\n2,3,12,9\n")
    (seq / "dog_001_confidence.value").write_text("\n0.5\n0.7\n")
    results = read_tracker(tmp_path / "T")
    assert "dog" not in results.sequences and "2 result rows" in results.unreadable["dog"]


def test_parse_confidence_keeps_blank_lines_as_nan():
    values = parse_confidence(b"\n0.5\n\n0.25\n", Path("x"))
    assert np.isnan(values[[0, 2]]).all() and values[[1, 3]].tolist() == [0.5, 0.25]


# -- metrics, by hand --------------------------------------------------------------------------------

def test_precision_recall_by_hand_with_absent_frames_and_missing_boxes():
    # frames: init, hit (ov 1, conf .9), prediction on an absent frame (ov 0, conf .8),
    # no box (ov 0, conf .3), half hit (ov .5, conf .6); visible frames: 0, 1, 3, 4 -> 4
    overlaps = np.array([0.0, 1.0, 0.0, 0.0, 0.5])
    confidence = np.array([math.nan, 0.9, 0.8, 0.3, 0.6])
    thresholds = np.array([np.inf, 0.9, 0.6, 0.3, -np.inf])
    pr, re = precision_recall(overlaps, confidence, 4, thresholds)
    np.testing.assert_allclose(pr, [1.0, 1.0, 1.5 / 3, 1.5 / 4, 1.5 / 4])
    np.testing.assert_allclose(re, [0.0, 0.25, 1.5 / 4, 1.5 / 4, 1.5 / 4])
    f = f_measure(pr, re)
    np.testing.assert_allclose(f, [0.0, 0.4, 2 * 0.5 * 0.375 / 0.875, 0.375, 0.375])
    # pysot: the init frame's NaN is 0, selected at every finite threshold <= 0, never at -inf
    thresholds = np.array([np.inf, 0.0, -np.inf])
    pr_p, re_p = precision_recall(overlaps, confidence, 4, thresholds, convention="pysot")
    np.testing.assert_allclose(pr_p, [1.0, 1.5 / 5, 1.5 / 4])
    np.testing.assert_allclose(re_p, [0.0, 1.5 / 4, 1.5 / 4])


def test_tied_confidences_are_selected_together():
    overlaps = np.array([0.0, 1.0, 0.0, 1.0])
    pr, re = precision_recall(overlaps, np.array([math.nan, 0.5, 0.5, 0.5]), 4,
                              np.array([np.inf, 0.5, -np.inf]))
    np.testing.assert_allclose(pr, [1.0, 2 / 3, 2 / 3])
    np.testing.assert_allclose(re, [0.0, 0.5, 0.5])


def test_threshold_grids_of_both_conventions():
    scores = np.concatenate([[math.nan], np.arange(1, 201, dtype=float)])   # 200 scores
    vot = threshold_grid(scores)
    pysot = threshold_grid(scores, convention="pysot")
    assert len(vot) == len(pysot) == 100 and vot[0] == pysot[0] == np.inf
    assert vot[-1] == pysot[-1] == -np.inf
    # delta = 2; VOT: descending[round(linspace(2, 198, 98))] -> 198, ..., 2
    assert (vot[1], vot[2], vot[-2]) == (198.0, 196.0, 2.0)
    # pysot: ascending[floor(linspace(1, 198, 98) + .5)] reversed -> 199, ..., 2
    assert (pysot[1], pysot[-2]) == (199.0, 2.0)
    assert list(threshold_grid(np.array([0.3, math.nan, 0.7, 0.3]))) == [np.inf, 0.7, 0.3, 0.3,
                                                                         -np.inf]


def test_frame_overlaps_zero_where_undefined_and_on_the_init_frame():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], NAN4, [0, 0, 10, 10]], dtype=float)
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], NAN4], dtype=float)
    assert frame_overlaps(boxes, gt, image_size=(100, 100)).tolist() == [0.0, 1.0, 0.0, 0.0]


def test_score_averages_sequences_then_takes_the_maximum_f():
    gt_a = np.array([[0, 0, 10, 10]] * 3, dtype=float)
    gt_b = np.array([[0, 0, 10, 10], NAN4, [0, 0, 10, 10]], dtype=float)
    hit, miss = [0, 0, 10, 10], [50, 50, 10, 10]
    results = {"t": {"a": [(np.array([hit, hit, miss], float), np.array([math.nan, 0.9, 0.2]))],
                     "b": [(np.array([hit, hit, hit], float), np.array([math.nan, 0.1, 0.8]))]}}
    report = score_votlt(results, {"a": gt_a, "b": gt_b}, image_sizes={"a": (99, 99),
                                                                      "b": (99, 99)})
    curve = report.curves["t"]
    assert list(curve["thresholds"]) == [np.inf, 0.9, 0.8, 0.2, 0.1, -np.inf]
    # a: visible 3; b: visible 2 (frame 1 absent: its box is a false report)
    np.testing.assert_allclose(curve["precision"], [1, 1, (1 + 1) / 2, (0.5 + 1) / 2,
                                                    (0.5 + 0.5) / 2, (0.5 + 0.5) / 2])
    np.testing.assert_allclose(curve["recall"], [0, 1 / 6, (1 / 3 + 1 / 2) / 2,
                                                 (1 / 3 + 1 / 2) / 2, (1 / 3 + 1 / 2) / 2,
                                                 (1 / 3 + 1 / 2) / 2])
    row = report.overall.iloc[0]
    assert curve["best"] == 2 and row.threshold == 0.8
    assert row.f_score == pytest.approx(2 * 1 * (5 / 12) / (1 + 5 / 12))
    per_seq = report.sequences.set_index("sequence")
    assert per_seq.loc["b", "visible"] == 2 and per_seq.loc["b", "f_score"] == pytest.approx(
        2 * 1 * 0.5 / 1.5)


# -- metrics, properties -----------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.one_of(st.just(math.nan), st.floats(-1, 1))),
                min_size=2, max_size=30),
       st.sampled_from(["vot", "pysot"]))
def test_f_never_exceeds_the_larger_of_precision_and_recall(frames, convention):
    overlaps = np.array([0.0] + [o for o, _ in frames[1:]])
    confidence = np.array([math.nan] + [c for _, c in frames[1:]])
    thresholds = threshold_grid(confidence, resolution=10, convention=convention)
    pr, re = precision_recall(overlaps, confidence, len(frames), thresholds,
                              convention=convention)
    f = f_measure(pr, re)
    assert np.all((pr >= 0) & (pr <= 1) & (re >= 0) & (re <= 1))
    assert np.all(f <= np.maximum(pr, re) + 1e-12) and np.all(f >= 0)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.floats(0.01, 1), st.sampled_from(["vot", "pysot"]))
def test_a_perfect_tracker_with_constant_confidence_scores_one(frames, value, convention):
    gt = np.tile([3.0, 4.0, 20.0, 10.0], (frames, 1))
    confidence = np.full(frames, value)
    confidence[0] = math.nan
    report = score_votlt({"t": {"s": [(gt.copy(), confidence)]}}, {"s": gt},
                         image_sizes={"s": (64, 48)}, convention=convention)
    row = report.overall.iloc[0]
    # the init frame is no report (overlap 0 of the N visible ones): recall (N - 1) / N
    assert row.precision == pytest.approx(1.0)
    assert row.recall == pytest.approx((frames - 1) / frames)
    assert row.f_score == pytest.approx(2 * (frames - 1) / (2 * frames - 1))


# -- run and report through the CLI --------------------------------------------------------------

def test_cli_run_then_report_writes_the_family_columns_and_the_plot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = _write_dataset(tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--tracker", "identity", "--dataset", "vot-lt2018",
                                 "--root", str(root), "--results-dir", "res", "--quiet"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "res" / "vot-lt2018" / "identity" / "longterm"
    assert sorted(p.name for p in (folder / "cat").iterdir()) == [
        "cat_001.txt", "cat_001_confidence.value", "cat_001_time.value"]
    # a third-party tracker in pysot's layout beside it
    other = tmp_path / "res" / "vot-lt2018" / "pysot-tracker" / "longterm"
    for name, rows in (("cat", ["6,5,10,8", "0", "7,5,10,8", "8,6,10,8"]),
                       ("dog", ["2,3,12,9", "3,3,12,9", "3,4,12,9"])):
        (other / name).mkdir(parents=True)
        (other / name / f"{name}_001.txt").write_text("1\n" + "\n".join(rows) + "\n")
        (other / name / f"{name}_001_confidence.value").write_text(
            "\n" + "".join(f"{0.9 - 0.1 * i:.6f}\n" for i in range(len(rows))))
    result = runner.invoke(cli, ["report", "--dataset", "vot-lt2018", "--root", str(root),
                                 "--results-dir", "res/vot-lt2018", "--out", "rep",
                                 "--ci", "none"])
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "rep" / "vot-lt2018" / "summary.csv").read_text().splitlines()
    assert summary[0] == "tracker,sequences,f_score,precision,recall"
    assert summary[1].startswith("pysot-tracker,2,")     # the better tracker ranks first
    assert (tmp_path / "rep" / "vot-lt2018" / "f_score_plot.png").stat().st_size > 0
    pysot = runner.invoke(cli, ["report", "--dataset", "vot-lt2018", "--root", str(root),
                                "--results-dir", "res/vot-lt2018", "--out", "rep2",
                                "--ci", "none", "--convention", "pysot"])
    assert pysot.exit_code == 0, pysot.output
    vot = runner.invoke(cli, ["report", "--dataset", "vot-lt2018", "--root", str(root),
                              "--results-dir", "res/vot-lt2018", "--out", "rep4",
                              "--ci", "none", "--convention", "vot"])
    assert vot.exit_code == 0, vot.output
    assert (tmp_path / "rep4" / "vot-lt2018" / "summary.csv").read_text() == "\n".join(
        summary) + "\n"
    boot = runner.invoke(cli, ["report", "--dataset", "vot-lt2018", "--root", str(root),
                               "--results-dir", "res/vot-lt2018", "--out", "rep5",
                               "--resamples", "200"])
    assert boot.exit_code == 0, boot.output
    with_ci = (tmp_path / "rep5" / "vot-lt2018" / "summary.csv").read_text().splitlines()
    assert with_ci[0] == ("tracker,sequences,f_score,precision,recall,f_score_ci_low,"
                          "f_score_ci_high,precision_ci_low,precision_ci_high,recall_ci_low,"
                          "recall_ci_high,group")
    for line, plain in zip(with_ci[1:], summary[1:], strict=True):
        cells = line.split(",")
        assert ",".join(cells[:5]) == plain                    # scores unchanged
        f, low, high = float(cells[2]), float(cells[5]), float(cells[6])
        assert low <= f + 1e-12 and f <= high + 1e-12
    pairs = (tmp_path / "rep5" / "vot-lt2018" / "pairwise.csv").read_text().splitlines()
    assert len(pairs) == 1 + 3 and all(",," in row for row in pairs[1:])   # no Wilcoxon p
    wrong = runner.invoke(cli, ["report", "--dataset", "vot-lt2018", "--root", str(root),
                                "--results-dir", "res/vot-lt2018", "--out", "rep3",
                                "--convention", "otb"])
    assert wrong.exit_code != 0 and "unknown long-term convention 'otb'" in wrong.output


def test_the_family_ranks_by_f_score():
    family = FAMILIES["votlt"]
    assert family.rank_by == "f_score"
    assert family.columns == ("tracker", "sequences", "f_score", "precision", "recall")


def test_oracle_on_the_protocol_gets_every_visible_box(tmp_path):
    sequence = load_dataset("vot-lt2018", _write_dataset(tmp_path / "d"))["cat"]
    (run,) = run_sequence(OracleTracker(sequence.groundtruth), sequence, "vot-lt2018", origin=0)
    report = score_votlt({"oracle": {"cat": [run]}}, {"cat": sequence.groundtruth},
                         image_sizes={"cat": sequence.image_size})
    row = report.overall.iloc[0]
    # the oracle answers the absent frames with NaN boxes but confidence 1: both toolkits select
    # frames by confidence alone, so they are reports of overlap 0 (2 hits of 4 reports); the
    # visible frames are 0, 1 and 4, the init frame never a hit
    assert row.precision == pytest.approx(0.5) and row.recall == pytest.approx(2 / 3)
    with pytest.raises(SiambenchError):
        score_votlt({"o": {"cat": [run]}}, {"cat": sequence.groundtruth[:2]})


def test_f_score_resamples_recompute_the_maximum():
    """A resample drawing every sequence once gives the F-score; one drawing a single sequence
    gives the F-score of the curves of that sequence alone (hand-computed)."""
    from siambench.metrics.votlt import f_score_of_resamples

    precision = np.array([[1.0, 0.8, 0.5], [1.0, 0.4, 0.3]])
    recall = np.array([[0.0, 0.6, 0.9], [0.0, 0.2, 0.5]])
    f, pr, re = f_score_of_resamples(precision, recall, np.array([[1, 1], [2, 0], [0, 2]]))
    mean_pr, mean_re = precision.mean(0), recall.mean(0)
    everyone = 2 * mean_pr * mean_re / (mean_pr + mean_re)
    assert f[0] == pytest.approx(everyone.max())
    assert (pr[0], re[0]) == pytest.approx((mean_pr[everyone.argmax()], mean_re[everyone.argmax()]))
    assert f[1] == pytest.approx(max(2 * 0.8 * 0.6 / 1.4, 2 * 0.5 * 0.9 / 1.4))
    assert f[2] == pytest.approx(2 * 0.3 * 0.5 / 0.8)
    assert (pr[2], re[2]) == pytest.approx((0.3, 0.5))
