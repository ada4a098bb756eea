"""siambench checkpoints: one file with the architecture, the weights and metadata.

A checkpoint is a ``torch.save`` of a plain dict::

    {"format": "siambench-checkpoint", "version": 1,
     "model": "siamrpn" | "siamrpn-dw" | "siamfc" | ...,   # a build_model name
     "config": {...},                                        # build_model(model, **config)
     "state_dict": {name: tensor},
     "metadata": {...}}                                      # JSON-able values only

It holds only tensors, dicts, lists, tuples, str, int, float, bool and None, so it loads with
``torch.load(..., weights_only=True)``: loading never unpickles code. The file is written
atomically (temporary file + rename). Files of another kind (a bare state dict of a public
release, a pysot training snapshot, garbage, a pickle carrying code) are refused with one
message that names the file, says what it holds and how to proceed. A pickle that torch's safe
unpickler stops reading early (protocol 4+ framing) is scanned opcode by opcode, never run, so
that a file carrying code is still called that (:func:`pickle_code_globals`).
"""

from __future__ import annotations

import datetime as _dt
import errno
import io
import os
import pickle
import pickletools
import re
import stat
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from siambench.errors import DataFormatError, SiambenchError
from siambench.fileio import atomic_write_bytes

FORMAT = "siambench-checkpoint"
VERSION = 1

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "describe_object",
    "detect_kind_or_none",
    "load_checkpoint",
    "load_state_dict_checked",
    "model_name_of",
    "pickle_code_globals",
    "read_checkpoint",
    "safe_torch_load",
    "save_checkpoint",
    "state_dict_mismatches",
]


class CheckpointError(DataFormatError):
    """A weights file that cannot be loaded: not a checkpoint, unsafe, or not fitting its model."""


# ----------------------------------------------------------------------------------- saving


