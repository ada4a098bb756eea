"""OPE metrics: hand-computed cases, properties, got10k oracle, the SiamFC-3s OTB-100 release."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas.testing as pd_testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siambench.boxes import centre_error, normalized_centre_error, rect_iou
from siambench.metrics import ScoringError, ope_fast, score_ope
from siambench.metrics import ope as ope_module
from siambench.metrics.ope import (
    CONVENTIONS,
    NORM_PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    OPEConvention,
    aggregate_ope,
    ope_sequence_score,
    with_convention,
)

got10k_metrics = pytest.importorskip("got10k.utils.metrics")
from got10k.experiments.otb import ExperimentOTB  # noqa: E402 (after importorskip)

_SCORE_TRACKERS = ope_fast._score_trackers


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this file runs on both backends (the numba one is skipped without numba)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setattr(ope_fast, "_score_trackers",
                        lambda collected, gts, times, conv, workers, _backend:
                        _SCORE_TRACKERS(collected, gts, times, conv, workers, request.param))
    return request.param


def _got10k_experiment() -> ExperimentOTB:
    experiment = ExperimentOTB.__new__(ExperimentOTB)
    experiment.nbins_iou, experiment.nbins_ce = 21, 51
    return experiment


# ------------------------------------------------------------------------------------------
# hand-computed cases
# ------------------------------------------------------------------------------------------

def test_two_frames_known_iou_exact_curve_and_auc() -> None:
    gt = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    pred = np.array([[50.0, 50.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0]])  # frame 0 replaced by GT
    score = ope_sequence_score(pred, gt, convention="got10k")
    # IoUs [1, 50/150]: thresholds 0..0.30 both succeed, 0.35..0.95 only frame 0, 1.0 none (strict)
    expected = np.array([1.0] * 7 + [0.5] * 13 + [0.0])
    np.testing.assert_array_equal(score.success_curve, expected)
    assert score.success_auc == pytest.approx(13.5 / 21, abs=1e-15)
    assert score.success_rate == 0.5
    # centre errors [0, 5]: hit at every threshold for frame 0, from 5 px on for frame 1
    np.testing.assert_array_equal(score.precision_curve, [0.5] * 5 + [1.0] * 46)
    assert score.precision == 1.0
    # siambench convention: the perfect frame succeeds at threshold 1.0 too
    own = ope_sequence_score(pred, gt, convention="siambench")
    assert own.success_curve[-1] == 0.5
    assert own.success_auc == pytest.approx(14 / 21, abs=1e-15)


def test_constant_offset_hand_computed() -> None:
    gt = np.tile([[20.0, 30.0, 40.0, 40.0]], (50, 1))
    pred = gt + [3.0, 4.0, 0.0, 0.0]
    score = ope_sequence_score(pred, gt, convention="pysot")  # pysot keeps the file's frame 0
    # centre error 5 px everywhere
    np.testing.assert_array_equal(score.precision_curve, [0.0] * 5 + [1.0] * 46)
    # IoU = 37*36 / (3200 - 1332) = 0.71306...: success for thresholds 0 .. 0.70 (15 of 21)
    np.testing.assert_array_equal(score.success_curve, [1.0] * 15 + [0.0] * 6)
    assert score.success_auc == pytest.approx(15 / 21, abs=1e-15)
    # normalised error |(3/40, 4/40)| = 0.125: hits from threshold 0.13 (index 13) on
    got10k_style = ope_sequence_score(pred, gt, convention=with_convention("pysot", norm="got10k"))
    np.testing.assert_array_equal(got10k_style.norm_precision_curve, [0.0] * 13 + [1.0] * 38)
    assert got10k_style.norm_precision == pytest.approx(38 / 51, abs=1e-15)
    # with frame 0 replaced by the GT (OTB), one frame of 50 is perfect
    otb = ope_sequence_score(pred, gt)
    assert otb.precision_curve[0] == pytest.approx(1 / 50)
    assert otb.success_curve[-1] == 0.0


def test_ground_truth_against_itself() -> None:
    rng = np.random.default_rng(1)
    gt = np.column_stack([rng.uniform(-20, 300, (80, 2)), rng.uniform(1, 90, (80, 2))])
    own = ope_sequence_score(gt, gt, convention="siambench")
    assert own.success_auc == 1.0 and own.precision == 1.0 and own.norm_precision == 1.0
    # strict '>' at threshold 1.0 (OTB, pysot, got10k): 20/21 = 0.952 (pysot-toolkit#7)
    for name in ("otb", "got10k", "pysot", "lasot"):
        assert ope_sequence_score(gt, gt, convention=name).success_auc == pytest.approx(20 / 21, abs=1e-15)


def test_invalid_ground_truth_rules() -> None:
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0], [np.nan] * 4], dtype=float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    otb = ope_sequence_score(pred, gt, convention="otb")
    assert otb.frames == 4
    assert otb.success_curve[0] == 0.5                 # invalid frames fail ...
    assert otb.precision_curve[0] == 1.0               # ... but count as precision hits
    miss = ope_sequence_score(pred, gt, convention=with_convention("otb", invalid_gt="miss"))
    assert miss.success_curve[0] == 0.5 and miss.precision_curve[0] == 0.5
    excl = ope_sequence_score(pred, gt, convention="lasot")
    assert excl.frames == 2 and excl.success_curve[0] == 1.0 and excl.precision_curve[50] == 1.0
    none = ope_sequence_score(pred, gt, convention="got10k")  # computed as is: IoU 0 / NaN fail
    assert none.frames == 4 and none.success_curve[0] == 0.5
    assert none.precision_curve[50] == 0.75             # the NaN row never hits; 0,0,0,0 is 5.5 px away


def test_multiple_runs_average_curves() -> None:
    gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (3, 1))
    run_a = gt.copy()
    run_b = gt + [0.0, 0.0, 0.0, 0.0]
    run_b[1:] += [100.0, 0.0, 0.0, 0.0]
    score = ope_sequence_score([run_a, run_b], gt, convention="got10k")
    assert score.runs == 2
    assert score.success_curve[0] == pytest.approx((1.0 + 1 / 3) / 2)


def test_report_tables_attributes_and_fps() -> None:
    rng = np.random.default_rng(2)
    gts = {f"s{i}": np.column_stack([rng.uniform(0, 200, (30, 2)), rng.uniform(5, 50, (30, 2))])
           for i in range(4)}
    results = {"a": {k: g + rng.normal(0, 3, g.shape) for k, g in gts.items()},
               "b": {k: g + rng.normal(0, 9, g.shape) for k, g in gts.items()}}
    times = {"a": {k: np.full(30, 0.02) for k in gts}}
    attributes = {"s0": ["OCC"], "s1": ["OCC", "IV"], "s2": [], "s3": ["IV"]}
    report = score_ope(results, gts, times=times, attributes=attributes)
    assert list(report.overall.columns[:7]) == ["tracker", "sequences", "success_auc", "precision",
                                                "norm_precision", "fps_mean", "fps_total"]
    assert len(report.sequences) == 8 and list(report.overall.tracker) == ["a", "b"]
    assert report.overall.set_index("tracker").loc["a", "fps_mean"] == pytest.approx(50.0)
    assert report.overall.set_index("tracker").loc["a", "fps_total"] == pytest.approx(50.0)
    assert np.isnan(report.overall.set_index("tracker").loc["b", "fps_mean"])
    assert np.isnan(report.overall.set_index("tracker").loc["b", "fps_total"])
    occ = report.by_attribute.set_index(["tracker", "attribute"]).loc[("a", "OCC")]
    subset = score_ope({"a": {k: results["a"][k] for k in ("s0", "s1")}}, gts).overall.iloc[0]
    assert occ.sequences == 2
    assert occ.success_auc == subset.success_auc and occ.precision == subset.precision
    per_seq = report.sequences[report.sequences.tracker == "a"]
    assert report.overall.success_auc[0] == pytest.approx(per_seq.success_auc.mean(), abs=1e-12)
    assert set(report.scores("a")) == set(gts)


def test_times_per_run_lists_and_empty_lists() -> None:
    gt = np.tile([[1.0, 2.0, 10.0, 10.0]], (4, 1))
    times = {"t": {"a": [np.array([0.5, 0.5, 0.25, 0.0]), np.array([0.25, np.nan, 0.5, 0.5])],
                   "b": []}}
    report = score_ope({"t": {"a": [gt, gt], "b": gt}}, {"a": gt, "b": gt}, times=times)
    fps = report.sequences.set_index("sequence").fps_mean
    assert fps["a"] == pytest.approx((2 + 2 + 4 + 4 + 2 + 2) / 6) and np.isnan(fps["b"])
    assert report.overall.fps_mean[0] == pytest.approx(fps["a"])
    total = report.sequences.set_index("sequence").fps_total
    assert total["a"] == pytest.approx(6 / 2.5) and np.isnan(total["b"])  # 6 valid times, 2.5 s
    assert report.overall.fps_total[0] == pytest.approx(6 / 2.5)


def test_inputs_not_modified_and_errors() -> None:
    gt = np.tile([[1.0, 2.0, 10.0, 10.0]], (5, 1))
    pred = gt + 1.0
    keep_gt, keep_pred = gt.copy(), pred.copy()
    score_ope({"t": {"s": pred}}, {"s": gt})
    np.testing.assert_array_equal(gt, keep_gt)
    np.testing.assert_array_equal(pred, keep_pred)
    with pytest.raises(ScoringError, match=r"'s'.*4 result rows but the ground truth has 5"):
        score_ope({"t": {"s": pred[:4]}}, {"s": gt})
    with pytest.raises(ScoringError, match="no ground truth"):
        score_ope({"t": {"x": pred}}, {"s": gt})
    with pytest.raises(ScoringError, match="unknown OPE convention"):
        score_ope({"t": {"s": pred}}, {"s": gt}, convention="vot")
    with pytest.raises(ScoringError, match="invalid_gt"):
        score_ope({"t": {"s": pred}}, {"s": gt}, convention=OPEConvention("x", invalid_gt="drop"))


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------

boxes_strategy = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.tuples(st.floats(-50, 200), st.floats(-50, 200), st.floats(0.5, 80), st.floats(0.5, 80)),
                 min_size=n, max_size=n),
        st.lists(st.tuples(st.floats(-50, 200), st.floats(-50, 200), st.floats(-5, 80), st.floats(-5, 80)),
                 min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(boxes_strategy, st.sampled_from(["otb", "got10k", "pysot", "lasot", "siambench"]))
def test_curves_monotone_and_bounded(data: tuple, convention: str) -> None:
    gt, pred = np.array(data[0]), np.array(data[1])
    score = ope_sequence_score(pred, gt, convention=convention)
    for curve, sign in ((score.success_curve, -1), (score.precision_curve, 1),
                        (score.norm_precision_curve, 1)):
        assert np.all((curve >= 0) & (curve <= 1))
        assert np.all(sign * np.diff(curve) >= 0)
    # the counts equal a broadcast comparison with the boxes functions
    if convention == "got10k":
        p = pred.copy()
        p[0] = gt[0]
        iou = np.nan_to_num(rect_iou(p, gt), nan=-1)
        np.testing.assert_array_equal(score.success_curve, (iou[:, None] > SUCCESS_THRESHOLDS).mean(0))
        ce = centre_error(p, gt)
        np.testing.assert_array_equal(score.precision_curve, (ce[:, None] <= np.arange(51.0)).mean(0))
        nce = normalized_centre_error(p, gt)
        np.testing.assert_array_equal(score.norm_precision_curve,
                                      (nce[:, None] <= NORM_PRECISION_THRESHOLDS).mean(0))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.permutations(list(range(5))))
def test_sequence_permutation_invariance(seed: int, order: list[int]) -> None:
    rng = np.random.default_rng(seed)
    gts = {f"s{i}": np.column_stack([rng.uniform(0, 100, (12, 2)), rng.uniform(2, 40, (12, 2))])
           for i in range(5)}
    preds = {k: g + rng.normal(0, 6, g.shape) for k, g in gts.items()}
    names = list(gts)
    shuffled = {names[i]: preds[names[i]] for i in order}
    a = score_ope({"t": preds}, gts).overall.iloc[0]
    b = score_ope({"t": shuffled}, gts).overall.iloc[0]
    for column in ("success_auc", "precision", "norm_precision"):
        assert a[column] == pytest.approx(b[column], abs=1e-12)


# ------------------------------------------------------------------------------------------
# got10k oracle
# ------------------------------------------------------------------------------------------

def _got10k_report(results: dict, gts: dict, times: dict | None) -> dict:
    """got10k ExperimentOTB.report's computation, fed from memory."""
    experiment = _got10k_experiment()
    out = {}
    for name, by_seq in results.items():
        succ = np.zeros((len(gts), 21))
        prec = np.zeros((len(gts), 51))
        speeds = np.zeros(len(gts))
        seq_wise = {}
        for s, (seq, anno) in enumerate(gts.items()):
            boxes = by_seq[seq].copy()
            boxes[0] = anno[0]
            ious = got10k_metrics.rect_iou(boxes.copy(), anno.copy())
            errors = got10k_metrics.center_error(boxes, anno)
            succ[s], prec[s] = experiment._calc_curves(ious, errors)
            if times is not None:
                t = times[name][seq]
                t = t[t > 0]
                if len(t):
                    speeds[s] = np.mean(1.0 / t)
            seq_wise[seq] = (succ[s].copy(), prec[s].copy(), np.mean(succ[s]), prec[s][20], speeds[s])
        sc, pc = succ.mean(axis=0), prec.mean(axis=0)
        fps = np.sum(speeds) / np.count_nonzero(speeds) if np.count_nonzero(speeds) else -1
        out[name] = (sc, pc, np.mean(sc), pc[20], fps, seq_wise)
    return out


