"""Training configurations: built-in defaults per tracker, named YAML configs, ``--set`` overrides.

A config is a flat dict (plus the nested ``model`` dict of ``build_model`` keywords). The
defaults below are the pipeline's own numbers (pysot for SiamRPN, siamfc-pytorch for SiamFC,
spec §2.5–2.6 and §4.3); a named config (``siambench/train/configs/<name>.yaml``, or a path to
a YAML file) overrides them per tracker; ``--set key=value`` (YAML-parsed value, ``model.x``
for a model keyword) overrides the result.

Bundled configs: ``cpu`` (the bundled models, synthetic data, a laptop CPU), ``paper`` (the
published schedules; SiamRPN on the paper's ImageNet VID + YouTube-BB, SiamFC on ImageNet VID)
and ``pysot`` (SiamRPN only: pysot's ``siamrpn_alex_dwxcorr_16gpu`` recipe, its depthwise head
and its VID + YouTube-BB + COCO + ImageNet DET mix).

``datasets`` is the training mix used when ``--dataset`` is not given (``--dataset`` replaces
it): a list of ``NAME``, ``NAME:WEIGHT``, ``NAME:all`` or ``{name: NAME, weight: W|all,
frame_range: R}`` entries (:mod:`siambench.train.sources`: ``all`` weighs a dataset by its number
of sequences, pysot's ``NUM_USE: -1``; ``frame_range`` is that dataset's own, pysot's per-dataset
``FRAME_RANGE``, else the run's ``frame_range``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from siambench.errors import DataFormatError, SiambenchError, UnknownNameError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

#: The bundled configs: package data ``siambench/train/configs/<name>.yaml``.
CONFIG_DIR = files("siambench.train") / "configs"

_COMMON: dict[str, Any] = {
    "seed": 0,
    "epochs": 20,
    "pairs_per_epoch": 3200,
    "batch_size": 16,
    "lr": 0.01,                 # peak learning rate (after warm-up)
    "lr_end": 0.0005,           # last epoch's lr (log decay from `lr`)
    "warmup_epochs": 0,
    "warmup_start_lr": 0.005,   # warm-up: geometric from here to `lr` (pysot "step" warm-up)
    "momentum": 0.9,
    "weight_decay": 0.0001,
    "grad_clip": 10.0,          # max gradient norm; 0 = off
    "backbone_init": "",        # checkpoint whose backbone.* weights start the backbone ("" = none)
    "frozen_layers": [],        # backbone layers never trained (their BN kept in eval mode)
    "backbone_train_epoch": 0,  # the whole backbone is frozen before this epoch (pysot 10)
    "backbone_lr_mult": 1.0,    # backbone lr = lr × this (pysot LAYERS_LR 0.1)
    "datasets": ["synthetic-train"],  # the mix when --dataset is not given (see the docstring)
    "frame_range": 100,         # max |search − template| in frames (a dataset may have its own)
    "context_amount": 0.5,
    "template_size": 127,
    "template_shift": 4.0,      # crop pixels, uniform ±
    "template_scale": 0.05,     # independent x/y factor 1 ± this
    "template_blur_prob": 0.0,
    "search_blur_prob": 0.0,
    "color_prob": 1.0,
    "brightness_prob": 0.0,     # per crop: multiply by a log-uniform gain in [1/max, max]
    "brightness_max": 2.0,
    "gray_prob": 0.0,           # same decision for both crops of a pair
    "flip_prob": 0.0,           # same decision for both crops of a pair
    "neg_prob": 0.0,            # negative pairs (SiamRPN only)
    "amp": True,                # mixed precision, CUDA only
    "sync_bn": False,           # SyncBatchNorm under DDP (CUDA)
    "workers": 0,
    "threads": 0,               # torch CPU threads; 0 = torch's default (all cores)
    "init_lr_scaling": True,    # SGD on the unscaled parametrisation of down-scaled inits
    "log_every": 20,            # metrics.csv line every N steps
    "val_sequences": 0,         # synthetic-val sequences tracked for success AUC (max 40)
    "val_every": 1,             # epochs between validation passes (and always after the last)
    "keep_best": False,         # model.pt = the weights of the best validation pass (early stopping)
    "max_steps": 0,             # stop (saving the training state) after this global step; 0 = off
}

#: The training recipes (a tracker's registry entry names its recipe: ``TrackerEntry.training``)
#: -> their default settings.
DEFAULTS: dict[str, dict[str, Any]] = {
    "siamrpn": {
        **_COMMON,
        "model": {"name": "siamrpn", "width_mult": 1.0},
        "search_size": 255,
        "search_shift": 64.0,
        "search_scale": 0.18,
        "pos_iou": 0.6, "neg_iou": 0.3, "anchor_total": 64, "anchor_max_pos": 16,
        "sampling": "paper",
        "loss_preset": "paper",
        "lambda_reg": None,     # regression loss weight; None = the preset's (paper 1.0, pysot 1.2)
        "cls_balance": None,    # "mean" | "balanced" (0.5 pos + 0.5 neg); None = the preset's
    },
    "siamfc": {
        **_COMMON,
        "model": {"name": "siamfc", "width_mult": 1.0},
        "search_size": 239,     # 255 → stretch → centre-crop 247 → random-crop 239 (spec §4.3)
        "search_shift": 4.0,
        "search_scale": 0.05,
        "template_shift": 0.0,
        "r_pos": 16.0, "r_neg": 0.0,
        "weight_decay": 0.0005,
        "batch_size": 8,
    },
}


def available_configs() -> list[str]:
    """Names of the bundled configs (``cpu``, ``paper``)."""
    return sorted(p.name[:-5] for p in CONFIG_DIR.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(path: Path | Traversable) -> dict[str, Any]:
    """A config file (a user's path or a bundled resource) as a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DataFormatError(str(path), f"not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFormatError(str(path), "expected a mapping of tracker name → settings")
    return data


def _merge(base: dict[str, Any], extra: Mapping[str, Any], where: str) -> None:
    for key, value in extra.items():
        if key not in base:
            raise SiambenchError(f"{where}: unknown training setting {key!r}; known: "
                                 f"{', '.join(sorted(base))}")
        if key == "model":
            if not isinstance(value, Mapping):
                raise SiambenchError(f"{where}: 'model' must be a mapping of build_model keywords")
            base["model"].update(value)
        else:
            base[key] = value


def parse_set(items: Iterable[str]) -> dict[str, Any]:
    """``["epochs=3", "model.width_mult=0.25"]`` → ``{"epochs": 3, "model": {"width_mult": 0.25}}``.

    Values are parsed as YAML scalars/lists (``3`` int, ``0.5`` float, ``[a, b]`` list, ``true``).
    """
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise SiambenchError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        if key.startswith("model."):
            result.setdefault("model", {})[key[len("model."):]] = value
        else:
            result[key] = value
    return result


def resolve_config(tracker: str, config: str | Path | None = "cpu",
                   overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full training config of ``tracker``: defaults ← named config ← ``overrides``.

    ``config``: a bundled name (:func:`available_configs`), a path to a YAML file with
    ``siamrpn:`` / ``siamfc:`` sections, or ``None`` for the bare defaults.
    """
    recipe = training_recipe(tracker)
    result = copy.deepcopy(DEFAULTS[recipe])
    if config is not None:
        path: Path | Traversable = Path(config)
        if not path.suffix:
            path = CONFIG_DIR / f"{config}.yaml"
            if not path.is_file():
                raise UnknownNameError(f"unknown training config {config!r}; bundled: "
                                       f"{', '.join(available_configs())}, or give a YAML path")
        elif not path.is_file():
            raise SiambenchError(f"training config file {path} not found")
        section = _read_yaml(path).get(tracker) or {}
        if not isinstance(section, Mapping):
            raise DataFormatError(str(path), f"section {tracker!r} must be a mapping")
        _merge(result, section, str(path))
        result["config_name"] = str(config)
    else:
        result["config_name"] = None
    if overrides:
        _merge(result, {k: v for k, v in overrides.items() if k != "config_name"}, "--set")
    _check(recipe, result)
    return result


def training_recipe(tracker: str) -> str:
    """The training recipe (a key of :data:`DEFAULTS`) of tracker ``tracker``, from its registry
    entry; an error naming the trainable trackers when it has none."""
    from siambench.trackers import tracker_entry, trainable_trackers

    try:
        recipe = tracker_entry(tracker).training
    except UnknownNameError:
        recipe = None
    if recipe is None or recipe not in DEFAULTS:
        raise UnknownNameError(f"cannot train tracker {tracker!r}; trainable: "
                               f"{', '.join(trainable_trackers())}")
    return recipe


def _check(recipe: str, cfg: Mapping[str, Any]) -> None:
    positive = ("epochs", "pairs_per_epoch", "batch_size", "frame_range", "log_every",
                "template_size", "search_size", "val_every")
    for key in positive:
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SiambenchError(f"training setting {key} must be a positive integer, got {value!r}")
    for key in ("lr", "lr_end"):
        if not isinstance(cfg[key], (int, float)) or not cfg[key] > 0:
            raise SiambenchError(f"training setting {key} must be a positive number, got {cfg[key]!r}")
    for key in ("neg_prob", "gray_prob", "flip_prob", "color_prob", "brightness_prob", "search_blur_prob",
                "template_blur_prob"):
        if not isinstance(cfg[key], (int, float)) or not 0 <= cfg[key] <= 1:
            raise SiambenchError(f"training setting {key} must be a probability in [0, 1], "
                                 f"got {cfg[key]!r}")
    if not isinstance(cfg["brightness_max"], (int, float)) or not cfg["brightness_max"] >= 1:
        raise SiambenchError(f"training setting brightness_max must be a number ≥ 1, got "
                             f"{cfg['brightness_max']!r}")
    lam = cfg.get("lambda_reg")
    if lam is not None and (isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam > 0):
        raise SiambenchError(f"training setting lambda_reg must be a positive number (or null for "
                             f"the loss preset's), got {lam!r}")
    if cfg.get("cls_balance") not in (None, "mean", "balanced"):
        raise SiambenchError(f"training setting cls_balance must be mean or balanced (or null for "
                             f"the loss preset's), got {cfg['cls_balance']!r}")
    if cfg["keep_best"] and not int(cfg["val_sequences"]) > 0:
        raise SiambenchError("training setting keep_best needs validation: set val_sequences "
                             "(synthetic-val sequences, e.g. --set val_sequences=12)")
    if recipe == "siamfc" and cfg["neg_prob"]:
        raise SiambenchError("negative pairs (neg_prob) are a SiamRPN option; SiamFC trains on "
                             "positive pairs only")
    if (cfg["search_size"] - cfg["template_size"]) % 8:
        raise SiambenchError(f"search_size − template_size must be a multiple of 8, got "
                             f"{cfg['search_size']} − {cfg['template_size']}")
    from siambench.train.sources import config_sources

    config_sources(cfg)
    if not isinstance(cfg["frozen_layers"], list):
        raise SiambenchError("frozen_layers must be a list of backbone layer names")
