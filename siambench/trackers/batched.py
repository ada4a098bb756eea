"""Batched Siamese trackers: many sequences, few network forwards per step (``--batch N``).

:class:`SlotBatch` is the common part of :class:`~siambench.trackers.siamrpn.SiamRPNBatch` and
:class:`~siambench.trackers.siamfc.SiamFCBatch`, the
:class:`~siambench.trackers.base.BatchTracker` of
:class:`~siambench.trackers.siamrpn.SiamRPNTracker` and
:class:`~siambench.trackers.siamfc.SiamFCTracker` (made by their ``batched(capacity)``). They share
the tracker's network, parameters, device and name, and keep one *slot tracker* per slot: a
shallow copy of the tracker holding that slot's state (centre, size, border colour, search size).
The crops and the per-slot state updates are the single tracker's own stages (``begin``,
``search_crop(s)``, ``advance``), so batch and single tracker cannot drift apart; only the
network calls and the decisions are batched:

- ``init_slots``: all template crops in one ``template_kernels`` / ``template_features`` call;
  each slot's kernels are copied into a bank of ``capacity`` slots (up-channel kernels: template
  ``t`` owns rows ``t·m … t·m + m − 1``; depth-wise kernels and SiamFC features: row ``t``).
- ``update_slots``: every slot's search crop(s); SiamRPN slots are grouped by search size
  (DaSiamRPN's adaptive 271 / 287), one ``model.track`` per group (per :attr:`chunk` slots of
  it) with the slots' kernels (image ``i`` uses template ``i``); SiamFC's ``scale_num`` crops of
  all slots (of a :attr:`chunk`) go through one ``model.track``, scale-major (image ``s·n + i``
  is slot ``i``'s scale ``s``: template ``i = image % n``). Softmax, decoding, penalty, window
  and argmax run on ``(n, …)`` arrays (:func:`~siambench.trackers.siamrpn.rpn_decide_batch`,
  :func:`~siambench.trackers.siamfc.fc_decide_batch`); SiamFC's bicubic upsampling stays one
  ``cv2.resize`` per slot (OpenCV's many-channel resize rounds differently).

:attr:`chunk` caps the slots per network forward (None: every slot of a step in one forward,
the default on an accelerator); the results do not depend on it. On a CPU the default is
:attr:`cpu_chunk` (SiamRPN 8, SiamFC 1), because there a large batch pays little: the
convolutions of 255-pixel searches already run near the CPU's matmul rate at batch 1
(``benchmarks/tracker_speed.py``: 0.88-0.95 of it on 2 threads), the activations of many images
overflow the caches, and SiamFC's grouped correlation with many templates is 2.5x slower per
sequence than one template's plain convolution. SiamRPN's batch runs a channels-last copy of the
network on the CPU (:attr:`cpu_channels_last`; the tracker's own network is not touched), where
forwards of 8 slots reach 1.2-1.3x the single tracker's frames/s with the bundled network; SiamFC
forwards of 1-2 slots match the single tracker, of 4-32 slots reach 0.67-0.75x of it. Set
``batch.chunk = None`` to force one forward per step.

Results equal the single tracker's up to the float rounding of a batched convolution (boxes
within 1e-3 px; ``tests/test_batched_trackers.py``). Models whose template output is not one of
the known kernel types (:class:`~siambench.models.heads.UpChannelKernels`,
:class:`~siambench.models.heads.DepthwiseKernels`, a tensor) are run one slot at a time, with
the same results. On CUDA the stacked crops are staged in pinned memory and copied once per
forward; the network outputs come back to the host once per forward. On CUDA the forwards are
replayed from CUDA graphs (:mod:`siambench.trackers.gpu`), each padded to the next power
of two of slots (repeating its last slot; the padding's outputs are dropped), so a run captures
at most ``log2(capacity) + 1`` graphs per search size.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from siambench.errors import SiambenchError
from siambench.models.heads import DepthwiseKernels, UpChannelKernels
from siambench.trackers._tensor import crops_to_tensor
from siambench.trackers.base import BatchTracker, TrackOutput, check_box, check_frame
from siambench.trackers.gpu import GraphedForward, graph_batch_size, ieee_float32

__all__ = ["SlotBatch"]


def _buffer_like(part: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Zeros of ``shape`` with ``part``'s dtype, device and memory format (a channels-last template
    output stays channels-last, so a slot's kernels have the single tracker's layout)."""
    channels_last = (part.ndim == 4 and not part.is_contiguous()
                     and part.is_contiguous(memory_format=torch.channels_last))
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return torch.zeros(shape, dtype=part.dtype, device=part.device).contiguous(memory_format=layout)


