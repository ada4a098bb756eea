"""GOT-10k metrics: hand-computed AO/SR, got10k oracle (pooled IoUs, bound, cover, repetitions)."""

from __future__ import annotations

import numpy as np
import pytest

from siambench.metrics import ScoringError, got10k_sequence_score, score_got10k
from siambench.metrics.got10k import SUCCESS_THRESHOLDS

got10k_metrics = pytest.importorskip("got10k.utils.metrics")
from got10k.experiments.got10k import ExperimentGOT10k  # noqa: E402 (after importorskip)


def test_hand_computed_ao_sr_frame0_and_visibility() -> None:
    gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (5, 1))
    pred = np.array([[90, 90, 5, 5],       # frame 0: excluded whatever it holds
                     [0, 0, 10, 10],       # IoU 1
                     [5, 0, 10, 10],       # IoU 1/3
                     [0, 0, 10, 8],        # IoU 0.8
                     [50, 50, 10, 10]],    # IoU 0, but the target is not visible
                    dtype=float)
    visible = np.array([1, 1, 1, 1, 0])
    score = got10k_sequence_score(pred, gt, visible=visible)
    assert score.frames == 3
    assert score.ao == pytest.approx((1 + 1 / 3 + 0.8) / 3, abs=1e-15)
    assert score.sr50 == pytest.approx(2 / 3) and score.sr75 == pytest.approx(2 / 3)
    everything = got10k_sequence_score(pred, gt)
    assert everything.frames == 4 and everything.ao == pytest.approx((1 + 1 / 3 + 0.8) / 4)


def test_boxes_clipped_to_the_image() -> None:
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 20, 10]], dtype=float)   # sticks out of an 10x10 image
    assert got10k_sequence_score(pred, gt).ao == pytest.approx(0.5)
    assert got10k_sequence_score(pred, gt, image_size=(10, 10)).ao == 1.0


def test_repetitions_averaged_and_pooling() -> None:
    gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (3, 1))
    good = gt.copy()
    bad = gt + [100.0, 0.0, 0.0, 0.0]
    score = got10k_sequence_score([good, bad], gt)
    assert score.runs == 2 and score.frames == 2 and score.ao == 0.5
    # overall pools frames: a 2-frame and a 4-frame sequence weigh 2:4
    gts = {"a": np.tile([[0.0, 0, 10, 10]], (3, 1)), "b": np.tile([[0.0, 0, 10, 10]], (5, 1))}
    res = {"t": {"a": gts["a"].copy(), "b": gts["b"] + [100.0, 0, 0, 0]}}
    report = score_got10k(res, gts)
    assert report.overall.ao[0] == pytest.approx(2 / 6)
    assert list(report.overall.columns) == ["tracker", "sequences", "ao", "sr50", "sr75", "fps_mean",
                                            "fps_total"]
    assert report.sequences.set_index("sequence").ao.to_dict() == {"a": 1.0, "b": 0.0}


def test_errors() -> None:
    gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (3, 1))
    with pytest.raises(ScoringError, match="'s'.*2 result rows but the ground truth has 3"):
        score_got10k({"t": {"s": gt[:2]}}, {"s": gt})
    with pytest.raises(ScoringError, match="visible"):
        got10k_sequence_score(gt, gt, visible=[1, 1])


def _got10k_reference(results: dict, gts: dict, covers: dict, sizes: dict, times: dict) -> dict:
    """ExperimentGOT10k.report (val subset) computation, fed from memory."""
    experiment = ExperimentGOT10k.__new__(ExperimentGOT10k)
    out = {}
    for name, by_seq in results.items():
        ious, all_times, seq_wise = {}, {}, {}
        for seq, anno in gts.items():
            boxes = [b.copy() for b in by_seq[seq]]
            seq_ious = [got10k_metrics.rect_iou(b[1:], anno[1:].copy(), bound=sizes[seq]) for b in boxes]
            seq_ious = [t[covers[seq][1:] > 0] for t in seq_ious]
            seq_ious = np.concatenate(seq_ious)
            ious[seq] = seq_ious
            seq_times = times[name][seq]
            seq_times = seq_times[~np.isnan(seq_times)]
            seq_times = seq_times[seq_times > 0]
            all_times[seq] = seq_times
            ao, sr, speed, curve = experiment._evaluate(seq_ious, seq_times)
            seq_wise[seq] = (ao, sr, speed, curve[75])
        pooled = np.concatenate(list(ious.values()))
        ao, sr, speed, curve = experiment._evaluate(pooled, np.concatenate(list(all_times.values())))
        out[name] = (ao, sr, speed, curve, seq_wise)
    return out


def test_oracle_random_results_equal_got10k() -> None:
    rng = np.random.default_rng(3)
    gts, covers, sizes, results, times = {}, {}, {}, {}, {}
    for i in range(10):
        n = int(rng.integers(30, 150))
        w, h = int(rng.integers(200, 800)), int(rng.integers(200, 600))
        g = np.column_stack([rng.uniform(-20, w, n), rng.uniform(-20, h, n),
                             rng.uniform(5, 150, n), rng.uniform(5, 150, n)])
        gts[f"GOT-10k_Val_{i:06d}"] = g
        covers[f"GOT-10k_Val_{i:06d}"] = rng.integers(0, 9, n)
        sizes[f"GOT-10k_Val_{i:06d}"] = (w, h)
    for t, noise in (("a", 4.0), ("b", 25.0)):
        results[t] = {k: [g + rng.normal(0, noise, g.shape) for _ in range(3)] for k, g in gts.items()}
        times[t] = {k: np.where(rng.random(3 * len(g)) < 0.05, np.nan, rng.uniform(0.001, 0.05, 3 * len(g)))
                    for k, g in gts.items()}
    report = score_got10k(results, gts, visible=covers, image_sizes=sizes, times=times)
    reference = _got10k_reference(results, gts, covers, sizes, times)
    overall = report.overall.set_index("tracker")
    for name, (ao, sr, speed, curve, seq_wise) in reference.items():
        assert abs(overall.loc[name, "ao"] - ao) < 1e-9
        assert abs(overall.loc[name, "sr50"] - sr) < 1e-9
        assert abs(overall.loc[name, "sr75"] - curve[75]) < 1e-9
        assert abs(overall.loc[name, "fps_mean"] - speed) < 1e-9   # got10k's speed is our fps_mean
        np.testing.assert_allclose(report.curves[name], curve, rtol=0, atol=1e-12)
        for seq, (s_ao, s_sr, s_speed, s_sr75) in seq_wise.items():
            record = report.scores[name][seq]
            assert abs(record.ao - s_ao) < 1e-9 and abs(record.sr50 - s_sr) < 1e-9
            assert abs(record.sr75 - s_sr75) < 1e-9 and abs(record.fps_mean - s_speed) < 1e-9
    assert len(SUCCESS_THRESHOLDS) == 101


def test_missing_or_empty_times_give_no_speed() -> None:
    gt = np.tile([[0.0, 0.0, 10.0, 10.0]], (3, 1))
    report = score_got10k({"t": {"s": [gt]}}, {"s": gt}, times={"t": {"s": []}})
    assert np.isnan(report.overall.fps_mean[0]) and np.isnan(report.overall.fps_total[0])
    timed = score_got10k({"t": {"s": [gt]}}, {"s": gt}, times={"t": {"s": [np.array([0.5, 0.25, 0.0])]}})
    assert timed.overall.fps_mean[0] == 3.0      # mean(1/0.5, 1/0.25); the zero time is not valid
    assert timed.overall.fps_total[0] == 2 / 0.75  # 2 valid frames in 0.75 s
