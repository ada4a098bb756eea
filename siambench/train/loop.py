"""The training loop of ``siambench train``: schedule, optimiser, checkpoints, resume, logs, DDP.

Files written under ``out`` (rank 0 only):

* ``checkpoint.pt`` — the model after the last finished epoch or stop (siambench checkpoint);
* ``train_state.pt`` — optimiser, AMP scaler, epoch, step within the epoch, global step,
  python/numpy/torch RNG states, the resolved config, the model config, accumulated wall time;
* ``metrics.csv`` — one line per ``log_every`` steps: ``step, epoch, loss, loss_cls, loss_reg,
  lr, pairs_per_s, elapsed_s``; ``val.csv`` — per validation pass: ``epoch, step, success_auc``;
* ``model.pt`` — the final checkpoint, whose metadata records the command, data, schedule,
  steps, wall time and final losses (copy it to ``siambench/bundled/<name>/model.pt``); with
  ``keep_best`` it holds the weights of the epoch with the best validation success AUC on
  ``synthetic-val`` (early stopping; the metadata names that epoch), kept meanwhile in
  ``best.pt``.

Learning rate per epoch (pysot ``lr_scheduler``): ``warmup_epochs`` geometric steps from
``warmup_start_lr`` towards ``lr`` (``start·(lr/start)^(e/warmup)``), then ``logspace(lr,
lr_end)`` over the remaining epochs. Backbone parameters get ``lr·backbone_lr_mult``; layers in
``frozen_layers`` (and the whole backbone before ``backbone_train_epoch``) get no gradient and
their BatchNorm stays in eval mode (pysot). Resume restores everything listed above and skips
the pairs already seen in the interrupted epoch, so ``k`` steps + resume + ``n − k`` steps give
the same weights as ``n`` steps in one go.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from siambench.errors import SiambenchError
from siambench.fileio import atomic_write_bytes, atomic_write_text
from siambench.models import build_model
from siambench.models.checkpoint import (
    CheckpointError,
    load_state_dict_checked,
    read_checkpoint,
    safe_torch_load,
    save_checkpoint,
)
from siambench.models.losses import balanced_logistic_loss, siamrpn_loss
from siambench.train.config import resolve_config, training_recipe
from siambench.train.data import PairDataset, SkipSampler
from siambench.train.distributed import (
    DistInfo,
    all_mean,
    barrier,
    cleanup,
    init_distributed,
    wrap_model,
)
from siambench.train.pairs import build_index
from siambench.train.targets import fc_labels

log = logging.getLogger("siambench.train")

STATE_FILE = "train_state.pt"
CHECKPOINT_FILE = "checkpoint.pt"
FINAL_FILE = "model.pt"
METRICS_FILE = "metrics.csv"
VAL_FILE = "val.csv"
BEST_FILE = "best.pt"
METRIC_COLUMNS = ("step", "epoch", "loss", "loss_cls", "loss_reg", "lr", "pairs_per_s", "elapsed_s")

#: Settings a resumed run may change; every other setting must match the interrupted run.
RESUME_FREE = frozenset({"epochs", "max_steps", "workers", "log_every", "val_every",
                         "val_sequences", "amp", "threads"})


def lr_at(cfg: Mapping[str, Any], epoch: int) -> float:
    """Learning rate of ``epoch`` (0-based) under ``cfg`` (see the module docstring)."""
    warm = int(cfg["warmup_epochs"])
    base, end = float(cfg["lr"]), float(cfg["lr_end"])
    if epoch < warm:
        start = float(cfg["warmup_start_lr"])
        return start * (base / start) ** (epoch / warm)
    rest = int(cfg["epochs"]) - warm
    if rest <= 1:
        return base
    t = min(epoch - warm, rest - 1) / (rest - 1)
    return 10 ** (math.log10(base) + t * (math.log10(end) - math.log10(base)))


@dataclass
class TrainResult:
    """What :func:`train` did: output folder, final model path (None when stopped early)."""

    out: Path
    model_path: Path | None
    epoch: int
    step: int
    losses: dict[str, float] = field(default_factory=dict)
    val_auc: list[tuple[int, float]] = field(default_factory=list)
    wall_s: float = 0.0
    pairs_per_s: float = 0.0


# ------------------------------------------------------------------------------- helpers

def init_scales(model: nn.Module) -> dict[str, float]:
    """Parameters that ``siambench.models.weight_init`` scaled down by ``s`` at init → ``s``.

    SiamRPN's first conv (÷ 128, raw 0–255 input) and up-channel template convs (÷ C·16).
    Plain SGD on such a weight ``w = v / s`` takes steps ``s²`` times too large relative to the
    weight (its gradient is ``s`` times larger while the weight is ``s`` times smaller), and
    diverges; :func:`_param_groups` therefore trains ``v`` instead (grad ÷ s, lr ÷ s, weight
    decay × s): exactly SGD on the unscaled parametrisation.
    """
    from siambench.models.heads import UpChannelRPN

    scales: dict[str, float] = {}
    if getattr(model, "name", "") not in ("siamrpn", "siamrpn-dw"):
        return scales
    first = next((n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None:
        scales[f"{first}.weight"] = 128.0
    for name, module in model.named_modules():
        if isinstance(module, UpChannelRPN):
            for conv in ("template_cls", "template_reg"):
                scales[f"{name}.{conv}.weight"] = float(module.in_channels * 16)
    return scales


def init_backbone(model: nn.Module, path: Path | str) -> None:
    """Copy the ``backbone.*`` weights of the siambench checkpoint at ``path`` into ``model``.

    The paper's SiamRPN starts from a pretrained backbone; here that can be the backbone of a
    SiamFC trained by ``siambench train --tracker siamfc --set model.backbone=alexnet-rpn`` (same
    widths). Raises one :class:`CheckpointError` when the file holds no backbone or it does not fit.
    """
    path = Path(str(path))
    if not path.is_file():
        raise SiambenchError(f"backbone_init: checkpoint {path} not found")
    state = read_checkpoint(path)["state_dict"]
    backbone = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    if not backbone:
        raise CheckpointError(path, "holds no backbone.* weights to initialise the backbone from")
    load_state_dict_checked(model.backbone, backbone, source=path, what="backbone weights")
    log.info("backbone initialised from %s", path)


def _param_groups(model: nn.Module, cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """SGD groups by part (``backbone`` / ``head``) and init scale (see :func:`init_scales`)."""
    scales = init_scales(model) if cfg["init_lr_scaling"] else {}
    groups: dict[tuple[str, float], list[nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        part = "backbone" if name.startswith("backbone.") else "head"
        groups.setdefault((part, scales.get(name, 1.0)), []).append(parameter)
    return [{"params": params, "name": part, "scale": scale,
             "weight_decay": float(cfg["weight_decay"]) * scale}
            for (part, scale), params in groups.items()]


def _apply_freeze(model: nn.Module, cfg: Mapping[str, Any], epoch: int) -> set[str]:
    """Set ``requires_grad`` and BN modes for ``epoch``; returns the frozen backbone layer names."""
    layers = [name for name, _ in model.backbone.named_children()]
    unknown = [name for name in cfg["frozen_layers"] if name not in layers]
    if unknown:
        raise SiambenchError(f"frozen_layers: {unknown} are not backbone layers of "
                             f"{model.name}; its layers are {layers}")
    frozen = set(layers) if epoch < int(cfg["backbone_train_epoch"]) else set(cfg["frozen_layers"])
    model.train()
    for name, module in model.backbone.named_children():
        for parameter in module.parameters():
            parameter.requires_grad_(name not in frozen)
        if name in frozen:
            module.eval()
    return frozen


def _rng_state() -> dict[str, Any]:
    """python / numpy / torch global RNG states as tensors and plain data (weights_only-safe)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    return {"python": random.getstate(),
            "numpy": {"kind": str(kind), "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
                      "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
            "torch": torch.get_rng_state()}


def _set_rng_state(state: Mapping[str, Any]) -> None:
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["key"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = sorted((set(old) | set(new)) - RESUME_FREE - {"config_name"})
    return [f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in keys if old.get(k) != new.get(k)]


def _write_csv_line(path: Path, columns: Sequence[str], row: Mapping[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns))
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in columns})


