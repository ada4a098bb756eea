"""The SiamRPN tracker (spec §3; pysot ``SiamRPNTracker``, DaSiamRPN ``SiamRPN_track``).

Per sequence: the 127 template crop's kernels are computed once (``model.template_kernels``).
Per frame: search crop of side ``round(s_x)``, ``s_x = s_z·instance/exemplar`` around the previous
centre (one affine warp, mean-colour border), ``model.track``, softmax, decode the k·S·S anchors,
scale/aspect change penalty ``exp(−(r_c·s_c − 1)·penalty_k)``, cosine window (``np.hanning`` outer
product, endpoints 0, not normalised, tiled k times) blended with ``window_influence``, best
anchor, centre moved by its offset, size interpolated at rate ``lr·penalty·score``, centre clipped
to ``[0, W] x [0, H]`` and size to ``[min_size, W] x [min_size, H]``.

Box convention (see :mod:`siambench.trackers.base`): centre ``x + (w − 1)/2``, output
``x = cx − (w − 1)/2`` (pysot writes ``cx − w/2``; a half-pixel shift we do not copy, so a static
target is returned unchanged). ``score`` is the chosen anchor's un-penalised foreground probability.

Reference behaviour (parameter sets of ``trackers/siamrpn/config.yaml``; ``tests/test_parity.py``
checks them frame for frame against the references' recorded outputs). siambench's defaults
differ from the references on purpose in four places, each a parameter:

- ``crop``: ``warp`` (default; one affine warp, border colour rounded) or the reference's own
  crop ``pysot`` / ``dasiamrpn`` / ``siamfc`` (pad with the mean colour, cut, ``cv2.resize``;
  :mod:`siambench.trackers.crops`). Same window; the pixels differ by 0.1–0.3 grey levels on
  average, up to ~25 at the window's edge rows and columns. ``tensor``: the warp's window
  sampled by torch on the network's device (:mod:`siambench.trackers.tensor_crops`; exact
  float bilinear, within half a grey level of ``warp`` on smooth images): on a GPU the frame
  goes over once and the host makes no crops.
- ``output_box``: ``pixel`` (default; ``x = cx − (w − 1)/2``, the inverse of the init convention)
  or ``continuous`` (``x = cx − w/2``: pysot and DaSiamRPN, half a pixel left of and above
  siambench's box).
- ``lr_source``: ``penalised`` (default; size rate ``penalty·score·lr``) or ``windowed``
  (``pscore·lr``, the cosine window blended in: siamrpn-pytorch).
- ``channel_order``: ``model`` (default; what the weights expect) or ``rgb`` / ``bgr``
  (siamrpn-pytorch feeds RGB to its BGR-trained DaSiamRPN weights).

Sets: ``pysot`` (STVIR/pysot ``siamrpn_alex_dwxcorr``: 0.16 / 0.40 / 0.30, search 287, pysot
crop, continuous box), ``dasiamrpn-vot``, ``dasiamrpn-otb``, ``dasiamrpn-big`` (DaSiamRPN's cfgs,
its Python-2 crop rounding, continuous box), ``siamrpn-pytorch`` (huanglianghua/siamrpn-pytorch:
DaSiamRPN-BIG numbers, siamfc-pytorch crop, windowed rate, RGB input, siambench's box). A
tracker on imported release weights uses its release's set unless ``params`` says otherwise.
What the test-script glue of each reference adds is not tracker behaviour and not reproduced:
the init box (pysot passes ``x + 0.5`` for 1-based OTB boxes, DaSiamRPN's ``test_otb.py``
subtracts 1 and floor-divides the size under Python 2, siamrpn-pytorch subtracts 1) and
1-based output (siamrpn-pytorch adds 1). Initialise siambench with the box whose centre
``x + (w − 1)/2`` is the reference's centre and the states agree.

State (:attr:`SiamRPNTracker.state`, :meth:`SiamRPNTracker.set_state`): the centre, size and
search size carried between frames; setting it moves the search without touching the template.

Stages: ``begin`` (init's state and template crop), ``search_crop`` / ``prepare``, ``forward``,
``finish`` (decision) and ``advance`` (state update); :meth:`SiamRPNTracker.batched` tracks many
sequences with one forward per step (:mod:`siambench.trackers.batched`) through the same stages.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from siambench.boxes import box_centres, cxcywh_to_xywh
from siambench.errors import SiambenchError
from siambench.trackers._tensor import channel_order, crops_to_tensor
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
    CROP_METHODS,
    context_size,
    crop_geometry,
    crop_reference,
    crop_window,
    mean_colour,
)
from siambench.trackers.gpu import GraphedForward, ieee_float32
from siambench.trackers.tensor_crops import crop_windows, frame_to_device

__all__ = ["SiamRPNBatch", "RPNDecision", "SiamRPNState", "SiamRPNTracker", "cosine_window", "rpn_decide",
           "rpn_decide_batch", "score_maps", "score_size"]

#: Values of the fidelity parameters (defaults first): see the module docstring.
OUTPUT_BOXES = ("pixel", "continuous")
LR_SOURCES = ("penalised", "windowed")
CHANNEL_ORDERS = ("model", "rgb", "bgr")


def score_size(instance_size: int, exemplar_size: int = 127, stride: int = 8) -> int:
    """Score-map side ``(instance − exemplar)/stride + 1`` (255 → 17, 271 → 19, 287 → 21)."""
    if instance_size <= exemplar_size or (instance_size - exemplar_size) % stride:
        raise SiambenchError(f"instance_size {instance_size} must exceed exemplar_size "
                             f"{exemplar_size} by a multiple of the stride {stride}")
    return (instance_size - exemplar_size) // stride + 1


def cosine_window(size: int, anchor_num: int) -> np.ndarray:
    """``np.outer(hanning(S), hanning(S))`` flattened and tiled ``anchor_num`` times: ``(k·S·S,)``."""
    window = np.outer(np.hanning(size), np.hanning(size)).reshape(-1)
    return np.tile(window, anchor_num)


@dataclass(frozen=True)
class RPNDecision:
    """The outcome of one frame's anchor selection (crop pixels relative to the crop centre).

    ``boxes`` ``(4, N)`` decoded ``cx, cy, w, h`` of every anchor; ``penalty``/``pscore`` ``(N,)``;
    ``best`` the chosen index; ``score`` its un-penalised score; ``rate`` = penalty·score·lr.
    """

    best: int
    score: float
    rate: float
    boxes: np.ndarray
    penalty: np.ndarray
    pscore: np.ndarray


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1.0 / ratio)


def _padded_size(w: np.ndarray | float, h: np.ndarray | float) -> np.ndarray | float:
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def rpn_decide(score: np.ndarray, deltas: np.ndarray, anchors: np.ndarray, window: np.ndarray,
               previous_size: tuple[float, float], *, penalty_k: float, window_influence: float,
               lr: float, lr_source: str = "penalised") -> RPNDecision:
    """Spec §3.2 steps 2–6 on flat maps (vectorised, no loops over anchors).

    ``score`` ``(N,)`` foreground probabilities; ``deltas`` ``(4, N)`` ``dx, dy, dw, dh``;
    ``anchors`` ``(N, 4)`` ``cx, cy, w, h`` (crop pixels relative to the centre); ``window`` ``(N,)``;
    ``previous_size`` the previous target ``(w, h)`` already scaled to crop pixels (·scale_z).
    ``lr_source``: ``"penalised"`` (rate = penalty·score·lr; pysot, DaSiamRPN) or ``"windowed"``
    (rate = pscore·lr, the window-blended score; siamrpn-pytorch).
    """
    aw, ah = anchors[:, 2], anchors[:, 3]
    boxes = np.empty_like(deltas, dtype=np.float64)
    boxes[0] = deltas[0] * aw + anchors[:, 0]
    boxes[1] = deltas[1] * ah + anchors[:, 1]
    boxes[2] = np.exp(deltas[2]) * aw
    boxes[3] = np.exp(deltas[3]) * ah
    prev_w, prev_h = previous_size
    s_c = _change(_padded_size(boxes[2], boxes[3]) / _padded_size(prev_w, prev_h))
    r_c = _change((prev_w / prev_h) / (boxes[2] / boxes[3]))
    penalty = np.exp(-(r_c * s_c - 1.0) * penalty_k)
    pscore = penalty * score * (1.0 - window_influence) + window * window_influence
    best = int(np.argmax(pscore))
    if lr_source == "windowed":
        rate = float(pscore[best] * lr)
    else:
        rate = float(penalty[best] * score[best] * lr)
    return RPNDecision(best, float(score[best]), rate, boxes, penalty, pscore)


def rpn_decide_batch(score: np.ndarray, deltas: np.ndarray, anchors: np.ndarray, window: np.ndarray,
                     previous_sizes: np.ndarray, *, penalty_k: float, window_influence: float,
                     lr: float, lr_source: str = "penalised"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rpn_decide` for ``n`` searches on one anchor grid at once (the same numbers).

    ``score`` ``(n, N)``; ``deltas`` ``(n, 4, N)``; ``previous_sizes`` ``(n, 2)`` (crop pixels).
    Returns ``best`` ``(n,)`` int, ``score`` ``(n,)`` (un-penalised, of the best anchor), ``rate``
    ``(n,)`` and the best anchor's decoded ``box`` ``(n, 4)`` ``cx, cy, w, h`` (crop pixels).
    """
    n = score.shape[0]
    aw, ah = anchors[:, 2], anchors[:, 3]
    boxes = np.empty_like(deltas, dtype=np.float64)
    boxes[:, 0] = deltas[:, 0] * aw + anchors[:, 0]
    boxes[:, 1] = deltas[:, 1] * ah + anchors[:, 1]
    boxes[:, 2] = np.exp(deltas[:, 2]) * aw
    boxes[:, 3] = np.exp(deltas[:, 3]) * ah
    prev_w = previous_sizes[:, 0:1]
    prev_h = previous_sizes[:, 1:2]
    s_c = _change(_padded_size(boxes[:, 2], boxes[:, 3]) / _padded_size(prev_w, prev_h))
    r_c = _change((prev_w / prev_h) / (boxes[:, 2] / boxes[:, 3]))
    penalty = np.exp(-(r_c * s_c - 1.0) * penalty_k)
    pscore = penalty * score * (1.0 - window_influence) + window * window_influence
    best = np.argmax(pscore, axis=1)
    rows = np.arange(n)
    if lr_source == "windowed":
        rate = pscore[rows, best] * lr
    else:
        rate = penalty[rows, best] * score[rows, best] * lr
    return best, score[rows, best], rate, boxes[rows, :, best]


