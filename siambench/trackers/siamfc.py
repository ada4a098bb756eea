"""The SiamFC tracker (spec §4.2; siamfc-pytorch ``TrackerSiamFC``, SiamFC-3s defaults).

Per frame: ``scale_num`` search crops of side ``x_sz·f`` (``f = scale_step^{−n//2 … n//2}``,
siamfc-pytorch crop corners, mean-colour border) batched through ``model.track``; each response
upsampled ×``response_up`` bicubically (17 → 272), the non-central scales multiplied by
``scale_penalty``; the scale with the highest peak wins; its map has its minimum subtracted, is
divided by its sum and blended with a hanning window normalised to sum 1 (``window_influence``);
the peak's displacement from the map centre ``(U − 1)/2`` becomes
``disp·total_stride/response_up·x_sz·f/instance_size`` image pixels. Sizes are scaled by
``(1 − scale_lr) + scale_lr·f``. The template is never updated, nothing is clipped (as the
reference). ``score`` = sigmoid of the chosen scale's (un-penalised) upsampled peak (the network
is trained with a logistic loss on its response).
Box convention as :mod:`siambench.trackers.base` (centre ``x + (w − 1)/2``).

Reference behaviour: the ``siamfc-pytorch`` set (``trackers/siamfc/config.yaml``) reproduces
huanglianghua/siamfc-pytorch's ``TrackerSiamFC`` frame for frame (``tests/test_parity.py``). It
differs from the default set in one parameter: ``crop: siamfc`` (pad with the mean colour, cut,
``cv2.resize``) instead of siambench's one-warp crop (``warp``: same window, pixels 0.1–0.3 grey
levels apart on average). siamfc-pytorch keeps its centre and size in float32 (siambench:
float64; the boxes agree to ~1e-5 px) and its test glue reads 1-based OTB boxes (centre
``x − 1 + (w − 1)/2``) and answers 1-based; siambench answers in the frame it was given, so
initialising it with the 0-based box gives siamfc-pytorch's boxes minus 1. ``crop: tensor``
samples the warp's windows with torch on the network's device (all scales from one copy of the
frame; :mod:`siambench.trackers.tensor_crops`).

State (:attr:`SiamFCTracker.state`, :meth:`SiamFCTracker.set_state`): centre, size and the
exemplar / search context sides ``z_sz`` / ``x_sz``.

Stages: ``begin`` (init's state and template crop), ``search_crops`` / ``prepare``, ``forward``,
``finish`` (decision) and ``advance`` (state update); :meth:`SiamFCTracker.batched` tracks many
sequences with one forward per step (:mod:`siambench.trackers.batched`) through the same stages.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from siambench.boxes import box_centres, cxcywh_to_xywh
from siambench.errors import SiambenchError
from siambench.trackers._tensor import array_to_tensor, channel_order, crops_to_tensor
from siambench.trackers.base import (
    BatchTracker,
    Tracker,
    TrackOutput,
    check_box,
    check_frame,
    state_pair,
)
from siambench.trackers.batched import SlotBatch
from siambench.trackers.crops import (
    context_size,
    crop_geometry,
    crop_reference,
    crop_window,
    mean_colour,
)
from siambench.trackers.gpu import GraphedForward, ieee_float32
from siambench.trackers.tensor_crops import crop_windows, frame_to_device

__all__ = ["SiamFCBatch", "FCDecision", "SiamFCState", "SiamFCTracker", "fc_decide", "fc_decide_batch",
           "scale_factors", "upsample_responses"]

#: ``crop`` values: siambench's one-warp crop (siamfc-pytorch corners) or siamfc-pytorch's own.
FC_CROP_METHODS = ("warp", "siamfc", "tensor")


def scale_factors(scale_num: int, scale_step: float) -> np.ndarray:
    """``scale_step ** linspace(−(n // 2), n // 2, n)`` (3 scales: 1.0375^{−1, 0, 1})."""
    half = scale_num // 2
    return scale_step ** np.linspace(-half, half, scale_num)


def upsample_responses(responses: np.ndarray, size: int) -> np.ndarray:
    """``(n, S, S)`` responses resized bicubically to ``(n, size, size)`` in one ``cv2.resize``."""
    stacked = np.ascontiguousarray(np.transpose(responses.astype(np.float32), (1, 2, 0)))
    up = cv2.resize(stacked, (size, size), interpolation=cv2.INTER_CUBIC)
    if up.ndim == 2:
        up = up[:, :, None]
    return np.ascontiguousarray(np.transpose(up, (2, 0, 1)))


@dataclass(frozen=True)
class FCDecision:
    """Chosen ``scale`` index, peak ``loc`` ``(row, col)`` in the upsampled map, displacement
    ``disp`` ``(dx, dy)`` in image pixels, and ``peak`` (the chosen map's un-penalised maximum)."""

    scale: int
    loc: tuple[int, int]
    disp: np.ndarray
    peak: float


def fc_decide(responses: np.ndarray, window: np.ndarray, factors: np.ndarray, x_sz: float, *,
              scale_penalty: float, window_influence: float, total_stride: int,
              response_up: int, instance_size: int) -> FCDecision:
    """Spec §4.2 decision on upsampled responses ``(n, U, U)`` (not modified)."""
    n = responses.shape[0]
    penalties = np.full(n, scale_penalty, dtype=np.float64)
    penalties[n // 2] = 1.0
    peaks = responses.reshape(n, -1).max(axis=1).astype(np.float64)
    scale = int(np.argmax(peaks * penalties))
    response = responses[scale].astype(np.float64)
    response = response - response.min()
    response = response / (response.sum() + 1e-16)
    response = (1 - window_influence) * response + window_influence * window
    row, col = np.unravel_index(int(np.argmax(response)), response.shape)
    centre = (response.shape[0] - 1) / 2
    disp_response = np.array([col - centre, row - centre], dtype=np.float64)
    disp = disp_response * total_stride / response_up * x_sz * factors[scale] / instance_size
    return FCDecision(scale, (int(row), int(col)), disp, float(peaks[scale]))


def fc_decide_batch(responses: np.ndarray, window: np.ndarray, factors: np.ndarray,
                    x_sz: np.ndarray, *, scale_penalty: float, window_influence: float,
                    total_stride: int, response_up: int, instance_size: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`fc_decide` for ``m`` searches at once (the same numbers).

    ``responses`` ``(m, n, U, U)`` upsampled (not modified); ``x_sz`` ``(m,)``. Returns the chosen
    ``scale`` ``(m,)``, ``loc`` ``(m, 2)`` ``(row, col)``, ``disp`` ``(m, 2)`` ``(dx, dy)`` image
    pixels and ``peak`` ``(m,)`` (the chosen map's un-penalised maximum).
    """
    m, n = responses.shape[:2]
    penalties = np.full(n, scale_penalty, dtype=np.float64)
    penalties[n // 2] = 1.0
    peaks = responses.reshape(m, n, -1).max(axis=2).astype(np.float64)
    scale = np.argmax(peaks * penalties, axis=1)
    rows = np.arange(m)
    response = responses[rows, scale].astype(np.float64).reshape(m, -1)
    response = response - response.min(axis=1, keepdims=True)
    sums = np.array([row.sum() for row in response])  # one row at a time: fc_decide's summation
    response = response / (sums[:, None] + 1e-16)
    response = (1 - window_influence) * response + window_influence * window.reshape(1, -1)
    row, col = np.unravel_index(np.argmax(response, axis=1), responses.shape[2:])
    centre = (responses.shape[2] - 1) / 2
    disp_response = np.stack([col - centre, row - centre], axis=1).astype(np.float64)
    disp = (disp_response * total_stride / response_up * np.asarray(x_sz, dtype=np.float64)[:, None]
            * factors[scale][:, None] / instance_size)
    return scale, np.stack([row, col], axis=1), disp, peaks[rows, scale]


@dataclass(frozen=True)
class SiamFCState:
    """What a :class:`SiamFCTracker` carries from frame to frame (besides the template).

    ``centre`` ``(cx, cy)`` in frame-array pixels (the init box's ``x + (w − 1)/2``); ``size``
    ``(w, h)``; ``z_sz`` the exemplar context side ``sqrt((w + p)(h + p))``, ``p = context·(w + h)``,
    and ``x_sz = z_sz·instance/exemplar`` the search side at scale 1. All three sizes are multiplied
    by the same factor after each frame, so ``z_sz`` and ``x_sz`` follow ``size``; they are kept
    (as siamfc-pytorch keeps them) rather than recomputed.
    """

    centre: tuple[float, float]
    size: tuple[float, float]
    z_sz: float
    x_sz: float


def _side(value: float, what: str) -> float:
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise SiambenchError(f"tracker state {what} must be a finite positive number, got {value!r}")
    return number


class SiamFCTracker(Tracker):
    """SiamFC tracking with a model following the contract (``template_features`` / ``track``)."""

    deterministic = True

    def __init__(self, model: torch.nn.Module, params: Mapping[str, Any], *,
                 device: str | torch.device = "cpu", name: str = "siamfc") -> None:
        self.name = name
        self.params = dict(params)
        p = self.params
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        #: ``model.track`` replayed from CUDA graphs on a GPU (``graphs.enabled = False``: eager)
        self.graphs = GraphedForward(self._track)
        self.bgr = channel_order(model) == "bgr"
        self.crop_method = str(p.get("crop", "warp"))
        if self.crop_method not in FC_CROP_METHODS:
            raise SiambenchError(f"parameter 'crop' must be one of {', '.join(FC_CROP_METHODS)}, "
                                 f"got {self.crop_method!r}")
        exemplar, instance = int(p["exemplar_size"]), int(p["instance_size"])
        stride = int(p["total_stride"])
        if instance <= exemplar or (instance - exemplar) % stride:
            raise SiambenchError(f"instance_size {instance} must exceed exemplar_size {exemplar} "
                                 f"by a multiple of total_stride {stride}")
        if int(p["scale_num"]) < 1:
            raise SiambenchError(f"scale_num must be at least 1, got {p['scale_num']}")
        self.response_size = (instance - exemplar) // stride + 1
        self.upscale_size = int(p["response_up"]) * self.response_size
        window = np.outer(np.hanning(self.upscale_size), np.hanning(self.upscale_size))
        self.window = window / window.sum()
        self.factors = scale_factors(int(p["scale_num"]), float(p["scale_step"]))
        self._features: Any = None
        self.centre = np.zeros(2)
        self.size = np.zeros(2)
        self.z_sz = 0.0
        self.x_sz = 0.0
        self._border: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.last_decision: FCDecision | None = None

    def _track(self, x: torch.Tensor, kernels: Any) -> Any:
        return self.model.track(x, kernels)  # looked up per call: a replaced model.track is seen

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Compute the template features of the target ``box`` (``x, y, w, h``) in ``frame``."""
        z = crops_to_tensor([self.begin(frame, box)], bgr=self.bgr, device=self.device)
        with torch.inference_mode(), ieee_float32(self.device):
            self._features = self.model.template_features(z)
        self.last_decision = None

    def update(self, frame: np.ndarray) -> TrackOutput:
        """Track one frame: crops, network, decision."""
        return self.finish(self.forward(self.prepare(frame)))

    # -- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> SiamFCState:
        """The target state the next :meth:`update` starts from (a frozen snapshot)."""
        return SiamFCState((float(self.centre[0]), float(self.centre[1])),
                           (float(self.size[0]), float(self.size[1])), float(self.z_sz), float(self.x_sz))

    def set_state(self, state: SiamFCState | None = None, *,
                  centre: Sequence[float] | None = None, size: Sequence[float] | None = None,
                  z_sz: float | None = None, x_sz: float | None = None) -> None:
        """Move the target: the next :meth:`update` searches around ``centre`` at ``size``.

        Pass a :class:`SiamFCState` (e.g. an earlier :attr:`state`) and/or single fields; fields not
        given keep their value, except that a new ``size`` without ``z_sz`` recomputes ``z_sz``
        from it (as init does) and a new ``z_sz`` without ``x_sz`` recomputes ``x_sz``. The
        template is not changed (re-detection experiments, replaying one recorded step).
        """
        if self._features is None:
            raise SiambenchError("SiamFCTracker.set_state called before init: init computes the "
                                 "template that the state is tracked with")
        p = self.params
        if state is not None:
            centre = state.centre if centre is None else centre
            size = state.size if size is None else size
            z_sz = state.z_sz if z_sz is None else z_sz
            x_sz = state.x_sz if x_sz is None else x_sz
        new_centre = self.centre if centre is None else state_pair(centre, "centre")
        new_size = self.size if size is None else state_pair(size, "size", positive=True)
        if z_sz is not None:
            new_z = _side(z_sz, "z_sz")
        elif size is not None:
            new_z = context_size(new_size[0], new_size[1], float(p["context_amount"]))
        else:
            new_z = self.z_sz
        if x_sz is not None:
            new_x = _side(x_sz, "x_sz")
        elif new_z != self.z_sz:
            new_x = new_z * int(p["instance_size"]) / int(p["exemplar_size"])
        else:
            new_x = self.x_sz
        self.centre, self.size = new_centre.copy(), new_size.copy()
        self.z_sz, self.x_sz = new_z, new_x

    # -- stages ----------------------------------------------------------------------------------
    def begin(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Init's first stage: set the state from ``box`` in ``frame`` (centre, size, context
        sides, border colour) and return the exemplar crop (the features are not computed)."""
        frame = check_frame(frame)
        x, y, w, h = check_box(box)
        p = self.params
        self.centre = box_centres([x, y, w, h])
        self.size = np.array([w, h])
        self.z_sz = context_size(w, h, float(p["context_amount"]))
        self.x_sz = self.z_sz * int(p["instance_size"]) / int(p["exemplar_size"])
        self._border = mean_colour(frame)
        return self.template_crop(frame)

    def _crops(self, frame: np.ndarray, sizes: list[float], out: int) -> np.ndarray | torch.Tensor:
        """``(n, out, out, 3)`` crops of sides ``sizes``: ``uint8``; with ``crop: tensor`` a
        float32 tensor on the device (the frame copied there once)."""
        if self.crop_method == "tensor":
            windows = [crop_geometry(self.centre, size, "siamfc-warp") for size in sizes]
            return crop_windows(frame_to_device(frame, self.device), windows, out, self._border)
        if self.crop_method == "siamfc":
            return np.stack([crop_reference(frame, self.centre, size, out, self._border, "siamfc")
                             for size in sizes])
        return np.stack([crop_window(frame, self.centre, size, out, self._border, corner="siamfc")
                         for size in sizes])

    def template_crop(self, frame: np.ndarray) -> np.ndarray | torch.Tensor:
        """The RGB exemplar crop (side ``z_sz``, resized to ``exemplar_size``; ``uint8``, or a
        float32 tensor on the device with ``crop: tensor``)."""
        return self._crops(check_frame(frame), [self.z_sz], int(self.params["exemplar_size"]))[0]

    def search_crops(self, frame: np.ndarray) -> np.ndarray | torch.Tensor:
        """The ``scale_num`` RGB search crops ``(n, I, I, 3)`` (sides ``x_sz·f``; as
        :meth:`template_crop`)."""
        frame = check_frame(frame)
        instance = int(self.params["instance_size"])
        return self._crops(frame, [self.x_sz * f for f in self.factors], instance)

    def search_windows(self) -> list[tuple[int, int, int]]:
        """``[(xmin, ymin, side)]`` per scale: the frame-array windows the next search crops cut."""
        method = "siamfc" if self.crop_method == "siamfc" else "siamfc-warp"
        return [crop_geometry(self.centre, self.x_sz * f, method) for f in self.factors]

    def prepare(self, frame: np.ndarray) -> torch.Tensor:
        """The ``scale_num`` search crops as a ``(n, 3, I, I)`` tensor."""
        if self._features is None:
            raise SiambenchError("SiamFCTracker.update called before init")
        return crops_to_tensor(list(self.search_crops(frame)), bgr=self.bgr, device=self.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``model.track`` for all scales against the cached template features."""
        with torch.inference_mode():
            return self.graphs(x, self._features)

    def finish(self, responses: torch.Tensor) -> TrackOutput:
        """Upsample, choose the scale, move the centre and rescale (spec §4.2)."""
        p = self.params
        with torch.inference_mode():
            maps = responses.reshape(responses.shape[0], responses.shape[-2],
                                     responses.shape[-1]).float().cpu().numpy()
        if maps.shape != (len(self.factors), self.response_size, self.response_size):
            raise SiambenchError(f"model response {tuple(responses.shape)} does not fit "
                                 f"{len(self.factors)} scales of {self.response_size}x"
                                 f"{self.response_size}")
        up = upsample_responses(maps, self.upscale_size)
        decision = fc_decide(up, self.window, self.factors, self.x_sz,
                             scale_penalty=float(p["scale_penalty"]),
                             window_influence=float(p["window_influence"]),
                             total_stride=int(p["total_stride"]),
                             response_up=int(p["response_up"]),
                             instance_size=int(p["instance_size"]))
        self.last_decision = decision
        return self.advance(decision.scale, decision.disp, decision.peak)

    def advance(self, scale_index: int, disp: np.ndarray, peak: float) -> TrackOutput:
        """The last stage: move the centre by ``disp`` (image pixels), rescale the size and the
        context sides by scale ``scale_index``'s damped factor, answer with sigmoid(``peak``)."""
        p = self.params
        self.centre = self.centre + disp
        scale = (1 - float(p["scale_lr"])) + float(p["scale_lr"]) * self.factors[scale_index]
        self.size = self.size * scale
        self.z_sz *= scale
        self.x_sz *= scale
        box = cxcywh_to_xywh(np.concatenate([self.centre, self.size]))
        score = 1.0 / (1.0 + math.exp(-max(min(peak, 700.0), -700.0)))
        return TrackOutput(box, score)

    def batched(self, capacity: int) -> BatchTracker:
        """A :class:`SiamFCBatch` of ``capacity`` slots sharing this
        tracker's network, parameters and device."""
        return SiamFCBatch(self, capacity)


class SiamFCBatch(SlotBatch):
    """``capacity`` SiamFC sequences tracked at once, all scales of a step's slots in one forward
    (per :attr:`chunk` slots: on the CPU one slot per forward by default)."""

    cpu_chunk = 1

    @staticmethod
    def _fresh(tracker: SiamFCTracker) -> SiamFCTracker:
        slot = copy.copy(tracker)
        slot._features = None
        slot.last_decision = None
        slot.centre, slot.size = np.zeros(2), np.zeros(2)
        slot.z_sz = slot.x_sz = 0.0
        return slot

    def _template(self, z: torch.Tensor) -> Any:
        return self.model.template_features(z)

    @staticmethod
    def _set_kernels(slot: SiamFCTracker, kernels: Any) -> None:
        slot._features = kernels

    def update_slots(self, slots: Sequence[int], frames: Sequence[np.ndarray]) -> list[TrackOutput]:
        """Each slot's next box: all scale crops of all slots in one network forward."""
        numbers, frames, answers = self._update_prologue(slots, frames)
        if answers is not None:
            return answers
        if not numbers:
            return []
        order = sorted(range(len(numbers)), key=lambda i: numbers[i])  # consecutive: a kernel view
        trackers = {i: self._slots[numbers[i]] for i in order}
        s = len(self.tracker.factors)
        instance = int(self.tracker.params["instance_size"])
        side = self.tracker.response_size
        up = []
        for part in self._chunks(order):
            n = len(part)
            padded = self._padded(part)  # CUDA graphs: a few fixed batch sizes
            b = len(padded)
            crops = [trackers[i].search_crops(frames[i]) for i in part]
            crops += [crops[-1]] * (b - n)
            if isinstance(crops[0], torch.Tensor):  # crop: tensor, on the device already
                batch: np.ndarray | torch.Tensor = torch.stack(crops, dim=1)  # scale-major
            else:
                batch = np.stack(crops, axis=1)
            x = array_to_tensor(batch.reshape(s * b, instance, instance, 3), bgr=self.bgr,
                                device=self.device, pin=True)
            features = self._bank.take([numbers[i] for i in padded])
            with torch.inference_mode():
                responses = self.graphs(x, features)
                if responses.numel() != s * b * side * side or tuple(responses.shape[-2:]) != (side, side):
                    raise SiambenchError(f"model response {tuple(responses.shape)} does not fit "
                                         f"{s} scales x {b} slots of {side}x{side}")
                maps = responses.reshape(s, b, side, side)[:, :n].float().cpu().numpy()
            up.extend(upsample_responses(maps[:, j], self.tracker.upscale_size) for j in range(n))
        p = self.tracker.params
        scale, _, disp, peak = fc_decide_batch(
            np.stack(up), self.tracker.window, self.tracker.factors,
            np.array([trackers[i].x_sz for i in order]),
            scale_penalty=float(p["scale_penalty"]), window_influence=float(p["window_influence"]),
            total_stride=int(p["total_stride"]), response_up=int(p["response_up"]),
            instance_size=instance)
        results: list[TrackOutput | None] = [None] * len(numbers)
        for j, i in enumerate(order):
            results[i] = trackers[i].advance(int(scale[j]), disp[j], float(peak[j]))
        return results  # type: ignore[return-value]
