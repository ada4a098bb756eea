"""VOT supervised metrics: a scripted failure pattern with hand-computed A/R/EAO, the VOT toolkit's
EAO definition as an oracle, raster overlaps, tags, accuracy aggregations."""

from __future__ import annotations

import numpy as np
import pytest

from siambench.boxes import raster_overlap
from siambench.metrics import (
    ScoringError,
    aggregate_vot,
    score_vot,
    vot_sequence_score,
)
from siambench.metrics.vot import FAILURE, INIT, REGION, SKIPPED, eao_curve, eao_score
from siambench.protocols import load_protocol
from siambench.results.types import Run

GT = np.tile([[0.0, 0.0, 10.0, 10.0]], (20, 1))


def _run(codes: list[int], boxes: dict[int, list[float]]) -> Run:
    regions = np.full((len(codes), 8), np.nan)
    for frame, box in boxes.items():
        regions[frame, : len(box)] = box
    return Run(codes=np.asarray(codes, dtype=np.int8), regions=regions)


def _scripted() -> Run:
    """init at 0, IoU 0.5 on 1..11, failure at 12, skipped 13..16, re-init at 17, IoU 1 on 18..19."""
    codes = [INIT] + [REGION] * 11 + [FAILURE] + [SKIPPED] * 4 + [INIT] + [REGION] * 2
    boxes = {f: [0, 0, 10, 5] for f in range(1, 12)} | {18: [0, 0, 10, 10], 19: [0, 0, 10, 10]}
    return _run(codes, boxes)


def _clean() -> Run:
    return _run([INIT] + [REGION] * 19, {f: [0, 0, 10, 5] for f in range(1, 20)})


def test_scripted_failure_pattern_hand_computed() -> None:
    score = vot_sequence_score([_scripted()], GT, image_size=(100, 100), burnin=1, overlap="analytic")
    assert score.failures().tolist() == [1]
    assert score.fragments() == [(0, 0, 12, False), (0, 17, 20, True)]
    report = aggregate_vot({"t": {"s": score}}, interval=(1, 3))
    row = report.overall.iloc[0]
    assert row.accuracy == pytest.approx((11 * 0.5 + 2 * 1.0) / 13, abs=1e-15)
    assert row.failures == 1 and row.robustness == pytest.approx(1 / 20)
    # fragments: failed [0, .5 x 11] (zero-padded), successful [0, 1, 1]
    np.testing.assert_allclose(report.eao_curves["t"], [0, 0.75, 0.75] + [0.5] * 9, atol=1e-15)
    assert row.eao == pytest.approx(2 / 3, abs=1e-15)
    assert eao_score(report.eao_curves["t"], (1, 100)) == pytest.approx(6 / 11, abs=1e-15)
    # burn-in 10 (the VOT default) leaves frames 10 and 11 of the first init only
    default = vot_sequence_score([_scripted()], GT, overlap="analytic")
    assert default.accuracy_mask()[0].nonzero()[0].tolist() == [10, 11]


def test_repetitions_and_accuracy_aggregations() -> None:
    score = vot_sequence_score([_scripted(), _clean()], GT, burnin=1, overlap="analytic")
    pysot = aggregate_vot({"t": {"s": score}}, interval=(1, 3)).overall.iloc[0]
    # per frame mean over runs, pooled: 17 frames at 0.5, frames 18-19 at (1 + 0.5) / 2
    assert pysot.accuracy == pytest.approx(10 / 19, abs=1e-15)
    assert pysot.failures == 0.5 and pysot.robustness == pytest.approx(0.025)
    vot = aggregate_vot({"t": {"s": score}}, interval=(1, 3), accuracy="vot").overall.iloc[0]
    assert vot.accuracy == pytest.approx((7.5 / 13 + 0.5) / 2, abs=1e-15)
    # EAO: fragments F1 failed (len 12), S1 successful (len 3), S2 successful (len 20)
    curve = eao_curve([score])
    expected = [0, 2 / 3, 2 / 3] + [0.5] * 9 + [(5.5 / j + 0.5) / 2 for j in range(12, 20)]
    np.testing.assert_allclose(curve, expected, atol=1e-15)
    assert eao_score(curve, (1, 3)) == pytest.approx(11 / 18, abs=1e-15)