def model_name_of(model: nn.Module) -> str:
    """The ``build_model`` name of ``model``.

    Taken from ``model.config["name"]`` or a ``name``/``model_name`` attribute when the model
    has one, else inferred from its classes: SiamFC → ``siamfc``; SiamRPN with a depth-wise
    head → ``siamrpn-dw``, with the up-channel head → ``siamrpn``.
    """
    config = getattr(model, "config", None)
    if isinstance(config, Mapping) and isinstance(config.get("name"), str):
        return config["name"]
    for attribute in ("model_name", "name"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    class_name = type(model).__name__.lower()
    if class_name == "siamfc":
        return "siamfc"
    if class_name == "siamrpn":
        head = type(getattr(model, "head", None)).__name__.lower()
        return "siamrpn-dw" if "depthwise" in head else "siamrpn"
    raise SiambenchError(
        f"cannot tell the model name of a {type(model).__name__}: give it a config['name'] "
        "or a `name` attribute matching a siambench.models.build_model name")


def _jsonable(value: Any, where: str) -> Any:
    """``value`` made of dict/list/tuple/str/int/float/bool/None, or a SiambenchError.

    Numpy scalars become Python numbers, paths become strings, dates ISO-8601 strings.
    """
    if value is None:
        return None
    for plain in (bool, str, int, float):  # exact types: str/int/float subclasses
        if isinstance(value, plain):        # (TorchVersion, numpy.float64) would not load
            return plain(value)             # with weights_only=True
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SiambenchError(f"{where}: key {key!r} is not a string (checkpoint "
                                     "metadata and config must be JSON-like)")
            result[key] = _jsonable(item, f"{where}.{key}")
        return result
    if isinstance(value, (list, tuple)):
        items = [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "ndim", None) == 0:
        return _jsonable(item(), where)
    raise SiambenchError(
        f"{where} holds a {type(value).__name__}, which a checkpoint cannot store: use "
        "str, int, float, bool, None, lists or dicts")


def save_checkpoint(path: Path | str, model: nn.Module, *, metadata: Mapping[str, Any] | None = None,
                    name: str | None = None) -> Path:
    """Write ``model`` (weights, ``model.config``, name) and ``metadata`` to ``path`` atomically.

    ``metadata`` is free-form JSON-like data: what trained it (``command``), on what
    (``dataset``), ``steps``, ``scores``, ``tracker_params`` … . ``created`` (ISO-8601 UTC),
    ``siambench_version`` and ``torch_version`` are added unless given. ``name`` overrides
    the ``build_model`` name (default: :func:`model_name_of`). Returns the path.
    """
    from siambench import __version__

    path = Path(path)
    config = getattr(model, "config", None)
    if not isinstance(config, Mapping):
        raise SiambenchError(f"cannot save {type(model).__name__} to {path}: the model has no "
                             "`config` dict to rebuild it from")
    meta = dict(_jsonable(dict(metadata or {}), "metadata"))
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    meta.setdefault("siambench_version", str(__version__))
    meta.setdefault("torch_version", str(torch.__version__))
    state = {key: tensor.detach().to("cpu", copy=True).contiguous()
             for key, tensor in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": name or model_name_of(model),
        "config": _jsonable(dict(config), "config"),
        "state_dict": state,
        "metadata": meta,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


# ----------------------------------------------------------------------------------- loading

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_REFUSED_HINT = ("re-save the weights as a plain state dict of tensors "
                 "(torch.save(model.state_dict(), path)) from the code that made them, if you "
                 "trust it")
_TORCH_HINT = ("expected a file written by torch.save (a siambench checkpoint or a released "
               "state dict)")
#: How much of a pickle is scanned (never run) for the globals it names, for the message.
_SCAN_LIMIT = 64 * 1024 * 1024
#: Globals a torch.save file names that are plain data (everything else is "code").
_DATA_GLOBALS = ("torch.", "collections.OrderedDict", "_codecs.encode")


def _what_is(path: Path) -> str | None:
    """Why ``path`` is not a weights file: ``"does not exist"``, ``"is a folder"``, ``"is a broken
    symbolic link (to X)"``, ...; None when it is a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if os.path.islink(path):
            if error.errno == errno.ELOOP:
                return "is a symbolic link loop"
            return f"is a broken symbolic link (to {os.readlink(path)})"
        return "does not exist"
    if stat.S_ISREG(mode):
        return None
    return "is a folder" if stat.S_ISDIR(mode) else "is a special file (socket, pipe or device)"


def _pickle_bytes(path: Path) -> bytes:
    """The pickle of a weights file (``data.pkl`` of a zip-format torch file), at most
    :data:`_SCAN_LIMIT` bytes; empty when it cannot be read."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                name = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
                if name is None:
                    return b""
                with archive.open(name) as member:
                    return member.read(_SCAN_LIMIT)
        with open(path, "rb") as stream:
            return stream.read(_SCAN_LIMIT)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError):
        return b""


def pickle_code_globals(data: bytes) -> list[str]:
    """The ``module.name`` globals a pickle names that are not plain data (functions, classes:
    what unpickling would call), found by reading its opcodes -- nothing is unpickled."""
    found: list[str] = []
    strings: list[str] = []  # the recent string operands (STACK_GLOBAL takes the last two)
    memo: dict[int, Any] = {}
    last: Any = None
    try:
        for opcode, argument, _ in pickletools.genops(io.BytesIO(data)):
            name = opcode.name
            if name == "GLOBAL" and isinstance(argument, str):
                found.append(argument.replace(" ", "."))
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            if ("UNICODE" in name or "STRING" in name) and isinstance(argument, str):
                last = argument
                strings.append(argument)
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name in ("PUT", "BINPUT", "LONG_BINPUT") and isinstance(argument, int):
                memo[argument] = last
            elif name in ("GET", "BINGET", "LONG_BINGET") and isinstance(argument, int):
                last = memo.get(argument)
                if isinstance(last, str):
                    strings.append(last)
            else:
                last = None
    except Exception:  # noqa: BLE001 - a damaged pickle: report what was read so far
        pass
    return [g for g in dict.fromkeys(found) if not g.startswith(_DATA_GLOBALS)]


def safe_torch_load(path: Path | str, *, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with every failure turned into a CheckpointError.

    A pickle that would construct objects or call functions (code) is refused without running
    it, and the message names the offending global; a file that is not a PyTorch file at all
    says so.
    """
    path = Path(path)
    problem = _what_is(path)
    if problem == "does not exist":
        raise CheckpointError(path, "no such weights file")
    if problem is not None:
        raise CheckpointError(path, f"{problem}, expected a weights file")
    if path.stat().st_size == 0:
        raise CheckpointError(path, "is empty (0 bytes), not a PyTorch weights file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it reads anyway
            warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error)
        found = list(dict.fromkeys(_GLOBAL.findall(text)))
        if not found and not ("Unsupported global" in text or "Unsupported class" in text):
            # An opcode the safe unpickler does not know stopped it before any global: read
            # (never run) the pickle's opcodes to tell code from a damaged file.
            found = pickle_code_globals(_pickle_bytes(path))
        if found or "Unsupported global" in text or "Unsupported class" in text:
            what = f" ({', '.join(found[:5])})" if found else ""
            raise CheckpointError(
                path, f"refused: the file is a pickle that would run code or build arbitrary "
                f"objects{what}; siambench loads only tensors and plain data",
                hint=_REFUSED_HINT) from None
        detail = re.search(r"WeightsUnpickler error: \s*(.+?)\s*$", text, re.MULTILINE)
        raise CheckpointError(
            path, "not a PyTorch weights file (unreadable pickle"
            + (f": {detail.group(1)[:200]}" if detail else "") + ")", hint=_TORCH_HINT) from None
    except Exception as error:  # noqa: BLE001 - torch.load raises many kinds on damaged bytes
        # (RuntimeError, EOFError, struct.error, zipfile.BadZipFile, KeyError, ...): every one
        # is this file's fault, and the user gets one message naming it.
        raise CheckpointError(
            path, f"not a readable PyTorch weights file ({type(error).__name__}: "
            f"{_first_line(str(error))})", hint=_TORCH_HINT) from None


def _first_line(text: str) -> str:
    """The first sentence of an error text (torch's messages run on for lines)."""
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line.split(". ")[0][:200]


def _is_state_dict(obj: Any) -> bool:
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(k, str) for k in obj)
            and all(torch.is_tensor(v) for v in obj.values()))


def detect_kind_or_none(state_dict: Mapping[str, Any]) -> str | None:
    """The layout of a (``module.``-stripped) state dict, or None when no known layout matches
    (the layouts :mod:`siambench.models.importers` converts; written here so that
    :func:`describe_object` names them without importing the importers)."""
    keys = [k.removeprefix("module.") for k in state_dict]
    keyset = set(keys)
    if any(k.startswith("featureExtract.") for k in keys):
        return "dasiamrpn"
    if "conv_cls_z.weight" in keyset or "conv_reg_z.weight" in keyset:
        return "hrpn"
    if any(k.startswith("rpn_head.") for k in keys):
        if "rpn_head.cls.conv_kernel.0.weight" in keyset:
            return "pysot-alex-dw"
        if "rpn_head.template_cls_conv.weight" in keyset:
            return "pysot-alex-up"
        return None
    if "backbone.conv1.0.weight" in keyset:
        return "siamfc-pytorch"
    if "backbone.layer1.0.weight" in keyset and (
            "head.template_cls.weight" in keyset or "head.cls.conv_kernel.0.weight" in keyset):
        return "siambench"
    return None


def describe_object(obj: Any) -> str:
    """A short description of what a loaded weights file holds (for error messages)."""
    if _is_state_dict(obj):
        kind = detect_kind_or_none(obj)
        if kind is not None:
            return (f"a bare state dict in the {kind} layout ({len(obj)} tensors), not a "
                    "siambench checkpoint: use siambench.models.importers.import_weights(path) or "
                    "`--weights PATH` (auto-import)")
        keys = ", ".join(list(obj)[:5])
        return (f"a bare state dict of {len(obj)} tensors in no known layout (first keys: "
                f"{keys}): not a siambench checkpoint")
    if isinstance(obj, Mapping):
        keys = [str(k) for k in obj]
        if "state_dict" in obj or ("model" in obj and _is_state_dict(obj.get("model"))):
            extra = [k for k in keys if k in ("epoch", "optimizer", "best_acc", "iteration")]
            which = " (with " + ", ".join(extra) + ")" if extra else ""
            return (f"a training snapshot{which} whose weights are under "
                    f"'{'state_dict' if 'state_dict' in obj else 'model'}', not a siambench "
                    "checkpoint: use siambench.models.importers.import_weights(path) or `--weights PATH` "
                    "(auto-import)")
        return f"a dict with keys {', '.join(keys[:8]) or '(none)'}, not a siambench checkpoint"
    if torch.is_tensor(obj):
        return f"a single tensor of shape {tuple(obj.shape)}, not a siambench checkpoint"
    return f"a {type(obj).__name__}, not a siambench checkpoint"


def read_checkpoint(path: Path | str, *, map_location: Any = "cpu") -> dict[str, Any]:
    """The validated payload dict of a siambench checkpoint (no model built)."""
    path = Path(path)
    obj = safe_torch_load(path, map_location=map_location)
    if not (isinstance(obj, Mapping) and obj.get("format") == FORMAT):
        raise CheckpointError(path, describe_object(obj))
    version = obj.get("version")
    if version != VERSION:
        raise CheckpointError(path, f"siambench checkpoint version {version!r} is not supported "
                              f"(this siambench reads version {VERSION})",
                              hint="upgrade siambench")
    problems = []
    if not isinstance(obj.get("model"), str):
        problems.append("'model' (the model name) is missing or not a string")
    if not isinstance(obj.get("config"), Mapping):
        problems.append("'config' is missing or not a dict")
    state = obj.get("state_dict")
    if not isinstance(state, Mapping):
        problems.append("'state_dict' is missing or not a dict")
    else:
        bad = [str(k) for k, v in state.items() if not torch.is_tensor(v)]
        if bad:
            problems.append(f"state_dict entries that are not tensors: {', '.join(bad[:8])}")
    if not isinstance(obj.get("metadata", {}), Mapping):
        problems.append("'metadata' is not a dict")
    if problems:
        raise CheckpointError(path, "damaged siambench checkpoint: " + "; ".join(problems))
    return dict(obj)


#: How many mismatching tensors an error lists (then "... and N more").
_MISMATCHES_SHOWN = 20


def _is_optional_key(key: str) -> bool:
    return key.endswith("num_batches_tracked")


def state_dict_mismatches(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Every difference between ``state`` and ``model.state_dict()``, one line each.

    Lines read ``missing: KEY (model shape (…))``, ``unexpected: KEY (file shape (…))`` and
    ``shape mismatch: KEY: file (…) vs model (…)``. BatchNorm ``num_batches_tracked`` may be
    absent from the file (old PyTorch releases did not write it).
    """
    expected = model.state_dict()
    lines = []
    for key, tensor in expected.items():
        if key not in state:
            if not _is_optional_key(key):
                lines.append(f"missing: {key} (model shape {tuple(tensor.shape)})")
        elif tuple(state[key].shape) != tuple(tensor.shape):
            lines.append(f"shape mismatch: {key}: file {tuple(state[key].shape)} vs model "
                         f"{tuple(tensor.shape)}")
    for key, tensor in state.items():
        if key not in expected:
            lines.append(f"unexpected: {key} (file shape {tuple(tensor.shape)})")
    for key, tensor in state.items():
        if key in expected and torch.is_tensor(tensor) and tensor.is_floating_point() \
                != expected[key].is_floating_point():
            lines.append(f"dtype mismatch: {key}: file {tensor.dtype} vs model "
                         f"{expected[key].dtype}")
    return lines


def load_state_dict_checked(model: nn.Module, state: Mapping[str, torch.Tensor], *,
                            source: Path | str, what: str = "weights") -> nn.Module:
    """Load ``state`` into ``model`` strictly, or raise ONE CheckpointError listing the
    mismatches (the first 20, then how many more); tensors of another network altogether (no
    name in common) are said to be that, without the list.

    A missing ``num_batches_tracked`` keeps the model's own value.
    """
    problems = state_dict_mismatches(model, state)
    if problems:
        expected = model.state_dict()
        if state and not any(key in expected for key in state):
            first = ", ".join(list(state)[:4])
            raise CheckpointError(
                source, f"the {what} belong to another network: none of the file's "
                f"{len(state)} tensor names is a tensor of the model (the file's first: {first})",
                hint="pass weights made for this tracker's network")
        shown = problems[:_MISMATCHES_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        raise CheckpointError(
            source, f"the {what} do not fit the model ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n  " + "\n  ".join(shown))
    full = dict(state)
    for key, tensor in model.state_dict().items():
        if key not in full and _is_optional_key(key):
            full[key] = tensor
    model.load_state_dict(full, strict=True)
    return model


def load_checkpoint(path: Path | str, *, map_location: Any = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model of a siambench checkpoint and load its weights; returns ``(model, metadata)``.

    Never unpickles code (``weights_only=True``). The model is built with
    ``build_model(name, **config)``, gets the file's weights (strictly; a mismatch raises one
    :class:`CheckpointError` listing every missing/unexpected key and shape mismatch), is put
    in eval mode and moved to ``map_location`` when that names a device.
    """
    from siambench.models import build_model

    path = Path(path)
    payload = read_checkpoint(path, map_location="cpu")
    name, config = payload["model"], dict(payload["config"])
    try:
        model = build_model(name, **config)
    except SiambenchError as error:
        raise CheckpointError(path, f"cannot rebuild model {name!r}: {error}") from None
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(path, f"cannot rebuild model {name!r} from config {config}: "
                              f"{type(error).__name__}: {error}") from None
    load_state_dict_checked(model, payload["state_dict"], source=path,
                            what=f"checkpoint tensors (model {name!r})")
    model.eval()
    if isinstance(map_location, (str, torch.device)):
        model.to(map_location)
    return model, dict(payload.get("metadata") or {})
