"""Reference-parity fixtures (``../shared/reference/parity``, see its README): discovery, weights
regeneration, and the adapters that map each reference's conventions onto siambench's trackers.

Used by ``tests/test_parity.py``. Every ``<model>/<clip>/meta.json`` under the fixture root is a
case; ``<model>`` picks a :class:`Reference` (how its state, boxes, crops and raw outputs are
named and which siambench parameter set reproduces it). The adapters hold conventions only;
every number compared comes from siambench's own trackers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
PARITY_ROOT = Path(os.environ.get("SIAMBENCH_PARITY", REPO.parent / "shared" / "reference" / "parity"))
DATA_ROOT = Path(os.environ.get("SIAMBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@dataclass(frozen=True)
class Reference:
    """How one reference implementation's fixtures map onto siambench.

    ``state``: fixture column stems of ``cx, cy, w, h`` (+ ``z_sz, x_sz`` for siamfc-style state);
    ``box_origin``: what the reference's test glue adds to the 0-based box it returns (1 for
    siamfc-pytorch / siamrpn-pytorch, which answer in 1-based OTB pixels); ``outputs``: raw output
    names in ``tensors.npz`` in the order siambench's model returns them; ``bgr``: whether the
    stored crops are BGR; ``instance_key``: meta.json key of the adaptive search size, if any.
    """

    tracker: str
    params: str
    kind: str
    state: tuple[str, ...]
    box_origin: float
    outputs: tuple[str, ...]
    bgr: bool
    instance_key: str | None = None
    extra: tuple[str, ...] = field(default=())


_PYSOT_STATE = ("center_pos_x", "center_pos_y", "size_w", "size_h")
_DASIAM_STATE = ("target_pos_x", "target_pos_y", "target_sz_w", "target_sz_h")
_FC_STATE = ("center_x", "center_y", "target_sz_w", "target_sz_h")

REFERENCES: dict[str, Reference] = {
    "pysot_siamrpn_alex_dwxcorr": Reference("siamrpn", "pysot", "pysot-alex-dw", _PYSOT_STATE, 0.0,
                                            ("cls", "loc"), True),
    "dasiamrpn_vot": Reference("siamrpn", "dasiamrpn-vot", "dasiamrpn-vot", _DASIAM_STATE, 0.0,
                               ("score", "delta"), True, "instance_size"),
    "dasiamrpn_otb": Reference("siamrpn", "dasiamrpn-otb", "dasiamrpn-otb", _DASIAM_STATE, 0.0,
                               ("score", "delta"), True, "instance_size"),
    "dasiamrpn_big": Reference("siamrpn", "dasiamrpn-big", "dasiamrpn-big", _DASIAM_STATE, 0.0,
                               ("score", "delta"), True, "instance_size"),
    "siamrpn_pytorch": Reference("siamrpn", "siamrpn-pytorch", "hrpn", _FC_STATE, 1.0,
                                 ("out_cls", "out_reg"), False, "instance_sz"),
    "siamfc_pytorch": Reference("siamfc", "siamfc-pytorch", "siamfc-pytorch",
                                _FC_STATE + ("z_sz", "x_sz"), 1.0, ("response_raw",), False),
}


def discover_cases(root: Path = PARITY_ROOT) -> list[tuple[str, str]]:
    """Every ``(model, clip)`` with a ``meta.json`` under ``root`` (sorted); empty when absent."""
    if not root.is_dir():
        return []
    return sorted((meta.parent.parent.name, meta.parent.name) for meta in root.glob("*/*/meta.json")
                  if meta.parent.parent.name != "weights")


# ------------------------------------------------------------------------------------ weights

def _recipe(manifest: dict[str, Any]) -> tuple[Any, ...]:
    """What the weights depend on besides the key names (two manifests with the same recipe give
    the same tensors: dasiamrpn_big and siamrpn_pytorch)."""
    scales = manifest.get("per_key_scale", {})
    return (int(manifest["seed"]),) + tuple((tuple(shape), kind, float(scales.get(key, 1.0)))
                                            for key, shape, kind in manifest["tensors"])


_REGENERATED: dict[tuple[Any, ...], tuple[list[torch.Tensor], str]] = {}


def regenerate_weights(manifest: dict[str, Any]) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict of a ``weights/<model>.weights.json`` recipe and its SHA-256 (README)."""
    recipe = _recipe(manifest)
    if recipe not in _REGENERATED:
        _REGENERATED[recipe] = _regenerate(manifest)
    tensors, sha = _REGENERATED[recipe]
    return {key: tensor for (key, _, _), tensor in zip(manifest["tensors"], tensors)}, sha


