"""Importers for the weights of public releases (key layouts of the reference spec §7).

Supported layouts (``kind``), auto-detected from the key set:

- ``pysot-alex-dw``: pysot ``siamrpn_alex_dwxcorr`` ``model.pth`` (``backbone.features.N`` of
  ``alexnetlegacy`` or the ``backbone.layerN`` training layout, ``rpn_head.cls/loc`` depth-wise
  heads) → ``siamrpn-dw``. ``pysot-alex-up``: the same backbone with pysot's ``UPChannelRPN``
  (``rpn_head.template_cls_conv`` …) → ``siamrpn``.
- ``dasiamrpn``: DaSiamRPN ``SiamRPNvot.model`` / ``SiamRPNotb.model`` (size 1, 256 channels)
  and ``SiamRPNBIG.model`` (size 2, 512 channels): ``featureExtract.N``, ``conv_cls1``,
  ``conv_r1``, ``conv_cls2``, ``conv_r2``, ``regress_adjust`` → ``siamrpn`` (up-channel).
  ``dasiamrpn-vot`` / ``-otb`` / ``-big`` name the release explicitly (vot and otb have the
  same shapes; auto-detection picks by file name).
- ``hrpn``: huanglianghua/siamrpn-pytorch ``feature.N``, ``conv_cls_z`` … ``adjust_reg``.
- ``siamfc-pytorch``: huanglianghua/siamfc-pytorch ``siamfc_alexnet_e50.pth``
  (``backbone.convN.{0,1}``, grouped convs, BN eps 1e-6) → ``siamfc``.
- ``siambench``: a bare state dict of a siambench SiamRPN (our own key names).

A pysot training snapshot (``{"epoch", "state_dict", "optimizer"}``), a ``module.`` prefix
(DataParallel) and a missing or present ``num_batches_tracked`` are all accepted. Files are
read with ``weights_only=True`` (no pickled code runs). The up-channel heads need no weight
reshaping: the template conv's output channel ``o`` is kernel ``o // C``, input channel
``o % C`` in DaSiamRPN, HRPN, pysot and siambench alike (spec §1.2).

Pysot, DaSiamRPN and HRPN weights expect BGR input (``config["channel_order"] = "bgr"``),
siamfc-pytorch RGB. The metadata carries the tracker hyper-parameters the release was
published with (``metadata["tracker_params"]``, spec §3.3 and §4.2).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from siambench.errors import SiambenchError, UnknownNameError
from siambench.models.checkpoint import (
    FORMAT,
    CheckpointError,
    describe_object,
    detect_kind_or_none,
    load_checkpoint,
    load_state_dict_checked,
    safe_torch_load,
)

__all__ = [
    "KINDS",
    "TRACKER_PARAMS",
    "TRACKER_PARAM_SETS",
    "ConvertedWeights",
    "convert_state_dict",
    "detect_kind",
    "import_weights",
    "unwrap_state_dict",
]

KINDS: dict[str, str] = {
    "pysot-alex-dw": "pysot siamrpn_alex_dwxcorr model.pth (AlexNet + depth-wise RPN)",
    "pysot-alex-up": "pysot AlexNet + UPChannelRPN",
    "dasiamrpn": "DaSiamRPN SiamRPNvot/otb/BIG.model (release chosen by shape and file name)",
    "dasiamrpn-vot": "DaSiamRPN SiamRPNvot.model",
    "dasiamrpn-otb": "DaSiamRPN SiamRPNotb.model",
    "dasiamrpn-big": "DaSiamRPN SiamRPNBIG.model",
    "hrpn": "huanglianghua/siamrpn-pytorch model.pth",
    "siamfc-pytorch": "huanglianghua/siamfc-pytorch siamfc_alexnet_e50.pth",
    "siambench": "a bare state dict of a siambench SiamRPN",
}

_SIAMRPN_COMMON = {"exemplar_size": 127, "context_amount": 0.5}
_ADAPTIVE = {"adaptive": True, "adaptive_instance_size": 287, "adaptive_area_ratio": 0.004}

#: Tracker hyper-parameters each release was published with (spec §3.3, §4.2).
TRACKER_PARAMS: dict[str, dict[str, Any]] = {
    "pysot-alex-dw": {**_SIAMRPN_COMMON, "instance_size": 287, "penalty_k": 0.16,
                      "window_influence": 0.40, "lr": 0.30, "adaptive": False},
    "dasiamrpn-big": {**_SIAMRPN_COMMON, "instance_size": 271, "penalty_k": 0.055,
                      "window_influence": 0.42, "lr": 0.295, **_ADAPTIVE},
    "dasiamrpn-vot": {**_SIAMRPN_COMMON, "instance_size": 271, "penalty_k": 0.04,
                      "window_influence": 0.44, "lr": 0.45, "adaptive": False},
    "dasiamrpn-otb": {**_SIAMRPN_COMMON, "instance_size": 271, "penalty_k": 0.22,
                      "window_influence": 0.40, "lr": 0.30, "adaptive": False},
    "hrpn": {**_SIAMRPN_COMMON, "instance_size": 271, "penalty_k": 0.055,
             "window_influence": 0.42, "lr": 0.295, **_ADAPTIVE},
    "siamfc-pytorch": {"exemplar_size": 127, "instance_size": 255, "context_amount": 0.5,
                       "scale_num": 3, "scale_step": 1.0375, "scale_penalty": 0.9745,
                       "scale_lr": 0.59, "window_influence": 0.176, "response_up": 16,
                       "total_stride": 8},
}

#: The named set of bundled/<name>/config.yaml a tracker built on the imported weights uses by
#: default: the one that reproduces the release's own tracker frame for frame (its numbers above
#: plus its crop, box and learning-rate conventions; verified by tests/test_parity.py).
TRACKER_PARAM_SETS: dict[str, str] = {
    "pysot-alex-dw": "pysot", "dasiamrpn-big": "dasiamrpn-big", "dasiamrpn-vot": "dasiamrpn-vot",
    "dasiamrpn-otb": "dasiamrpn-otb", "hrpn": "siamrpn-pytorch", "siamfc-pytorch": "siamfc-pytorch",
}

_RELEASE = {
    "pysot-alex-dw": "pysot siamrpn_alex_dwxcorr",
    "pysot-alex-up": "pysot AlexNet + UPChannelRPN",
    "dasiamrpn-big": "DaSiamRPN SiamRPNBIG",
    "dasiamrpn-vot": "DaSiamRPN SiamRPNvot",
    "dasiamrpn-otb": "DaSiamRPN SiamRPNotb",
    "hrpn": "siamrpn-pytorch (HRPN)",
    "siamfc-pytorch": "siamfc-pytorch AlexNetV1",
    "siambench": "siambench (bare state dict)",
}

# alexnetlegacy / DaSiamRPN / HRPN Sequential index → (our layer number, index in the layer)
_ALEX_INDEX = {0: (1, 0), 1: (1, 1), 4: (2, 0), 5: (2, 1), 8: (3, 0), 9: (3, 1),
               11: (4, 0), 12: (4, 1), 14: (5, 0), 15: (5, 1)}
_PARAM = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
_SEQ_KEY = re.compile(r"(\d+)\." + _PARAM)
_DW_KEY = re.compile(r"(conv_kernel\.[01]|conv_search\.[01]|head\.[013])\." + _PARAM)
_LAYER_KEY = re.compile(r"layer([1-5])\.([01])\." + _PARAM)


@dataclass(frozen=True)
class ConvertedWeights:
    """A foreign state dict mapped to siambench names: build ``build_model(model, **config)``."""

    kind: str
    model: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ unwrapping

def _is_tensor_dict(obj: Any) -> bool:
    return (isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(k, str) for k in obj)
            and all(torch.is_tensor(v) for v in obj.values()))


def unwrap_state_dict(obj: Any) -> dict[str, torch.Tensor] | None:
    """The tensor dict inside ``obj``: a bare state dict, or the ``state_dict`` / ``model`` entry
    of a training snapshot; a leading ``module.`` (DataParallel) is stripped. None if there is
    no tensor dict."""
    if isinstance(obj, Mapping) and not _is_tensor_dict(obj):
        for key in ("state_dict", "model", "net"):
            if _is_tensor_dict(obj.get(key)):
                obj = obj[key]
                break
    if not _is_tensor_dict(obj):
        return None
    if all(key.startswith("module.") for key in obj):
        return {key[len("module."):]: value for key, value in obj.items()}
    return dict(obj)


# ------------------------------------------------------------------------------- detection

def detect_kind(state_dict: Mapping[str, Any], *, source: Path | str = "<state dict>") -> str:
    """The layout of a state dict; a CheckpointError naming the first keys when none matches."""
    kind = detect_kind_or_none(state_dict)
    if kind is None:
        first = ", ".join(list(state_dict)[:10])
        raise CheckpointError(
            source, f"a state dict in no known layout (first keys: {first})",
            hint="known layouts: " + ", ".join(k for k in KINDS if k != "dasiamrpn-vot"
                                                and k != "dasiamrpn-otb"
                                                and k != "dasiamrpn-big"))
    return kind


# ------------------------------------------------------------------------------- key maps

def _alex_sequential(rest: str) -> str | None:
    """``'4.weight'`` (alexnetlegacy / DaSiamRPN / HRPN index) → ``'layer2.0.weight'``."""
    match = _SEQ_KEY.fullmatch(rest)
    if match is None or int(match.group(1)) not in _ALEX_INDEX:
        return None
    layer, index = _ALEX_INDEX[int(match.group(1))]
    return f"layer{layer}.{index}.{match.group(2)}"


def _map_pysot(key: str) -> str | None:
    if key.startswith("backbone.features."):
        mapped = _alex_sequential(key[len("backbone.features."):])
        return None if mapped is None else "backbone." + mapped
    if key.startswith("backbone.layer"):
        return key if _LAYER_KEY.fullmatch(key[len("backbone."):]) else None
    for theirs, ours in (("rpn_head.cls.", "head.cls."), ("rpn_head.loc.", "head.reg.")):
        if key.startswith(theirs) and _DW_KEY.fullmatch(key[len(theirs):]):
            return ours + key[len(theirs):]
    for theirs, ours in (("template_cls_conv", "template_cls"), ("template_loc_conv", "template_reg"),
                         ("search_cls_conv", "search_cls"), ("search_loc_conv", "search_reg"),
                         ("loc_adjust", "reg_adjust")):
        match = re.fullmatch(rf"rpn_head\.{theirs}\.(weight|bias)", key)
        if match:
            return f"head.{ours}.{match.group(1)}"
    return None


def _map_upchannel(backbone: str, head: dict[str, str]) -> Callable[[str], str | None]:
    def mapper(key: str) -> str | None:
        if key.startswith(backbone + "."):
            mapped = _alex_sequential(key[len(backbone) + 1:])
            return None if mapped is None else "backbone." + mapped
        module, _, param = key.partition(".")
        if module in head and param in ("weight", "bias"):
            return f"head.{head[module]}.{param}"
        return None
    return mapper


_DASIAM_HEAD = {"conv_cls1": "template_cls", "conv_r1": "template_reg",
                "conv_cls2": "search_cls", "conv_r2": "search_reg", "regress_adjust": "reg_adjust"}
_HRPN_HEAD = {"conv_cls_z": "template_cls", "conv_reg_z": "template_reg",
              "conv_cls_x": "search_cls", "conv_reg_x": "search_reg", "adjust_reg": "reg_adjust"}


def _identity_siamfc(key: str) -> str | None:
    match = re.fullmatch(r"backbone\.conv([1-5])\.([01])\." + _PARAM, key)
    return key if match else None


def _identity_siambench(key: str) -> str | None:
    return key if key.startswith(("backbone.", "head.")) else None


_MAPPERS: dict[str, Callable[[str], str | None]] = {
    "pysot-alex-dw": _map_pysot,
    "pysot-alex-up": _map_pysot,
    "dasiamrpn": _map_upchannel("featureExtract", _DASIAM_HEAD),
    "hrpn": _map_upchannel("feature", _HRPN_HEAD),
    "siamfc-pytorch": _identity_siamfc,
    "siambench": _identity_siambench,
}


def _shape(state: Mapping[str, torch.Tensor], key: str, source: Path | str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(source, f"incomplete weights: no tensor maps to {key!r}, which "
                              "the layout requires")
    return tuple(state[key].shape)


def _width_mult(out_channels: int, base: int) -> float:
    """The width multiplier giving ``out_channels`` from the base width (int(c·m) rule)."""
    return out_channels / base


def _infer(kind: str, state: Mapping[str, torch.Tensor], source: Path | str,
           name_hint: str) -> tuple[str, str, dict[str, Any]]:
    """``(resolved kind, build_model name, config)`` from the shapes of a mapped state dict."""
    if kind == "siamfc-pytorch":
        width = _width_mult(_shape(state, "backbone.conv1.0.weight", source)[0], 96)
        return kind, "siamfc", {"width_mult": width, "channel_order": "rgb"}
    width = _width_mult(_shape(state, "backbone.layer1.0.weight", source)[0], 96)
    if "head.cls.conv_kernel.0.weight" in state:  # depth-wise head
        anchor_num = _shape(state, "head.cls.head.3.weight", source)[0] // 2
        hidden = _shape(state, "head.cls.conv_kernel.0.weight", source)[0]
        config: dict[str, Any] = {"width_mult": width, "anchor_num": anchor_num, "hidden": hidden}
        model = "siamrpn-dw"
    else:
        anchor_num = _shape(state, "head.reg_adjust.weight", source)[0] // 4
        config = {"width_mult": width, "anchor_num": anchor_num}
        model = "siamrpn"
    config["channel_order"] = "rgb" if kind == "siambench" else "bgr"
    if kind.startswith("dasiamrpn"):
        big = width == 2
        if kind == "dasiamrpn":
            hint = name_hint.lower()
            kind = ("dasiamrpn-big" if big else "dasiamrpn-otb" if "otb" in hint
                    else "dasiamrpn-vot")
        elif (kind == "dasiamrpn-big") != big:
            raise CheckpointError(
                source, f"kind {kind!r} does not fit the file: its backbone has "
                f"{_shape(state, 'backbone.layer1.0.weight', source)[0]} conv1 channels "
                f"(SiamRPNBIG has 192, SiamRPNvot/otb 96)")
    return kind, model, config


def convert_state_dict(state_dict: Mapping[str, torch.Tensor], kind: str | None = None, *,
                       source: Path | str = "<state dict>", name_hint: str = "") -> ConvertedWeights:
    """Map a release's state dict to siambench key names and infer the model config.

    Pure (no model is built). ``kind`` is auto-detected when None; ``name_hint`` (the file
    name) picks DaSiamRPN's vot or otb parameter set. Keys the layout does not know raise one
    CheckpointError listing them. ``num_batches_tracked`` is kept when present.
    """
    state = unwrap_state_dict(state_dict)
    if state is None:
        raise CheckpointError(source, describe_object(state_dict))
    if kind is None:
        kind = detect_kind(state, source=source)
    elif kind not in KINDS:
        raise UnknownNameError(f"unknown weights layout {kind!r}; known: {', '.join(KINDS)}")
    mapper = _MAPPERS["dasiamrpn" if kind.startswith("dasiamrpn") else kind]
    mapped: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, tensor in state.items():
        ours = mapper(key)
        if ours is None:
            unknown.append(key)
        elif ours in mapped:
            unknown.append(f"{key} (duplicate of another key mapping to {ours})")
        else:
            mapped[ours] = tensor
    if unknown:
        raise CheckpointError(
            source, f"{len(unknown)} key{'s' if len(unknown) != 1 else ''} the {kind} layout "
            f"does not have (first: {', '.join(unknown[:10])})",
            hint="pass the right kind= or check that the file is one of: "
                 + ", ".join(_RELEASE.values()))
    kind, model, config = _infer(kind, mapped, source, name_hint)
    metadata: dict[str, Any] = {"imported_from": kind, "release": _RELEASE.get(kind, kind),
                                "channel_order": config["channel_order"]}
    params = TRACKER_PARAMS.get(kind)
    if params is not None:
        metadata["tracker_params"] = dict(params)
        metadata["tracker_param_set"] = TRACKER_PARAM_SETS[kind]
    if kind == "dasiamrpn-vot" and "vot" not in name_hint.lower():
        metadata["note"] = ("SiamRPNvot and SiamRPNotb have the same shapes; the vot parameter "
                            "set was chosen (pass kind='dasiamrpn-otb' for the otb set)")
    if kind == "hrpn":
        metadata["note"] = ("siamrpn-pytorch fed RGB frames (got10k/PIL) to weights converted "
                            "from DaSiamRPN, which expect BGR; its parameter set siamrpn-pytorch "
                            "(the default for these weights) does the same (channel_order: rgb); "
                            "channel_order=bgr or --params dasiamrpn-big feeds BGR")
    return ConvertedWeights(kind=kind, model=model, config=config, state_dict=mapped,
                            metadata=metadata)


# ------------------------------------------------------------------------------- importing

def _check_siamfc_bn(model: nn.Module, source: Path | str) -> None:
    wrong = [f"{name} (eps {module.eps})" for name, module in model.named_modules()
             if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.eps != 1e-6]
    if wrong:
        raise SiambenchError(f"{source}: siamfc-pytorch weights need BatchNorm eps 1e-6, but the "
                             f"siamfc model built has {', '.join(wrong)}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_weights(path: Path | str, kind: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Build a siambench model from a released weights file; returns ``(model, metadata)``.

    ``kind`` is one of :data:`KINDS` or None (auto-detect). A siambench checkpoint is loaded
    with :func:`~siambench.models.checkpoint.load_checkpoint`, so ``--weights PATH`` can take
    either. The model is in eval mode, on the CPU, with ``config["channel_order"]`` set
    ("bgr": pysot, DaSiamRPN, HRPN; "rgb": siamfc-pytorch, siambench). ``metadata`` holds
    ``imported_from``, ``release``, ``source``, ``sha256``, ``imported`` (ISO-8601 date),
    ``channel_order`` and ``tracker_params`` (the published hyper-parameter set) when known.
    """
    from siambench import __version__
    from siambench.models import build_model

    path = Path(path)
    obj = safe_torch_load(path, map_location="cpu")
    if isinstance(obj, Mapping) and obj.get("format") == FORMAT:
        if kind not in (None, "siambench"):
            raise CheckpointError(path, f"is a siambench checkpoint, not the {kind} layout")
        return load_checkpoint(path)
    state = unwrap_state_dict(obj)
    if state is None:
        raise CheckpointError(path, describe_object(obj).replace(
            ", not a siambench checkpoint", ", not a weights file siambench can import"))
    converted = convert_state_dict(state, kind, source=path, name_hint=path.name)
    try:
        model = build_model(converted.model, **converted.config)
    except SiambenchError as error:
        raise CheckpointError(path, f"cannot build {converted.model!r} with {converted.config}: "
                              f"{error}") from None
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(path, f"cannot build {converted.model!r} with {converted.config}: "
                              f"{type(error).__name__}: {error}") from None
    if converted.kind == "siamfc-pytorch":
        _check_siamfc_bn(model, path)
    load_state_dict_checked(model, converted.state_dict, source=path,
                            what=f"{converted.kind} weights")
    config = getattr(model, "config", None)
    if isinstance(config, dict):
        config["channel_order"] = converted.config["channel_order"]
    model.eval()
    metadata = dict(converted.metadata)
    metadata.update({
        "source": str(path),
        "sha256": _sha256(path),
        "imported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "siambench_version": __version__,
        "torch_version": str(torch.__version__),
    })
    return model, metadata