def test_vot_accuracy_weights_sequences_by_length() -> None:
    short = vot_sequence_score([_clean()], GT, burnin=1, overlap="analytic")
    long_gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (40, 1))
    long = vot_sequence_score([_run([INIT] + [REGION] * 39, {f: [0, 0, 10, 10] for f in range(1, 40)})],
                              long_gt, burnin=1, overlap="analytic")
    vot = aggregate_vot({"t": {"a": short, "b": long}}, interval=(1, 3), accuracy="vot").overall.iloc[0]
    assert vot.accuracy == pytest.approx((0.5 * 20 + 1.0 * 40) / 60, abs=1e-15)
    pysot = aggregate_vot({"t": {"a": short, "b": long}}, interval=(1, 3)).overall.iloc[0]
    assert pysot.accuracy == pytest.approx((0.5 * 19 + 39) / 58, abs=1e-15)


def test_per_tag_breakdown() -> None:
    occlusion = np.zeros(20, dtype=bool)
    occlusion[10:15] = True
    score = vot_sequence_score([_scripted()], GT, burnin=1, overlap="analytic",
                               tags={"occlusion": occlusion, "camera_motion": [0] * 12})
    report = aggregate_vot({"t": {"s": score}}, interval=(1, 3))
    rows = report.by_tag.set_index("tag")
    assert rows.loc["occlusion", "frames"] == 5
    assert rows.loc["occlusion", "accuracy"] == 0.5                      # frames 10 and 11
    assert rows.loc["occlusion", "failures"] == 1 and rows.loc["occlusion", "robustness"] == 0.2
    # EAO weights: the failed fragment has 2 of 12 frames tagged, the successful one none
    np.testing.assert_allclose(report.tag_eao_curves[("t", "occlusion")][1:4], [0.5, 0.5, 0.5])
    assert rows.loc["camera_motion", "frames"] == 0 and np.isnan(rows.loc["camera_motion", "accuracy"])
    assert list(report.overall.columns) == ["tracker", "sequences", "accuracy", "robustness",
                                            "failures", "eao"]


@pytest.mark.parametrize(("pred", "gt", "bound", "expected"), [
    ([5, 5, 10, 10], [0, 0, 10, 10], None, 0.17475728690624237),
    ([5, 5, 10, 10], [0, 0, 10, 10], (8, 8), 0.1975308656692505),
    ([15, 15, 10, 10], [10, 10, 20, 10, 20, 20, 10, 20], None, 0.17475728690624237),
    ([-5, -5, 10, 10], [0, 0, 10, 10], (100, 100), 0.2975206673145294),
])
def test_raster_overlap_is_the_default(pred: list, gt: list, bound: tuple | None, expected: float) -> None:
    gt_rows = np.full((2, 8), np.nan)
    gt_rows[:, : len(gt)] = gt
    score = vot_sequence_score([_run([INIT, REGION], {1: pred})], gt_rows, image_size=bound, burnin=0)
    assert score.overlaps[0, 1] == expected
    analytic = vot_sequence_score([_run([INIT, REGION], {1: pred})], gt_rows, image_size=bound,
                                  burnin=0, overlap="analytic")
    assert analytic.overlaps[0, 1] != expected


