"""The SiamRPN network: ``AlexNetRPN`` backbone + up-channel (paper) or depth-wise (pysot) RPN head.

Input: template ``(B, 3, 127, 127)`` and search ``(B, 3, 255, 255)`` float32 raw 0–255 pixels
in the channel order ``config["channel_order"]`` states. Output: cls ``(B, 2k, S, S)``
(channel ``c·k + a``, c = 0 background / 1 foreground) and reg ``(B, 4k, S, S)`` (channel
``j·k + a``, j = dx, dy, dw, dh), with ``S = (search − template) / stride + 1`` (17 for 255).
Anchor ``n = a·S·S + y·S + x`` is :func:`siambench.models.anchors.generate_anchors` row ``n``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor, nn

from siambench.errors import SiambenchError
from siambench.models.anchors import generate_anchors
from siambench.models.backbones import AlexNetRPN
from siambench.models.heads import (
    DepthwiseKernels,
    DepthwiseRPN,
    UpChannelKernels,
    UpChannelRPN,
)

#: Head kinds and the ``build_model`` names they are built under.
HEAD_KINDS = {"up-channel": "siamrpn", "depthwise": "siamrpn-dw"}

TemplateKernels = UpChannelKernels | DepthwiseKernels


class SiamRPN(nn.Module):
    """SiamRPN (spec §1). Build it with ``build_model("siamrpn" | "siamrpn-dw", **config)``.

    Keyword arguments (all stored, normalised, in ``self.config``, from which ``build_model``
    rebuilds the same architecture): ``width_mult`` (backbone width, heads follow its output
    channels), ``anchor_num`` (k; must equal ``len(anchor_ratios)·len(anchor_scales)``),
    ``hidden`` (depth-wise head only; default = backbone output channels), ``channel_order``
    (``"rgb"`` | ``"bgr"``: what the weights expect), ``template_size``, ``search_size``,
    ``stride``, ``anchor_ratios``, ``anchor_scales``.
    """

    def __init__(self, *, head: str = "up-channel", width_mult: float = 1.0, anchor_num: int = 5,
                 hidden: int | None = None, channel_order: str = "rgb", template_size: int = 127,
                 search_size: int = 255, stride: int = 8,
                 anchor_ratios: list[float] | tuple[float, ...] = (0.33, 0.5, 1, 2, 3),
                 anchor_scales: list[float] | tuple[float, ...] = (8,)) -> None:
        super().__init__()
        if head not in HEAD_KINDS:
            raise SiambenchError(f"unknown SiamRPN head {head!r}; expected one of {sorted(HEAD_KINDS)}")
        if channel_order not in ("rgb", "bgr"):
            raise SiambenchError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        ratios = [float(r) for r in anchor_ratios]
        scales = [float(s) for s in anchor_scales]
        if int(anchor_num) != len(ratios) * len(scales):
            raise SiambenchError(
                f"anchor_num={anchor_num} does not match {len(ratios)} anchor ratios × "
                f"{len(scales)} scales = {len(ratios) * len(scales)}")
        if (search_size - template_size) % stride:
            raise SiambenchError(
                f"search_size − template_size must be a multiple of stride {stride}, got "
                f"{search_size} − {template_size}")
        self.name = HEAD_KINDS[head]
        self.anchor_num = int(anchor_num)
        self.backbone = AlexNetRPN(width_mult)
        channels = self.backbone.out_channels
        if head == "up-channel":
            self.head: UpChannelRPN | DepthwiseRPN = UpChannelRPN(channels, self.anchor_num)
        else:
            hidden = channels if hidden is None else int(hidden)
            self.head = DepthwiseRPN(channels, hidden, self.anchor_num)
        self.config: dict[str, Any] = {
            "width_mult": float(width_mult), "anchor_num": self.anchor_num,
            "channel_order": channel_order, "template_size": int(template_size),
            "search_size": int(search_size), "stride": int(stride),
            "anchor_ratios": ratios, "anchor_scales": scales,
        }
        if head == "depthwise":
            self.config["hidden"] = hidden

    def score_size(self, search_size: int | None = None) -> int:
        """Score-map side ``S = (search − template) // stride + 1`` (17 for 255, 19 for 271)."""
        size = self.config["search_size"] if search_size is None else int(search_size)
        return (size - self.config["template_size"]) // self.config["stride"] + 1

    def anchors(self, search_size: int | None = None) -> np.ndarray:
        """Tracker anchors ``(k·S·S, 4)`` ``cx, cy, w, h`` relative to the search-crop centre."""
        c = self.config
        return generate_anchors(self.score_size(search_size), c["stride"], c["anchor_ratios"],
                                c["anchor_scales"])

    def template_kernels(self, template: Tensor) -> TemplateKernels:
        """Per-sequence template work: backbone + template convs; pass the result to :meth:`track`."""
        return self.head.template(self.backbone(template))

    def track(self, search: Tensor, kernels: TemplateKernels) -> tuple[Tensor, Tensor]:
        """Per-frame forward reusing :meth:`template_kernels`: ``(N, 3, H, W)`` → ``(cls, reg)``.

        Kernels of one template serve any number of search images; kernels of T templates
        serve T search images (image ``i`` uses template ``i``).
        """
        return self.head.search(self.backbone(search), kernels)  # type: ignore[arg-type]

    def forward(self, template: Tensor, search: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, 3, 127, 127)``, ``(B, 3, 255, 255)`` → cls ``(B, 2k, 17, 17)``, reg ``(B, 4k, 17, 17)``."""
        return self.track(search, self.template_kernels(template))
