"""Tests of siambench.models.anchors and siambench.models.losses on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.errors import SiambenchError
from siambench.models.anchors import (
    anchors_absolute,
    base_anchor_sizes,
    cxcywh_to_xyxy,
    generate_anchors,
    xyxy_to_cxcywh,
)
from siambench.models.losses import (
    LOSS_PRESETS,
    anchor_iou,
    assign_targets,
    balanced_logistic_loss,
    siamfc_labels,
    siamrpn_loss,
)

ANCHORS_255 = anchors_absolute(17)
BOX_64 = (95.0, 95.0, 159.0, 159.0)  # the 64×64 anchor at the crop centre (127, 127), corner form


def index(a: int, y: int, x: int, s: int = 17) -> int:
    return a * s * s + y * s + x


# ------------------------------------------------------------------------------ anchors

def test_base_anchor_shapes_truncate_like_pysot() -> None:
    np.testing.assert_array_equal(base_anchor_sizes(),
                                  [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]])
    np.testing.assert_array_equal(base_anchor_sizes(8, [1], [8, 16]), [[64, 64], [128, 128]])


def test_tracker_anchor_grid_values_and_order() -> None:
    anchors = generate_anchors(17)
    assert anchors.shape == (5 * 17 * 17, 4) and anchors.dtype == np.float64
    np.testing.assert_array_equal(anchors[index(0, 0, 0)], [-64, -64, 104, 32])
    np.testing.assert_array_equal(anchors[index(0, 0, 16)], [64, -64, 104, 32])
    np.testing.assert_array_equal(anchors[index(0, 1, 0)], [-64, -56, 104, 32])
    np.testing.assert_array_equal(anchors[index(1, 0, 0)], [-64, -64, 88, 40])
    np.testing.assert_array_equal(anchors[index(2, 8, 8)], [0, 0, 64, 64])
    np.testing.assert_array_equal(anchors[index(3, 3, 5)], [-24, -40, 40, 80])
    np.testing.assert_array_equal(anchors[-1], [64, 64, 32, 96])
    np.testing.assert_array_equal(np.unique(anchors[:, 0]), np.arange(-64, 65, 8))
    grid = anchors.reshape(5, 17, 17, 4)
    assert np.all(grid[:, :, :, 0] == grid[0, 0, :, 0][None, None, :])  # x varies along the last axis
    assert np.all(grid[:, :, :, 1] == grid[0, :, 0, 1][None, :, None])


@pytest.mark.parametrize("size, low", [(19, -72), (21, -80), (1, 0), (4, -16)])
def test_tracker_anchor_centres_use_integer_division(size: int, low: int) -> None:
    centres = np.unique(generate_anchors(size)[:, 0])
    np.testing.assert_array_equal(centres, low + 8 * np.arange(size))


def test_training_anchors_are_absolute() -> None:
    np.testing.assert_array_equal(np.unique(ANCHORS_255[:, 0]), np.arange(63, 192, 8))
    np.testing.assert_array_equal(ANCHORS_255[:, 2:], generate_anchors(17)[:, 2:])
    np.testing.assert_array_equal(np.unique(anchors_absolute(19, 271)[:, 1]), np.arange(63, 208, 8))


def test_box_form_conversions_round_trip() -> None:
    boxes = np.array([[10.0, 20.0, 8.0, 4.0]])
    np.testing.assert_array_equal(cxcywh_to_xyxy(boxes), [[6, 18, 14, 22]])
    np.testing.assert_array_equal(xyxy_to_cxcywh(cxcywh_to_xyxy(boxes)), boxes)


def test_anchor_errors() -> None:
    with pytest.raises(SiambenchError):
        generate_anchors(0)
    with pytest.raises(SiambenchError):
        base_anchor_sizes(8, [0.0])


# ----------------------------------------------------------------------- target assignment

def test_iou_thresholds_on_a_centred_64_box() -> None:
    iou = anchor_iou(cxcywh_to_xyxy(ANCHORS_255), np.array(BOX_64))
    assert iou[index(2, 8, 8)] == 1.0
    assert iou[index(2, 8, 9)] == pytest.approx(56 * 64 / (2 * 4096 - 56 * 64))  # 0.778
    assert iou[index(2, 9, 9)] == pytest.approx(56 * 56 / (2 * 4096 - 56 * 56))  # 0.620
    assert iou[index(2, 8, 10)] == 0.6  # exactly the threshold: not positive (IoU > 0.6 needed)
    assert iou[index(3, 8, 8)] == pytest.approx(40 * 64 / (4096 + 3200 - 40 * 64))  # 0.54


def test_assign_targets_paper_sampling_counts() -> None:
    labels, targets, weights = assign_targets(ANCHORS_255, BOX_64, rng=0)
    positives = sorted(np.flatnonzero(labels == 1))
    assert positives == sorted(index(2, y, x) for y in (7, 8, 9) for x in (7, 8, 9))
    assert labels[index(2, 8, 10)] == -1  # IoU exactly 0.6: ignored
    assert (labels == 0).sum() == 64 - 9 and (labels >= 0).sum() == 64
    assert labels.dtype == np.int64 and targets.dtype == np.float32 and weights.dtype == np.float32
    np.testing.assert_allclose(weights[labels == 1], 1 / (9 + 1e-6))
    assert np.count_nonzero(weights[labels != 1]) == 0
    iou = anchor_iou(cxcywh_to_xyxy(ANCHORS_255), np.array(BOX_64))
    assert np.all(iou[labels == 0] < 0.3)


def test_assign_targets_pysot_negative_cap() -> None:
    labels, _, _ = assign_targets(ANCHORS_255, BOX_64, rng=0, sampling="pysot")
    assert (labels == 1).sum() == 9 and (labels == 0).sum() == 48


def test_assign_targets_caps_positives_at_16() -> None:
    near = np.tile([[50.0, 50.0, 20.0, 20.0]], (30, 1))
    far = np.column_stack([np.arange(100) * 30.0 + 200, np.full(100, 200.0), np.full(100, 20.0),
                           np.full(100, 20.0)])
    anchors = np.vstack([near, far])
    for sampling, negatives in (("paper", 48), ("pysot", 48)):
        labels, _, weights = assign_targets(anchors, (40, 40, 60, 60), rng=1, sampling=sampling)
        assert (labels[:30] == 1).sum() == 16 and (labels[:30] == -1).sum() == 14
        assert (labels[30:] == 0).sum() == negatives
        np.testing.assert_allclose(weights.sum(), 16 / (16 + 1e-6), rtol=1e-6)
    small = assign_targets(anchors, (40, 40, 60, 60), rng=1, total=20, max_pos=4)[0]
    assert (small == 1).sum() == 4 and (small == 0).sum() == 16


def test_assign_targets_is_reproducible_with_a_seed() -> None:
    a = assign_targets(ANCHORS_255, BOX_64, rng=7)[0]
    b = assign_targets(ANCHORS_255, BOX_64, rng=np.random.default_rng(7))[0]
    c = assign_targets(ANCHORS_255, BOX_64, rng=8)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_regression_targets_hand_computed() -> None:
    box = (107.0, 115.0, 147.0, 175.0)  # cx 127, cy 145, w 40, h 60
    _, targets, _ = assign_targets(ANCHORS_255, box, rng=0)
    np.testing.assert_allclose(targets[index(0, 0, 0)],  # anchor (63, 63, 104, 32)
                               [(127 - 63) / 104, (145 - 63) / 32, math.log(40 / 104), math.log(60 / 32)],
                               rtol=1e-6)
    np.testing.assert_allclose(targets[index(3, 10, 8)],  # anchor (127, 143, 40, 80)
                               [0.0, 2 / 80, 0.0, math.log(60 / 80)], rtol=1e-6, atol=1e-7)
    same_xywh = assign_targets(ANCHORS_255, (107, 115, 40, 60), rng=0, box_format="xywh")
    same_cxcy = assign_targets(ANCHORS_255, (127, 145, 40, 60), rng=0, box_format="cxcywh")
    corner = assign_targets(cxcywh_to_xyxy(ANCHORS_255), box, rng=0, anchor_format="xyxy")
    for other in (same_xywh, same_cxcy, corner):
        np.testing.assert_allclose(other[1], targets, rtol=1e-6)


def test_assign_targets_does_not_mutate_inputs() -> None:
    anchors = ANCHORS_255.copy()
    box = np.array(BOX_64)
    assign_targets(anchors, box, rng=0)
    np.testing.assert_array_equal(anchors, ANCHORS_255)
    np.testing.assert_array_equal(box, BOX_64)


def test_negative_pair_labels_only_negatives_in_a_7x7_window() -> None:
    # centre 127 → cell 8 + ceil(0 + 0.5) = 9 (pysot's rounding): window cells 6…12
    labels, targets, weights = assign_targets(ANCHORS_255, BOX_64, rng=0, negative_pair=True,
                                              negative_pair_num=10_000)
    cells = {(n // 17 % 17, n % 17) for n in np.flatnonzero(labels == 0)}
    assert cells == {(y, x) for y in range(6, 13) for x in range(6, 13)}
    assert (labels == 0).sum() == 5 * 49 and (labels == 1).sum() == 0
    assert not targets.any() and not weights.any()
    default = assign_targets(ANCHORS_255, BOX_64, rng=0, negative_pair=True)[0]
    assert (default == 0).sum() == 16 and (default == 1).sum() == 0
    # object near the left edge: centre x 7 → cell 8 + ceil(-15 + 0.5) = -6 → window clipped away
    edge = assign_targets(ANCHORS_255, (2, 95, 12, 159), rng=0, negative_pair=True,
                          negative_pair_num=10_000)[0]
    assert (edge >= 0).sum() == 0
    # centre x 31 → cell 8 + ceil(-12 + 0.5) = -3 → cells 0 only (x < cx + 4 = 1)
    clipped = assign_targets(ANCHORS_255, (26, 95, 36, 159), rng=0, negative_pair=True,
                             negative_pair_num=10_000)[0]
    assert {n % 17 for n in np.flatnonzero(clipped == 0)} == {0}


def test_assign_targets_errors() -> None:
    with pytest.raises(SiambenchError, match="positive width"):
        assign_targets(ANCHORS_255, (10, 10, 10, 20))
    with pytest.raises(SiambenchError, match="4 finite"):
        assign_targets(ANCHORS_255, (10, 10, np.nan, 20))
    with pytest.raises(SiambenchError, match="sampling"):
        assign_targets(ANCHORS_255, BOX_64, sampling="fast")
    with pytest.raises(SiambenchError, match="square grid"):
        assign_targets(ANCHORS_255[:-1], BOX_64, negative_pair=True)


@settings(max_examples=40, deadline=None)
@given(cx=st.floats(40, 215), cy=st.floats(40, 215), w=st.floats(8, 200), h=st.floats(8, 200),
       sampling=st.sampled_from(["paper", "pysot"]), seed=st.integers(0, 2**16))
def test_assign_targets_properties(cx: float, cy: float, w: float, h: float, sampling: str,
                                   seed: int) -> None:
    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    labels, _, weights = assign_targets(ANCHORS_255, box, rng=seed, sampling=sampling)
    iou = anchor_iou(cxcywh_to_xyxy(ANCHORS_255), np.array(box))
    n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
    assert n_pos == min(16, int((iou > 0.6).sum()))
    assert np.all(iou[labels == 1] > 0.6) and np.all(iou[labels == 0] < 0.3)
    cap = 48 if sampling == "pysot" else 64 - n_pos
    assert n_neg == min(cap, int((iou < 0.3).sum()))
    assert n_pos + n_neg <= 64
    assert np.all((weights > 0) == (labels == 1))


# ----------------------------------------------------------------------------- SiamRPN loss

def one_anchor_maps(k: int = 1, s: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(1, 2 * k, s, s), torch.zeros(1, 4 * k, s, s)


def test_classification_loss_on_hand_made_logits() -> None:
    cls, reg = one_anchor_maps()
    cls[0, 1, 0, 1] = math.log(3)  # anchor 1 (y 0, x 1): fg logit ln 3, bg 0 → p(bg) = 1/4
    labels = torch.tensor([[1, 0, -1, 0]])
    zeros = torch.zeros(1, 4, 4)
    w = torch.zeros(1, 4)
    total, cls_loss, reg_loss = siamrpn_loss(cls, reg, labels, zeros, w)
    assert float(cls_loss) == pytest.approx((math.log(2) + math.log(4) + math.log(2)) / 3)
    assert float(reg_loss) == 0.0 and float(total) == pytest.approx(float(cls_loss))
    _, balanced, _ = siamrpn_loss(cls, reg, labels, zeros, w, preset="pysot")
    assert float(balanced) == pytest.approx(0.5 * math.log(2) + 0.5 * (math.log(4) + math.log(2)) / 2)
    _, empty, _ = siamrpn_loss(cls, reg, torch.full((1, 4), -1), zeros, w)
    assert float(empty) == 0.0


def test_classification_channel_layout_c_times_k_plus_a() -> None:
    cls, reg = one_anchor_maps(k=2, s=1)  # channels: bg a0, bg a1, fg a0, fg a1
    cls[0, 3, 0, 0] = 5.0  # foreground of anchor type 1
    _, loss_a1, _ = siamrpn_loss(cls, reg, np.array([-1, 1]), np.zeros((2, 4)), np.zeros(2))
    _, loss_a0, _ = siamrpn_loss(cls, reg, np.array([1, -1]), np.zeros((2, 4)), np.zeros(2))
    assert float(loss_a1) == pytest.approx(math.log1p(math.exp(-5.0)), rel=1e-5)
    assert float(loss_a0) == pytest.approx(math.log(2))


def test_regression_loss_smooth_l1_and_l1() -> None:
    cls, reg = one_anchor_maps(k=1, s=2)
    reg[0, :, 1, 0] = torch.tensor([0.05, -0.5, 2.0, 0.0])  # anchor 2 (y 1, x 0); channel j·k + a
    targets = torch.zeros(1, 4, 4)
    targets[0, 3] = torch.tensor([1.0, 1.0, 1.0, 1.0])  # an unweighted anchor is ignored
    weights = torch.tensor([[0.0, 0.0, 0.5, 0.0]])
    labels = torch.tensor([[-1, -1, 1, -1]])
    _, _, smooth = siamrpn_loss(cls, reg, labels, targets, weights)
    beta = 1 / 9
    expected = 0.5 * 0.05 ** 2 / beta + (0.5 - beta / 2) + (2.0 - beta / 2)
    assert float(smooth) == pytest.approx(0.5 * expected, rel=1e-5)
    _, _, smooth1 = siamrpn_loss(cls, reg, labels, targets, weights, beta=1.0)
    assert float(smooth1) == pytest.approx(0.5 * (0.5 * 0.05 ** 2 + 0.5 * 0.25 + 1.5), rel=1e-5)
    total, cls_loss, l1 = siamrpn_loss(cls, reg, labels, targets, weights, preset="pysot")
    assert float(l1) == pytest.approx(0.5 * 2.55, rel=1e-6)
    assert float(total) == pytest.approx(1.0 * float(cls_loss) + 1.2 * float(l1), rel=1e-6)
    assert LOSS_PRESETS["pysot"]["lambda_reg"] == 1.2
    total, c, _ = siamrpn_loss(cls, reg, labels, targets, weights, lambda_reg=3.0, reg_loss="l1")
    assert float(total) == pytest.approx(float(c) + 3.0 * 0.5 * 2.55, rel=1e-6)


def test_regression_loss_divides_by_batch_and_ignores_nan_targets_of_unweighted_anchors() -> None:
    cls = torch.zeros(2, 2, 1, 2)
    reg = torch.zeros(2, 4, 1, 2)
    reg[1, 0, 0, 0] = 1.0
    targets = torch.zeros(2, 2, 4)
    targets[:, 1] = float("nan")
    weights = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    labels = torch.tensor([[1, -1], [1, -1]])
    total, _, reg_loss = siamrpn_loss(cls, reg, labels, targets, weights, reg_loss="l1")
    assert float(reg_loss) == pytest.approx(0.5)  # (0 + 1) / batch 2
    assert torch.isfinite(total)


def test_loss_backpropagates_and_accepts_numpy_targets() -> None:
    anchors = anchors_absolute(17)
    labels, targets, weights = assign_targets(anchors, BOX_64, rng=0)
    cls = torch.zeros(1, 10, 17, 17, requires_grad=True)
    reg = torch.zeros(1, 20, 17, 17, requires_grad=True)
    total, cls_loss, reg_loss = siamrpn_loss(cls, reg, labels[None], targets[None], weights[None])
    assert cls_loss.item() == pytest.approx(math.log(2), rel=1e-6)
    # centre anchor target = 0 exactly; the other 8 positives have |dx| or |dy| = 8/64 > β
    assert reg_loss.item() > 0
    total.backward()
    assert cls.grad is not None and reg.grad.abs().sum() > 0
    with pytest.raises(SiambenchError, match="preset"):
        siamrpn_loss(cls, reg, labels, targets, weights, preset="fast")


# -------------------------------------------------------------------------------- SiamFC loss

def test_siamfc_labels() -> None:
    labels = siamfc_labels(17)
    assert labels.shape == (17, 17) and labels.dtype == torch.float32
    assert float(labels.sum()) == 13
    ys, xs = torch.nonzero(labels == 1, as_tuple=True)
    assert set(zip(ys.tolist(), xs.tolist())) == {(y, x) for y in range(17) for x in range(17)
                                                  if abs(y - 8) + abs(x - 8) <= 2}
    assert float(siamfc_labels(15).sum()) == 13 and float(siamfc_labels(15)[7, 7]) == 1
    band = siamfc_labels(17, r_pos=16, r_neg=32)
    assert int((band == 0.5).sum()) == 12 and int((band == 1).sum()) == 13  # d == 3 cells ignored
    assert int((siamfc_labels(17, r_pos=8) == 1).sum()) == 5


def test_balanced_logistic_loss_hand_values() -> None:
    labels = torch.zeros(3, 3)
    labels[1, 1] = 1
    assert float(balanced_logistic_loss(torch.zeros(1, 1, 3, 3), labels)) == pytest.approx(math.log(2))
    response = torch.full((1, 1, 3, 3), -1.0)
    response[0, 0, 1, 1] = 2.0
    expected = 0.5 * math.log1p(math.exp(-2)) + 0.5 * math.log1p(math.exp(-1))
    assert float(balanced_logistic_loss(response, labels)) == pytest.approx(expected, rel=1e-6)
    labels_ignored = labels.clone()
    labels_ignored[0, 0] = 0.5
    response[0, 0, 0, 0] = 50.0  # ignored cell does not count
    assert float(balanced_logistic_loss(response, labels_ignored)) == pytest.approx(expected, rel=1e-6)


def test_balanced_logistic_loss_counts_over_the_batch() -> None:
    labels = siamfc_labels(5, r_pos=0)  # only the centre is positive
    response = torch.zeros(2, 1, 5, 5)
    response[0, 0, 2, 2] = 1.0
    response[1, 0, 0, 0] = 3.0
    pos = [math.log1p(math.exp(-1.0)), math.log(2)]
    neg = [math.log(2)] * 47 + [math.log1p(math.exp(3.0))]
    expected = 0.5 * sum(pos) / 2 + 0.5 * sum(neg) / 48
    loss = balanced_logistic_loss(response, labels)
    assert float(loss) == pytest.approx(expected, rel=1e-6)
