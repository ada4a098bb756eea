"""Heads: SiamRPN's up-channel RPN, pysot's depth-wise RPN, SiamFC's scaled cross-correlation.

Output channel layout of both RPN heads (spec §1.4): cls ``(B, 2k, S, S)`` with channel
``c·k + a`` (c = 0 background, 1 foreground), reg ``(B, 4k, S, S)`` with channel ``j·k + a``
(j = dx, dy, dw, dh). Every head splits into a template part, computed once per sequence,
and a per-frame search part that reuses it (``template`` / ``search``).

Cross-correlations are single ``F.conv2d`` calls: a batch of different templates is handled
by folding the batch into the channels and using ``groups=B`` (spec §1.2's batched trick);
one template (batch 1) against any number of search images is a plain convolution.
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn

from siambench.errors import SiambenchError


def _groups_for(n_search: int, n_template: int) -> int:
    if n_template == 1:
        return 1
    if n_search % n_template:
        raise SiambenchError(
            f"cannot correlate a batch of {n_search} search images with {n_template} templates: "
            "use one template, or one template per search image (or a multiple of it)")
    return n_template


def xcorr(x: Tensor, kernels: Tensor, templates: int = 1) -> Tensor:
    """Full-channel cross-correlation of search features with per-template kernel banks.

    ``x``: ``(N, C, H, W)``; ``kernels``: ``(templates·m, C, h, w)`` — template ``t`` owns
    kernels ``t·m … t·m + m − 1``. Search image ``i`` is correlated with template
    ``i % templates`` (one template: all of them). Returns ``(N, m, H − h + 1, W − w + 1)``.
    """
    n, c, h, w = x.shape
    groups = _groups_for(n, templates)
    if groups == 1:
        return F.conv2d(x, kernels)
    out = F.conv2d(x.reshape(n // groups, groups * c, h, w), kernels, groups=groups)
    return out.reshape(n, -1, out.shape[-2], out.shape[-1])


def xcorr_depthwise(x: Tensor, kernel: Tensor) -> Tensor:
    """Depth-wise cross-correlation: channel ``c`` of ``x`` with channel ``c`` of ``kernel`` only.

    ``x``: ``(N, C, H, W)``; ``kernel``: ``(T, C, h, w)`` with T = 1 or T dividing N (search
    image ``i`` uses template ``i % T``). Returns ``(N, C, H − h + 1, W − w + 1)``.
    """
    n, c, h, w = x.shape
    t = kernel.shape[0]
    groups = _groups_for(n, t)
    weight = kernel.reshape(groups * c, 1, kernel.shape[-2], kernel.shape[-1])
    out = F.conv2d(x.reshape(n // groups, groups * c, h, w), weight, groups=groups * c)
    return out.reshape(n, c, out.shape[-2], out.shape[-1])


class UpChannelKernels(NamedTuple):
    """Cached template kernels of :class:`UpChannelRPN` for ``templates`` template images.

    ``cls``: ``(templates·2k, C, 4, 4)``, ``reg``: ``(templates·4k, C, 4, 4)`` — template conv
    output channel ``o`` becomes kernel ``o // C``, input channel ``o % C`` (spec §1.2).
    """

    cls: Tensor
    reg: Tensor
    templates: int


class UpChannelRPN(nn.Module):
    """The SiamRPN paper's up-channel RPN head (spec §1.2; DaSiamRPN, pysot ``UPChannelRPN``)."""

    def __init__(self, in_channels: int = 256, anchor_num: int = 5) -> None:
        super().__init__()
        c, k = in_channels, anchor_num
        self.in_channels = c
        self.anchor_num = k
        self.template_cls = nn.Conv2d(c, c * 2 * k, 3)
        self.template_reg = nn.Conv2d(c, c * 4 * k, 3)
        self.search_cls = nn.Conv2d(c, c, 3)
        self.search_reg = nn.Conv2d(c, c, 3)
        self.reg_adjust = nn.Conv2d(4 * k, 4 * k, 1)

    def template(self, z_f: Tensor) -> UpChannelKernels:
        """Template features ``(T, C, 6, 6)`` → the reshaped ``2k`` / ``4k`` kernels per template."""
        t = z_f.shape[0]
        c = self.in_channels
        cls = self.template_cls(z_f)
        reg = self.template_reg(z_f)
        return UpChannelKernels(cls.reshape(-1, c, cls.shape[-2], cls.shape[-1]),
                                reg.reshape(-1, c, reg.shape[-2], reg.shape[-1]), t)

    def search(self, x_f: Tensor, kernels: UpChannelKernels) -> tuple[Tensor, Tensor]:
        """Search features ``(N, C, 22, 22)`` + cached kernels → cls ``(N, 2k, 17, 17)``,
        reg ``(N, 4k, 17, 17)``."""
        cls = xcorr(self.search_cls(x_f), kernels.cls, kernels.templates)
        reg = self.reg_adjust(xcorr(self.search_reg(x_f), kernels.reg, kernels.templates))
        return cls, reg

    def forward(self, z_f: Tensor, x_f: Tensor) -> tuple[Tensor, Tensor]:
        return self.search(x_f, self.template(z_f))


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class DepthwiseXCorr(nn.Module):
    """One branch of pysot's depth-wise RPN (spec §1.3).

    ``conv_kernel`` / ``conv_search``: Conv3×3 (no bias) → BN → ReLU; depth-wise xcorr;
    ``head``: Conv1×1 (no bias) ``.0`` → BN ``.1`` → ReLU ``.2`` → Conv1×1 with bias ``.3``.
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, 3)
        self.conv_search = _conv_bn_relu(in_channels, hidden, 3)
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                  nn.ReLU(inplace=True), nn.Conv2d(hidden, out_channels, 1))

    def template(self, z_f: Tensor) -> Tensor:
        """Template features → the cached ``(T, hidden, 4, 4)`` kernel."""
        return self.conv_kernel(z_f)

    def search(self, x_f: Tensor, kernel: Tensor) -> Tensor:
        """Search features + cached kernel → ``(N, out_channels, 17, 17)``."""
        return self.head(xcorr_depthwise(self.conv_search(x_f), kernel))

    def forward(self, z_f: Tensor, x_f: Tensor) -> Tensor:
        return self.search(x_f, self.template(z_f))


class DepthwiseKernels(NamedTuple):
    """Cached template kernels of :class:`DepthwiseRPN`: the two ``conv_kernel`` outputs."""

    cls: Tensor
    reg: Tensor


class DepthwiseRPN(nn.Module):
    """pysot's ``DepthwiseRPN`` (spec §1.3): independent ``cls`` (2k out) and ``reg`` (4k out) branches."""

    def __init__(self, in_channels: int = 256, hidden: int = 256, anchor_num: int = 5) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden = hidden
        self.anchor_num = anchor_num
        self.cls = DepthwiseXCorr(in_channels, hidden, 2 * anchor_num)
        self.reg = DepthwiseXCorr(in_channels, hidden, 4 * anchor_num)

    def template(self, z_f: Tensor) -> DepthwiseKernels:
        return DepthwiseKernels(self.cls.template(z_f), self.reg.template(z_f))

    def search(self, x_f: Tensor, kernels: DepthwiseKernels) -> tuple[Tensor, Tensor]:
        return self.cls.search(x_f, kernels.cls), self.reg.search(x_f, kernels.reg)

    def forward(self, z_f: Tensor, x_f: Tensor) -> tuple[Tensor, Tensor]:
        return self.search(x_f, self.template(z_f))


class SiamFCHead(nn.Module):
    """SiamFC's head (spec §4.1): ``response = xcorr(z_f, x_f) · out_scale``; no parameters.

    ``z_f``: ``(T, C, 6, 6)``; ``x_f``: ``(N, C, 22, 22)`` with T = 1 (e.g. three scales of one
    frame sharing the template) or T dividing N. Returns ``(N, 1, 17, 17)``.
    """

    def __init__(self, out_scale: float = 0.001) -> None:
        super().__init__()
        self.out_scale = float(out_scale)

    def forward(self, z_f: Tensor, x_f: Tensor) -> Tensor:
        return xcorr(x_f, z_f, z_f.shape[0]) * self.out_scale
