"""The torch ``Dataset`` of training samples: pair table row → crops + targets (runs in workers).

Each sample is a pure function of its pair-table row (its ``aug_seed`` seeds every random
choice), so the batches do not depend on the number of DataLoader workers, and a resumed run
sees exactly the samples an uninterrupted one would. A frame that cannot be read is logged and
the pair is replaced by a new pair drawn from the same seed (never zero-filled); after
:data:`MAX_RESAMPLES` failures in a row the error is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from siambench.datasets.images import read_frame
from siambench.errors import FrameReadError, SiambenchError
from siambench.train.augment import CropParams, augment_crop
from siambench.train.pairs import PairIndex
from siambench.train.targets import rpn_anchors, rpn_targets

log = logging.getLogger("siambench.train")

MAX_RESAMPLES = 20


class PairDataset(Dataset):
    """Samples of one epoch's pair-table shard for ``kind`` ``"siamrpn"`` or ``"siamfc"``.

    Items are dicts of tensors: ``template`` uint8 ``(3, T, T)``, ``search`` uint8
    ``(3, X, X)``, ``box`` float32 ``(4,)`` (target ``x1, y1, x2, y2`` in search-crop pixels),
    ``negative`` bool, and for SiamRPN ``labels`` int64 ``(N,)``, ``reg_targets`` float32
    ``(N, 4)``, ``reg_weights`` float32 ``(N,)``. Crops are RGB (BGR if the model wants BGR).
    """

    def __init__(self, index: PairIndex, table: np.ndarray, cfg: Mapping[str, Any], kind: str,
                 model_config: Mapping[str, Any]) -> None:
        self.index = index
        self.table = np.asarray(table, dtype=np.int64)
        self.cfg = dict(cfg)
        self.kind = kind
        self.bgr = model_config.get("channel_order", "rgb") == "bgr"
        self.anchor_num = int(model_config.get("anchor_num", 5))
        self.anchors = (rpn_anchors(model_config, int(cfg["search_size"]))
                        if kind == "siamrpn" else None)
        self.template = CropParams(int(cfg["template_size"]), float(cfg["template_shift"]),
                                   float(cfg["template_scale"]), float(cfg["template_blur_prob"]))
        self.search = CropParams(int(cfg["search_size"]), float(cfg["search_shift"]),
                                 float(cfg["search_scale"]), float(cfg["search_blur_prob"]))

    def __len__(self) -> int:
        return len(self.table)

    def _read(self, track: int, frame: int) -> np.ndarray:
        return read_frame(self.index.tracks[track].frames[frame])

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        row = tuple(int(v) for v in self.table[item])
        rng = np.random.default_rng(row[5])
        for attempt in range(MAX_RESAMPLES + 1):
            try:
                return self._sample(row, rng)
            except FrameReadError as error:
                if attempt == MAX_RESAMPLES:
                    raise SiambenchError(f"training: {MAX_RESAMPLES + 1} pairs in a row had "
                                         f"unreadable frames; the last: {error}") from None
                t = self.index.tracks[row[0]]
                log.warning("training: corrupt frame, pair (%s frames %d/%d) resampled: %s",
                            t.name, row[1], row[3], error)
                row = self.index.draw(rng, frame_range=int(self.cfg["frame_range"]),
                                      neg_prob=float(self.cfg["neg_prob"]))
        raise AssertionError("unreachable")

    def _sample(self, row: tuple[int, ...], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        t_track, t_frame, s_track, s_frame, negative, _ = row
        cfg = self.cfg
        template_image = self._read(t_track, t_frame)
        search_image = self._read(s_track, s_frame)
        gray = bool(cfg["gray_prob"]) and rng.random() < cfg["gray_prob"]
        flip = bool(cfg["flip_prob"]) and rng.random() < cfg["flip_prob"]
        common = {"exemplar": int(cfg["template_size"]), "context_amount": float(cfg["context_amount"]),
                  "flip": flip, "gray": gray, "colour_prob": float(cfg["color_prob"]),
                  "brightness_prob": float(cfg["brightness_prob"]),
                  "brightness_max": float(cfg["brightness_max"])}
        z, _ = augment_crop(template_image, self.index.tracks[t_track].boxes[t_frame],
                            self.template, rng, **common)
        x, box = augment_crop(search_image, self.index.tracks[s_track].boxes[s_frame],
                              self.search, rng, **common)
        if self.bgr:
            z, x = z[..., ::-1], x[..., ::-1]
        sample = {
            "template": torch.from_numpy(np.ascontiguousarray(z.transpose(2, 0, 1))),
            "search": torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))),
            "box": torch.from_numpy(box.astype(np.float32)),
            "negative": torch.tensor(bool(negative)),
        }
        if self.kind == "siamrpn":
            labels, targets, weights = rpn_targets(self.anchors, box, rng, negative=bool(negative),
                                                   cfg=cfg, anchor_num=self.anchor_num)
            sample.update(labels=torch.from_numpy(labels), reg_targets=torch.from_numpy(targets),
                          reg_weights=torch.from_numpy(weights))
        return sample


class SkipSampler(Sampler[int]):
    """Indices ``start, start + 1, …, length − 1`` in order (a resumed epoch skips what it saw)."""

    def __init__(self, length: int, start: int = 0) -> None:
        self.length, self.start = int(length), int(start)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.length))

    def __len__(self) -> int:
        return max(0, self.length - self.start)
