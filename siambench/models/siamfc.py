"""The SiamFC network: ``AlexNetFC`` backbone + scaled cross-correlation head (spec §4.1).

Input: exemplar ``z`` ``(B, 3, 127, 127)`` and search ``x`` ``(B, 3, 255, 255)`` float32
raw 0–255 pixels in ``config["channel_order"]`` (siamfc-pytorch: RGB). Output: response
``(B, 1, S, S)``, ``S = (x − z) / 8 + 1`` (17 for 255, 15 for the 239 training crops).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from siambench.errors import SiambenchError
from siambench.models.backbones import AlexNetFC, AlexNetRPN
from siambench.models.heads import SiamFCHead

#: Backbones SiamFC can be built with: SiamFC's own AlexNetV1, or SiamRPN's AlexNet (so that a
#: SiamFC-trained backbone can initialise a SiamRPN, as the paper's ImageNet backbone does).
BACKBONES = ("alexnet-fc", "alexnet-rpn")


class SiamFC(nn.Module):
    """SiamFC (spec §4). Build it with ``build_model("siamfc", **config)``.

    Keyword arguments (stored in ``self.config``): ``width_mult`` (stage widths must stay even
    for the grouped convs), ``out_scale`` (0.001), ``channel_order`` (``"rgb"`` | ``"bgr"``),
    ``template_size``, ``search_size``, ``stride``, ``backbone`` (:data:`BACKBONES`; the config key
    appears only when it is not the default ``alexnet-fc``, so older checkpoints rebuild unchanged).
    """

    def __init__(self, *, width_mult: float = 1.0, out_scale: float = 0.001,
                 channel_order: str = "rgb", template_size: int = 127, search_size: int = 255,
                 stride: int = 8, backbone: str = "alexnet-fc") -> None:
        super().__init__()
        if channel_order not in ("rgb", "bgr"):
            raise SiambenchError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if backbone not in BACKBONES:
            raise SiambenchError(f"SiamFC backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}")
        self.name = "siamfc"
        self.backbone = AlexNetFC(width_mult) if backbone == "alexnet-fc" else AlexNetRPN(width_mult)
        self.head = SiamFCHead(out_scale)
        self.config: dict[str, Any] = {
            "width_mult": float(width_mult), "out_scale": float(out_scale),
            "channel_order": channel_order, "template_size": int(template_size),
            "search_size": int(search_size), "stride": int(stride),
        }
        if backbone != "alexnet-fc":
            self.config["backbone"] = backbone

    def score_size(self, search_size: int | None = None) -> int:
        """Response side ``(search − template) // stride + 1`` (17 for 255, 15 for 239)."""
        size = self.config["search_size"] if search_size is None else int(search_size)
        return (size - self.config["template_size"]) // self.config["stride"] + 1

    def template_features(self, z: Tensor) -> Tensor:
        """Per-sequence template work: exemplar features ``(T, C, 6, 6)``; pass them to :meth:`track`."""
        return self.backbone(z)

    def track(self, x: Tensor, features: Tensor) -> Tensor:
        """Per-frame response for search images ``(N, 3, H, W)`` reusing the template features.

        One template (T = 1) serves all N images (e.g. the 3 scales of one frame); T templates
        serve N = T images one to one.
        """
        return self.head(features, self.backbone(x))

    def forward(self, z: Tensor, x: Tensor) -> Tensor:
        """``(B, 3, 127, 127)``, ``(B, 3, 255, 255)`` → response ``(B, 1, 17, 17)``."""
        return self.track(x, self.template_features(z))