def load_train_datasets(names: Sequence[tuple[Any, ...]], root: Path | str | Mapping[str, Path] | None,
                        *, progress: bool = True) -> list[tuple[Any, float, int, int | None]]:
    """``(dataset, weight, origin, frame_range)`` for each ``(name, weight[, frame_range])`` (a
    registry name, loaded from ``root`` — a folder when there is one name, else ``{name: folder}``
    — or the usual data roots; weight None: the number of its sequences) or ``(Dataset, weight,
    origin[, frame_range])`` (:mod:`siambench.train.sources`). ``progress``: show the generation
    of a synthetic split made on first use."""
    from siambench.train.precrop import load_source  # a crop folder, else sources.load_source
    from siambench.train.sources import check_roots

    check_roots([item[0] for item in names], root)
    loaded = []
    for item in names:
        if isinstance(item[0], str):
            loaded.append(load_source(item[0], item[1], item[2] if len(item) > 2 else None, root,
                                      progress=progress))
        else:
            loaded.append((item[0], float(len(item[0]) if item[1] is None else item[1]),
                           int(item[2]) if len(item) > 2 else 0, item[3] if len(item) > 3 else None))
    return loaded


def _describe(datasets: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [{"name": item[0] if isinstance(item[0], str) else getattr(item[0], "name", "?"),
             "weight": "all" if item[1] is None else float(item[1])} for item in datasets]


def validate(model: nn.Module, tracker: str, sequences: Sequence[Any], origin: int,
             device: torch.device) -> float:
    """Success AUC (OPE, got10k/OTB convention) of ``tracker`` with ``model`` on ``sequences``."""
    from siambench.metrics.ope import score_ope
    from siambench.trackers import create_tracker

    was_training = model.training
    model.eval()
    shift = np.array([origin, origin, 0.0, 0.0])
    results, truth = {}, {}
    try:
        with torch.no_grad():
            runner = create_tracker(tracker, model=model, device=str(device))
            for seq in sequences:
                gt = np.asarray(seq.groundtruth, dtype=np.float64)
                boxes = np.empty_like(gt)
                boxes[0] = gt[0]
                for i, frame in enumerate(seq.frames()):
                    if i == 0:
                        runner.init(frame, gt[0] - shift)
                    else:
                        boxes[i] = runner.update(frame).box + shift
                results[seq.name], truth[seq.name] = boxes, gt
    finally:
        model.train(was_training)
    report = score_ope({tracker: results}, truth)
    return float(report.overall["success_auc"].iloc[0])


# ------------------------------------------------------------------------------- training

def make_optimizer(model: nn.Module, cfg: Mapping[str, Any]) -> torch.optim.SGD:
    """SGD (momentum, weight decay) over :func:`_param_groups`; lr set per epoch by the loop."""
    return torch.optim.SGD(_param_groups(model, cfg), lr=float(cfg["lr"]),
                           momentum=float(cfg["momentum"]), weight_decay=float(cfg["weight_decay"]))


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, sample: Mapping[str, Any],
               cfg: Mapping[str, Any], kind: str, *, device: torch.device | str = "cpu",
               scaler: torch.amp.GradScaler | None = None, labels_fc: torch.Tensor | None = None,
               params: Any = None) -> tuple[float, float, float]:
    """One SGD step on a collated batch; returns ``(loss, loss_cls, loss_reg)`` before the step.

    SiamRPN: :func:`siamrpn_loss` (``cfg["loss_preset"]``); SiamFC: balanced logistic loss on
    :func:`siambench.train.targets.fc_labels` (``loss_reg`` 0). Gradients of down-scaled
    parameters are divided by their scale (:func:`init_scales`), then clipped to
    ``cfg["grad_clip"]``. A non-finite loss is returned without stepping.
    """
    device = torch.device(device)
    use_amp = scaler is not None and scaler.is_enabled()
    z = sample["template"].to(device, non_blocking=True).float()
    x = sample["search"].to(device, non_blocking=True).float()
    with torch.autocast(device_type=device.type, enabled=use_amp):
        if kind == "siamrpn":
            cls, reg = model(z, x)
            loss, loss_cls, loss_reg = siamrpn_loss(
                cls.float(), reg.float(), sample["labels"].to(device),
                sample["reg_targets"].to(device), sample["reg_weights"].to(device),
                preset=str(cfg["loss_preset"]),
                lambda_reg=None if cfg["lambda_reg"] is None else float(cfg["lambda_reg"]),
                cls_balance=None if cfg["cls_balance"] is None else str(cfg["cls_balance"]))
        else:
            response = model(z, x)
            if labels_fc is None:
                labels_fc = fc_labels(response.shape[-1], cfg).to(device)
            loss = balanced_logistic_loss(response.float(), labels_fc)
            loss_cls, loss_reg = loss, torch.zeros((), device=device)
    values = (float(loss.detach()), float(loss_cls.detach()), float(loss_reg.detach()))
    if not math.isfinite(values[0]):
        return values
    optimizer.zero_grad(set_to_none=True)
    if use_amp:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    for group in optimizer.param_groups:
        if group.get("scale", 1.0) != 1.0:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.grad.div_(group["scale"])
    if float(cfg["grad_clip"]) > 0:
        torch.nn.utils.clip_grad_norm_(list(params if params is not None else model.parameters()),
                                       float(cfg["grad_clip"]))
    if use_amp:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return values


