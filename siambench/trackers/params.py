"""Named hyper-parameter sets of the trackers, read from ``<tracker folder>/<name>/config.yaml``.

The tracker folder is ``$SIAMBENCH_TRACKERS`` when set, else the package data folder
``siambench/bundled/`` (found through :mod:`importlib.resources`, so an installed wheel works as
well as a checkout); each ``<name>/`` holds ``config.yaml`` and, for a tracker with bundled
weights, ``model.pt`` and ``MODEL.md``. A config file
holds ``description``, ``default`` (the name of the default set) and ``sets`` (set name -> a
complete mapping of parameter name -> value). Overrides (``penalty_k=0.1`` as keywords, or CLI
``--set penalty_k=0.1`` strings) are checked against the chosen set: an unknown key or a value of
the wrong type is an error that lists what is valid.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from siambench.errors import DataFormatError, SiambenchError, UnknownNameError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["BUNDLED", "ParamFile", "check_overrides", "load_param_file", "parse_set_options",
           "read_param_file", "read_set_file", "real_file", "resolve_params", "tracker_file",
           "trackers_root"]

ENV_VAR = "SIAMBENCH_TRACKERS"
#: The package-data folder of ``siambench`` holding the shipped ``<tracker>/`` folders.
BUNDLED = "bundled"

#: Real paths of resources handed out by :func:`tracker_file`; a resource inside a zip archive
#: is extracted to a temporary file that lives until the interpreter exits.
_REAL_PATHS: dict[str, Path] = {}
_KEEP = ExitStack()
atexit.register(_KEEP.close)


def trackers_root() -> Path | Traversable:
    """The folder holding ``<tracker>/config.yaml``: ``$SIAMBENCH_TRACKERS`` when set, else the
    package data ``siambench/bundled`` (a :class:`~pathlib.Path` for any installed or checked-out
    package on disk; a read-only ``Traversable`` when the package is imported from a zip)."""
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env)
        if not root.is_dir():
            raise SiambenchError(f"tracker config folder {root} (from ${ENV_VAR}) does not exist; "
                                 f"set {ENV_VAR} to a folder holding <tracker>/config.yaml files "
                                 f"or unset it to use the configs shipped with siambench")
        return root
    bundled = files("siambench") / BUNDLED
    if not bundled.is_dir():
        raise SiambenchError(f"the siambench installation lacks its package data: {bundled} does "
                             f"not exist; reinstall siambench (pip install --force-reinstall "
                             f"siambench, or pip install -e . in a checkout), or set {ENV_VAR} "
                             f"to a folder holding <tracker>/config.yaml files")
    return bundled


def tracker_file(tracker: str, name: str) -> Path | None:
    """A real filesystem path of ``<tracker folder>/<tracker>/<name>`` (e.g. ``model.pt`` for
    ``torch.load`` or hashing), or ``None`` when the file does not exist."""
    return real_file(trackers_root() / tracker / name)


def real_file(resource: Path | Traversable) -> Path | None:
    """A real filesystem path of a file resource (extracted once when it lives in a zip), or
    ``None`` when it does not exist."""
    if not resource.is_file():
        return None
    if isinstance(resource, Path):
        return resource
    key = str(resource)
    if key not in _REAL_PATHS:
        _REAL_PATHS[key] = Path(_KEEP.enter_context(as_file(resource)))
    return _REAL_PATHS[key]


@dataclass(frozen=True)
class ParamFile:
    """A tracker's ``config.yaml``: its named parameter sets and the name of the default one."""

    path: Path
    description: str
    default: str
    sets: dict[str, dict[str, Any]]

    def get(self, name: str | None) -> dict[str, Any]:
        """A copy of set ``name`` (the default set for ``None``)."""
        key = self.default if name is None else name
        if key not in self.sets:
            raise UnknownNameError(f"unknown parameter set {key!r} in {self.path}; "
                                   f"known sets: {', '.join(self.sets)} (or a YAML file holding "
                                   f"one set, e.g. siambench tune's best.yaml)")
        return dict(self.sets[key])

    def resolve(self, params: str | Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None, what: str = "tracker"
                ) -> dict[str, Any]:
        """Set ``params`` (name; default set for ``None``), or a full mapping checked against
        the default set, then ``overrides`` (checked: keys and types)."""
        if isinstance(params, str) and params not in self.sets and _is_set_file(params):
            params = read_set_file(Path(params), self.get(None))
        if params is None or isinstance(params, str):
            values = self.get(params)
            label = f"{what} (set {params or self.default!r})"
        else:
            reference = self.get(None)
            values = {**reference, **check_overrides(reference, dict(params), what)}
            label = what
        values.update(check_overrides(values, dict(overrides or {}), label))
        return values


def _is_set_file(text: str) -> bool:
    return Path(text).suffix.lower() in (".yaml", ".yml")


