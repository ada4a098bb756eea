"""Random weight initialisation of the networks (used by ``build_model``; reproducible with a seed).

Schemes (all biases 0; BatchNorm γ = 1, β = 0, running mean 0, running variance 1):

- ``"kaiming-rpn"`` (SiamRPN's networks) — Kaiming-normal convolutions (fan-in, ReLU gain
  ``√2``), with three scalings chosen so that a freshly built model gives O(1) outputs for raw
  0–255 pixels even in eval mode (where BN still has its identity running statistics), so
  random-weight trackers decode finite boxes:
  * the first conv's weights ÷ 128 (the inputs are 0–255 pixels, not unit-variance values);
  * the up-channel template convs ÷ ``C·4·4`` (each xcorr output sums C·16 products of
    strongly correlated features, so it grows about linearly with C·16);
  * the last prediction convs (up-channel ``reg_adjust``, depth-wise ``head.3``) normal with
    std 0.001.
- ``"xavier"`` (SiamFC's) — siamfc-pytorch's ``init_weights``: Xavier-uniform convolutions.

A network's builder in :func:`siambench.models.build_model` names its scheme.
"""

from __future__ import annotations

import torch
from torch import nn

SCHEMES = ("kaiming-rpn", "xavier")


def _generator(seed: int | None) -> torch.Generator | None:
    if seed is None:
        return None
    return torch.Generator().manual_seed(int(seed))


@torch.no_grad()
def _reset_common(model: nn.Module, scheme: str, generator: torch.Generator | None) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            if scheme == "xavier":
                nn.init.xavier_uniform_(module.weight, generator=generator)
            else:
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu",
                                        generator=generator)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.weight.fill_(1.0)
            module.bias.zero_()


@torch.no_grad()
def init_weights(model: nn.Module, scheme: str = "kaiming-rpn", seed: int | None = None) -> nn.Module:
    """Re-initialise every parameter of ``model`` in place with ``scheme``; returns ``model``.

    ``seed``: an integer makes the weights reproducible (a private ``torch.Generator``; the
    global RNG is neither used nor changed); ``None`` draws from the global RNG.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; expected one of {SCHEMES}")
    generator = _generator(seed)
    _reset_common(model, scheme, generator)
    if scheme != "kaiming-rpn":
        return model
    from siambench.models.heads import DepthwiseRPN, UpChannelRPN

    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None:
        first.weight.div_(128.0)
    for module in model.modules():
        if isinstance(module, UpChannelRPN):
            scale = float(module.in_channels * 16)
            module.template_cls.weight.div_(scale)
            module.template_reg.weight.div_(scale)
            nn.init.normal_(module.reg_adjust.weight, std=0.001, generator=generator)
        elif isinstance(module, DepthwiseRPN):
            for branch in (module.cls, module.reg):
                nn.init.normal_(branch.head[3].weight, std=0.001, generator=generator)
    return model
