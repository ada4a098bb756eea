"""Backbones: the SiamRPN-paper AlexNet (``AlexNetRPN``) and SiamFC's AlexNetV1 (``AlexNetFC``).

Both are fully convolutional with no padding ("valid" convs, total stride 8), so a 127 input
gives 6×6 features and a 255 input 22×22 (generally ``(in − 127) / 8 + 6``). Inputs are raw
0–255 float pixels, no mean/std normalisation; the channel order the weights expect is the
model's ``config["channel_order"]`` (the tracker converts the RGB frames).

``width_mult`` multiplies every channel count except the 3 input channels, truncating
(``int(c · width_mult)``, pysot's rule); 1.0 gives the published networks.
"""

from __future__ import annotations

from torch import Tensor, nn

from siambench.errors import SiambenchError

#: Output channels of the five stages at width 1 (pysot ``AlexNet.configs``, DaSiamRPN size 1).
ALEXNET_CHANNELS: tuple[int, ...] = (96, 256, 384, 384, 256)

#: SiamFC's BatchNorm settings (siamfc-pytorch ``_BatchNorm2d``).
FC_BN_EPS = 1e-6
FC_BN_MOMENTUM = 0.05


def scaled_channels(width_mult: float, *, divisible_by: int = 1) -> list[int]:
    """The five stage widths for ``width_mult``: ``int(c · width_mult)`` for each base width.

    Raises :class:`SiambenchError` when a width drops below 1 or is not a multiple of
    ``divisible_by`` (SiamFC's grouped convs need even widths).
    """
    if not width_mult > 0:
        raise SiambenchError(f"width_mult must be a positive number, got {width_mult!r}")
    channels = [int(c * width_mult) for c in ALEXNET_CHANNELS]
    if min(channels) < divisible_by or any(c % divisible_by for c in channels):
        raise SiambenchError(
            f"width_mult={width_mult} gives stage widths {channels}; every width must be a "
            f"positive multiple of {divisible_by} (e.g. width_mult 0.25, 0.5, 1.0)")
    return channels


class AlexNetRPN(nn.Module):
    """SiamRPN's modified AlexNet (spec §1.1; pysot ``AlexNet`` layout ``layer1``…``layer5``).

    Each ``layerN`` is an ``nn.Sequential`` with the Conv2d at index 0 and its BatchNorm2d at
    index 1: conv 11×11/2 → BN → MaxPool 3/2 → ReLU; conv 5×5 → BN → MaxPool 3/2 → ReLU;
    conv 3×3 → BN → ReLU (twice); conv 3×3 → BN (no ReLU). BN uses PyTorch defaults.
    """

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = scaled_channels(width_mult)
        self.width_mult = float(width_mult)
        self.layer1 = nn.Sequential(nn.Conv2d(3, c1, 11, stride=2), nn.BatchNorm2d(c1),
                                    nn.MaxPool2d(3, stride=2), nn.ReLU(inplace=True))
        self.layer2 = nn.Sequential(nn.Conv2d(c1, c2, 5), nn.BatchNorm2d(c2),
                                    nn.MaxPool2d(3, stride=2), nn.ReLU(inplace=True))
        self.layer3 = nn.Sequential(nn.Conv2d(c2, c3, 3), nn.BatchNorm2d(c3), nn.ReLU(inplace=True))
        self.layer4 = nn.Sequential(nn.Conv2d(c3, c4, 3), nn.BatchNorm2d(c4), nn.ReLU(inplace=True))
        self.layer5 = nn.Sequential(nn.Conv2d(c4, c5, 3), nn.BatchNorm2d(c5))
        #: Channels of the output feature map (256 at width 1).
        self.out_channels = c5

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, H, W)`` 0–255 pixels → ``(B, C, (H − 127)/8 + 6, …)`` features."""
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        return self.layer5(x)


def _fc_bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=FC_BN_EPS, momentum=FC_BN_MOMENTUM)


class AlexNetFC(nn.Module):
    """SiamFC's AlexNetV1 (spec §4.1; siamfc-pytorch ``AlexNetV1``, modules ``conv1``…``conv5``).

    conv 11×11/2 → BN → ReLU → MaxPool 3/2; conv 5×5 (groups 2) → BN → ReLU → MaxPool 3/2;
    conv 3×3 → BN → ReLU; conv 3×3 (groups 2) → BN → ReLU; conv 3×3 (groups 2, bias, no BN,
    no ReLU). BN eps 1e-6, momentum 0.05. The conv is ``convN.0``, its BN ``convN.1``.
    """

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = scaled_channels(width_mult, divisible_by=2)
        self.width_mult = float(width_mult)
        self.conv1 = nn.Sequential(nn.Conv2d(3, c1, 11, stride=2), _fc_bn(c1),
                                   nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2))
        self.conv2 = nn.Sequential(nn.Conv2d(c1, c2, 5, groups=2), _fc_bn(c2),
                                   nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2))
        self.conv3 = nn.Sequential(nn.Conv2d(c2, c3, 3), _fc_bn(c3), nn.ReLU(inplace=True))
        self.conv4 = nn.Sequential(nn.Conv2d(c3, c4, 3, groups=2), _fc_bn(c4), nn.ReLU(inplace=True))
        self.conv5 = nn.Sequential(nn.Conv2d(c4, c5, 3, groups=2))
        #: Channels of the output feature map (256 at width 1).
        self.out_channels = c5

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, H, W)`` 0–255 pixels → ``(B, C, (H − 127)/8 + 6, …)`` features."""
        x = self.conv1(x)
        x = self.conv2(x)
        x = self.conv3(x)
        x = self.conv4(x)
        return self.conv5(x)