def _regenerate(manifest: dict[str, Any]) -> tuple[list[torch.Tensor], str]:
    seed = int(manifest["seed"])
    scales = manifest.get("per_key_scale", {})
    tensors: list[torch.Tensor] = []
    digest = hashlib.sha256()
    for index, (key, shape, kind) in enumerate(manifest["tensors"]):
        scale = float(scales.get(key, 1.0))
        if kind == "bn_num_batches_tracked":
            tensors.append(torch.tensor(0, dtype=torch.int64))
            digest.update(np.float32(0.0).astype("<f4").tobytes())
            continue
        rng = np.random.default_rng([seed, index])
        if kind == "bn_running_var":
            array = rng.uniform(0.5, 1.5, size=shape).astype(np.float32)
        else:
            z = rng.standard_normal(shape, dtype=np.float32).astype(np.float64)
            if kind in ("conv_weight", "linear_weight"):
                fan_in = int(np.prod(shape[1:]))
                array = (z * (math.sqrt(2.0 / fan_in) * scale)).astype(np.float32)
            elif kind in ("conv_bias", "linear_bias"):
                array = (z * (0.01 * scale)).astype(np.float32)
            elif kind == "bn_weight":
                array = (1.0 + 0.1 * z).astype(np.float32)
            elif kind in ("bn_bias", "bn_running_mean"):
                array = (0.1 * z).astype(np.float32)
            else:
                raise ValueError(f"weights manifest: unknown tensor kind {kind!r} for {key}")
        array = np.ascontiguousarray(array.reshape(shape))
        digest.update(array.astype("<f4").tobytes())
        tensors.append(torch.from_numpy(array))
    return tensors, digest.hexdigest()


