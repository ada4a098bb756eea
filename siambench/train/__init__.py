"""Training of the Siamese trackers (torch): pair sampling, crops and augmentation, targets,
the training loop with checkpoints / resume / metrics, and DDP through torchrun.

``train(tracker, out, ...)`` is what ``siambench train`` runs; see :mod:`siambench.train.loop`.
The names below are imported on first use, so that a submodule that needs no torch
(``siambench.train.precrop``: ``siambench data crop`` and its worker processes) starts without
importing it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["TrainResult", "available_configs", "lr_at", "parse_set", "resolve_config", "train",
           "validate"]

_HOMES = {"available_configs": "config", "parse_set": "config", "resolve_config": "config",
          "TrainResult": "loop", "lr_at": "loop", "train": "loop", "validate": "loop"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'siambench.train' has no attribute {name!r}")
    return getattr(import_module(f"siambench.train.{home}"), name)