def _assert_matches_got10k(results: dict, gts: dict, times: dict | None = None) -> None:
    report = score_ope(results, gts, times=times, convention="got10k")
    reference = _got10k_report(results, gts, times)
    overall = report.overall.set_index("tracker")
    for name, (sc, pc, auc, prec, fps, seq_wise) in reference.items():
        np.testing.assert_allclose(report.curves[name]["success"], sc, rtol=0, atol=1e-9)
        np.testing.assert_allclose(report.curves[name]["precision"], pc, rtol=0, atol=1e-9)
        assert abs(overall.loc[name, "success_auc"] - auc) < 1e-9
        assert abs(overall.loc[name, "precision"] - prec) < 1e-9
        if times is not None:
            assert abs(overall.loc[name, "fps_mean"] - fps) < 1e-9   # got10k's speed
        records = report.scores(name)
        for seq, (s_curve, p_curve, s_auc, s_prec, speed) in seq_wise.items():
            np.testing.assert_allclose(records[seq].success_curve, s_curve, rtol=0, atol=1e-9)
            np.testing.assert_allclose(records[seq].precision_curve, p_curve, rtol=0, atol=1e-9)
            assert abs(records[seq].success_auc - s_auc) < 1e-9
            assert abs(records[seq].precision - s_prec) < 1e-9
            if times is not None:
                assert abs(records[seq].fps_mean - speed) < 1e-9


