"""The trackers' network calls on a GPU (:mod:`siambench.trackers.gpu`): IEEE float32
convolutions, and CUDA-graph replay.

The bookkeeping (one graph per input signature, static inputs refreshed per call, outputs copied
out, failed captures falling back, batched forwards padded to powers of two) is driven on the CPU
by a backend that "replays" by running the recorded function again; the real CUDA capture runs
where a GPU is present (the last test) and in ``benchmarks/gpu_check.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from siambench.models.heads import UpChannelKernels
from siambench.trackers import create_tracker
from siambench.trackers.gpu import GraphedForward, graph_batch_size, ieee_float32


class EagerBackend:
    """Captures by running once; replays by running again and writing into the first outputs
    (what a CUDA graph does to its static outputs)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.captured = 0

    def applies(self, device: torch.device) -> bool:
        return True

    def capture(self, run: Callable[[], Any]) -> tuple[Any, Callable[[], None]]:
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        self.captured += 1
        outputs = run()
        statics = list(outputs) if isinstance(outputs, tuple) else [outputs]

        def replay() -> None:
            fresh = run()
            for static, value in zip(statics, list(fresh) if isinstance(fresh, tuple) else [fresh],
                                     strict=True):
                static.copy_(value)

        return outputs, replay


def test_ieee_float32_sets_cudnn_precision_for_cuda_only_and_restores_it() -> None:
    conv = torch.backends.cudnn.conv
    before = conv.fp32_precision
    with ieee_float32("cpu"):
        assert conv.fp32_precision == before
    with ieee_float32("cuda:0"):  # the flag exists without a GPU
        assert conv.fp32_precision == "ieee"
    assert conv.fp32_precision == before
    with pytest.raises(KeyError), ieee_float32("cuda"):
        raise KeyError("restored on errors too")
    assert conv.fp32_precision == before


def test_graph_batch_size_is_the_next_power_of_two() -> None:
    assert [graph_batch_size(n) for n in (1, 2, 3, 4, 5, 8, 9, 31, 32, 33, 100)] == \
        [1, 2, 4, 4, 8, 8, 16, 32, 32, 64, 128]
    with pytest.raises(ValueError):
        graph_batch_size(0)


def up_channel_forward(x: torch.Tensor, kernels: UpChannelKernels) -> tuple[torch.Tensor, torch.Tensor]:
    """A forward of the up-channel shape: per-template grouped correlation of ``x``."""
    n = x.shape[0]
    cls = torch.nn.functional.conv2d(x.reshape(1, -1, *x.shape[2:]), kernels.cls, groups=kernels.templates)
    return cls.reshape(n, -1, *cls.shape[2:]), x.mean(dim=(1, 2, 3)) * kernels.reg.sum()


def test_one_graph_per_signature_and_results_equal_the_forward() -> None:
    backend = EagerBackend()
    graphed = GraphedForward(up_channel_forward, backend=backend)
    generator = torch.Generator().manual_seed(0)
    results = []
    for n in (2, 2, 1, 2, 1):
        x = torch.rand(n, 3, 9, 9, generator=generator)
        kernels = UpChannelKernels(torch.rand(2 * n, 3, 4, 4, generator=generator),
                                   torch.rand(n, 3, generator=generator), n)
        got = graphed(x, kernels)
        expected = up_channel_forward(x, kernels)
        assert isinstance(got, tuple) and len(got) == 2
        for a, b in zip(got, expected, strict=True):
            assert torch.equal(a, b)
        results.append((got, expected))
    assert backend.captured == graphed.captures == 2  # batch 2 and batch 1
    for got, expected in results:  # earlier answers were copied out, not overwritten by replays
        for a, b in zip(got, expected, strict=True):
            assert torch.equal(a, b)


