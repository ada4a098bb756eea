"""Training targets per pair: SiamRPN anchor labels / offsets and the SiamFC label map.

Thin wrappers over :mod:`siambench.models.losses` that fix the anchor layout of a training
search crop (:func:`siambench.models.anchors.anchors_absolute`: centres
``search_size // 2 − (S // 2)·stride + stride·i``, the crop's centre pixel being
``(search_size − 1)/2`` = 127 for 255, where :mod:`siambench.train.augment` puts the target).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from siambench.models.anchors import anchors_absolute
from siambench.models.losses import assign_targets, siamfc_labels

__all__ = ["fc_labels", "rpn_anchors", "rpn_targets"]


def rpn_anchors(model_config: Mapping[str, Any], search_size: int = 255) -> np.ndarray:
    """``(k·S·S, 4)`` training anchors ``cx, cy, w, h`` for a model config and search size."""
    template = int(model_config.get("template_size", 127))
    stride = int(model_config.get("stride", 8))
    score = (search_size - template) // stride + 1
    return anchors_absolute(score, search_size, stride,
                            tuple(model_config.get("anchor_ratios", (0.33, 0.5, 1, 2, 3))),
                            tuple(model_config.get("anchor_scales", (8,))))


def rpn_targets(anchors: np.ndarray, box_xyxy: np.ndarray, rng: np.random.Generator, *,
                negative: bool, cfg: Mapping[str, Any], anchor_num: int = 5
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``labels (N,)``, ``reg_targets (N, 4)``, ``reg_weights (N,)`` of one pair (spec §2.3):
    64 sampled anchors with at most 16 positives (``cfg`` keys ``pos_iou``, ``neg_iou``,
    ``anchor_total``, ``anchor_max_pos``, ``sampling``); negative pairs label 16 anchors
    around the distractor."""
    return assign_targets(anchors, box_xyxy, pos_iou=float(cfg.get("pos_iou", 0.6)),
                          neg_iou=float(cfg.get("neg_iou", 0.3)),
                          total=int(cfg.get("anchor_total", 64)),
                          max_pos=int(cfg.get("anchor_max_pos", 16)), rng=rng,
                          negative_pair=negative, sampling=str(cfg.get("sampling", "paper")),
                          box_format="xyxy", anchor_num=anchor_num,
                          search_size=int(cfg.get("search_size", 255)))


def fc_labels(score_size: int, cfg: Mapping[str, Any], stride: int = 8) -> torch.Tensor:
    """The SiamFC label map ``(1, 1, S, S)`` (13 positive cells for r_pos 16, stride 8)."""
    labels = siamfc_labels(score_size, stride, float(cfg.get("r_pos", 16.0)),
                           float(cfg.get("r_neg", 0.0)))
    return labels[None, None]