def read_set_file(path: Path, reference: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One parameter set from a YAML file of its own (as ``siambench tune`` writes, or any
    ``key: value`` mapping): the mapping under ``params`` when present, else the whole file.
    Used by ``--params FILE.yaml``; ``reference`` (the default set) checks the keys and types."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SiambenchError(f"--params {path}: no such file; give a parameter set name of the "
                             f"tracker's config.yaml or a YAML file holding one set")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DataFormatError(path, f"not a readable YAML file ({error})") from error
    values = data.get("params", data) if isinstance(data, dict) else None
    if not isinstance(values, dict) or not values:
        raise DataFormatError(path, "expected a mapping of parameter name -> value (or one "
                              "under 'params:')")
    values = {str(key): value for key, value in values.items()}
    if reference is not None:
        check_overrides(reference, values, f"parameter set file {path}")
    return values


def load_param_file(tracker: str, root: Path | None = None) -> ParamFile:
    """Read and check ``<root>/<tracker>/config.yaml`` (root: :func:`trackers_root`)."""
    resource = (trackers_root() if root is None else Path(root)) / tracker / "config.yaml"
    if not resource.is_file():
        raise SiambenchError(f"tracker {tracker!r} has no parameter file: {resource} is missing")
    return read_param_file(resource)


def read_param_file(resource: Path | Traversable) -> ParamFile:
    """Read and check one ``config.yaml`` (a path, or a package resource)."""
    if not resource.is_file():
        raise SiambenchError(f"parameter file {resource} is missing")
    path = Path(str(resource))  # names the file in messages (its real path for files on disk)
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        raise DataFormatError(path, f"not valid YAML ({error})",
                              line=None if line is None else line + 1) from error
    if not isinstance(data, dict) or not isinstance(data.get("sets"), dict) or not data["sets"]:
        raise DataFormatError(path, "expected a mapping with a non-empty 'sets' mapping "
                              "(set name -> parameters), 'default' and 'description'")
    sets: dict[str, dict[str, Any]] = {}
    for name, values in data["sets"].items():
        if not isinstance(values, dict):
            raise DataFormatError(path, f"parameter set {name!r} must be a mapping")
        sets[str(name)] = dict(values)
    default = str(data.get("default", next(iter(sets))))
    if default not in sets:
        raise DataFormatError(path, f"default set {default!r} is not one of {', '.join(sets)}")
    return ParamFile(path, str(data.get("description", "")), default, sets)


def _coerce(key: str, value: Any, reference: Any) -> Any:
    """``value`` converted to the type of ``reference`` (int -> float allowed), or an error."""
    def fail() -> SiambenchError:
        return SiambenchError(f"parameter {key!r} expects a {type(reference).__name__} "
                              f"(like {reference!r}), got {value!r}")
    if isinstance(reference, bool):
        if not isinstance(value, bool):
            raise fail()
        return value
    if isinstance(reference, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail()
        return value
    if isinstance(reference, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail()
        return float(value)
    if isinstance(reference, str):
        if not isinstance(value, str):
            raise fail()
        return value
    if isinstance(reference, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise fail()
        if reference:
            return [_coerce(f"{key}[{i}]", v, reference[0]) for i, v in enumerate(value)]
        return list(value)
    if reference is None:
        return value
    raise fail()


def check_overrides(reference: Mapping[str, Any], overrides: Mapping[str, Any],
                    what: str = "tracker") -> dict[str, Any]:
    """``overrides`` checked against ``reference`` (keys and types); returns coerced copies."""
    unknown = sorted(set(overrides) - set(reference))
    if unknown:
        raise UnknownNameError(f"unknown parameter(s) {', '.join(unknown)} for {what}; valid "
                               f"keys: {', '.join(sorted(reference))}")
    return {key: _coerce(key, value, reference[key]) for key, value in overrides.items()}


def parse_set_options(items: Iterable[str], reference: Mapping[str, Any],
                      what: str = "tracker") -> dict[str, Any]:
    """Parse CLI ``--set key=value`` strings (values read as YAML scalars / lists) and check them."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SiambenchError(f"--set expects key=value, got {item!r}; valid keys: "
                                 f"{', '.join(sorted(reference))}")
        try:
            parsed[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as error:
            raise SiambenchError(f"--set {item!r}: the value is not readable ({error})") from error
    return check_overrides(reference, parsed, what)


def resolve_params(tracker: str, params: str | Mapping[str, Any] | None = None,
                   overrides: Mapping[str, Any] | None = None, *,
                   root: Path | None = None) -> dict[str, Any]:
    """The parameter dict of ``tracker``: set ``params`` (name; default set for ``None``) of its
    config file, or a full mapping checked against the default set, then ``overrides``."""
    return load_param_file(tracker, root).resolve(params, overrides, tracker)