def test_signature_is_shapes_and_plain_fields_not_layout() -> None:
    backend = EagerBackend()
    graphed = GraphedForward(lambda x, k: x * k[0] + k[1], backend=backend)
    x = torch.rand(1, 3, 4, 4)
    graphed(x, (torch.tensor(2.0), 1))
    assert torch.equal(graphed(x, (torch.tensor(2.0), 5)), x * 2 + 5)  # another constant: new graph
    other = torch.rand(1, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    assert torch.equal(graphed(other, (torch.tensor(3.0), 1)), other * 3 + 1)  # values copied in
    assert graphed.captures == 2


def test_disabled_or_unsupported_device_runs_the_forward() -> None:
    calls = []

    def forward(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return x + k

    backend = EagerBackend()
    graphed = GraphedForward(forward, enabled=False, backend=backend)
    assert torch.equal(graphed(torch.ones(2), torch.ones(2)), torch.full((2,), 2.0))
    assert backend.captured == 0 and calls == [2] and not graphed.active("cpu")
    real = GraphedForward(forward)  # the CUDA backend: never captures CPU tensors
    real(torch.ones(1), torch.ones(1))
    assert real.captures == 0 and not real.active("cpu")


def test_failed_capture_warns_once_and_falls_back() -> None:
    graphed = GraphedForward(lambda x, k: x - k, backend=EagerBackend(fail=True))
    with pytest.warns(RuntimeWarning, match="CUDA graph capture .* failed"):
        out = graphed(torch.full((3,), 5.0), torch.ones(3))
    assert torch.equal(out, torch.full((3,), 4.0)) and not graphed.enabled
    assert torch.equal(graphed(torch.ones(3), torch.ones(3)), torch.zeros(3))  # eager from now on


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Five synthetic OTB sequences of 7, 6, 5, 4 and 3 frames (slots finish one by one, so the
    live-slot count walks down through the padded sizes)."""
    from siambench.datasets import load_dataset
    from siambench.datasets.synthetic import write_benchmark

    root = write_benchmark(tmp_path_factory.mktemp("graphs") / "otb", "otb", sequences=5, frames=7,
                           seed=5, workers=1, progress=False)
    out = []
    for sequence, length in zip(load_dataset("synthetic", root, progress=False), (7, 6, 5, 4, 3),
                                strict=True):
        out.append(([sequence.frame(i) for i in range(length)],
                    np.asarray(sequence.groundtruth[:length], dtype=np.float64)))
    return out


def track_lockstep(batch: Any, sequences: list[tuple[list[np.ndarray], np.ndarray]]
                   ) -> list[list[np.ndarray]]:
    """All sequences in one batch, in lockstep; each sequence's boxes after its first frame."""
    batch.init_slots(range(len(sequences)), [f[0] for f, _ in sequences], [t[0] for _, t in sequences])
    boxes: list[list[np.ndarray]] = [[] for _ in sequences]
    for index in range(1, max(len(f) for f, _ in sequences)):
        live = [i for i, (frames, _) in enumerate(sequences) if index < len(frames)]
        for i, out in zip(live, batch.update_slots(live, [sequences[i][0][index] for i in live]),
                          strict=True):
            boxes[i].append(out.box)
    return boxes


@pytest.mark.parametrize("name, params, model", [("siamrpn", "default", {}),
                                                 ("siamrpn", "pysot", {"model": "siamrpn-dw"}),
                                                 ("siamfc", "default", {})])
def test_graphed_trackers_answer_as_the_eager_ones(sequences, name, params, model) -> None:
    """Single tracker: identical boxes (the same forward on copies of the same inputs). Batch:
    forwards padded to 8, 4, 2, 1 slots as sequences finish, boxes within 1e-3 px of the eager
    batch, one capture per padded size."""
    def make() -> Any:
        return create_tracker(name, weights="random", params=params, seed=0,
                              model_config={"width_mult": 0.25, **model})

    eager, graphed = make(), make()
    backend = EagerBackend()
    graphed.graphs.backend = backend
    frames, truth = sequences[0]
    eager.init(frames[0], truth[0])
    graphed.init(frames[0], truth[0])
    for frame in frames[1:]:
        assert np.array_equal(eager.update(frame).box, graphed.update(frame).box)
    assert graphed.graphs.captures == 1

    plain = eager.batched(5)
    plain.chunk = None
    padded = graphed.batched(5)
    padded.chunk = None
    sizes: list[int] = []
    original = padded._track

    def track(x: torch.Tensor, kernels: Any) -> Any:
        sizes.append(int(x.shape[0]))
        return original(x, kernels)

    padded.graphs.fn = track
    expected = track_lockstep(plain, sequences)
    got = track_lockstep(padded, sequences)
    for a, b in zip(expected, got, strict=True):
        assert len(a) == len(b)
        assert np.abs(np.array(a) - np.array(b)).max() <= 1e-3
    scales = len(eager.factors) if name == "siamfc" else 1
    assert {s // scales for s in sizes} == {8, 4, 2, 1}  # 5 live slots padded to 8, then 4, 2, 1
    assert padded.graphs.captures == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graphs_match_the_eager_forward_on_the_gpu(sequences) -> None:
    """On a GPU: the real capture; graphed and eager trackers within 1e-3 px."""
    for name in ("siamrpn", "siamfc"):
        eager = create_tracker(name, weights="random", seed=0, device="cuda",
                               model_config={"width_mult": 0.25})
        graphed = create_tracker(name, weights="random", seed=0, device="cuda",
                                 model_config={"width_mult": 0.25})
        eager.graphs.enabled = False
        frames, truth = sequences[0]
        eager.init(frames[0], truth[0])
        graphed.init(frames[0], truth[0])
        for frame in frames[1:]:
            assert np.abs(eager.update(frame).box - graphed.update(frame).box).max() <= 1e-3
        assert graphed.graphs.captures == 1