def _votpy_eao_curve(runs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The VOT toolkit's EAOCurve.subcompute + compute_eao_curve (float64), transcribed with loops."""
    fragments, success = [], []
    for codes, overlaps in runs:
        fails = [i for i, c in enumerate(codes) if c == FAILURE]
        inits = [i for i, c in enumerate(codes) if c == INIT]
        if fails:
            for i in range(len(fails)):
                fragments.append(overlaps[inits[i]:fails[i]])
                success.append(False)
            if len(inits) > len(fails):
                fragments.append(overlaps[inits[-1]:])
                success.append(True)
        else:
            fragments.append(overlaps)
            success.append(True)
    length = max(len(f) for f in fragments)
    arr = np.zeros((len(fragments), length))
    mask = np.zeros((len(fragments), length))
    for i, (f, ok) in enumerate(zip(fragments, success)):
        arr[i, : len(f)] = f
        if not ok:
            mask[i, :] = 1
        else:
            mask[i, : len(f)] = 1
    summed = arr.copy()
    for j in range(1, length):
        summed[:, j] = np.mean(arr[:, 1:j + 1], axis=1)
    return np.sum(summed * mask, axis=0) / np.sum(mask, axis=0)


def _random_run(rng: np.random.Generator, n: int) -> tuple[Run, np.ndarray]:
    codes = np.full(n, REGION, dtype=np.int8)
    codes[0] = INIT
    f = 1
    while f < n:
        if rng.random() < 0.02:
            codes[f] = FAILURE
            codes[f + 1: f + 5] = SKIPPED
            if f + 5 < n:
                codes[f + 5] = INIT
            f += 6
        else:
            f += 1
    boxes = {i: [rng.uniform(0, 4), rng.uniform(0, 4), rng.uniform(6, 12), rng.uniform(6, 12)]
             for i in np.flatnonzero(codes == REGION)}
    run = _run(codes.tolist(), boxes)
    return run, codes


def test_eao_equals_vot_toolkit_definition_on_random_runs() -> None:
    rng = np.random.default_rng(11)
    scores, votpy_runs = [], []
    for length in (60, 150, 240):
        gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (length, 1))
        runs = [_random_run(rng, length)[0] for _ in range(3)]
        score = vot_sequence_score(runs, gt, image_size=(50, 50))
        scores.append(score)
        for r in range(3):
            votpy_runs.append((score.codes[r], np.nan_to_num(score.overlaps[r], nan=0.0)))
    assert sum(int(s.failures().sum()) for s in scores) > 3
    np.testing.assert_allclose(eao_curve(scores), _votpy_eao_curve(votpy_runs), rtol=0, atol=1e-12)
    report = aggregate_vot({"t": {str(i): s for i, s in enumerate(scores)}}, interval=(10, 100))
    assert report.overall.eao[0] == pytest.approx(np.mean(_votpy_eao_curve(votpy_runs)[10:101]), abs=1e-12)


def test_errors() -> None:
    with pytest.raises(ScoringError, match="19 result lines but the ground truth has 20"):
        vot_sequence_score([_run([INIT] * 19, {})], GT)
    with pytest.raises(ScoringError, match="'t': sequence 'x'.*no ground truth"):
        score_vot({"t": {"x": [_clean()]}}, {"s": GT}, interval=(1, 3))
    with pytest.raises(ScoringError, match="accuracy"):
        aggregate_vot({"t": {"s": vot_sequence_score([_clean()], GT)}}, interval=(1, 3), accuracy="x")
    report = score_vot({"t": {"s": [_clean(), (_clean().codes, _clean().regions)]}}, {"s": GT},
                       interval=(1, 3), image_sizes={"s": (100, 100)})
    assert report.sequences.runs[0] == 2 and report.overall.failures[0] == 0