def manifest_of(model: str, root: Path = PARITY_ROOT) -> dict[str, Any]:
    return json.loads((root / "weights" / f"{model}.weights.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------- a case

def _number(text: str) -> float:
    return float(text) if text not in ("", "nan") else math.nan


@dataclass
class Case:
    """One ``<model>/<clip>`` fixture folder."""

    model: str
    clip: str
    root: Path = PARITY_ROOT

    @property
    def folder(self) -> Path:
        return self.root / self.model / self.clip

    @cached_property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))

    @cached_property
    def steps(self) -> list[dict[str, float]]:
        with (self.folder / "steps.csv").open(newline="", encoding="utf-8") as stream:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(stream)]

    @cached_property
    def trajectory(self) -> np.ndarray:
        """``(N, 6)`` ``frame, x, y, w, h, best_score``."""
        with (self.folder / "trajectory.csv").open(newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        return np.array([[_number(r[k]) for k in ("frame", "x", "y", "w", "h", "best_score")]
                         for r in rows])

    @cached_property
    def tensors(self) -> dict[str, np.ndarray]:
        with np.load(self.folder / "tensors.npz") as data:
            return {k: data[k] for k in data.files}

    @property
    def reference(self) -> Reference:
        if self.model not in REFERENCES:
            raise KeyError(f"no parity adapter for reference model {self.model!r} "
                           f"(known: {', '.join(REFERENCES)}); add one to tests/parity_support.py")
        return REFERENCES[self.model]

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as siambench reads frames: RGB uint8 ``(H, W, 3)``."""
        path = DATA_ROOT / self.meta["frame_files"][index]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"parity frame {path} is missing or unreadable")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def step(self, frame: int) -> dict[str, float]:
        row = self.steps[frame - 1]
        if int(row["frame"]) != frame:
            raise ValueError(f"{self.folder}/steps.csv: row {frame - 1} is frame {row['frame']}")
        return row

    def state(self, row: dict[str, float] | None, when: str = "before") -> dict[str, Any]:
        """``centre``, ``size`` (+ ``z_sz``, ``x_sz``) of a steps row's ``before``/``after`` state,
        or of ``meta.json``'s ``state_after_init`` for ``row=None``."""
        names = self.reference.state
        if row is None:
            source = self.meta["state_after_init"]
            values = [float(source[n]) for n in names]
        else:
            values = [float(row[f"{when}_{n}"]) for n in names]
        out: dict[str, Any] = {"centre": tuple(values[0:2]), "size": tuple(values[2:4])}
        if len(values) > 4:
            out["z_sz"], out["x_sz"] = values[4], values[5]
        return out

    def recorded_box(self, row: dict[str, float]) -> np.ndarray:
        return np.array([row["box_x"], row["box_y"], row["box_w"], row["box_h"]])

    def crop_frames(self) -> list[int]:
        return sorted(int(k[len("x_crop_f"):]) for k in self.tensors if k.startswith("x_crop_f"))


def init_box(state: dict[str, Any]) -> np.ndarray:
    """The siambench init box whose centre ``x + (w − 1)/2`` is exactly the recorded centre."""
    (cx, cy), (w, h) = state["centre"], state["size"]
    box = np.array([cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])
    for axis, target in ((0, cx), (1, cy)):
        for _ in range(8):  # float rounding: move x (y) by single ulps until the centre is exact
            centre = box[axis] + (box[axis + 2] - 1) / 2
            if centre == target:
                break
            box[axis] = np.nextafter(box[axis], np.inf if centre < target else -np.inf)
    return box


def start(tracker: Any, case: Case) -> None:
    """Initialise ``tracker`` on frame 0 at the reference's state after init (exactly)."""
    state = case.state(None)
    tracker.init(case.frame(0), init_box(state))
    if tracker.state.centre != state["centre"]:
        raise AssertionError(f"init centre {tracker.state.centre} != recorded {state['centre']}")
    tracker.set_state(**state)


@dataclass
class Step:
    """One siambench step: the crops it fed the network (RGB uint8 ``(n, I, I, 3)``), the raw
    outputs, the state after, the returned box in the reference's convention, and the score."""

    crops: np.ndarray
    outputs: tuple[np.ndarray, ...]
    state: Any
    box: np.ndarray
    score: float


def run_step(tracker: Any, case: Case, index: int) -> Step:
    """Track frame ``index`` from the tracker's current state: what ``update`` does (crop →
    ``forward`` → ``finish``), with the crops and raw outputs kept."""
    from siambench.trackers._tensor import crops_to_tensor

    frame = case.frame(index)
    ref = case.reference
    if ref.tracker == "siamrpn":
        crop, scale_z = tracker.search_crop(frame)
        crops = crop[None]
        outputs = tracker.forward(crops_to_tensor([crop], bgr=tracker.bgr, device=tracker.device))
        out = tracker.finish(outputs, scale_z, frame.shape)
        raw = tuple(o.detach().cpu().numpy() for o in outputs)
    else:
        crops = tracker.search_crops(frame)
        outputs = tracker.forward(crops_to_tensor(list(crops), bgr=tracker.bgr, device=tracker.device))
        out = tracker.finish(outputs)
        raw = (outputs.detach().cpu().numpy(),)
    box = out.box + np.array([ref.box_origin, ref.box_origin, 0.0, 0.0])
    return Step(crops, raw, tracker.state, box, out.score)


def to_reference_layout(crops: np.ndarray, bgr: bool) -> np.ndarray:
    """RGB ``(n, H, W, 3)`` crops → the fixture's ``(n, 3, H, W)`` layout and channel order."""
    array = crops[..., ::-1] if bgr else crops
    return np.ascontiguousarray(array.transpose(0, 3, 1, 2))


def state_deviation(state: Any, expected: dict[str, Any]) -> float:
    """Max abs difference between a tracker state and a recorded one (pixels)."""
    values = [np.abs(np.subtract(state.centre, expected["centre"])).max(),
              np.abs(np.subtract(state.size, expected["size"])).max()]
    if "z_sz" in expected:
        values += [abs(state.z_sz - expected["z_sz"]), abs(state.x_sz - expected["x_sz"])]
    return float(max(values))
