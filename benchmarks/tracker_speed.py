"""Per-frame speed of the SiamRPN and SiamFC trackers: crop, network, post-processing.

Random weights at the paper's width (``weights="random"``: speed does not depend on the values),
batch 1, on a synthetic sequence; at 1 and 2 CPU threads. The search-branch forward's FLOPs are
counted with ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add = 2 FLOPs) and its
GFLOP/s printed next to what a large float32 matmul reaches on the same device — the ratio says
how close the forward runs to the hardware. ``--device cuda`` also times on the GPU, plain and
with the per-frame forward captured in a CUDA graph (skipped with a message without CUDA).

Then the network alone at batch sizes ``--batches`` (the forward of ``--batch N`` tracking: N
search crops against N templates in one call), in the default memory format and channels-last,
with its GFLOP/s and the ratio to the matmul figure at batch 1 and at the best batch.

    python benchmarks/tracker_speed.py [--frames 40] [--device cpu|cuda [--no-cpu]] [--width-mult 1.0]
                                       [--batches 1,2,4,8,16,32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from siambench.datasets.synthetic import generate_sequence
from siambench.trackers import create_tracker
from siambench.trackers.gpu import GraphedForward


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Best GFLOP/s of an ``n x n`` float32 matmul (2·n³ FLOPs each) over ``repeats`` runs."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        _, ms = timed(lambda: a @ b, device)
        best = min(best, ms)
    return 2 * n ** 3 / (best / 1e3) / 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable, device: torch.device):
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return result, (time.perf_counter() - start) * 1e3


def forward_flops(tracker, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        tracker.forward(x)
    return int(counter.get_total_flops())


def run_tracker(name: str, frames: list[np.ndarray], box: np.ndarray, device: torch.device,
                width_mult: float, warmup: int = 3) -> dict[str, float]:
    tracker = create_tracker(name, weights="random", model_config={"width_mult": width_mult},
                             device=str(device))
    tracker.graphs.enabled = False  # the plain forward; the graphed one is timed below
    tracker.init(frames[0], box)
    times: dict[str, list[float]] = {"crop": [], "network": [], "post": []}
    for i, frame in enumerate(frames[1:]):
        if name == "siamrpn":
            (x, scale_z), t_crop = timed(lambda: tracker.prepare(frame), device)
            out, t_net = timed(lambda: tracker.forward(x), device)
            _, t_post = timed(lambda: tracker.finish(out, scale_z, frame.shape), device)
        else:
            x, t_crop = timed(lambda: tracker.prepare(frame), device)
            out, t_net = timed(lambda: tracker.forward(x), device)
            _, t_post = timed(lambda: tracker.finish(out), device)
        if i >= warmup:
            times["crop"].append(t_crop)
            times["network"].append(t_net)
            times["post"].append(t_post)
    result = {key: statistics.median(values) for key, values in times.items()}
    result["total"] = result["crop"] + result["network"] + result["post"]
    x = tracker.prepare(frames[-1])
    result["gflop"] = forward_flops(tracker, x[0] if name == "siamrpn" else x) / 1e9
    result["gflops"] = result["gflop"] / (result["network"] / 1e3)
    if device.type == "cuda":
        tracker.graphs.enabled = True
        x = x[0] if name == "siamrpn" else x
        tracker.forward(x)  # capture
        if tracker.graphs.captures:
            result["graph"] = statistics.median(timed(lambda: tracker.forward(x), device)[1]
                                                for _ in range(50))
    return result


def _batched_inputs(tracker, x: torch.Tensor, size: int):
    """``size`` copies of the search crop and of the template (kernels / features)."""
    from siambench.models.heads import UpChannelKernels

    xs = x.repeat(size, 1, 1, 1)
    if hasattr(tracker, "_kernels"):
        kernels = tracker._kernels
        if isinstance(kernels, UpChannelKernels):
            return xs, UpChannelKernels(kernels.cls.repeat(size, 1, 1, 1),
                                        kernels.reg.repeat(size, 1, 1, 1), size)
        return xs, type(kernels)(*(k.repeat(size, 1, 1, 1) for k in kernels))
    features = tracker._features
    # SiamFC: search image i uses template i % T; x holds the scales of one frame
    return x.repeat(size, 1, 1, 1), features.repeat(size, 1, 1, 1)


def batch_sweep(name: str, width_mult: float, frames: list[np.ndarray], box: np.ndarray,
                device: torch.device, sizes: list[int], reference: float,
                repeats: int = 5) -> None:
    """Forward time per search crop and GFLOP/s at each batch size, both memory formats."""
    tracker = create_tracker(name, weights="random", model_config={"width_mult": width_mult},
                             device=str(device))
    tracker.init(frames[0], box)
    x = tracker.prepare(frames[1])
    x = x[0] if name == "siamrpn" else x
    per_image = forward_flops(tracker, x) / x.shape[0]
    best: dict[str, tuple[float, int]] = {}
    for layout in ("contiguous", "channels_last"):
        model = tracker.model
        if layout == "channels_last":
            model = model.to(memory_format=torch.channels_last)
        for size in sizes:
            xs, kernels = _batched_inputs(tracker, x, size)
            if layout == "channels_last":
                xs = xs.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                model.track(xs, kernels)  # warm-up
                samples = [timed(lambda: model.track(xs, kernels), device)[1]
                           for _ in range(repeats)]
            ms = statistics.median(samples)
            gflops = per_image * xs.shape[0] / (ms / 1e3) / 1e9
            if gflops > best.get(layout, (0.0, 0))[0]:
                best[layout] = (gflops, size)
            graph = ""
            if device.type == "cuda":  # the forward as the trackers run it there: from a graph
                graphed = GraphedForward(model.track)
                graphed(xs, kernels)  # capture
                if graphed.captures:
                    g_ms = statistics.median(timed(lambda: graphed(xs, kernels), device)[1]
                                             for _ in range(repeats))
                    graph = f"; CUDA graph {1e3 * size / g_ms:9.1f} frames/s"
            print(f"  {name:<8} {layout:<14} batch {size:<4d} {ms / size:8.3f} ms/frame "
                  f"{1e3 * size / ms:9.1f} frames/s (network) {gflops:8.1f} GFLOP/s "
                  f"ratio {gflops / reference:5.2f}{graph}")
    for layout, (gflops, size) in best.items():
        print(f"  {name:<8} {layout:<14} best batch {size}: ratio {gflops / reference:.2f} "
              f"of matmul")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--width-mult", type=float, default=1.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", default="1,2,4,8,16,32")
    parser.add_argument("--no-cpu", action="store_true",
                        help="with --device cuda: time the GPU only")
    args = parser.parse_args()
    sizes = [int(b) for b in args.batches.split(",") if b]

    seq = generate_sequence(0, 0, frames=args.frames + 1)
    frames, box = list(seq.frames), seq.boxes[0]
    print(f"torch {torch.__version__}, OpenCV {cv2.__version__}, {len(frames) - 1} frames "
          f"(median ms/frame, batch 1, random weights, width_mult {args.width_mult})")
    header = (f"{'device':<10}{'tracker':<9}{'crop':>8}{'network':>9}{'post':>8}{'total':>8}"
              f"{'fps':>7}{'GFLOP':>7}{'GFLOP/s':>9}{'matmul':>9}{'ratio':>7}")
    print(header)
    print("-" * len(header))
    configs = [] if args.no_cpu and args.device == "cuda" else \
        [(torch.device("cpu"), threads) for threads in args.threads]
    if args.device == "cuda":
        if torch.cuda.is_available():
            torch.backends.cudnn.benchmark = True
            configs.append((torch.device("cuda"), 0))
        else:
            print("(--device cuda: no CUDA device here; GPU timings skipped)")
    for device, threads in configs:
        if device.type == "cpu":
            torch.set_num_threads(threads)
            cv2.setNumThreads(threads)
        label = f"cpu x{threads}" if device.type == "cpu" else "cuda"
        if device.type == "cuda":
            print(f"(cuda: {torch.cuda.get_device_name(device)})")
        reference = matmul_gflops(device)
        for name in ("siamrpn", "siamfc"):
            r = run_tracker(name, frames, box, device, args.width_mult)
            print(f"{label:<10}{name:<9}{r['crop']:8.2f}{r['network']:9.2f}{r['post']:8.2f}"
                  f"{r['total']:8.2f}{1e3 / r['total']:7.1f}{r['gflop']:7.2f}{r['gflops']:9.1f}"
                  f"{reference:9.1f}{r['gflops'] / reference:7.2f}")
            if "graph" in r:
                print(f"{'':<10}{name:<9}network with CUDA graph: {r['graph']:.3f} ms "
                      f"(plain {r['network']:.3f} ms, x{r['network'] / r['graph']:.2f})")
        print(f"network alone by batch size ({label}; matmul {reference:.1f} GFLOP/s):")
        for name in ("siamrpn", "siamfc"):
            batch_sweep(name, args.width_mult, frames, box, device, sizes, reference)
    print("ratio = forward GFLOP/s / matmul GFLOP/s (best of 10 2048x2048 float32 products) on the "
          "same device; siamfc network = 3 scales. On AMD CPUs torch's MKL matmul can trail its "
          "oneDNN convolutions, so a ratio above 1 is possible there.")


if __name__ == "__main__":
    main()