def train(tracker: str, out: Path | str, *, datasets: Sequence[tuple[Any, ...]] | None = None,
          root: Path | str | Mapping[str, Path] | None = None, config: str | Path | None = "cpu",
          overrides: Mapping[str, Any] | None = None, resume: bool = False, device: str = "cpu",
          command: str | None = None, progress: bool = True) -> TrainResult:
    """Train ``tracker`` (``siamrpn`` | ``siamfc``) into ``out``; see the module docstring.

    ``datasets``: ``(registry name, weight[, frame_range])`` (loaded from ``root`` — a folder, or
    ``{name: folder}`` for several — or the data roots) or ``(Dataset, weight, origin)`` triples
    (``origin``: 1 for 1-based ground truth, else 0); None: the config's ``datasets`` list.
    ``overrides``: config settings (``--set``, ``--epochs`` …). ``resume``: continue the run
    in ``out`` (its settings must match, except :data:`RESUME_FREE`). Under ``torchrun`` each
    process trains its shard of every epoch's pairs with ``batch_size`` pairs per step.
    """
    out = Path(out)
    cfg = resolve_config(tracker, config, overrides)
    if datasets is None:
        from siambench.train.sources import config_sources

        datasets = [source.as_tuple() for source in config_sources(cfg)]
    info, dev = init_distributed(device)
    try:
        return _train(tracker, out, cfg, datasets, root, resume, info, dev,
                      command or shlex.join(["siambench", *sys.argv[1:]]), progress)
    finally:
        cleanup(info)


