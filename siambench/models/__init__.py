"""Siamese tracking networks (torch): SiamRPN (up-channel / depth-wise heads) and SiamFC.

``build_model(name, **config)`` builds a network by name with freshly initialised weights
(see :mod:`siambench.models.weight_init`); ``model.config`` holds the keyword arguments that
rebuild the same architecture, ``model.name`` the name it was built under.

Models take float32 0–255 pixels in the channel order ``config["channel_order"]`` states
(``"rgb"`` by default — weights trained by siambench; importers of pysot / DaSiamRPN weights
set ``"bgr"``); the tracker converts its RGB frames accordingly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from siambench.errors import SiambenchError, UnknownNameError
from siambench.models.siamfc import SiamFC
from siambench.models.siamrpn import SiamRPN
from siambench.models.weight_init import init_weights

__all__ = ["MODEL_DESCRIPTIONS", "SiamFC", "SiamRPN", "build_model", "list_models"]

#: Model names → one-line description.
MODEL_DESCRIPTIONS: dict[str, str] = {
    "siamrpn": "SiamRPN, the paper's AlexNet + up-channel RPN head (DaSiamRPN layout)",
    "siamrpn-dw": "SiamRPN with pysot's depth-wise cross-correlation RPN head (siamrpn_alex_dwxcorr)",
    "siamfc": "SiamFC, AlexNetV1 (grouped convs, BN) + cross-correlation × 0.001 (siamfc-pytorch)",
}


def _siamrpn(**config: Any) -> nn.Module:
    return SiamRPN(head="up-channel", **config)


def _siamrpn_dw(**config: Any) -> nn.Module:
    return SiamRPN(head="depthwise", **config)


_RPN_KEYS = frozenset(inspect.signature(SiamRPN).parameters)
#: Model name -> (builder, weight_init scheme, the config keys it takes).
_BUILDERS: dict[str, tuple[Callable[..., nn.Module], str, frozenset[str]]] = {
    "siamrpn": (_siamrpn, "kaiming-rpn", _RPN_KEYS - {"head", "hidden"}),
    "siamrpn-dw": (_siamrpn_dw, "kaiming-rpn", _RPN_KEYS - {"head"}),
    "siamfc": (SiamFC, "xavier", frozenset(inspect.signature(SiamFC).parameters)),
}


def list_models() -> list[str]:
    """The names :func:`build_model` accepts."""
    return list(_BUILDERS)


def build_model(name: str, *, seed: int | None = None, **config: Any) -> nn.Module:
    """Build network ``name`` (``siamrpn``, ``siamrpn-dw``, ``siamfc``) with random weights.

    ``config``: the architecture keywords (``width_mult``, ``anchor_num``, ``hidden``,
    ``channel_order``, ``template_size``, ``search_size``, ``stride``, ``anchor_ratios``,
    ``anchor_scales``, ``out_scale`` — whichever the model takes; ``model.config`` lists them).
    ``seed``: an integer gives reproducible weights and leaves the global torch RNG as it was;
    ``None`` draws from the global RNG.
    The model is returned in training mode on the CPU; call ``.eval()`` to track.
    """
    key = str(name).lower()
    if key not in _BUILDERS:
        raise UnknownNameError(f"unknown model {name!r}; known models: {', '.join(_BUILDERS)}")
    builder, scheme, allowed = _BUILDERS[key]
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise SiambenchError(
            f"model {key!r} does not take {', '.join(map(repr, unknown))}; "
            f"its config keys are {', '.join(sorted(allowed))}")
    if seed is None:
        model = builder(**config)
    else:  # construction's default init draws from the global RNG: restore it afterwards
        with torch.random.fork_rng(devices=[]):
            model = builder(**config)
    init_weights(model, scheme, seed)
    return model