@pytest.mark.parametrize("integer_boxes", [False, True])
def test_oracle_random_results_equal_got10k(integer_boxes: bool) -> None:
    rng = np.random.default_rng(7 + integer_boxes)
    gts, results, times = {}, {}, {}
    for i in range(12):
        n = int(rng.integers(20, 200))
        g = np.column_stack([rng.uniform(0, 400, (n, 2)), rng.uniform(4, 120, (n, 2))])
        gts[f"seq{i}"] = np.round(g) if integer_boxes else g
    for t in range(3):
        noise = [2.0, 10.0, 40.0][t]
        results[f"t{t}"] = {k: (np.round(g + rng.normal(0, noise, g.shape)) if integer_boxes
                                else g + rng.normal(0, noise, g.shape)) for k, g in gts.items()}
        times[f"t{t}"] = {k: rng.uniform(0.001, 0.1, len(g)) for k, g in gts.items()}
    _assert_matches_got10k(results, gts, times)


def test_boundary_values_exactly_on_thresholds() -> None:
    # IoUs and distances exactly on grid points: strict '>' for success, '<=' for precision
    gt = np.tile([[0.0, 0.0, 20.0, 10.0]], (6, 1))
    pred = np.array([[0, 0, 20, 10], [0, 0, 10, 10], [0, 0, 5, 10], [20, 0, 20, 10],
                     [3, 4, 20, 10], [0, 0, 1, 10]], dtype=float)   # IoU 1, .5, .25, 0, ..., .05
    _assert_matches_got10k({"t": {"s": pred}}, {"s": gt})
    score = ope_sequence_score(pred, gt, convention="got10k")
    assert score.success_rate == pytest.approx(1 / 6)          # only IoU 1 is > 0.5


