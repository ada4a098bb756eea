"""The trackers' network calls on a GPU: IEEE float32 convolutions, and forwards replayed from
CUDA graphs (one graph per input shape, static inputs).

Precision: torch runs float32 cuDNN convolutions in TF32 (10-bit mantissa) on Ampere and later
GPUs by default; a tracker's boxes then drift from the CPU's by far more than float rounding.
Every network call of the Siamese trackers runs inside :func:`ieee_float32` (cuDNN convolutions
in full float32 for the call, torch's setting restored after it), so a GPU run gives the CPU's
boxes to 1e-3 px.

Graphs: on a GPU a batch-1 Siamese forward is bound by kernel launches (paper-size SiamRPN, as
measured for issue 14: 1.1 ms per frame, 0.44 ms replayed from a CUDA graph); a graph records
the launches once and replays them.
:class:`GraphedForward` wraps a forward ``fn(x, kernels)`` (``model.track``): the first call with a
new *signature* (the shapes, dtypes and devices of ``x`` and of every tensor in ``kernels``, and
``kernels``' non-tensor fields) warms ``fn`` up on a side stream and captures
it into a graph whose inputs are static tensors; every call copies its inputs into those
tensors, replays the graph and returns copies of the static outputs (so a result stays valid
after the next call). All graphs of one wrapper share a memory pool (they never run at the
same time); graphs are captured inside :func:`ieee_float32`, so they replay full-float32
kernels. Batched trackers pad their forwards to a few fixed batch sizes
(:func:`graph_batch_size`) so that a run captures a handful of graphs, not one per live-slot count.

Inputs on the CPU, or ``enabled`` False, run ``fn`` itself. A capture that fails (an operation
that cannot be captured, a custom model) warns once and turns the wrapper off; results are then
the eager forward's. A graph computes exactly what the eager forward computes (same kernels);
a padded batch may pick other convolution algorithms than an unpadded one, so boxes agree to
float rounding (1e-3 px), as between ``--batch 1`` and ``--batch N``.

The capture itself is a :class:`GraphBackend`; :class:`CudaGraphBackend` is the real one, and
tests drive the wrapper's bookkeeping on the CPU with a backend that replays eagerly.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import torch

__all__ = ["CudaGraphBackend", "GraphBackend", "GraphedForward", "graph_batch_size", "ieee_float32"]


@contextlib.contextmanager
def ieee_float32(device: torch.device | str) -> Iterator[None]:
    """Inside: float32 cuDNN convolutions in IEEE float32, not TF32, when ``device`` is CUDA
    (torch's own setting is restored on exit; on other devices nothing changes). Uses torch's
    ``backends.cudnn.conv.fp32_precision`` where it exists, else the older ``allow_tf32``."""
    if torch.device(device).type != "cuda":
        yield
        return
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        previous = conv.fp32_precision
        conv.fp32_precision = "ieee"
        try:
            yield
        finally:
            conv.fp32_precision = previous
        return
    previous_flag = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = previous_flag


def graph_batch_size(count: int) -> int:
    """The batch a forward of ``count`` images is padded to under CUDA graphs: the next power of
    two (1, 2, 4, 8, …), so a run of capacity ``N`` captures at most ``log2(N) + 1`` graphs."""
    if count < 1:
        raise ValueError(f"a forward needs at least one image, got {count}")
    return 1 << (int(count) - 1).bit_length()


class GraphBackend(Protocol):
    """How :class:`GraphedForward` records and replays a forward."""

    def applies(self, device: torch.device) -> bool:
        """Whether inputs on ``device`` can be captured (CUDA devices for the real backend)."""
        ...

    def capture(self, run: Callable[[], Any]) -> tuple[Any, Callable[[], None]]:
        """Record ``run`` (reading the static inputs); return its static outputs and a replay
        function that recomputes them in place from the static inputs' current values."""
        ...


class CudaGraphBackend:
    """``torch.cuda.CUDAGraph`` capture: three warm-up calls on a side stream (cuDNN picks its
    algorithms, lazy buffers are made), then one capture into a pool shared by all graphs of
    this backend."""

    def __init__(self) -> None:
        self._pool: Any = None

    def applies(self, device: torch.device) -> bool:
        return torch.device(device).type == "cuda"

    def capture(self, run: Callable[[], Any]) -> tuple[Any, Callable[[], None]]:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                run()
        torch.cuda.current_stream().wait_stream(stream)
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            outputs = run()
        return outputs, graph.replay


def _flatten(value: Any) -> tuple[list[torch.Tensor], Any]:
    """The tensors in ``value`` (a tensor, or a (named) tuple of them and plain fields) and a
    hashable description of its structure with the tensors' shapes, dtypes and devices (not
    their strides: a static input keeps its first layout and takes other layouts' values)."""
    if isinstance(value, torch.Tensor):
        return [value], ("tensor", tuple(value.shape), value.dtype, str(value.device))
    if isinstance(value, tuple):
        tensors: list[torch.Tensor] = []
        parts = []
        for item in value:
            inner, spec = _flatten(item)
            tensors.extend(inner)
            parts.append(spec)
        return tensors, (type(value), tuple(parts))
    return [], ("value", value)


def _rebuild(spec: Any, tensors: list[torch.Tensor], original: Any) -> Any:
    """``original``'s structure with its tensors replaced, in order, by ``tensors`` (consumed)."""
    if spec[0] == "tensor":
        return tensors.pop(0)
    if spec[0] == "value":
        return original
    kind, parts = spec
    items = [_rebuild(part, tensors, item) for part, item in zip(parts, original, strict=True)]
    return kind(*items) if hasattr(kind, "_fields") else kind(items)


class _Graph:
    """A captured forward: its static inputs (flattened), static outputs and replay function;
    the outputs' tensors and structure are flattened once, at capture."""

    def __init__(self, inputs: list[torch.Tensor], outputs: Any, replay: Callable[[], None]) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.output_tensors, self.output_structure = _flatten(outputs)
        self.replay = replay


class GraphedForward:
    """``fn(x, kernels)`` replayed from one graph per input signature (module docstring).

    ``enabled``: capture at all (False: always the eager ``fn``). ``captures``: how many graphs
    were recorded. ``backend``: :class:`CudaGraphBackend` unless given.
    """

    def __init__(self, fn: Callable[[torch.Tensor, Any], Any], *, enabled: bool = True,
                 backend: GraphBackend | None = None) -> None:
        self.fn = fn
        self.enabled = enabled
        self.backend: GraphBackend = backend if backend is not None else CudaGraphBackend()
        self.captures = 0
        self._graphs: dict[Any, _Graph] = {}

    def active(self, device: torch.device | str) -> bool:
        """Whether calls with inputs on ``device`` replay graphs (enabled, and the backend
        captures on that device)."""
        return self.enabled and self.backend.applies(torch.device(device))

    def __call__(self, x: torch.Tensor, kernels: Any) -> Any:
        """``fn(x, kernels)``; from a graph (under ``torch.inference_mode``) where :meth:`active`."""
        with ieee_float32(x.device):
            if not self.active(x.device):
                return self.fn(x, kernels)
            with torch.inference_mode():
                return self._replay(x, kernels)

    def _replay(self, x: torch.Tensor, kernels: Any) -> Any:
        tensors, spec = _flatten((x, kernels))
        graph = self._graphs.get(spec)
        if graph is None:
            graph = self._capture(spec, tensors, kernels)
            if graph is None:
                return self.fn(x, kernels)
        else:
            for static, value in zip(graph.inputs, tensors, strict=True):
                static.copy_(value)
        graph.replay()
        return _rebuild(graph.output_structure, [t.clone() for t in graph.output_tensors],
                        graph.outputs)

    def _capture(self, spec: Any, tensors: list[torch.Tensor], kernels: Any) -> _Graph | None:
        statics = [t.clone() for t in tensors]  # same strides: a channels-last input stays so
        static_x, static_kernels = _rebuild(spec, list(statics), (tensors[0], kernels))

        def run() -> Any:
            return self.fn(static_x, static_kernels)

        try:
            outputs, replay = self.backend.capture(run)
        except (RuntimeError, TypeError, ValueError) as error:
            self.enabled = False
            self._graphs.clear()
            warnings.warn(f"CUDA graph capture of the tracker's forward failed ({error}); "
                          "running the forward without graphs (same results, slower)",
                          RuntimeWarning, stacklevel=3)
            return None
        graph = _Graph(statics, outputs, replay)
        self._graphs[spec] = graph
        self.captures += 1
        return graph
