"""Throughput of ``siambench run``: the tracker alone, the whole run at ``--batch 1`` and
``--batch N``, and ``--workers 2``.

On the embedded synthetic benchmark (first ``--sequences`` sequences) for each tracker of
``--trackers`` (default: the bundled SiamRPN and SiamFC weights; ``--paper`` adds the paper-size
networks with random weights, where the network dominates):

* tracker alone: frames decoded into memory first, then ``init``/``update`` timed in a loop in
  this process (the ceiling of a one-sequence-at-a-time engine), and the same with the batch
  tracker (``init_slots``/``update_slots`` over N sequences at once, frames in memory);
* whole run: :func:`siambench.run.run_benchmark` end to end (dataset loading, prefetched
  decoding, protocol, result and manifest writing; scoring not included), frames of all
  sequences / wall time, at ``--batch 1`` and each ``--batch N``; the ratio ``run / alone`` at
  batch 1 is what the engine costs, ``batch N / batch 1`` what batching gains;
* ``--workers 2`` (``--batch 1``): two spawned worker processes, each with half the threads,
  start-up included.

All in-process figures use the same torch thread count (``--threads``, default: the CPUs
available). Small networks are very sensitive to thread oversubscription: the script prints the
load average, and figures are only comparable on an otherwise idle machine. ``--device cuda``
runs on the GPU (batch sizes 64 and 128 are added; forwards replayed from CUDA graphs, as the
trackers do there); ``--crop tensor`` makes the crops on the device.

    python benchmarks/run_throughput.py [--sequences 16] [--batches 8,32] [--paper]
                                        [--trackers siamrpn,siamfc] [--threads N] [--device cpu]
                                        [--crop tensor]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from siambench.datasets import get_spec, load_dataset
from siambench.run import run_benchmark
from siambench.run.workers import available_cpus
from siambench.trackers import create_tracker


def _tracker(name: str, paper: bool, device: str, overrides: dict[str, Any]) -> Any:
    if paper:
        return create_tracker(name, weights="random", device=device, **overrides)
    return create_tracker(name, device=device, **overrides)


def _frames(names: list[str]) -> list[tuple[list[np.ndarray], np.ndarray]]:
    dataset = load_dataset("synthetic")
    origin = get_spec("synthetic").origin
    loaded = []
    for name in names:
        sequence = dataset[name]
        box = sequence.groundtruth[0].copy()
        box[:2] -= origin  # the engine's 0-based array coordinates
        loaded.append(([sequence.frame(i) for i in range(len(sequence))], box))
    return loaded


def alone(tracker: Any, loaded: list[tuple[list[np.ndarray], np.ndarray]]) -> float:
    """Frames/s of init/update one sequence after another, frames in memory."""
    frames_total, seconds = 0, 0.0
    for frames, box in loaded:
        start = time.perf_counter()
        tracker.init(frames[0], box)
        for frame in frames[1:]:
            tracker.update(frame)
        seconds += time.perf_counter() - start
        frames_total += len(frames)
    return frames_total / seconds


def alone_batched(tracker: Any, loaded: list[tuple[list[np.ndarray], np.ndarray]],
                  size: int) -> float | None:
    """Frames/s of the batch tracker over ``size`` sequences at once (lockstep, frames in
    memory; sequences of the same length, as the synthetic set's); None when it cannot batch."""
    batch = tracker.batched(size)
    if batch is None:
        return None
    frames_total, seconds = 0, 0.0
    for first in range(0, len(loaded), size):
        group = loaded[first:first + size]
        slots = list(range(len(group)))
        length = min(len(frames) for frames, _ in group)
        start = time.perf_counter()
        batch.init_slots(slots, [frames[0] for frames, _ in group], [box for _, box in group])
        for index in range(1, length):
            batch.update_slots(slots, [frames[index] for frames, _ in group])
        seconds += time.perf_counter() - start
        frames_total += length * len(group)
    return frames_total / seconds


def whole_run(name: str, names: list[str], paper: bool, out: Path, *, batch: int = 1,
              workers: int = 1, device: str = "cpu", overrides: dict[str, Any] | None = None) -> float:
    """Frames/s (wall) of ``run_benchmark`` on the sequences."""
    start = time.perf_counter()
    summary = run_benchmark(name, weights="random" if paper else None, sequences=names,
                            overrides=overrides,
                            workers=workers, batch=batch, results_dir=out, device=device,
                            label=f"{name}{'-paper' if paper else ''}-b{batch}-w{workers}",
                            progress=False)
    wall = time.perf_counter() - start
    if not summary.ok:
        raise SystemExit(f"run failed: {summary.failed or summary.not_run}")
    return summary.frames / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--batches", default="8,32")
    parser.add_argument("--trackers", default="siamrpn,siamfc")
    parser.add_argument("--paper", action="store_true",
                        help="also the paper-size networks (random weights)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=available_cpus())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--crop", default=None,
                        help="the trackers' crop parameter (e.g. tensor: crops made by torch on "
                             "the device; default: each tracker's own)")
    args = parser.parse_args()
    overrides = {"crop": args.crop} if args.crop else {}
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",") if b]
    if args.device.startswith("cuda"):
        batches = sorted({*batches, 64, 128})

    dataset = load_dataset("synthetic")  # generated on first use (a few seconds)
    names = dataset.names[:args.sequences]
    print(f"synthetic benchmark: {len(names)} sequences, "
          f"{sum(len(dataset[n]) for n in names)} frames; {available_cpus()} CPUs, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), device {args.device}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average {load:.2f}"
              + ("  (busy machine: figures are not comparable)"
                 if load > 0.5 * available_cpus() else ""))
    loaded = _frames(names)
    variants = [(name, False) for name in args.trackers.split(",")]
    if args.paper:
        variants += [(name, True) for name in args.trackers.split(",")]
    with tempfile.TemporaryDirectory(prefix="siambench-throughput-") as tmp:
        for name, paper in variants:
            what = f"{name} ({'paper size, random weights' if paper else 'bundled weights'})"
            tracker = _tracker(name, paper, args.device, overrides)
            solo = alone(tracker, loaded)
            print(f"\n{what}")
            print(f"  tracker alone, batch 1:            {solo:9.1f} frames/s")
            for size in batches:
                rate = alone_batched(tracker, loaded, size)
                if rate is not None:
                    print(f"  tracker alone, batch {size:<4d}:         {rate:9.1f} frames/s  "
                          f"({rate / solo:.2f}x batch 1)")
            run1 = whole_run(name, names, paper, Path(tmp), device=args.device, overrides=overrides)
            print(f"  siambench run --batch 1:           {run1:9.1f} frames/s  "
                  f"(run / alone {run1 / solo:.3f}: engine cost {100 * (1 - run1 / solo):+.1f} %)")
            for size in batches:
                rate = whole_run(name, names, paper, Path(tmp), batch=size, device=args.device,
                                 overrides=overrides)
                print(f"  siambench run --batch {size:<4d}:        {rate:9.1f} frames/s  "
                      f"({rate / run1:.2f}x --batch 1)")
            if args.workers > 1 and not paper and args.device == "cpu":
                rate = whole_run(name, names, paper, Path(tmp), workers=args.workers,
                                 overrides=overrides)
                print(f"  siambench run --workers {args.workers}:         {rate:9.1f} frames/s  "
                      f"({rate / run1:.2f}x --workers 1, start-up included)")


if __name__ == "__main__":
    main()