# ------------------------------------------------------------------------------------------
# the official SiamFC-3s OTB-100 release (published: AUC 0.582, precision 0.771)
# ------------------------------------------------------------------------------------------

def _read_rows(path: Path) -> np.ndarray:
    rows = [[float(v) for v in re.split(r"[,\s]+", line.strip())]
            for line in path.read_text().splitlines() if line.strip()]
    return np.array(rows)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@pytest.fixture(scope="module")
def siamfc_otb100(shared_data: Path) -> tuple[dict, dict]:
    sio = pytest.importorskip("scipy.io")
    root = shared_data / "zhangzheng0131_Tracker_Benchmark_tb100"
    release = root / "results/cfnet_cvpr17_otb100/cfnet_cvpr17_otb100/results_SiamFC-3s_OTB-100"
    if not release.is_dir():
        pytest.skip("SiamFC-3s OTB-100 release absent")
    gt_files = {_key(p.stem): p for p in (root / "anno_TB100").glob("*.txt")}
    results, gts = {}, {}
    for mat in sorted(release.glob("*_siamfc3s.mat")):
        ope = sio.loadmat(mat, squeeze_me=True, struct_as_record=False)["results"][0]  # OPE run
        name = _key(mat.name[: -len("_siamfc3s.mat")])
        boxes = np.asarray(ope.res, dtype=np.float64)
        first = int(ope.startFrame) - int(ope.annoBegin)   # Tiger1: GT has 354 rows, result starts at 6
        gts[name] = _read_rows(gt_files[name])[first: first + len(boxes)]
        results[name] = boxes
    return results, gts


def test_siamfc_otb100_published_numbers(siamfc_otb100: tuple[dict, dict]) -> None:
    results, gts = siamfc_otb100
    assert len(results) == 100
    assert len(gts["tiger1"]) == len(results["tiger1"]) == 349
    overall = score_ope({"SiamFC-3s": results}, gts).overall.iloc[0]
    assert round(overall.success_auc, 3) == 0.582
    assert round(overall.precision, 3) == 0.771
    # without the OTB invalid-row rule (Board, Twinnings end with 0,0,0,0) precision is 0.7705 -> 0.770
    assert round(score_ope({"s": results}, gts, convention="got10k").overall.precision[0], 3) == 0.770
    # siambench's inclusive last threshold adds the perfect frame 0 of each sequence
    assert round(score_ope({"s": results}, gts, convention="siambench").overall.success_auc[0], 3) == 0.583


def test_siamfc_otb100_equals_got10k_per_sequence(siamfc_otb100: tuple[dict, dict]) -> None:
    results, gts = siamfc_otb100
    _assert_matches_got10k({"SiamFC-3s": results}, gts)


# ------------------------------------------------------------------------------------------
# the chunked kernel: exact against a broadcast reference, whatever the chunking and threads
# ------------------------------------------------------------------------------------------