def _train(tracker: str, out: Path, cfg: dict[str, Any], datasets: Sequence[tuple[Any, ...]],
           root: Path | str | None, resume: bool, info: DistInfo, dev: torch.device,
           command: str, progress: bool) -> TrainResult:
    trainer = _Trainer(tracker, out, cfg, info, dev, command, progress)
    trainer.setup(resume)
    if resume:
        trainer.resume()
    trainer.prepare_data(datasets, root)
    return trainer.run(datasets, root)


class _Trainer:
    """One training run in steps: :meth:`setup` (seeds, model, optimiser), :meth:`resume` (the
    interrupted run's state), :meth:`prepare_data` (datasets, validation sequences, pair index,
    steps per epoch), then :meth:`run`: per epoch :meth:`train_epoch`, :meth:`validate_epoch`,
    :meth:`save_state`, and at the end :meth:`save_final`. The steps run in this order: every RNG
    draw happens where the single-function loop made it, so results are the same bit for bit."""

    def __init__(self, tracker: str, out: Path, cfg: dict[str, Any], info: DistInfo, dev: torch.device,
                 command: str, progress: bool) -> None:
        self.tracker, self.out, self.cfg = tracker, out, cfg
        self.recipe = training_recipe(tracker)  # labels, losses and pairs of this pipeline
        self.info, self.dev, self.command, self.progress = info, dev, command, progress
        self.state_path, self.ckpt_path = out / STATE_FILE, out / CHECKPOINT_FILE
        self.seed = int(cfg["seed"])
        self.epochs, self.max_steps = int(cfg["epochs"]), int(cfg["max_steps"])
        # where the run stands (restored by resume)
        self.epoch, self.step_in_epoch, self.global_step, self.wall_before = 0, 0, 0, 0.0
        self.val_history: list[tuple[int, float]] = []
        self.last: dict[str, float] = {}
        self.stopped = False

    # ----------------------------------------------------------------------------- setup

    def setup(self, resume: bool) -> None:
        """Check ``out``, seed every RNG, build the model, the optimiser and the AMP scaler."""
        cfg = self.cfg
        if not resume and self.state_path.exists():
            raise SiambenchError(f"{self.out} already holds a training run ({STATE_FILE}); pass "
                                 "--resume to continue it, or choose another --out")
        if int(cfg["threads"]) > 0:
            torch.set_num_threads(int(cfg["threads"]))
        random.seed(self.seed)
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        model_cfg = dict(cfg["model"])
        self.model_name = str(model_cfg.pop("name", self.recipe))
        if self.model_name.split("-")[0] != self.recipe:
            raise SiambenchError(f"model {self.model_name!r} cannot be trained as tracker {self.tracker!r}")
        self.model = build_model(self.model_name, seed=self.seed, **model_cfg)
        if cfg["backbone_init"] and not resume:
            init_backbone(self.model, cfg["backbone_init"])
        self.optimizer = make_optimizer(self.model, cfg)
        self.use_amp = bool(cfg["amp"]) and self.dev.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)

    def resume(self) -> None:
        """Restore the interrupted run in ``out``: weights, optimiser, scaler, position, RNGs."""
        out, state_path, ckpt_path, model = self.out, self.state_path, self.ckpt_path, self.model
        if not state_path.is_file() or not ckpt_path.is_file():
            raise SiambenchError(f"--resume: {out} holds no interrupted run (no {STATE_FILE} "
                                 f"and {CHECKPOINT_FILE}); start without --resume")
        state = safe_torch_load(state_path)
        payload = read_checkpoint(ckpt_path)
        if payload["model"] != self.model_name or dict(payload["config"]) != dict(model.config):
            raise CheckpointError(
                ckpt_path, f"holds a {payload['model']!r} model with config "
                f"{dict(payload['config'])}, another architecture than this run's "
                f"{self.model_name!r} {dict(model.config)}",
                hint="resume with the command that started the run, or train into a new --out")
        changed = _differences(state["config"], self.cfg)
        if changed:
            raise SiambenchError(f"--resume: the settings differ from the run in {out}:\n  "
                                 + "\n  ".join(changed)
                                 + "\nresume with the same settings (only "
                                 + ", ".join(sorted(RESUME_FREE)) + " may change)")
        load_state_dict_checked(model, payload["state_dict"], source=ckpt_path)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.use_amp and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        self.global_step, self.wall_before = int(state["global_step"]), float(state["wall_s"])
        self.val_history = [(int(e), float(a)) for e, a in state.get("val_auc", [])]
        _set_rng_state(state["rng"])
        if self.info.is_main:
            log.info("resuming %s at epoch %d, step %d (global step %d)", out, self.epoch,
                     self.step_in_epoch, self.global_step)

    def prepare_data(self, datasets: Sequence[tuple[Any, ...]], root: Path | str | None) -> None:
        """Move the model to the device; load the training sets (rank 0 first: a generated set is
        written once), the validation sequences and the pair index; size the epochs."""
        cfg, info = self.cfg, self.info
        self.model.to(self.dev)
        if not info.is_main:
            barrier(info)
        loaded = load_train_datasets(datasets, root, progress=self.progress and info.is_main)
        if info.is_main:
            barrier(info)
        self.val_sequences: list[Any] = []
        self.val_origin = 1
        if int(cfg["val_sequences"]) > 0 and info.is_main:
            from siambench.datasets import load_dataset
            from siambench.datasets.registry import get_spec

            held_out = load_dataset("synthetic-val", progress=self.progress)
            self.val_sequences = list(held_out)[:int(cfg["val_sequences"])]
            self.val_origin = get_spec("synthetic-val").origin
        self.index = build_index(loaded)
        if info.is_main and self.index.skipped:
            log.warning("training: %d sequences skipped (listed in the checkpoint metadata)",
                        len(self.index.skipped))
        self.labels_fc = None
        if self.recipe == "siamfc":
            self.labels_fc = fc_labels(self.model.score_size(int(cfg["search_size"])), cfg).to(self.dev)
        self.batch = int(cfg["batch_size"])
        self.per_rank = int(cfg["pairs_per_epoch"]) // info.world
        self.steps_per_epoch = self.per_rank // self.batch
        if self.steps_per_epoch < 1:
            raise SiambenchError(f"pairs_per_epoch {cfg['pairs_per_epoch']} gives no full batch of "
                                 f"{self.batch} per process ({info.world} processes)")

    # ----------------------------------------------------------------------------- epochs

    def run(self, datasets: Sequence[tuple[Any, ...]], root: Path | str | None) -> TrainResult:
        """Train the remaining epochs (or up to ``max_steps``), then write the final model."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.start_time = time.monotonic()
        self.window: list[tuple[float, float, float]] = []
        self.window_start, self.window_pairs = time.monotonic(), 0
        self.pairs_total, self.compute_start = 0, time.monotonic()
        self.wrapped, self.frozen_now = self.model, None
        while self.epoch < self.epochs and not self.stopped:
            self.train_epoch()
            if self.stopped and self.step_in_epoch < self.steps_per_epoch:   # stopped within the epoch
                self.save_state(self.epoch, self.step_in_epoch)
                barrier(self.info)
                break
            self.epoch, self.step_in_epoch = self.epoch + 1, 0
            if self.val_sequences and (self.epoch % int(self.cfg["val_every"]) == 0
                                       or self.epoch == self.epochs):
                self.validate_epoch()
            self.save_state(self.epoch, 0)
            barrier(self.info)
        return self.save_final(datasets, root)

    def train_epoch(self) -> None:
        """The steps of epoch ``self.epoch`` from ``self.step_in_epoch`` on (stops at ``max_steps``)."""
        from tqdm import tqdm

        cfg, info, model, epoch, batch = self.cfg, self.info, self.model, self.epoch, self.batch
        lr = lr_at(cfg, epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = (lr / group["scale"]
                           * (float(cfg["backbone_lr_mult"]) if group["name"] == "backbone" else 1.0))
        frozen = _apply_freeze(model, cfg, epoch)
        if frozen != self.frozen_now:
            self.wrapped = wrap_model(model, info, self.dev, sync_bn=bool(cfg["sync_bn"]))
            self.frozen_now = frozen
        table = self.index.sample_pairs(self.per_rank * info.world, seed=self.seed, epoch=epoch,
                                        frame_range=int(cfg["frame_range"]),
                                        neg_prob=float(cfg["neg_prob"]))[info.rank::info.world]
        dataset = PairDataset(self.index, table[:self.steps_per_epoch * batch], cfg, self.recipe,
                              model.config)
        loader = DataLoader(dataset, batch_size=batch,
                            sampler=SkipSampler(len(dataset), self.step_in_epoch * batch),
                            num_workers=int(cfg["workers"]), drop_last=True,
                            pin_memory=self.dev.type == "cuda",
                            generator=torch.Generator().manual_seed(self.seed + epoch),
                            persistent_workers=False)
        bar = tqdm(loader, total=len(loader), desc=f"{self.tracker} epoch {epoch + 1}/{self.epochs}",
                   unit="step", disable=not (self.progress and info.is_main), file=sys.stderr,
                   mininterval=2.0, initial=0)
        for sample in bar:
            losses = train_step(self.wrapped, self.optimizer, sample, cfg, self.recipe, device=self.dev,
                                scaler=self.scaler, labels_fc=self.labels_fc, params=model.parameters())
            if not math.isfinite(losses[0]):
                raise SiambenchError(f"training diverged: loss {losses[0]} at step "
                                     f"{self.global_step + 1} (epoch {epoch + 1}); lower --lr")
            self.global_step += 1
            self.step_in_epoch += 1
            self.pairs_total += batch * info.world
            self.window_pairs += batch * info.world
            self.window.append(losses)
            if (self.global_step % int(cfg["log_every"]) == 0
                    or self.step_in_epoch == self.steps_per_epoch):
                self._log_window(lr, bar)
            if self.max_steps and self.global_step >= self.max_steps:
                self.stopped = True
                break
        bar.close()

    def _log_window(self, lr: float, bar: Any) -> None:
        """Mean losses of the steps since the last line (over all processes) to ``metrics.csv``."""
        mean = np.mean(self.window, axis=0)
        values = [all_mean(v, self.info, self.dev) for v in mean]
        rate = self.window_pairs / max(time.monotonic() - self.window_start, 1e-9)
        self.last = {"loss": values[0], "loss_cls": values[1], "loss_reg": values[2]}
        if self.info.is_main:
            _write_csv_line(self.out / METRICS_FILE, METRIC_COLUMNS, {
                "step": self.global_step, "epoch": self.epoch + 1, **self.last,
                "lr": lr, "pairs_per_s": round(rate, 3),
                "elapsed_s": round(self.wall_before + time.monotonic() - self.start_time, 3)})
            bar.set_postfix(loss=f"{values[0]:.4f}", pps=f"{rate:.1f}")
        self.window, self.window_start, self.window_pairs = [], time.monotonic(), 0

    def validate_epoch(self) -> None:
        """Success AUC on the validation sequences after epoch ``self.epoch`` (1-based here);
        ``keep_best`` keeps the best weights in ``best.pt``."""
        cfg, model, epoch = self.cfg, self.model, self.epoch
        auc = validate(model, self.tracker, self.val_sequences, self.val_origin, self.dev)
        _apply_freeze(model, cfg, epoch - 1)
        if bool(cfg["keep_best"]) and self.info.is_main and auc > max(
                (a for _, a in self.val_history), default=-math.inf):
            save_checkpoint(self.out / BEST_FILE, model, metadata={
                "epoch": epoch, "step": self.global_step, "val_success_auc": auc,
                "command": self.command})
        self.val_history.append((epoch, auc))
        _write_csv_line(self.out / VAL_FILE, ("epoch", "step", "success_auc"),
                        {"epoch": epoch, "step": self.global_step, "success_auc": auc})
        log.info("epoch %d: validation success AUC %.4f on %d synthetic-val sequences",
                 epoch, auc, len(self.val_sequences))

    # ----------------------------------------------------------------------------- files

    def save_state(self, next_epoch: int, next_step: int) -> None:
        """``checkpoint.pt`` and ``train_state.pt`` to resume at ``next_epoch``, ``next_step``."""
        if not self.info.is_main:
            return
        wall = self.wall_before + time.monotonic() - self.start_time
        save_checkpoint(self.ckpt_path, self.model, metadata={
            "epoch": next_epoch, "step": self.global_step, "command": self.command})
        state = {"epoch": next_epoch, "step_in_epoch": next_step, "global_step": self.global_step,
                 "optimizer": self.optimizer.state_dict(),
                 "scaler": self.scaler.state_dict() if self.use_amp else {},
                 "rng": _rng_state(), "config": self.cfg, "model": self.model_name,
                 "model_config": dict(self.model.config), "wall_s": wall,
                 "val_auc": [list(v) for v in self.val_history]}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.state_path, buffer.getvalue())

    def save_final(self, datasets: Sequence[tuple[Any, ...]], root: Path | str | None) -> TrainResult:
        """``model.pt`` (the best validation weights with ``keep_best``) and ``train_summary.txt``
        once every epoch is done; the result in any case."""
        cfg, info, out, model = self.cfg, self.info, self.out, self.model
        epochs, global_step, last, val_history = self.epochs, self.global_step, self.last, self.val_history
        wall = self.wall_before + time.monotonic() - self.start_time
        rate = self.pairs_total / max(time.monotonic() - self.compute_start, 1e-9)
        result = TrainResult(out, None, self.epoch, global_step, last, val_history, wall, rate)
        if self.epoch < epochs or not info.is_main:
            return result
        selected = None
        if bool(cfg["keep_best"]) and (out / BEST_FILE).is_file():
            best = read_checkpoint(out / BEST_FILE)
            load_state_dict_checked(model, best["state_dict"], source=out / BEST_FILE)
            selected = {"epoch": int(best["metadata"]["epoch"]),
                        "val_success_auc": float(best["metadata"]["val_success_auc"]),
                        "rule": "best validation success AUC on synthetic-val (keep_best)"}
        metadata = {
            "command": self.command, "tracker": self.tracker,
            "datasets": _describe(datasets),
            "root": None if root is None else ({k: str(v) for k, v in root.items()}
                                               if isinstance(root, Mapping) else str(root)),
            "config": cfg, "epochs": epochs, "steps": global_step,
            "pairs_per_epoch": int(cfg["pairs_per_epoch"]), "processes": info.world,
            "wall_time_s": round(wall, 1), "device": str(self.dev),
            "final_losses": last, "val_success_auc": [list(v) for v in val_history],
            "selected": selected,
            "skipped_sequences": self.index.skipped,
            "note": "trained from scratch by siambench train",
        }
        result.model_path = save_checkpoint(out / FINAL_FILE, model, metadata=metadata)
        atomic_write_text(out / "train_summary.txt",
                          f"{self.command}\nsteps {global_step}, epochs {epochs}, wall {wall:.0f} s, "
                          f"final losses {last}, validation {val_history}"
                          + (f", weights of epoch {selected['epoch']} (best validation)" if selected else "")
                          + "\n")
        return result


__all__ = ["TrainResult", "init_scales", "load_train_datasets", "lr_at", "make_optimizer", "train",
           "train_step", "validate"]