def test_status_codes_are_results_types_and_light_imports() -> None:
    from siambench.metrics import vot
    from siambench.results import types

    assert not hasattr(vot, "EAO_INTERVALS")  # the intervals live in the protocol files only
    assert (REGION, SKIPPED, INIT, FAILURE) == (types.REGION, types.SKIPPED, types.INIT, types.FAILURE)
    import subprocess
    import sys

    code = ("import sys, siambench.metrics; "
            "bad = [m for m in sys.modules if m in ('torch', 'cv2') or m.startswith("
            "'siambench.datasets')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# empty union (NaN overlaps)
# ---------------------------------------------------------------------------------------------

def test_nan_overlaps_skipped_by_accuracy_and_zero_in_eao() -> None:
    # the target leaves the 30 x 30 image on frames 5..9; a perfect tracker follows it there
    gt = np.tile([[5.0, 5.0, 10.0, 10.0]], (20, 1))
    gt[5:10, 0] = 100.0
    run = _run([INIT] + [REGION] * 19, {f: list(gt[f]) for f in range(1, 20)})
    score = vot_sequence_score([run], gt, image_size=(30, 30), burnin=1)
    assert np.isnan(score.overlaps[0, 5:10]).all() and np.isnan(score.overlaps[0, 0])
    assert (score.overlaps[0, 1:5] == 1.0).all() and (score.overlaps[0, 10:] == 1.0).all()
    report = aggregate_vot({"t": {"s": score}}, interval=(1, 19))
    assert report.overall.accuracy[0] == 1.0                    # NaN frames are not scored
    # EAO: the one successful fragment counts the out-of-view frames as 0
    curve = report.eao_curves["t"]
    np.testing.assert_allclose(curve[1:5], 1.0)
    np.testing.assert_allclose(curve[5:12], [4 / 5, 4 / 6, 4 / 7, 4 / 8, 4 / 9, 5 / 10, 6 / 11], atol=1e-15)
    pysot = aggregate_vot({"t": {"s": score}}, interval=(1, 19), eao="pysot")
    np.testing.assert_allclose(pysot.eao_curves["t"][1:], curve[1:], atol=1e-15)


# ---------------------------------------------------------------------------------------------
# pysot EAO flavour
# ---------------------------------------------------------------------------------------------

def test_pysot_eao_scripted_hand_computed() -> None:
    score = vot_sequence_score([_scripted()], GT, burnin=1, overlap="analytic")
    # re-init point 12 + 5 = 17: failed fragment [0, 17] inclusive, last fragment [17, 20)
    assert score.pysot_fragments() == [(0, 0, 18, True), (0, 17, 20, False)]
    curve = eao_curve([score], eao="pysot")
    expected = [1.0, 0.75, 0.75] + [0.5] * 9 + [5.5 / j for j in range(12, 20)]
    np.testing.assert_allclose(curve, expected, atol=1e-15)
    assert eao_score(curve, (1, 3), "pysot") == pytest.approx(2.5 / 3, abs=1e-15)   # curve[0:3]
    assert eao_score(curve, (1, 3)) == pytest.approx(2 / 3, abs=1e-15)              # curve[1:4]
    report = aggregate_vot({"t": {"s": score}}, interval=(1, 3), eao="pysot")
    assert report.overall.eao[0] == pytest.approx(2.5 / 3, abs=1e-15)
    # the VOT toolkit flavour of the same run is unchanged
    assert aggregate_vot({"t": {"s": score}}, interval=(1, 3)).overall.eao[0] == pytest.approx(2 / 3)


def test_pysot_fragments_drop_failures_near_the_end() -> None:
    codes = np.full(20, REGION, dtype=np.int8)
    codes[0] = INIT
    codes[3], codes[8] = FAILURE, INIT
    codes[16] = FAILURE                       # 16 + 5 > 20: pysot drops this cut point
    codes[17:] = SKIPPED
    regions = np.full((20, 8), np.nan)
    regions[codes == REGION, :4] = [0, 0, 10, 10]
    score = vot_sequence_score([Run(codes=codes, regions=regions)], GT, burnin=0)
    assert score.pysot_fragments() == [(0, 0, 9, True), (0, 8, 20, False)]
    assert score.fragments() == [(0, 0, 3, False), (0, 8, 16, False)]
    codes[15], codes[16] = FAILURE, SKIPPED   # 15 + 5 == 20: kept, the last fragment is empty
    score = vot_sequence_score([Run(codes=codes, regions=regions)], GT, burnin=0)
    assert score.pysot_fragments() == [(0, 0, 9, True), (0, 8, 21, True), (0, 20, 20, False)]


def test_pysot_eao_bounds_by_w_minus_1() -> None:
    pred = [[22.0, 3.0, 10.0, 10.0]] * 2
    gt = np.array([[20.0, 2.0, 10.0, 10.0]] * 2)
    run = _run([INIT, REGION], {1: pred[1]})
    score = vot_sequence_score([run], gt, image_size=(28, 24), burnin=0, eao="pysot")
    assert score.overlaps[0, 1] == raster_overlap(pred[1], gt[1], bound=(28, 24))
    assert score.eao_overlaps[0, 1] == raster_overlap(pred[1], gt[1], bound=(27, 23))
    assert score.eao_overlaps[0, 1] != score.overlaps[0, 1]
    assert vot_sequence_score([run], gt, image_size=(28, 24)).eao_overlaps is None
    with pytest.raises(ScoringError, match="eao"):
        vot_sequence_score([run], gt, eao="x")
    with pytest.raises(ScoringError, match="eao"):
        eao_score(np.ones(5), (1, 3), "x")


def _pysot_eao_oracle(runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]],
                      interval: tuple[int, int]) -> tuple[np.ndarray, float]:
    """pysot's EAOBenchmark._calculate_eao + calculate_expected_overlap, restated with loops.

    ``runs``: (codes, overlaps with NaN at status frames, tag flags, runs of the sequence)."""
    max_len = max(len(o) for _, o, _, _ in runs)
    fragments, weights = [], []
    for codes, overlaps, flags, repetitions in runs:
        n = len(overlaps)
        failures = [i for i in range(n) if codes[i] == FAILURE]
        cuts = [0] + [f + 5 for f in failures if f + 5 <= n]
        for k, start in enumerate(cuts):
            row = np.full(max_len, np.nan)
            if k + 1 < len(cuts):
                piece = list(overlaps[start: cuts[k + 1] + 1])
                row[:] = 0.0
                weight = sum(flags[start: cuts[k + 1] + 1]) / (cuts[k + 1] - start + 1)
            else:
                piece = list(overlaps[start:])
                weight = sum(flags[start:n]) / (n - start + 1e-16)
            row[: len(piece)] = [0.0 if np.isnan(v) else v for v in piece]
            fragments.append(row)
            weights.append(weight / repetitions)
    frag, w = np.array(fragments), np.array(weights)
    curve = np.zeros(max_len)
    curve[0] = 1.0
    for j in range(1, max_len):
        use = ~np.isnan(frag[:, j])
        if use.any():
            curve[j] = np.sum(frag[use, 1: j + 1].mean(axis=1) * w[use]) / np.sum(w[use])
    low, high = interval
    part = curve[low - 1: high]
    return curve, float(np.mean(part[~np.isnan(part)]))