def _reference_curves(runs: list[np.ndarray], gt: np.ndarray, conv: OPEConvention
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every frame against every threshold with the boxes functions, then the convention's rules."""
    curves = []
    for run in runs:
        p = np.array(run, dtype=float)
        if conv.first_frame_gt:
            p[0] = gt[0]
        with np.errstate(all="ignore"):
            iou = np.nan_to_num(rect_iou(p, gt), nan=-1)
            succ = iou[:, None] > SUCCESS_THRESHOLDS
            if conv.inclusive_last:
                succ[:, -1] |= iou >= 1 - 1e-9
            prec = centre_error(p, gt)[:, None] <= np.arange(51.0)
            norm = normalized_centre_error(p, gt, convention=conv.norm)[:, None] <= NORM_PRECISION_THRESHOLDS
            bad = np.isnan(gt).any(axis=1) | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)
        if conv.invalid_gt == "otb":
            succ[bad], prec[bad], norm[bad] = False, True, True
        elif conv.invalid_gt == "miss":
            succ[bad], prec[bad], norm[bad] = False, False, False
        elif conv.invalid_gt == "exclude":
            succ, prec, norm = succ[~bad], prec[~bad], norm[~bad]
        curves.append([c.sum(axis=0) / len(c) for c in (succ, prec, norm)])
    stacked = [np.array([c[i] for c in curves]) for i in range(3)]
    return tuple(np.add.reduceat(s, [0], axis=0)[0] / len(runs) for s in stacked)


def _tricky_data(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """GT and one run with values on thresholds (integer / power-of-two boxes), invalid rows, NaNs."""
    if kind == "grid":   # IoUs k/20, distances 0..10 px, normalised errors k/100 on the nose
        gt = np.tile([[0.0, 0.0, 20.0, 10.0]], (n, 1))
        gt[:, 2:] = rng.choice([1.0, 2.0, 4.0, 5.0, 10.0, 20.0, 40.0, 100.0], (n, 2))
        pred = gt.copy()
        pred[:, :2] += rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0], (n, 2))
        pred[:, 2:] *= rng.choice([0.05, 0.25, 0.5, 0.95, 1.0, 2.0], (n, 2))
    elif kind == "int":
        gt = np.column_stack([rng.integers(0, 50, (n, 2)), rng.integers(1, 40, (n, 2))]).astype(float)
        pred = gt + rng.integers(-6, 7, gt.shape)
    else:
        gt = np.column_stack([rng.uniform(-20, 300, (n, 2)), rng.uniform(0.2, 90, (n, 2))])
        pred = gt + rng.normal(0, rng.uniform(0.5, 30), gt.shape)
    if n > 4:
        gt[1] = np.nan
        gt[2, 2] = 0.0
        gt[3, 3] = -3.0
        pred[4] = np.nan
        pred[n - 1, 2] = -1.0
    return gt, pred


@pytest.mark.parametrize("chunk", [64, 1 << 15])
def test_kernel_equals_broadcast_reference_for_every_convention(chunk: int, monkeypatch) -> None:
    monkeypatch.setattr(ope_fast, "_CHUNK", chunk)   # 64: runs split across chunks, chunks span runs
    rng = np.random.default_rng(11)
    gts, results = {}, {"a": {}, "b": {}}
    for i, (kind, n) in enumerate([("grid", 300), ("int", 37), ("float", 1), ("float", 2), ("grid", 5),
                                   ("int", 150), ("float", 1000)]):
        gt, pred = _tricky_data(rng, kind, n)
        gts[f"s{i}"] = gt
        results["a"][f"s{i}"] = pred
        results["b"][f"s{i}"] = [pred, _tricky_data(rng, kind, n)[1], gt]   # three runs
    conventions = [*CONVENTIONS.values(), with_convention("otb", invalid_gt="miss"),
                   with_convention("pysot", invalid_gt="none")]
    for conv in conventions:
        for workers in (1, 2):
            report = score_ope(results, gts, convention=conv, workers=workers)
            for tracker, by_seq in results.items():
                records = report.scores(tracker)
                for seq, value in by_seq.items():
                    runs = value if isinstance(value, list) else [value]
                    succ, prec, norm = _reference_curves(runs, gts[seq], conv)
                    np.testing.assert_array_equal(records[seq].success_curve, succ, err_msg=f"{conv} {seq}")
                    np.testing.assert_array_equal(records[seq].precision_curve, prec, err_msg=f"{conv} {seq}")
                    np.testing.assert_array_equal(records[seq].norm_precision_curve, norm,
                                                  err_msg=f"{conv} {seq}")


def test_threshold_counts_exact_next_to_every_threshold() -> None:
    # values 0..4 ulps either side of every threshold, and k / scale computed two ways
    for thresholds, scale, last_inner, nan_low in ((SUCCESS_THRESHOLDS, 20.0, 19.0, True),
                                                   (NORM_PRECISION_THRESHOLDS, 100.0, 50.0, False)):
        values = [0.0, -0.0, np.nan, 5e-324]
        for t in thresholds:
            for direction in (-np.inf, np.inf):
                v = t
                for _ in range(5):
                    values.append(v)
                    v = np.nextafter(v, direction)
        grid = np.arange(60)
        values += [*(grid / scale), *(grid * (1 / scale))]
        if not nan_low:
            values.append(np.inf)
        v = np.array(values)
        if nan_low:
            v = v[~(v > 1)]   # an IoU never exceeds 1
        n = len(v)
        out = np.empty(n, dtype=np.intp)
        fix = ope_fast._grid_keys(v, scale, float(len(thresholds)), last_inner, nan_low, np.zeros(n), out,
                                    np.empty(n), np.empty(n), np.empty(n, dtype=bool))
        if fix is not None:
            out[fix] = np.searchsorted(thresholds, v[fix], side="left")
        expected = np.searchsorted(thresholds, v, side="left")
        expected[np.isnan(v)] = 0 if nan_low else len(thresholds)
        np.testing.assert_array_equal(out, expected)


