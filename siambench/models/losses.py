"""Training targets and losses of SiamRPN (spec §2.3–2.4) and SiamFC (spec §4.3).

SiamRPN anchors are indexed ``n = a·S·S + y·S + x`` (the flattening of the heads' maps,
spec §1.4); :func:`assign_targets` works in numpy (DataLoader workers) on one training pair,
:func:`siamrpn_loss` in torch on a batch. Where the SiamRPN paper and pysot differ, the paper
is the default and pysot's behaviour a named option (``sampling="pysot"``, ``preset="pysot"``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from siambench.errors import SiambenchError
from siambench.models.anchors import cxcywh_to_xyxy, xyxy_to_cxcywh

# ----------------------------------------------------------------------------- SiamRPN targets

SAMPLING_MODES = ("paper", "pysot")
_BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _target_xyxy(target_box: Any, box_format: str) -> np.ndarray:
    if box_format not in _BOX_FORMATS:
        raise SiambenchError(f"box_format must be one of {_BOX_FORMATS}, got {box_format!r}")
    box = np.asarray(target_box, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise SiambenchError(f"target box must be 4 finite numbers, got {target_box!r}")
    if box_format == "xywh":
        box = np.array([box[0], box[1], box[0] + box[2], box[1] + box[3]])
    elif box_format == "cxcywh":
        box = cxcywh_to_xyxy(box[None])[0]
    if not (box[2] > box[0] and box[3] > box[1]):
        raise SiambenchError(f"target box {target_box!r} ({box_format}) has no positive width and height")
    return box


def anchor_iou(anchors_xyxy: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
    """IoU of ``(N, 4)`` corner-form anchors with one corner-form box; continuous areas, no +1 (pysot)."""
    iw = np.minimum(anchors_xyxy[:, 2], box_xyxy[2]) - np.maximum(anchors_xyxy[:, 0], box_xyxy[0])
    ih = np.minimum(anchors_xyxy[:, 3], box_xyxy[3]) - np.maximum(anchors_xyxy[:, 1], box_xyxy[1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (anchors_xyxy[:, 2] - anchors_xyxy[:, 0]) * (anchors_xyxy[:, 3] - anchors_xyxy[:, 1])
    area_b = (box_xyxy[2] - box_xyxy[0]) * (box_xyxy[3] - box_xyxy[1])
    return inter / (area_a + area_b - inter)


def _keep(indices: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """A random subset of at most ``limit`` of ``indices`` (all of them, unshuffled, if they fit)."""
    limit = max(int(limit), 0)
    if indices.size <= limit:
        return indices
    return rng.choice(indices, size=limit, replace=False)


def assign_targets(anchors: np.ndarray, target_box: Any, *, pos_iou: float = 0.6,
                   neg_iou: float = 0.3, total: int = 64, max_pos: int = 16,
                   rng: np.random.Generator | int | None = None, negative_pair: bool = False,
                   sampling: str = "paper", anchor_format: str = "cxcywh",
                   box_format: str = "xyxy", anchor_num: int = 5, search_size: int = 255,
                   stride: int = 8, negative_pair_num: int = 16
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SiamRPN labels and regression targets of one training pair (pysot ``AnchorTarget``).

    ``anchors``: ``(N, 4)`` in absolute search-crop pixels, ``cx, cy, w, h``
    (:func:`~siambench.models.anchors.anchors_absolute`) or ``x1, y1, x2, y2``
    (``anchor_format="xyxy"``), ordered ``a·S·S + y·S + x``. ``target_box``: the object in
    the same pixels, corner form ``x1, y1, x2, y2`` by default (``box_format`` "xywh" /
    "cxcywh" accepted). IoU > ``pos_iou`` → positive (1), IoU < ``neg_iou`` → negative (0),
    else ignored (−1); at most ``max_pos`` positives are kept (random subset) and at most
    ``total − kept positives`` negatives (``sampling="paper"``: 64 per pair) or
    ``total − max_pos`` negatives whatever the positives (``sampling="pysot"``: pysot's cap of
    48). Un-kept anchors are −1.

    Regression targets, every anchor (float32): ``(tx − ax)/aw, (ty − ay)/ah, ln(tw/aw),
    ln(th/ah)``; weights ``1 / (positives + 1e-6)`` on kept positives, 0 elsewhere.

    ``negative_pair=True`` (search image shows another object, DaSiamRPN-style): only the
    anchors of a 7×7 cell window around the box centre's cell
    ``S//2 + ceil((c − search_size//2)/stride + 0.5)`` (window clipped to the map; pysot) are
    candidates, at most ``negative_pair_num`` of them become negatives; no positives,
    regression targets and weights 0.

    Returns ``labels (N,) int64``, ``reg_targets (N, 4) float32``, ``reg_weights (N,) float32``.
    """
    if sampling not in SAMPLING_MODES:
        raise SiambenchError(f"sampling must be one of {SAMPLING_MODES}, got {sampling!r}")
    if anchor_format not in ("cxcywh", "xyxy"):
        raise SiambenchError(f"anchor_format must be 'cxcywh' or 'xyxy', got {anchor_format!r}")
    array = np.asarray(anchors, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise SiambenchError(f"anchors must be an (N, 4) array, got shape {array.shape}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = array.shape[0]
    target = _target_xyxy(target_box, box_format)
    labels = np.full(n, -1, dtype=np.int64)
    reg_targets = np.zeros((n, 4), dtype=np.float32)
    reg_weights = np.zeros(n, dtype=np.float32)

    if negative_pair:
        size = math.isqrt(n // anchor_num) if anchor_num > 0 else 0
        if anchor_num <= 0 or anchor_num * size * size != n:
            raise SiambenchError(f"{n} anchors are not {anchor_num} anchor types on a square grid")
        tcx, tcy = (target[0] + target[2]) / 2.0, (target[1] + target[3]) / 2.0
        cx = size // 2 + math.ceil((tcx - search_size // 2) / stride + 0.5)
        cy = size // 2 + math.ceil((tcy - search_size // 2) / stride + 0.5)
        cell = np.arange(n) % (size * size)
        xs, ys = cell % size, cell // size
        inside = ((xs >= max(0, cx - 3)) & (xs < min(size, cx + 4))
                  & (ys >= max(0, cy - 3)) & (ys < min(size, cy + 4)))
        labels[_keep(np.flatnonzero(inside), negative_pair_num, generator)] = 0
        return labels, reg_targets, reg_weights

    if anchor_format == "cxcywh":
        centre, corners = array, cxcywh_to_xyxy(array)
    else:
        centre, corners = xyxy_to_cxcywh(array), array
    tcx, tcy, tw, th = xyxy_to_cxcywh(target[None])[0]
    reg_targets[:, 0] = (tcx - centre[:, 0]) / centre[:, 2]
    reg_targets[:, 1] = (tcy - centre[:, 1]) / centre[:, 3]
    reg_targets[:, 2] = np.log(tw / centre[:, 2])
    reg_targets[:, 3] = np.log(th / centre[:, 3])

    iou = anchor_iou(corners, target)
    pos = _keep(np.flatnonzero(iou > pos_iou), max_pos, generator)
    neg_cap = total - max_pos if sampling == "pysot" else total - pos.size
    neg = _keep(np.flatnonzero(iou < neg_iou), neg_cap, generator)
    labels[pos] = 1
    labels[neg] = 0
    reg_weights[pos] = 1.0 / (pos.size + 1e-6)
    return labels, reg_targets, reg_weights


# ------------------------------------------------------------------------------- SiamRPN loss

#: Named loss settings. ``paper``: mean cross-entropy over the sampled anchors + λ·smooth-L1
#: (λ = 1); ``pysot``: 0.5·mean(positives) + 0.5·mean(negatives) cross-entropy, plain L1,
#: weights 1.0 (cls) / 1.2 (reg) (pysot ``CLS_WEIGHT`` / ``LOC_WEIGHT``).
LOSS_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"reg_loss": "smooth_l1", "cls_balance": "mean", "cls_weight": 1.0, "lambda_reg": 1.0},
    "pysot": {"reg_loss": "l1", "cls_balance": "balanced", "cls_weight": 1.0, "lambda_reg": 1.2},
}

#: Default smooth-L1 transition point: β = 1/σ² with σ = 3, the RPN loss of Faster R-CNN that
#: the SiamRPN paper's smooth-L1 (its Eq. 3, σ left open) comes from.
SMOOTH_L1_BETA = 1.0 / 9.0


def _as_tensor(value: Any, like: Tensor, dtype: torch.dtype) -> Tensor:
    return torch.as_tensor(value, dtype=dtype, device=like.device)


def siamrpn_loss(cls: Tensor, reg: Tensor, labels: Any, reg_targets: Any, reg_weights: Any, *,
                 preset: str = "paper", lambda_reg: float | None = None,
                 reg_loss: str | None = None, cls_weight: float | None = None,
                 cls_balance: str | None = None, beta: float = SMOOTH_L1_BETA
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """SiamRPN loss of a batch: ``total = cls_weight·L_cls + lambda_reg·L_reg``.

    ``cls`` ``(B, 2k, S, S)`` and ``reg`` ``(B, 4k, S, S)`` are the network outputs;
    ``labels`` ``(B, N)`` ({1, 0, −1}), ``reg_targets`` ``(B, N, 4)``, ``reg_weights``
    ``(B, N)`` come from :func:`assign_targets` (stacked; tensors or arrays; a single pair may
    drop the batch axis). ``L_cls``: 2-class cross-entropy (log-softmax over background /
    foreground) of the sampled anchors, averaged over all of them in the batch
    (``cls_balance="mean"``) or ``0.5·mean(pos) + 0.5·mean(neg)`` (``"balanced"``, pysot; an
    empty set contributes 0). ``L_reg``: ``Σ_anchors weight · Σ_j ℓ(pred_j − target_j)`` / B
    with ℓ = smooth-L1 (``beta``; ``0.5·d²/β`` below β, ``|d| − β/2`` above) or L1.
    ``preset`` ("paper" | "pysot", :data:`LOSS_PRESETS`) supplies the settings not given.
    Returns ``(total, cls_loss, reg_loss)`` as 0-d tensors.
    """
    if preset not in LOSS_PRESETS:
        raise SiambenchError(f"unknown loss preset {preset!r}; expected one of {sorted(LOSS_PRESETS)}")
    settings = dict(LOSS_PRESETS[preset])
    for key, value in (("lambda_reg", lambda_reg), ("reg_loss", reg_loss),
                       ("cls_weight", cls_weight), ("cls_balance", cls_balance)):
        if value is not None:
            settings[key] = value
    if settings["reg_loss"] not in ("smooth_l1", "l1"):
        raise SiambenchError(f"reg_loss must be 'smooth_l1' or 'l1', got {settings['reg_loss']!r}")
    if settings["cls_balance"] not in ("mean", "balanced"):
        raise SiambenchError(f"cls_balance must be 'mean' or 'balanced', got {settings['cls_balance']!r}")

    b, two_k, h, w = cls.shape
    k = two_k // 2
    if two_k % 2 or tuple(reg.shape) != (b, 4 * k, h, w):
        raise SiambenchError(f"cls {tuple(cls.shape)} and reg {tuple(reg.shape)} are not (B, 2k, H, W) "
                             "and (B, 4k, H, W) maps of one network")
    logits = cls.reshape(b, 2, k, h, w).permute(0, 2, 3, 4, 1).reshape(b, k * h * w, 2)
    deltas = reg.reshape(b, 4, k, h, w).permute(0, 2, 3, 4, 1).reshape(b, k * h * w, 4)
    lab = _as_tensor(labels, cls, torch.long).reshape(b, -1)
    tgt = _as_tensor(reg_targets, reg, reg.dtype).reshape(b, -1, 4)
    wgt = _as_tensor(reg_weights, reg, reg.dtype).reshape(b, -1)
    anchors = logits.shape[1]
    if lab.shape[1] != anchors or tgt.shape[1] != anchors or wgt.shape[1] != anchors:
        raise SiambenchError(f"targets for {lab.shape[1]} anchors do not fit maps of {anchors} anchors")

    nll = -F.log_softmax(logits, dim=-1).gather(-1, lab.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    pos = (lab == 1).to(nll.dtype)
    neg = (lab == 0).to(nll.dtype)
    if settings["cls_balance"] == "mean":  # sums over counts clamped to 1: no host sync, 0 if empty
        cls_loss = (nll * (pos + neg)).sum() / (pos + neg).sum().clamp(min=1.0)
    else:
        cls_loss = (0.5 * (nll * pos).sum() / pos.sum().clamp(min=1.0)
                    + 0.5 * (nll * neg).sum() / neg.sum().clamp(min=1.0))

    diff = (deltas - tgt).abs()
    if settings["reg_loss"] == "smooth_l1":
        diff = torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    per_anchor = diff.sum(-1)
    weighted = torch.where(wgt > 0, per_anchor * wgt, torch.zeros_like(per_anchor))
    reg_loss_value = weighted.sum() / b
    total = settings["cls_weight"] * cls_loss + settings["lambda_reg"] * reg_loss_value
    return total, cls_loss, reg_loss_value


# ------------------------------------------------------------------------------------ SiamFC

def siamfc_labels(size: int, stride: int = 8, r_pos: float = 16, r_neg: float = 0) -> Tensor:
    """SiamFC label map ``(size, size)`` float32 (siamfc-pytorch ``_create_labels``).

    Cell distance from the map centre ``d = |x| + |y|`` (cells, centre ``(size − 1)/2``):
    1 where ``d ≤ r_pos/stride``, 0.5 (ignored by the loss) where ``d < r_neg/stride``,
    else 0. Defaults: 13 positive cells around the centre of a 17×17 (or 15×15) map.
    """
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    dist = offsets.abs()[None, :] + offsets.abs()[:, None]
    labels = torch.where(dist <= r_pos / stride, 1.0,
                         torch.where(dist < r_neg / stride, 0.5, 0.0))
    return labels.to(torch.float32)


def balanced_logistic_loss(response: Tensor, labels: Tensor) -> Tensor:
    """siamfc-pytorch ``BalancedLoss``: weighted BCE-with-logits, ``0.5·mean(pos) + 0.5·mean(neg)``.

    ``response`` ``(B, 1, S, S)`` logits; ``labels`` broadcastable to it (1 positive, 0
    negative, anything else ignored). Positive and negative cells are counted over the whole
    batch; weights ``1/N_pos`` and ``1/N_neg`` normalised to sum 1, loss summed.
    """
    target = labels.to(device=response.device, dtype=response.dtype).expand_as(response)
    pos = (target == 1).to(response.dtype)
    neg = (target == 0).to(response.dtype)
    weight = pos / pos.sum().clamp(min=1.0) + neg / neg.sum().clamp(min=1.0)
    bce = F.binary_cross_entropy_with_logits(response, target.clamp(0, 1), reduction="none")
    return (bce * weight).sum() / weight.sum().clamp(min=1e-12)