def test_pysot_eao_equals_pysot_definition_on_random_runs() -> None:
    rng = np.random.default_rng(5)
    scores, oracle_runs = [], []
    for length in (60, 150, 240):
        gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (length, 1))
        runs = [_random_run(rng, length)[0] for _ in range(2)]
        flags = rng.random(length) < 0.4
        score = vot_sequence_score(runs, gt, image_size=(50, 50), tags={"occlusion": flags},
                                   eao="pysot")
        scores.append(score)
        for r in range(2):
            oracle_runs.append((score.codes[r], score.eao_overlaps[r], score.tag_mask("all"), 2))
    for tag in ("all", "occlusion"):
        if tag == "occlusion":
            oracle_runs = [(c, o, s.tag_mask("occlusion"), 2) for (c, o, _, _), s in
                           zip(oracle_runs, [s for s in scores for _ in range(2)])]
        curve, value = _pysot_eao_oracle(oracle_runs, (10, 100))
        np.testing.assert_allclose(eao_curve(scores, tag=tag, eao="pysot"), curve, rtol=0, atol=1e-12)
        report = aggregate_vot({"t": {str(i): s for i, s in enumerate(scores)}}, interval=(10, 100),
                               eao="pysot")
        row = report.overall if tag == "all" else report.by_tag.set_index("tag").loc[[tag]]
        assert float(row.eao.iloc[0]) == pytest.approx(value, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# parity with published pysot numbers (HonglinChu/SiamTrackers NanoTrack README)
# ---------------------------------------------------------------------------------------------

NANOTRACK_TRACKERS = ["NanoTrack", "LightTrack", "SiamTPN", "SiamAPN", "SiamAPN++"]
PUBLISHED_EAO = {
    "vot2018": [0.311, 0.418, 0.191, 0.248, 0.268],
    "vot2019": [0.247, 0.328, 0.209, 0.235, 0.234],
}
# what siambench computes (pysot flavour), 4 decimals: SiamTPN on VOT2018 is 0.1902, not 0.191
MEASURED_PYSOT_EAO = {
    "vot2018": [0.3113, 0.4182, 0.1902, 0.2480, 0.2680],
    "vot2019": [0.2470, 0.3277, 0.2088, 0.2347, 0.2342],
}
MEASURED_VOT_EAO_2018 = [0.3083, 0.4173, 0.1884, 0.2430, 0.2630]


def _nanotrack_scores(shared_data, name: str, eao: str):
    from siambench.datasets import load_dataset
    from siambench.results import align, read_tracker

    vot2018 = load_dataset("vot2018", root=shared_data / "xl-sr_THOR" / "data")
    if name == "vot2018":
        dataset = vot2018
        sizes = {s.name: s.image_size for s in dataset}
    else:
        dataset = load_dataset("vot2019", root=shared_data / "Soarkey_tracking_raw_results"
                               / "fix_vot2019_json_file")
        # VOT2019.json has no image sizes: the 48 sequences VOT2019 shares with VOT2018 (same
        # name, identical GT) take VOT2018.json's; the 12 new ones stay unbounded
        known = {s.name: s for s in vot2018}
        sizes = {s.name: known[s.name].image_size for s in dataset if s.name in known
                 and np.array_equal(known[s.name].groundtruth, s.groundtruth)}
        assert len(sizes) == 48
    archive = shared_data / "HonglinChu_SiamTrackers" / "NanoTrack" / "results" / f"{name.upper()}.zip"
    results = {}
    for tracker in NANOTRACK_TRACKERS:
        aligned, _ = align(read_tracker(archive / name.upper() / tracker, tracker), dataset)
        results[tracker] = {seq: runs for seq, runs in aligned.sequences.items() if runs}
        assert len(results[tracker]) == 60
    return score_vot(results, {s.name: s.groundtruth for s in dataset},
                     interval=load_protocol(name).eao_interval, image_sizes=sizes, eao=eao)


@pytest.mark.parametrize("name", ["vot2018", "vot2019"])
def test_pysot_eao_reproduces_published_numbers(shared_data, name: str) -> None:
    report = _nanotrack_scores(shared_data, name, "pysot")
    eao = report.overall.set_index("tracker").eao[NANOTRACK_TRACKERS].to_numpy()
    np.testing.assert_allclose(eao, MEASURED_PYSOT_EAO[name], rtol=0, atol=5e-5)
    matched = [round(float(v), 3) == p for v, p in zip(eao, PUBLISHED_EAO[name])]
    if name == "vot2018":
        # SiamTPN: 0.1902 from the archived results vs 0.191 published (see the report)
        assert matched == [True, True, False, True, True]
    else:
        assert all(matched)
    if name == "vot2018":
        acc = report.overall.set_index("tracker").accuracy[NANOTRACK_TRACKERS].to_numpy()
        lost = report.overall.set_index("tracker").failures[NANOTRACK_TRACKERS].tolist()
        assert lost == [70.0, 38.0, 152.0, 105.0, 94.0]
        np.testing.assert_allclose(acc, [0.5424, 0.5292, 0.6436, 0.5586, 0.5796], atol=5e-5)


def test_vot_eao_on_the_published_results_is_lower(shared_data) -> None:
    report = _nanotrack_scores(shared_data, "vot2018", "vot")
    eao = report.overall.set_index("tracker").eao[NANOTRACK_TRACKERS].to_numpy()
    np.testing.assert_allclose(eao, MEASURED_VOT_EAO_2018, rtol=0, atol=5e-5)
    assert (eao < np.array(MEASURED_PYSOT_EAO["vot2018"])).all()