def test_chunking_and_threads_do_not_change_tables(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    gts = {f"s{i}": np.column_stack([rng.uniform(0, 300, (n, 2)), rng.uniform(5, 80, (n, 2))])
           for i, n in enumerate([5000, 3, 700, 1])}
    results = {t: {k: g + rng.normal(0, 8, g.shape) for k, g in gts.items()} for t in ("a", "b", "c")}
    times = {t: {k: rng.uniform(0.01, 0.05, len(g)) for k, g in gts.items()} for t in ("a", "c")}
    baseline = score_ope(results, gts, times=times)
    monkeypatch.setattr(ope_fast, "_CHUNK", 100)   # 5000 frames in 50 chunks; tiny time buffers
    for workers in (1, 3):
        other = score_ope(results, gts, times=times, workers=workers)
        pd_testing.assert_frame_equal(other.sequences, baseline.sequences, check_exact=False, rtol=1e-13)
        for tracker in results:
            for name in ("success", "precision", "norm_precision"):
                np.testing.assert_array_equal(other.curves[tracker][name], baseline.curves[tracker][name])
    fps = baseline.sequences.set_index(["tracker", "sequence"]).fps_mean
    t = times["a"]["s0"]
    assert fps[("a", "s0")] == pytest.approx(np.mean(1.0 / t), rel=1e-12)
    assert np.isnan(fps[("b", "s0")])


def test_invalid_rows_whatever_the_memory_layout() -> None:
    gt = np.array([[0, 0, 1, 1], [np.nan, 0, 1, 1], [0, 0, 0, 1], [0, 0, 1, -1], [0, 0, 1, np.nan],
                   [2, 3, 4, 5]], dtype=float)
    expected = [False, True, True, True, True, False]
    for layout in (gt, np.asfortranarray(gt), np.repeat(gt, 2, axis=1)[:, ::2]):
        np.testing.assert_array_equal(ope_fast._invalid_rows(layout), expected)


# ------------------------------------------------------------------------------------------
# the numba backend: bit for bit the numpy path, lazy import
# ------------------------------------------------------------------------------------------

def _backend_reports(results: dict, gts: dict, times: dict | None, conv: object) -> tuple:
    """The numpy backend, the numba one on one thread and on three."""
    pytest.importorskip("numba")
    kernel = ope_fast._load_kernel()
    reports = [ope_fast._report(ope_fast._score_trackers_numpy(*_prepared(results, gts), times, conv, 1),
                                  None)]
    for workers in (1, 3):
        blocks = ope_fast._score_trackers_numba(*_prepared(results, gts), times, conv, workers, kernel)
        reports.append(ope_fast._report(blocks, None))
    return tuple(reports)


def _prepared(results: dict, gts: dict) -> tuple[dict, dict]:
    checked = {seq: ope_module._check_gt(seq, gt) for seq, gt in gts.items()}
    return {t: ope_module._collect_runs(t, by_seq, checked) for t, by_seq in results.items()}, checked


def _assert_same_reports(reports: tuple) -> None:
    reference, *others = reports
    for other in others:
        for tracker, curves in reference.curves.items():
            for name, curve in curves.items():
                np.testing.assert_array_equal(other.curves[tracker][name], curve)
            for seq, record in reference.scores(tracker).items():
                mine = other.scores(tracker)[seq]
                assert mine.frames == record.frames and mine.runs == record.runs
                for name in ("success_curve", "precision_curve", "norm_precision_curve"):
                    np.testing.assert_array_equal(getattr(mine, name), getattr(record, name),
                                                  err_msg=f"{tracker} {seq} {name}")
        pd_testing.assert_frame_equal(other.sequences.drop(columns="fps_mean"),
                                      reference.sequences.drop(columns="fps_mean"), check_exact=True)


@pytest.mark.parametrize("convention", [*CONVENTIONS, "miss", "pysot-none", "inclusive-pysot"])
def test_numba_equals_numpy_bit_for_bit(convention: str) -> None:
    conv = {"miss": with_convention("otb", invalid_gt="miss"),
            "pysot-none": with_convention("pysot", invalid_gt="none"),
            "inclusive-pysot": with_convention("pysot", inclusive_last=True, invalid_gt="exclude")
            }.get(convention, CONVENTIONS.get(convention))
    rng = np.random.default_rng(23)
    gts, results = {}, {"a": {}, "b": {}, "c": {}}
    for i, (kind, n) in enumerate([("grid", 400), ("int", 60), ("float", 1), ("float", 2), ("grid", 5),
                                   ("int", 250), ("float", 900), ("float", 0)]):
        gt, pred = _tricky_data(rng, kind, n) if n else (np.zeros((0, 4)), np.zeros((0, 4)))
        gts[f"s{i}"] = gt
        results["a"][f"s{i}"] = pred
        results["b"][f"s{i}"] = [pred, gt.copy()]
        other = _tricky_data(rng, kind, n)[1] if n else pred
        results["c"][f"s{i}"] = np.asfortranarray(other)          # not C-contiguous: copied
    results["b"]["s6"][1][:, 0] = np.inf                          # infinite boxes
    results["a"]["s1"] = np.nan_to_num(results["a"]["s1"]).astype(np.int64)   # integers: converted
    frozen = results["a"]["s6"].copy()
    frozen.flags.writeable = False                                # read-only input is fine
    results["a"]["s6"] = frozen
    gts["s5"] = gts["s5"][::-1].copy()[::-1]                      # a reversed (negative-stride) view
    _assert_same_reports(_backend_reports(results, gts, None, conv))


def test_numba_speeds_equal_got10k_mean_exactly() -> None:
    rng = np.random.default_rng(3)
    lengths = [1, 3, 7, 8, 9, 100, 127, 128, 129, 136, 255, 256, 257, 600, 1000, 5000, 77_777]
    gts = {f"s{n}": np.tile([[1.0, 2.0, 10.0, 10.0]], (n, 1)) for n in lengths}
    results = {"t": dict(gts), "u": dict(gts)}
    times = {"t": {f"s{n}": rng.uniform(0.001, 0.05, n) for n in lengths},
             "u": {f"s{n}": rng.uniform(-0.01, 0.05, n) for n in lengths}}
    for n in lengths[:6]:
        times["u"][f"s{n}"][::3] = np.nan
    times["u"]["s1"] = [np.zeros(1)]                              # no positive time: NaN
    times["t"]["s3"] = times["t"]["s7"] = None                    # no times: NaN
    for report in _backend_reports(results, gts, times, CONVENTIONS["got10k"])[1:]:
        fps = report.sequences.set_index(["tracker", "sequence"]).fps_mean
        for tracker, by_seq in times.items():
            for seq, t in by_seq.items():
                t = None if t is None else np.concatenate([t]).ravel() if isinstance(t, list) else t
                expected = (np.mean(1.0 / t[t > 0]) if t is not None and (t > 0).any() else np.nan)
                got = fps[(tracker, seq)]
                assert got == expected or (np.isnan(expected) and np.isnan(got))


def test_backend_choice_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ope_fast, "_score_trackers", _SCORE_TRACKERS)   # undo the fixture
    gt = np.tile([[1.0, 2.0, 10.0, 10.0]], (5, 1))
    with pytest.raises(ScoringError, match="backend: expected 'auto', 'numba' or 'numpy', got 'gpu'"):
        score_ope({"t": {"s": gt}}, {"s": gt}, backend="gpu")
    monkeypatch.setattr(ope_fast, "_load_kernel", lambda: None)           # numba missing
    with pytest.raises(ScoringError, match="numba cannot be imported"):
        ope_sequence_score(gt + 1, gt, backend="numba")
    monkeypatch.setattr(ope_fast, "_KERNEL_MODULE", "siambench.metrics._absent")
    monkeypatch.setattr(ope_fast, "_KERNEL_MIN_FRAMES", 0)
    curve = ope_sequence_score(gt + [1, 1, 0, 0], gt).precision_curve   # auto falls back to numpy
    assert curve[1] == 0.2 and curve[2] == 1.0                    # errors sqrt(2), frame 0 exact


