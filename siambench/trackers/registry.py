"""The tracker registry: one table of tracker entries, filled by one decorator.

Every tracker, built-in or third-party, is a :class:`TrackerEntry` made by
:func:`register_tracker` on a factory function (as timm registers its models)::

    @register_tracker("siamrpn", description="SiamRPN ...", network="siamrpn",
                      network_method="template_kernels", params=True, training="siamrpn")
    def siamrpn(*, model, params, device):
        from siambench.trackers.siamrpn import SiamRPNTracker
        return SiamRPNTracker(model, params, device=device)

The entry says what the factory needs, and :func:`create_tracker` hands it exactly that, as
keywords: ``model=`` (the network: from ``weights=PATH``, the bundled ``model.pt`` of the
tracker folder, a caller's ``model=``, or ``weights="random"`` built by ``network`` with a
``seed``) when ``network`` is set; ``params=`` (a dict: the named set of the folder's
``config.yaml`` plus checked overrides) when ``params`` is set; the per-sequence input named by
``sequence_input`` (``groundtruth=`` for the oracle: the run engine builds such a tracker once
per sequence); and ``device=`` always. The tracker folder is ``folder`` when given (plug-ins),
else ``<trackers_root()>/<name>`` (package data ``siambench/bundled/<name>``, or
``$SIAMBENCH_TRACKERS/<name>``: :func:`siambench.trackers.params.trackers_root`).

Third-party trackers register in the same way from their own package and expose the decorated
factory under the entry-point group ``siambench.trackers`` (``name = "pkg.module:factory"``);
the module is imported only when that tracker is asked for. An entry point naming a plain
callable still works: it is called with the keywords given to ``create_tracker`` (``weights``,
``params``, ``model``, ``model_config``, ``device`` only when set) and any overrides, unchecked.
Built-in names win over plug-ins. The built-ins are registered by
:mod:`siambench.trackers.builtin`, which the package imports. This module imports without torch.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from siambench.errors import SiambenchError, UnknownNameError
from siambench.trackers.base import Tracker
from siambench.trackers.params import ParamFile, read_param_file, real_file, trackers_root

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["ENTRY_POINT_GROUP", "TrackerEntry", "TrackerInfo", "create_tracker", "list_trackers",
           "register_tracker", "trainable_trackers", "tracker_entry", "unregister_tracker"]

ENTRY_POINT_GROUP = "siambench.trackers"
#: Attribute set on a decorated factory: its :class:`TrackerEntry`.
ENTRY_ATTRIBUTE = "siambench_tracker"

Factory = TypeVar("Factory", bound=Callable[..., Any])


@dataclass(frozen=True)
class TrackerEntry:
    """One tracker of the registry (see the module docstring for how each field is used).

    ``network``: the :func:`siambench.models.build_model` name (or a callable ``(seed=, **config)
    -> nn.Module``) of the network ``weights="random"`` builds; set for trackers that run a
    network (they need weights and take a seed). ``network_method``: a method a loaded network
    must have (checks that weights fit the tracker). ``params``: the tracker reads named
    parameter sets from ``<folder>/config.yaml``. ``sequence_input``: a keyword the run engine
    fills per sequence (``"groundtruth"``: the sequence's boxes, 0-based ``x, y, w, h``).
    ``training``: the training recipe of ``siambench train`` (``siambench.train.config``), or
    None. ``unavailable``: returns why the tracker cannot be created here (with the fix), or
    None. ``passthrough``: a plain entry-point callable (old convention, see the module
    docstring). ``source``: ``built-in``, ``registered`` (a caller's decorator) or
    ``entry point``."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    network: str | Callable[..., Any] | None = None
    network_method: str | None = None
    params: bool = False
    folder: Path | None = None
    sequence_input: str | None = None
    training: str | None = None
    unavailable: Callable[[], str | None] | None = None
    passthrough: bool = False
    source: str = "built-in"

    @property
    def needs_weights(self) -> bool:
        """True for trackers that run a network (weights, bundled ``model.pt`` or ``random``)."""
        return self.network is not None

    @property
    def takes_seed(self) -> bool:
        """True when ``seed`` means something (the seed of ``weights="random"``)."""
        return self.network is not None

    @property
    def module(self) -> str:
        """The module that registered the entry (imported again by worker processes)."""
        return str(getattr(self.factory, "__module__", "") or "")

    def folder_resource(self) -> Path | Traversable:
        """The tracker folder: ``folder``, else ``<trackers_root()>/<name>``."""
        return Path(self.folder) if self.folder is not None else trackers_root() / self.name

    def file(self, name: str) -> Path | None:
        """A real path of ``<tracker folder>/<name>`` (e.g. ``model.pt``), or None."""
        return real_file(self.folder_resource() / name)

    def param_file(self) -> ParamFile | None:
        """The tracker's parameter file, or None for a tracker without parameters."""
        if not self.params:
            return None
        resource = self.folder_resource() / "config.yaml"
        if not resource.is_file():
            raise SiambenchError(f"tracker {self.name!r} has no parameter file: {resource} is "
                                 f"missing")
        return read_param_file(resource)

    def why_unavailable(self) -> str | None:
        """Why the tracker cannot be created here (with the fix), or None."""
        if self.network is not None and importlib.util.find_spec("torch") is None:
            return "needs torch"
        return self.unavailable() if self.unavailable is not None else None


@dataclass(frozen=True)
class TrackerInfo:
    """One registry entry as listed: ``available`` says whether it can be created here, ``note``
    why not (or what it needs)."""

    name: str
    description: str
    available: bool
    note: str = ""
    source: str = "built-in"


_ENTRIES: dict[str, TrackerEntry] = {}


def register_tracker(name: str, *, description: str = "",
                     network: str | Callable[..., Any] | None = None,
                     network_method: str | None = None, params: bool = False,
                     folder: Path | str | None = None, sequence_input: str | None = None,
                     training: str | None = None,
                     unavailable: Callable[[], str | None] | None = None
                     ) -> Callable[[Factory], Factory]:
    """Decorator: register the decorated factory as tracker ``name`` (lower case; see
    :class:`TrackerEntry` for the fields). Returns the factory unchanged (with the entry as its
    ``siambench_tracker`` attribute). Registering a taken name from another factory is an
    error; registering the same factory again (a module imported twice) is not."""
    key = str(name).lower()
    if not key or key != key.strip() or any(ch in key for ch in "/\\:"):
        raise SiambenchError(f"tracker name {name!r} must be a non-empty name without / \\ :")

    def decorate(factory: Factory) -> Factory:
        module = str(getattr(factory, "__module__", "") or "")
        entry = TrackerEntry(
            key, factory, description, network, network_method, params,
            None if folder is None else Path(folder).expanduser(), sequence_input, training,
            unavailable, source="built-in" if module.startswith("siambench.") else "registered")
        _add(entry)
        setattr(factory, ENTRY_ATTRIBUTE, entry)
        return factory

    return decorate


def _same_factory(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    return (a is b or (getattr(a, "__module__", None) == getattr(b, "__module__", None)
                       and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)))


def _add(entry: TrackerEntry) -> None:
    old = _ENTRIES.get(entry.name)
    if old is not None and not _same_factory(old.factory, entry.factory):
        raise SiambenchError(f"tracker name {entry.name!r} is already registered (by "
                             f"{old.module or 'siambench'}); choose another name")
    _ENTRIES[entry.name] = entry


def unregister_tracker(name: str) -> None:
    """Remove a registered (not built-in) tracker; for tests and interactive sessions."""
    entry = _ENTRIES.get(str(name).lower())
    if entry is not None and entry.source == "built-in":
        raise SiambenchError(f"tracker {name!r} is built in and cannot be unregistered")
    _ENTRIES.pop(str(name).lower(), None)


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _from_entry_point(name: str, ep: EntryPoint) -> TrackerEntry:
    """Load entry point ``ep`` and register what it names under ``name``."""
    try:
        loaded = ep.load()
    except Exception as error:  # noqa: BLE001 - a plug-in's import error, reported with its name
        raise SiambenchError(f"tracker {name!r}: loading entry point {ep.value} (group "
                             f"{ENTRY_POINT_GROUP}) failed: {type(error).__name__}: {error}; "
                             f"fix or uninstall the package that provides it") from error
    entry = getattr(loaded, ENTRY_ATTRIBUTE, None)
    if isinstance(entry, TrackerEntry):
        entry = replace(entry, name=name.lower(), source="entry point")
    elif callable(loaded):
        entry = TrackerEntry(name.lower(), loaded, f"third-party tracker ({ep.value})",
                             passthrough=True, source="entry point")
    else:
        raise SiambenchError(f"entry point {name!r} of group {ENTRY_POINT_GROUP} names "
                             f"{type(loaded).__name__}, not a tracker factory")
    existing = _ENTRIES.get(entry.name)
    if existing is None or _same_factory(existing.factory, entry.factory):
        _ENTRIES[entry.name] = entry  # (its module's decorator may have registered it first)
    return _ENTRIES[entry.name]


def tracker_entry(name: str) -> TrackerEntry:
    """The entry of tracker ``name`` (case-insensitive; entry points are loaded on demand).

    Raises :class:`~siambench.errors.UnknownNameError` listing the known trackers (and those
    that are unavailable here, with the reason)."""
    key = str(name).lower()
    if key in _ENTRIES:
        return _ENTRIES[key]
    plugins = _entry_points()
    for candidate in (str(name), key):
        if candidate in plugins:
            return _from_entry_point(candidate, plugins[candidate])
    raise UnknownNameError(_unknown_tracker_message(str(name)))


def trainable_trackers() -> list[str]:
    """Names of the trackers ``siambench train`` can train (entries with a training recipe)."""
    return [name for name, entry in _ENTRIES.items() if entry.training is not None]


def list_trackers() -> list[TrackerInfo]:
    """Every tracker name: the registered entries, then entry points not loaded yet.

    An unavailable entry's ``note`` says why and how to fix it (for KCF/CSRT: the pip commands).
    """
    infos: list[TrackerInfo] = []
    for entry in _ENTRIES.values():
        reason = entry.why_unavailable()
        note = reason or ""
        if reason is None and entry.needs_weights:
            try:
                bundled = entry.file("model.pt") is not None
            except SiambenchError:
                bundled = False
            if not bundled:
                note = "no bundled weights: pass weights=PATH (or 'random' for an untrained net)"
        infos.append(TrackerInfo(entry.name, entry.description, reason is None, note,
                                 entry.source))
    for name, ep in _entry_points().items():
        if name.lower() in _ENTRIES:
            continue  # loaded already, or a built-in name (which a plugin cannot shadow)
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


def _random_network(entry: TrackerEntry, model_config: Mapping[str, Any] | None,
                    seed: int) -> Any:
    config = dict(model_config or {})
    if callable(entry.network):
        return entry.network(seed=seed, **config)
    from siambench.models import build_model

    return build_model(str(config.pop("model", entry.network)), seed=seed, **config)


def _network(entry: TrackerEntry, weights: str | Path | None, model: Any,
             model_config: Mapping[str, Any] | None, seed: int) -> tuple[Any, dict[str, Any]]:
    """(network, metadata of its weights) for a tracker that runs a network."""
    random = isinstance(weights, str) and weights == "random"
    if model is not None and weights is not None:
        raise SiambenchError("pass either model= or weights=, not both")
    if model_config and not (model is None and random):
        raise SiambenchError("model_config is used only with weights='random'")
    metadata: dict[str, Any] = {}
    if model is None:
        if random:
            model = _random_network(entry, model_config, seed)
            metadata = {"weights": "random", "seed": seed}
        elif weights is not None:
            from siambench.models.importers import import_weights

            # import_weights loads a siambench checkpoint with load_checkpoint and any other
            # file through the importers (released pysot / DaSiamRPN / siamfc-pytorch layouts).
            model, metadata = import_weights(Path(weights))
        else:
            bundled = entry.file("model.pt")
            if bundled is None:
                raise _no_weights_error(entry.name)
            from siambench.models.checkpoint import load_checkpoint

            model, metadata = load_checkpoint(bundled)
    method = entry.network_method
    if method is not None and not callable(getattr(model, method, None)):
        found = getattr(model, "name", type(model).__name__)
        wanted = entry.network if isinstance(entry.network, str) else entry.name
        if weights is not None and not random:
            fits = [other.name for other in _ENTRIES.values()
                    if other.network == found and other.name != entry.name]
            other = f"--tracker {fits[0]} with these weights, or " if fits else ""
            raise SiambenchError(
                f"{weights}: holds a {found} network, but tracker {entry.name!r} needs a "
                f"{wanted} network (one with a {method}() method); use {other}{entry.name} "
                f"weights")
        raise SiambenchError(f"tracker {entry.name!r} needs a network with a {method}() method "
                             f"(a {wanted} model), got {found!r}")
    return model, metadata


def create_tracker(name: str, *, weights: str | Path | None = None,
                   params: str | Mapping[str, Any] | None = None, device: str = "cpu",
                   model: Any = None, model_config: Mapping[str, Any] | None = None,
                   seed: int = 0, **overrides: Any) -> Tracker:
    """Build tracker ``name``.

    ``weights``/``model``/``model_config``/``seed``: the network of a tracker that runs one
    (see the module docstring; ``weights="random"`` builds an untrained network for tests and
    benchmarks, never a trained tracker). ``params``: a parameter set of the tracker's
    ``config.yaml`` (default: the set the imported weights were published with, else the
    file's default) or a full mapping; ``overrides`` replace single parameters (checked:
    unknown keys and wrong types are errors). A tracker with a per-sequence input takes it as a
    keyword (``oracle``: ``groundtruth=``, an ``(N, 4)`` array). Unknown names raise
    :class:`~siambench.errors.UnknownNameError` listing the known ones.
    """
    entry = tracker_entry(name)
    if entry.passthrough:
        return _call_passthrough(entry, weights, params, device, model, model_config, overrides)
    kwargs: dict[str, Any] = {"device": device}
    if entry.sequence_input is not None:
        if set(overrides) != {entry.sequence_input}:
            raise SiambenchError(
                f"tracker {entry.name!r} needs exactly one keyword, {entry.sequence_input}= "
                f"(given per sequence); got {sorted(overrides) or 'none'}")
        kwargs[entry.sequence_input] = overrides.pop(entry.sequence_input)
    if entry.network is not None:
        kwargs["model"], metadata = _network(entry, weights, model, model_config, seed)
    else:
        metadata = {}
        if weights is not None or model is not None or model_config:
            raise SiambenchError(f"tracker {entry.name!r} takes no weights or model")
    file = entry.param_file()
    if file is not None:
        if params is None:
            published = metadata.get("tracker_param_set")
            if isinstance(published, str) and published in file.sets:
                params = published
        kwargs["params"] = file.resolve(params, overrides, entry.name)
    elif params is not None or overrides:
        if entry.network is None and params is None:
            raise UnknownNameError(f"tracker {entry.name!r} has no parameters; got "
                                   f"{', '.join(sorted(overrides))}")
        raise SiambenchError(f"tracker {entry.name!r} takes no parameter set or parameters")
    tracker = entry.factory(**kwargs)
    _check_tracker(entry.name, tracker)
    return tracker


def _call_passthrough(entry: TrackerEntry, weights: Any, params: Any, device: str, model: Any,
                      model_config: Any, overrides: dict[str, Any]) -> Tracker:
    kwargs: dict[str, Any] = dict(overrides)
    for option, value in (("weights", weights), ("params", params), ("model", model),
                          ("model_config", model_config)):
        if value is not None:
            kwargs[option] = value
    if device != "cpu":
        kwargs["device"] = device
    tracker = entry.factory(**kwargs)
    _check_tracker(entry.name, tracker)
    return tracker


def _check_tracker(name: str, tracker: Any) -> None:
    if not (callable(getattr(tracker, "init", None)) and callable(getattr(tracker, "update", None))):
        raise SiambenchError(f"tracker {name!r}: its factory returned {type(tracker).__name__}, "
                             f"not a Tracker (an object with init and update)")


def _unknown_tracker_message(name: str) -> str:
    """The trackers that can be created here, then those that cannot, with the reason and fix."""
    infos = list_trackers()
    message = (f"unknown tracker {name!r}; known trackers: "
               f"{', '.join(info.name for info in infos if info.available)}")
    from siambench.trackers.classic import CLASSIC_TRACKERS, CONTRIB_INSTALL

    unavailable = [info for info in infos if not info.available]
    contrib = [info.name for info in unavailable if info.name in CLASSIC_TRACKERS]
    others = [f"{info.name} ({info.note})" for info in unavailable if info.name not in contrib]
    if contrib:
        others.append(f"{', '.join(contrib)} (need the OpenCV contrib modules of "
                      f"opencv-contrib-python-headless: {CONTRIB_INSTALL})")
    if others:
        message += f"; unavailable here: {'; '.join(others)}"
    return message