class _KernelBank:
    """Per-slot template kernels in ``capacity``-slot buffers on the network's device.

    :meth:`store` splits a template call's output for ``T`` templates into its slots;
    :meth:`take` gives the kernels of some slots in the layout ``model.track`` expects for
    ``len(slots)`` templates (a view when the slots are consecutive and ascending, else one
    gather). :meth:`split` returns None for an unknown kernel type (the batch then runs the
    network one slot at a time).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kind: str | None = None
        self._buffers: list[torch.Tensor] = []
        self._rows: list[int] = []

    @staticmethod
    def split(kernels: Any, templates: int) -> tuple[str, list[torch.Tensor]] | None:
        """``(kind, parts)`` of a template call's output for ``templates`` templates, or None."""
        if isinstance(kernels, UpChannelKernels) and kernels.templates == templates:
            return "up-channel", [kernels.cls, kernels.reg]
        if isinstance(kernels, DepthwiseKernels):
            parts = [kernels.cls, kernels.reg]
            kind = "depthwise"
        elif isinstance(kernels, torch.Tensor):
            parts, kind = [kernels], "tensor"
        else:
            return None
        if any(part.ndim < 1 or part.shape[0] % templates for part in parts):
            return None
        return kind, parts

    def store(self, slots: Sequence[int], kind: str, parts: list[torch.Tensor]) -> bool:
        """Copy template ``t``'s rows of ``parts`` into slot ``slots[t]``; True when the buffers
        had to be (re)made, which drops the kernels of every other slot."""
        templates = len(slots)
        rows = [part.shape[0] // templates for part in parts]
        shapes = [(row * self.capacity, *part.shape[1:]) for row, part in zip(rows, parts, strict=True)]
        if (self._kind != kind or rows != self._rows
                or any(tuple(b.shape) != s or b.dtype != p.dtype or b.device != p.device
                       for b, s, p in zip(self._buffers, shapes, parts, strict=True))):
            self._kind, self._rows = kind, rows
            self._buffers = [_buffer_like(part, shape) for part, shape in zip(parts, shapes, strict=True)]
            remade = True
        else:
            remade = False
        for buffer, part, m in zip(self._buffers, parts, rows, strict=True):
            for t, slot in enumerate(slots):
                buffer[slot * m:(slot + 1) * m] = part[t * m:(t + 1) * m]
        return remade

    def take(self, slots: Sequence[int]) -> Any:
        """The kernels of ``slots`` (template ``i`` = slot ``slots[i]``) in the model's layout."""
        first, count = slots[0], len(slots)
        consecutive = list(slots) == list(range(first, first + count))
        parts = []
        for buffer, m in zip(self._buffers, self._rows, strict=True):
            if consecutive:
                parts.append(buffer[first * m:(first + count) * m])
            else:
                index = (torch.as_tensor(list(slots), dtype=torch.long)[:, None] * m
                         + torch.arange(m)[None, :]).reshape(-1).to(buffer.device)
                parts.append(buffer.index_select(0, index))
        if self._kind == "up-channel":
            return UpChannelKernels(parts[0], parts[1], count)
        if self._kind == "depthwise":
            return DepthwiseKernels(parts[0], parts[1])
        return parts[0]


class SlotBatch(BatchTracker):
    """What both batches share: slot trackers, argument checks, the kernel bank.

    ``chunk``: at most this many slots per network forward (None: all of a step's slots; a
    SiamRPN step makes one forward per search size anyway); default None on an accelerator,
    :attr:`cpu_chunk` on the CPU (see the module docstring).
    """

    cpu_chunk: int | None = None
    #: On the CPU, run the batch's forwards on a channels-last copy of the network (where it
    #: pays: SiamRPN's forwards of 4-8 slots gain 1.2x; results within float rounding).
    cpu_channels_last: bool = False

    _single: type

    def __init__(self, tracker: Any, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer) or capacity < 1:
            raise SiambenchError(f"a batch capacity must be a whole number >= 1, got {capacity!r}")
        self.tracker = tracker
        self.name = tracker.name
        self.deterministic = tracker.deterministic
        self.capacity = int(capacity)
        self.model = tracker.model
        if self.cpu_channels_last and torch.device(tracker.device).type == "cpu":
            self.model = copy.deepcopy(tracker.model).to(memory_format=torch.channels_last)
        self.device = tracker.device
        single = getattr(tracker, "graphs", None)
        #: the batch's forwards replayed from CUDA graphs on a GPU (the tracker's setting and
        #: backend; a forward is padded to :func:`graph_batch_size` slots while graphs are on)
        self.graphs = GraphedForward(self._track,
                                     enabled=bool(getattr(single, "enabled", True)),
                                     backend=getattr(single, "backend", None))
        self.bgr = tracker.bgr
        self._slots = [self._fresh(tracker) for _ in range(self.capacity)]
        self._live = [False] * self.capacity
        self._bank = _KernelBank(self.capacity)
        self._per_slot = False  # True once the model's template output proved unsplittable
        self.chunk: int | None = self.cpu_chunk if torch.device(self.device).type == "cpu" else None

    def _chunks(self, items: list[int]) -> list[list[int]]:
        """``items`` cut into runs of at most :attr:`chunk` slots (one network forward each)."""
        chunk = self.chunk
        if chunk is None:
            return [items] if items else []
        if isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
            raise SiambenchError(f"{type(self).__name__}.chunk must be None or a whole number >= 1 "
                                 f"(slots per network forward), got {chunk!r}")
        return [items[i:i + int(chunk)] for i in range(0, len(items), int(chunk))]

    def _track(self, x: torch.Tensor, kernels: Any) -> Any:
        return self.model.track(x, kernels)  # looked up per call: a replaced model.track is seen

    def _padded(self, part: list[int]) -> list[int]:
        """``part`` (a forward's items) padded to :func:`graph_batch_size` items by repeating its
        last item while CUDA graphs are on (the padding's outputs are dropped), else ``part``."""
        if not part or not self.graphs.active(self.device):
            return part
        return part + [part[-1]] * (graph_batch_size(len(part)) - len(part))

    @staticmethod
    def _fresh(tracker: Any) -> Any:
        raise NotImplementedError

    def _check(self, method: str, slots: Sequence[int], **lists: Sequence[Any]) -> list[int]:
        where = f"{type(self).__name__}.{method}"
        try:
            count = len(slots)
        except TypeError:
            raise SiambenchError(f"{where}: slots must be a sequence of slot numbers, "
                                 f"got {type(slots).__name__}") from None
        for what, values in lists.items():
            try:
                length = len(values)
            except TypeError:
                raise SiambenchError(f"{where}: {what} must be a sequence with one entry per slot, "
                                     f"got {type(values).__name__}") from None
            if length != count:
                raise SiambenchError(f"{where}: {count} slots but {length} {what}; pass one entry "
                                     f"of {what} per slot, in the order of the slots")
        numbers = []
        for slot in slots:
            if isinstance(slot, bool) or not isinstance(slot, int | np.integer):
                raise SiambenchError(f"{where}: slot numbers must be integers, got {slot!r}")
            if not 0 <= int(slot) < self.capacity:
                raise SiambenchError(f"{where}: slot {int(slot)} is out of range for a batch of "
                                     f"capacity {self.capacity} (slots 0 … {self.capacity - 1})")
            numbers.append(int(slot))
        if len(set(numbers)) != len(numbers):
            repeated = sorted({n for n in numbers if numbers.count(n) > 1})
            raise SiambenchError(f"{where}: slot {repeated[0]} appears more than once in one call; "
                                 "each slot takes one frame per step")
        return numbers

    def _check_live(self, slots: list[int]) -> None:
        for slot in slots:
            if not self._live[slot]:
                raise SiambenchError(f"{type(self).__name__}.update_slots: slot {slot} was never "
                                     "started; call init_slots for it before update_slots")

    def state(self, slot: int) -> Any:
        """Slot ``slot``'s target state (the single tracker's ``state``)."""
        (number,) = self._check("state", [slot])
        return self._slots[number].state

    def _update_prologue(self, slots: Sequence[int], frames: Sequence[np.ndarray]
                         ) -> tuple[list[int], list[np.ndarray], list[TrackOutput] | None]:
        """Checked slot numbers and frames of an ``update_slots`` call, and its answers when the
        network cannot batch (each slot's own ``update``), else None."""
        numbers = self._check("update_slots", slots, frames=frames)
        self._check_live(numbers)
        checked = [check_frame(frame) for frame in frames]
        if self._per_slot:
            return numbers, checked, [self._slots[slot].update(frame)
                                      for slot, frame in zip(numbers, checked, strict=True)]
        return numbers, checked, None

    def init_slots(self, slots: Sequence[int], frames: Sequence[np.ndarray],
                   boxes: Sequence[np.ndarray]) -> None:
        """Start slot ``slots[i]`` on target ``boxes[i]`` in ``frames[i]`` (re-initialises a live
        slot); all template crops go through one template call."""
        numbers = self._check("init_slots", slots, frames=frames, boxes=boxes)
        if not numbers:
            return
        checked = [(check_frame(frame), check_box(box)) for frame, box in zip(frames, boxes, strict=True)]
        for slot in numbers:
            self._live[slot] = False
        crops = [self._slots[slot].begin(frame, box) for slot, (frame, box) in zip(numbers, checked,
                                                                                   strict=True)]
        z = crops_to_tensor(crops, bgr=self.bgr, device=self.device, pin=True)
        with torch.inference_mode(), ieee_float32(self.device):
            kernels = self._template(z)
        split = None if self._per_slot else self._bank.split(kernels, len(numbers))
        if split is None:
            self._per_slot = True
            with torch.inference_mode(), ieee_float32(self.device):
                for slot, crop in zip(numbers, crops, strict=True):
                    single = crops_to_tensor([crop], bgr=self.bgr, device=self.device)
                    self._set_kernels(self._slots[slot], self._template(single))
        elif self._bank.store(numbers, *split):
            self._live = [False] * self.capacity  # new buffers: only these slots have kernels
        for slot in numbers:
            self._slots[slot].last_decision = None
            self._live[slot] = True

    def _template(self, z: torch.Tensor) -> Any:
        raise NotImplementedError

    @staticmethod
    def _set_kernels(slot: Any, kernels: Any) -> None:
        raise NotImplementedError
