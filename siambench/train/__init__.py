"""Training of the Siamese trackers (torch): pair sampling, crops and augmentation, targets,
the training loop with checkpoints / resume / metrics, and DDP through torchrun.

``train(tracker, out, ...)`` is what ``siambench train`` runs; see :mod:`siambench.train.loop`.
"""

from __future__ import annotations

from siambench.train.config import available_configs, parse_set, resolve_config
from siambench.train.loop import TrainResult, lr_at, train, validate

__all__ = ["TrainResult", "available_configs", "lr_at", "parse_set", "resolve_config", "train",
           "validate"]