def test_import_is_lazy_and_never_imports_torch_or_numba() -> None:
    code = ("import sys, numpy as np, siambench.metrics as m\n"
            "m.score_ope({'t': {'s': np.ones((3, 4))}}, {'s': np.ones((3, 4))})\n"
            "print(sorted(k for k in ('numba', 'torch') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"     # small work below the threshold: numpy, numba never imported


@pytest.mark.parametrize("workers", [1, 2])
def test_numba_speeds_equal_numpy_mean_bit_for_bit(backend: str, workers: int) -> None:
    """The kernel's ``mean(1 / t)`` sums like ``np.mean`` (pairwise), all-positive fast path and
    filtered path alike, whatever the lengths and the threads."""
    if backend != "numba":
        pytest.skip("the numpy backend sums with reduceat (equal to 1e-13)")
    rng = np.random.default_rng(7)
    lengths = [1, 7, 8, 9, 127, 128, 129, 255, 600, 1031, 4099]
    gts = {f"s{n}": np.tile([0.0, 0.0, 10.0, 10.0], (n, 1)) for n in lengths}
    results = {t: {k: g.copy() for k, g in gts.items()} for t in ("a", "b")}
    times = {t: {k: rng.uniform(0.001, 0.1, len(g)) for k, g in gts.items()} for t in results}
    for t in (times["b"]["s600"], times["b"]["s1031"]):
        t[::5] = 0.0          # not positive: skipped
        t[1::7] = np.nan      # NaN: skipped
    report = score_ope(results, gts, times=times, workers=workers, backend="numba")
    fps = report.sequences.set_index(["tracker", "sequence"]).fps_mean
    for tracker, by_seq in times.items():
        for seq, t in by_seq.items():
            assert fps[(tracker, seq)] == np.mean(1.0 / t[t > 0])


# ------------------------------------------------------------------------------------------
# the fast path (siambench.metrics.ope_fast) against the reference scorer, the definition
# ------------------------------------------------------------------------------------------

_SPEED_COLUMNS = ["fps_mean", "fps_total"]


def _assert_equals_reference(fast: object, reference: object, backend: str) -> None:
    """Curves, records and tables bit for bit; speeds to the last digits (summation order) and
    ``fps_mean`` bit for bit on the numba backend (both sum like ``np.mean``)."""
    for name in ("sequences", "overall", "by_attribute"):
        a, b = getattr(fast, name), getattr(reference, name)
        speeds = [c for c in _SPEED_COLUMNS if c in a.columns]
        pd_testing.assert_frame_equal(a.drop(columns=speeds), b.drop(columns=speeds), check_exact=True)
        pd_testing.assert_frame_equal(a[speeds], b[speeds], check_exact=False, rtol=1e-12)
        if backend == "numba":
            pd_testing.assert_series_equal(a.fps_mean, b.fps_mean, check_exact=True)
    for mine, theirs in ((fast.curves, reference.curves),
                         (fast.attribute_curves, reference.attribute_curves)):
        assert mine.keys() == theirs.keys()
        for key, curves in theirs.items():
            for name, curve in curves.items():
                np.testing.assert_array_equal(mine[key][name], curve, err_msg=f"{key} {name}")
    for tracker in reference.records:
        expected, got = reference.scores(tracker), fast.scores(tracker)
        assert got.keys() == expected.keys()
        for seq, record in expected.items():
            assert (got[seq].frames, got[seq].runs, got[seq].timed_frames) == (
                record.frames, record.runs, record.timed_frames)
            for name in ("success_curve", "precision_curve", "norm_precision_curve"):
                np.testing.assert_array_equal(getattr(got[seq], name), getattr(record, name))


@pytest.mark.parametrize("convention", [*CONVENTIONS, "miss", "pysot-none", "inclusive-pysot"])
def test_fast_path_equals_reference_scorer(backend: str, convention: str) -> None:
    conv = {"miss": with_convention("otb", invalid_gt="miss"),
            "pysot-none": with_convention("pysot", invalid_gt="none"),
            "inclusive-pysot": with_convention("pysot", inclusive_last=True, invalid_gt="exclude")
            }.get(convention, CONVENTIONS.get(convention))
    rng = np.random.default_rng(5)
    gts, results, times = {}, {"a": {}, "b": {}, "empty": {}}, {"a": {}, "b": {}}
    for i, (kind, n) in enumerate([("grid", 300), ("int", 37), ("float", 1), ("float", 2), ("grid", 5),
                                   ("int", 150), ("float", 700), ("float", 0)]):
        gt, pred = _tricky_data(rng, kind, n) if n else (np.zeros((0, 4)), np.zeros((0, 4)))
        gts[f"s{i}"] = gt
        results["a"][f"s{i}"] = pred
        results["b"][f"s{i}"] = [pred, _tricky_data(rng, kind, n)[1] if n else pred, gt]   # three runs
        times["a"][f"s{i}"] = rng.uniform(0.001, 0.05, n)
        times["b"][f"s{i}"] = [rng.uniform(-0.01, 0.05, n), None, np.full(n, np.nan)]
    times["a"]["s1"] = None
    attributes = {"s0": ["IV", "OCC"], "s1": ["IV"], "s5": ["SV"], "s7": ["SV"]}
    fast = score_ope(results, gts, times=times, attributes=attributes, convention=conv)
    reference = ope_module.score_ope_reference(results, gts, times=times, attributes=attributes,
                                               convention=conv)
    _assert_equals_reference(fast, reference, backend)
    assert fast.scores("empty") == reference.scores("empty") == {}


@settings(max_examples=40, deadline=None,   # the backend fixture is the same for every input
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(boxes_strategy, min_size=1, max_size=4), st.integers(0, 2**31),
       st.sampled_from(["otb", "got10k", "pysot", "lasot", "siambench"]))
def test_fast_path_equals_reference_scorer_on_generated_cases(backend: str, sequences: list, seed: int,
                                                                convention: str) -> None:
    rng = np.random.default_rng(seed)
    gts, results, times = {}, {"t": {}, "u": {}}, {"t": {}}
    for i, (gt, pred) in enumerate(sequences):
        gt, pred = np.array(gt), np.round(np.array(pred) * 4) / 4     # quarter pixels: on thresholds
        gts[f"s{i}"] = gt
        results["t"][f"s{i}"] = pred
        results["u"][f"s{i}"] = [gt.copy(), pred[::-1].copy()]
        times["t"][f"s{i}"] = rng.uniform(0.001, 0.1, len(gt))
    attributes = {"s0": ["IV"], f"s{len(sequences) - 1}": ["IV", "OCC"]}
    fast = score_ope(results, gts, times=times, attributes=attributes, convention=convention)
    reference = ope_module.score_ope_reference(results, gts, times=times, attributes=attributes,
                                               convention=convention)
    _assert_equals_reference(fast, reference, backend)
    records = aggregate_ope({t: reference.scores(t) for t in results}, attributes=attributes)
    _assert_equals_reference(records, reference, "numpy")

