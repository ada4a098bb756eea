"""Tracker names → trackers: built-ins, OpenCV baselines, and third-party entry points.

``create_tracker(name, *, weights=None, params=None, device="cpu", **overrides)`` builds one.
Siamese trackers (``siamrpn``, ``siamfc``) take their network from, in order: ``model=`` (an
``nn.Module`` built by the caller), ``weights=PATH`` (a siambench checkpoint or a released
weights file, auto-detected by :func:`siambench.models.importers.import_weights`), the bundled
``<name>/model.pt`` of the tracker folder (package data ``siambench/bundled/``, or
``$SIAMBENCH_TRACKERS``: :func:`siambench.trackers.params.trackers_root`); ``weights="random"``
builds a randomly initialised network (``seed``, ``model_config`` → ``build_model``) for tests
and benchmarks — never a trained tracker. ``params`` names a parameter set of the folder's
``<name>/config.yaml`` (default: the set the imported weights were published with, else the
file's default); ``overrides`` replace single parameters (checked: unknown keys and wrong types
are errors).

Third-party trackers register a callable returning a :class:`~siambench.trackers.base.Tracker`
under the entry-point group ``siambench.trackers``; it is called with the keywords given to
``create_tracker`` (``weights``, ``params``, ``device`` only when set).
This module imports without torch; torch is imported when a Siamese tracker is created.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from siambench.errors import SiambenchError, UnknownNameError
from siambench.trackers.base import Tracker
from siambench.trackers.classic import (
    CLASSIC_TRACKERS,
    CONTRIB_INSTALL,
    OpenCVTracker,
    unavailable_reason,
)
from siambench.trackers.params import load_param_file, resolve_params, tracker_file
from siambench.trackers.simple import IdentityTracker, OracleTracker

__all__ = ["ENTRY_POINT_GROUP", "TrackerInfo", "create_tracker", "list_trackers"]

ENTRY_POINT_GROUP = "siambench.trackers"

#: Siamese trackers: registry name -> (model name for random init, model method it needs, text).
_SIAMESE: dict[str, tuple[str, str, str]] = {
    "siamrpn": ("siamrpn", "template_kernels",
                "SiamRPN (Li et al. CVPR 2018): region proposal network on Siamese features"),
    "siamfc": ("siamfc", "template_features",
               "SiamFC (Bertinetto et al. ECCVW 2016): fully-convolutional Siamese matching"),
}
_SIMPLE: dict[str, str] = {
    "identity": "returns the initial box on every frame (score 1); a sanity baseline",
    "oracle": "returns the ground truth given at construction (groundtruth=array); for tests",
}


@dataclass(frozen=True)
class TrackerInfo:
    """One registry entry: ``available`` says whether it can be created here, ``note`` why not
    (or what it needs)."""

    name: str
    description: str
    available: bool
    note: str = ""
    source: str = "built-in"


def _torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def list_trackers() -> list[TrackerInfo]:
    """Every tracker name: Siamese, simple, OpenCV classic (available or not), entry points.

    An unavailable entry's ``note`` says why and how to fix it (for KCF/CSRT: the pip commands).
    """
    infos: list[TrackerInfo] = []
    torch_ok = _torch_available()
    for name, (_, _, text) in _SIAMESE.items():
        note = ""
        if not torch_ok:
            note = "needs torch"
        else:
            try:
                bundled = tracker_file(name, "model.pt") is not None
            except SiambenchError:
                bundled = False
            if not bundled:
                note = "no bundled weights: pass weights=PATH (or 'random' for an untrained net)"
        infos.append(TrackerInfo(name, text, torch_ok, note))
    for name, text in _SIMPLE.items():
        infos.append(TrackerInfo(name, text, True))
    for name, spec in CLASSIC_TRACKERS.items():
        reason = unavailable_reason(name)
        infos.append(TrackerInfo(name, spec.description, reason is None, reason or ""))
    known = {info.name for info in infos}
    for name, ep in _entry_points().items():
        if name in known:
            continue  # built-in names win; a plugin cannot shadow them
        infos.append(TrackerInfo(name, f"third-party tracker ({ep.value})", True,
                                 source="entry point"))
    return infos


def _no_weights_error(name: str) -> SiambenchError:
    return SiambenchError(
        f"tracker {name!r} has no weights: no bundled checkpoint {name}/model.pt in the tracker "
        f"folder, and none given. Pass weights=PATH (CLI --weights PATH) with a siambench "
        f"checkpoint (from `siambench train --tracker {name}`) or a released weights file "
        f"(pysot, DaSiamRPN, siamfc-pytorch; imported automatically); weights='random' builds "
        f"an untrained network for tests only")


def _siamese(name: str, *, weights: str | Path | None, params: str | Mapping[str, Any] | None,
             device: str, overrides: dict[str, Any], model: Any, model_config: Mapping | None,
             seed: int) -> Tracker:
    model_name, method, _ = _SIAMESE[name]
    metadata: dict[str, Any] = {}
    if model is not None and weights is not None:
        raise SiambenchError("pass either model= or weights=, not both")
    if model_config and not (model is None and isinstance(weights, str) and weights == "random"):
        raise SiambenchError("model_config is used only with weights='random'")
    if model is None:
        if isinstance(weights, str) and weights == "random":
            from siambench.models import build_model

            config = dict(model_config or {})
            model = build_model(str(config.pop("model", model_name)), seed=seed, **config)
            metadata = {"weights": "random", "seed": seed}
        elif weights is not None:
            from siambench.models.importers import import_weights

            # import_weights loads a siambench checkpoint with load_checkpoint and any other
            # file through the importers (released pysot / DaSiamRPN / siamfc-pytorch layouts).
            model, metadata = import_weights(Path(weights))
        else:
            bundled = tracker_file(name, "model.pt")
            if bundled is None:
                raise _no_weights_error(name)
            from siambench.models.checkpoint import load_checkpoint

            model, metadata = load_checkpoint(bundled)
    if not callable(getattr(model, method, None)):
        found = getattr(model, "name", type(model).__name__)
        if weights is not None and not (isinstance(weights, str) and weights == "random"):
            other = f"--tracker {found} with these weights, or " if found in _SIAMESE else ""
            raise SiambenchError(
                f"{weights}: holds a {found} network, but tracker {name!r} needs a {model_name} "
                f"network (one with a {method}() method); use {other}{name} weights")
        raise SiambenchError(f"tracker {name!r} needs a network with a {method}() method "
                             f"(a {model_name} model), got {found!r}")
    if params is None:
        published = metadata.get("tracker_param_set")
        if isinstance(published, str) and published in load_param_file(name).sets:
            params = published
    resolved = resolve_params(name, params, overrides)
    if name == "siamrpn":
        from siambench.trackers.siamrpn import SiamRPNTracker

        return SiamRPNTracker(model, resolved, device=device)
    from siambench.trackers.siamfc import SiamFCTracker

    return SiamFCTracker(model, resolved, device=device)


def create_tracker(name: str, *, weights: str | Path | None = None,
                   params: str | Mapping[str, Any] | None = None, device: str = "cpu",
                   model: Any = None, model_config: Mapping[str, Any] | None = None,
                   seed: int = 0, **overrides: Any) -> Tracker:
    """Build tracker ``name`` (see the module docstring for weights, params and overrides).

    ``oracle`` needs ``groundtruth=`` (an ``(N, 4)`` array). Unknown names raise
    :class:`~siambench.errors.UnknownNameError` listing the known ones.
    """
    key = str(name).lower()
    if key in _SIAMESE:
        return _siamese(key, weights=weights, params=params, device=device,
                        overrides=dict(overrides), model=model, model_config=model_config,
                        seed=seed)
    if key in _SIMPLE or key in CLASSIC_TRACKERS:
        if weights is not None or params is not None or model is not None or model_config:
            raise SiambenchError(f"tracker {key!r} takes no weights, parameter set or model")
        if key == "oracle":
            if set(overrides) != {"groundtruth"}:
                raise SiambenchError("tracker 'oracle' needs exactly one keyword, groundtruth= "
                                     f"(an (N, 4) array); got {sorted(overrides) or 'none'}")
            return OracleTracker(overrides["groundtruth"])
        if overrides:
            raise UnknownNameError(f"tracker {key!r} has no parameters; got "
                                   f"{', '.join(sorted(overrides))}")
        return IdentityTracker() if key == "identity" else OpenCVTracker(key)
    plugins = _entry_points()
    if name in plugins or key in plugins:
        factory = plugins[name if name in plugins else key].load()
        kwargs: dict[str, Any] = dict(overrides)
        for option, value in (("weights", weights), ("params", params), ("model", model),
                              ("model_config", model_config)):
            if value is not None:
                kwargs[option] = value
        if device != "cpu":
            kwargs["device"] = device
        tracker = factory(**kwargs)
        if not (callable(getattr(tracker, "init", None)) and callable(getattr(tracker, "update", None))):
            raise SiambenchError(f"entry point {name!r} of group {ENTRY_POINT_GROUP} returned "
                                 f"{type(tracker).__name__}, not a Tracker")
        return tracker
    raise UnknownNameError(_unknown_tracker_message(name))


def _unknown_tracker_message(name: str) -> str:
    """The trackers that can be created here, then those that cannot, with the reason and fix."""
    infos = list_trackers()
    message = (f"unknown tracker {name!r}; known trackers: "
               f"{', '.join(info.name for info in infos if info.available)}")
    classic = [info.name for info in infos if not info.available and info.name in CLASSIC_TRACKERS]
    others = [f"{info.name} ({info.note})" for info in infos
              if not info.available and info.name not in CLASSIC_TRACKERS]
    if classic:
        others.append(f"{', '.join(classic)} (need the OpenCV contrib modules of "
                      f"opencv-contrib-python-headless: {CONTRIB_INSTALL})")
    if others:
        message += f"; unavailable here: {'; '.join(others)}"
    return message