def score_maps(outputs: tuple[torch.Tensor, torch.Tensor], anchor_num: int, side: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """The network's ``(cls, reg)`` for ``n`` searches as float64 foreground probabilities
    ``(n, k·S·S)`` (softmax over background / foreground) and offsets ``(n, 4, k·S·S)``."""
    cls, reg = outputs
    k = anchor_num
    if tuple(cls.shape[-3:]) != (2 * k, side, side) or tuple(reg.shape[-3:]) != (4 * k, side, side):
        raise SiambenchError(f"model outputs {tuple(cls.shape)} / {tuple(reg.shape)} do not fit "
                             f"k={k} anchors on a {side}x{side} score map")
    with torch.inference_mode():
        logits = cls.reshape(-1, 2, k * side * side)
        score_t = torch.sigmoid(logits[:, 1] - logits[:, 0])  # = softmax over (bg, fg), fg column
        score = score_t.double().cpu().numpy()
        deltas = reg.reshape(-1, 4, k * side * side).double().cpu().numpy()
    return score, deltas


@dataclass
class _Grid:
    instance_size: int
    score_size: int
    anchors: np.ndarray
    window: np.ndarray


@dataclass(frozen=True)
class SiamRPNState:
    """What a :class:`SiamRPNTracker` carries from frame to frame (besides the template).

    ``centre`` ``(cx, cy)`` in frame-array pixels (the init box's ``x + (w − 1)/2``); ``size``
    ``(w, h)``; ``instance_size`` the search-crop side chosen at init (DaSiamRPN's adaptive
    271 / 287). The next frame's context sizes follow from ``size``: ``s_z = sqrt((w + p)(h + p))``,
    ``p = context_amount·(w + h)``, ``s_x = s_z·instance_size/exemplar_size``.
    """

    centre: tuple[float, float]
    size: tuple[float, float]
    instance_size: int


def _choice(params: Mapping[str, Any], key: str, default: str, valid: Sequence[str]) -> str:
    value = str(params.get(key, default))
    if value not in valid:
        raise SiambenchError(f"parameter {key!r} must be one of {', '.join(valid)}, got {value!r}")
    return value


class SiamRPNTracker(Tracker):
    """SiamRPN tracking with a model following the contract (``template_kernels`` / ``track``).

    ``params`` is a complete parameter set (``trackers/siamrpn/config.yaml``). The model's
    ``config["channel_order"]`` decides whether RGB frames are flipped to BGR for the network
    (``channel_order`` ``rgb`` / ``bgr`` in ``params`` overrides it). :attr:`state` /
    :meth:`set_state` read and move the tracked target between frames.
    """

    deterministic = True

    def __init__(self, model: torch.nn.Module, params: Mapping[str, Any], *,
                 device: str | torch.device = "cpu", name: str = "siamrpn") -> None:
        from siambench.models.anchors import generate_anchors

        self.name = name
        self.params = dict(params)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        #: ``model.track`` replayed from CUDA graphs on a GPU (``graphs.enabled = False``: eager)
        self.graphs = GraphedForward(self._track)
        p = self.params
        self.crop_method = _choice(p, "crop", "warp", CROP_METHODS)
        self.output_box = _choice(p, "output_box", "pixel", OUTPUT_BOXES)
        self.lr_source = _choice(p, "lr_source", "penalised", LR_SOURCES)
        order = _choice(p, "channel_order", "model", CHANNEL_ORDERS)
        self.bgr = (channel_order(model) if order == "model" else order) == "bgr"
        self.anchor_num = len(p["anchor_ratios"]) * len(p["anchor_scales"])
        model_k = getattr(model, "anchor_num", self.anchor_num)
        if int(model_k) != self.anchor_num:
            raise SiambenchError(f"the model has {model_k} anchors per position but the parameters "
                                 f"give {self.anchor_num} (anchor_ratios x anchor_scales)")
        sizes = {int(p["instance_size"])}
        if p["adaptive"]:
            sizes.add(int(p["adaptive_instance_size"]))
        self._grids: dict[int, _Grid] = {}
        for size in sorted(sizes):
            side = score_size(size, int(p["exemplar_size"]), int(p["stride"]))
            anchors = np.asarray(generate_anchors(side, int(p["stride"]),
                                                  ratios=tuple(p["anchor_ratios"]),
                                                  scales=tuple(p["anchor_scales"])),
                                 dtype=np.float64)
            self._grids[size] = _Grid(size, side, anchors, cosine_window(side, self.anchor_num))
        self._kernels: Any = None
        self.centre = np.zeros(2)
        self.size = np.zeros(2)
        self._border: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._grid = self._grids[int(p["instance_size"])]
        self.last_decision: RPNDecision | None = None

    def _track(self, x: torch.Tensor, kernels: Any) -> Any:
        return self.model.track(x, kernels)  # looked up per call: a replaced model.track is seen

    # -- contract ------------------------------------------------------------------------------
    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Compute the template kernels of the target ``box`` (``x, y, w, h``) in ``frame``."""
        z = crops_to_tensor([self.begin(frame, box)], bgr=self.bgr, device=self.device)
        with torch.inference_mode(), ieee_float32(self.device):
            self._kernels = self.model.template_kernels(z)
        self.last_decision = None

    def update(self, frame: np.ndarray) -> TrackOutput:
        """Track one frame: crop, network, decision."""
        x, scale_z = self.prepare(frame)
        outputs = self.forward(x)
        return self.finish(outputs, scale_z, frame.shape)

    # -- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> SiamRPNState:
        """The target state the next :meth:`update` starts from (a frozen snapshot)."""
        return SiamRPNState((float(self.centre[0]), float(self.centre[1])),
                            (float(self.size[0]), float(self.size[1])), self._grid.instance_size)

    def set_state(self, state: SiamRPNState | None = None, *,
                  centre: Sequence[float] | None = None, size: Sequence[float] | None = None,
                  instance_size: int | None = None) -> None:
        """Move the target: the next :meth:`update` searches around ``centre`` at ``size``.

        Pass a :class:`SiamRPNState` (e.g. an earlier :attr:`state`) and/or single fields; fields
        not given keep their value. The template (the first frame's target) is not changed, so
        this serves re-detection experiments (restart the search elsewhere) and replaying one
        step of a recorded run. ``instance_size`` must be one this tracker's parameters provide
        (``instance_size``, or ``adaptive_instance_size`` when ``adaptive``).
        """
        if self._kernels is None:
            raise SiambenchError("SiamRPNTracker.set_state called before init: init computes the "
                                 "template that the state is tracked with")
        if state is not None:
            centre = state.centre if centre is None else centre
            size = state.size if size is None else size
            instance_size = state.instance_size if instance_size is None else instance_size
        new_centre = self.centre if centre is None else state_pair(centre, "centre")
        new_size = self.size if size is None else state_pair(size, "size", positive=True)
        grid = self._grid
        if instance_size is not None:
            if int(instance_size) not in self._grids:
                raise SiambenchError(f"instance_size {instance_size} is not available: this tracker "
                                     f"has search sizes {', '.join(map(str, self._grids))}")
            grid = self._grids[int(instance_size)]
        self.centre, self.size, self._grid = new_centre.copy(), new_size.copy(), grid

    # -- stages (timed separately by benchmarks/tracker_speed.py) ------------------------------
    def begin(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Init's first stage: set the state from ``box`` in ``frame`` (centre, size, border
        colour, search size) and return the template crop (the kernels are not computed)."""
        frame = check_frame(frame)
        x, y, w, h = check_box(box)
        p = self.params
        self.centre = box_centres([x, y, w, h])
        self.size = np.array([w, h])
        self._border = mean_colour(frame)
        instance = int(p["instance_size"])
        if p["adaptive"]:
            height, width = frame.shape[:2]
            if w * h / float(width * height) < float(p["adaptive_area_ratio"]):
                instance = int(p["adaptive_instance_size"])
        self._grid = self._grids[instance]
        return self.template_crop(frame)

    def _crop(self, frame: np.ndarray, size: float, out: int) -> np.ndarray | torch.Tensor:
        """A ``uint8`` ``(out, out, 3)`` array; ``crop: tensor``: a float32 tensor on the device."""
        if self.crop_method == "warp":
            return crop_window(frame, self.centre, size, out, self._border)
        if self.crop_method == "tensor":
            window = crop_geometry(self.centre, size, "tensor")
            return crop_windows(frame_to_device(frame, self.device), [window], out, self._border)[0]
        return crop_reference(frame, self.centre, size, out, self._border, self.crop_method)

    def template_crop(self, frame: np.ndarray) -> np.ndarray | torch.Tensor:
        """The RGB exemplar crop (``exemplar_size`` square) at the current state (``uint8``; a
        float32 tensor on the device with ``crop: tensor``)."""
        p = self.params
        s_z = context_size(self.size[0], self.size[1], float(p["context_amount"]))
        if self.crop_method in ("warp", "tensor"):
            s_z = round(s_z)  # pysot's round(s_z) at init (the search side is rounded by the crop)
        return self._crop(check_frame(frame), s_z, int(p["exemplar_size"]))

    def search_crop(self, frame: np.ndarray) -> tuple[np.ndarray | torch.Tensor, float]:
        """The RGB search crop (``instance_size`` square; as :meth:`template_crop`) at the
        current state, and ``scale_z = exemplar / s_z``."""
        p = self.params
        s_z = context_size(self.size[0], self.size[1], float(p["context_amount"]))
        scale_z = float(p["exemplar_size"]) / s_z
        s_x = s_z * self._grid.instance_size / float(p["exemplar_size"])
        return self._crop(check_frame(frame), s_x, self._grid.instance_size), scale_z

    def search_windows(self) -> list[tuple[int, int, int]]:
        """``[(xmin, ymin, side)]``: the frame-array window the next search crop cuts (one)."""
        p = self.params
        s_z = context_size(self.size[0], self.size[1], float(p["context_amount"]))
        s_x = s_z * self._grid.instance_size / float(p["exemplar_size"])
        return [crop_geometry(self.centre, s_x, self.crop_method)]

    def prepare(self, frame: np.ndarray) -> tuple[torch.Tensor, float]:
        """The search crop as a ``(1, 3, I, I)`` tensor, and ``scale_z = exemplar / s_z``."""
        if self._kernels is None:
            raise SiambenchError("SiamRPNTracker.update called before init")
        crop, scale_z = self.search_crop(frame)
        return crops_to_tensor([crop], bgr=self.bgr, device=self.device), scale_z

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``model.track`` with the cached template kernels, under ``torch.inference_mode``
        (replayed from a CUDA graph on a GPU: :attr:`graphs`)."""
        with torch.inference_mode():
            return self.graphs(x, self._kernels)

    def finish(self, outputs: tuple[torch.Tensor, torch.Tensor], scale_z: float,
               frame_shape: tuple[int, ...]) -> TrackOutput:
        """Softmax, decode, penalty, window, update and clip (spec §3.2)."""
        score, deltas = score_maps(outputs, self.anchor_num, self._grid.score_size)
        p = self.params
        decision = rpn_decide(score[0], deltas[0], self._grid.anchors, self._grid.window,
                              (self.size[0] * scale_z, self.size[1] * scale_z),
                              penalty_k=float(p["penalty_k"]),
                              window_influence=float(p["window_influence"]), lr=float(p["lr"]),
                              lr_source=self.lr_source)
        self.last_decision = decision
        return self.advance(decision.boxes[:, decision.best] / scale_z, decision.rate,
                            decision.score, frame_shape)

    def advance(self, box: np.ndarray, rate: float, score: float,
                frame_shape: tuple[int, ...]) -> TrackOutput:
        """The last stage: move the centre by the chosen anchor's ``box`` (``dx, dy, w, h`` frame
        pixels relative to the centre), interpolate the size at ``rate``, clip, answer."""
        p = self.params
        lr = rate
        cx = self.centre[0] + box[0]
        cy = self.centre[1] + box[1]
        width = self.size[0] * (1 - lr) + box[2] * lr
        height = self.size[1] * (1 - lr) + box[3] * lr
        frame_h, frame_w = frame_shape[0], frame_shape[1]
        min_size = float(p["min_size"])
        cx = min(max(cx, 0.0), float(frame_w))
        cy = min(max(cy, 0.0), float(frame_h))
        width = max(min_size, min(width, float(frame_w)))  # pysot _bbox_clip order
        height = max(min_size, min(height, float(frame_h)))
        self.centre = np.array([cx, cy])
        self.size = np.array([width, height])
        if self.output_box == "continuous":
            out = np.array([cx - width / 2, cy - height / 2, width, height])
        else:
            out = cxcywh_to_xywh([cx, cy, width, height])
        return TrackOutput(out, score)

    def batched(self, capacity: int) -> BatchTracker:
        """A :class:`SiamRPNBatch` of ``capacity`` slots sharing this
        tracker's network, parameters and device."""
        return SiamRPNBatch(self, capacity)


class SiamRPNBatch(SlotBatch):
    """``capacity`` SiamRPN sequences tracked at once (see the module docstring)."""

    cpu_chunk = 8
    cpu_channels_last = True

    @staticmethod
    def _fresh(tracker: SiamRPNTracker) -> SiamRPNTracker:
        slot = copy.copy(tracker)
        slot._kernels = None
        slot.last_decision = None
        slot.centre, slot.size = np.zeros(2), np.zeros(2)
        return slot

    def _template(self, z: torch.Tensor) -> Any:
        return self.model.template_kernels(z)

    @staticmethod
    def _set_kernels(slot: SiamRPNTracker, kernels: Any) -> None:
        slot._kernels = kernels

    def update_slots(self, slots: Sequence[int], frames: Sequence[np.ndarray]) -> list[TrackOutput]:
        """Each slot's next box: search crops, one network forward per search size, decisions."""
        numbers, frames, answers = self._update_prologue(slots, frames)
        if answers is not None:
            return answers
        results: list[TrackOutput | None] = [None] * len(numbers)
        crops, scales = [], []
        groups: dict[int, list[int]] = {}
        for i, (slot, frame) in enumerate(zip(numbers, frames, strict=True)):
            tracker = self._slots[slot]
            crop, scale_z = tracker.search_crop(frame)
            crops.append(crop)
            scales.append(scale_z)
            groups.setdefault(tracker._grid.instance_size, []).append(i)
        p = self.tracker.params
        for members in groups.values():
            members.sort(key=lambda i: numbers[i])  # consecutive slots: the kernels are a view
            trackers = [self._slots[numbers[i]] for i in members]
            grid = trackers[0]._grid
            scores, offsets = [], []
            for part in self._chunks(members):
                padded = self._padded(part)  # CUDA graphs: a few fixed batch sizes
                x = crops_to_tensor([crops[i] for i in padded], bgr=self.bgr, device=self.device,
                                    pin=True)
                kernels = self._bank.take([numbers[i] for i in padded])
                with torch.inference_mode():
                    outputs = self.graphs(x, kernels)
                score, deltas = score_maps(outputs, self.tracker.anchor_num, grid.score_size)
                if score.shape[0] != len(padded):
                    raise SiambenchError(f"the model answered {score.shape[0]} score maps for "
                                         f"{len(padded)} search images")
                scores.append(score[:len(part)])
                offsets.append(deltas[:len(part)])
            previous = np.array([[t.size[0] * scales[i], t.size[1] * scales[i]]
                                 for t, i in zip(trackers, members, strict=True)])
            _, best_score, rate, box = rpn_decide_batch(
                np.concatenate(scores), np.concatenate(offsets), grid.anchors, grid.window, previous,
                penalty_k=float(p["penalty_k"]), window_influence=float(p["window_influence"]),
                lr=float(p["lr"]), lr_source=self.tracker.lr_source)
            for j, (tracker, i) in enumerate(zip(trackers, members, strict=True)):
                results[i] = tracker.advance(box[j] / scales[i], float(rate[j]), float(best_score[j]),
                                             frames[i].shape)
        return results  # type: ignore[return-value]
