"""Throughput of ``siambench run``: the whole run against the tracker alone, and --workers 2.

On the embedded synthetic benchmark (first ``--sequences`` sequences), SiamRPN with random
weights at a small width (``--width-mult``, default 0.25: the speed, not the accuracy, matters).

* tracker alone: frames decoded into memory first, then ``init``/``update`` timed in a loop in
  this process (the ceiling the engine can reach);
* whole run, ``--workers 1``: :func:`siambench.run.run_benchmark` end to end (dataset loading,
  prefetched decoding, protocol, result and manifest writing, scoring not included), frames of
  all sequences / wall time. The ratio ``run / alone`` is what the engine costs (1.0: free; the
  prefetcher can even push it above 1 when decode overlaps tracking on spare cores);
* whole run, ``--workers 2``: the same with two spawned worker processes, each with half the
  CPU threads; the speed-up over one worker includes the workers' start-up (spawn, imports,
  model build).

The tracker alone and the one-worker run use the same torch thread count (``--threads``,
default: the CPUs available); each of N workers gets ``cpus // N``. Small networks are very
sensitive to thread oversubscription: on a machine loaded by other processes, multi-threaded
torch can be many times slower than one thread, so the script prints the load average and the
figures are only comparable on an otherwise idle machine.

    python benchmarks/run_throughput.py [--sequences 8] [--width-mult 0.25] [--workers 2]
                                        [--threads N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from siambench.datasets import load_dataset
from siambench.run import run_benchmark
from siambench.run.workers import available_cpus
from siambench.trackers import create_tracker


def tracker_alone(names: list[str], width_mult: float) -> tuple[int, float]:
    """(frames, seconds) of init/update alone over the sequences, frames decoded beforehand."""
    dataset = load_dataset("synthetic")
    tracker = create_tracker("siamrpn", weights="random",
                             model_config={"width_mult": width_mult})
    frames_total, seconds = 0, 0.0
    for name in names:
        sequence = dataset[name]
        frames = [sequence.frame(i) for i in range(len(sequence))]
        box = sequence.groundtruth[0].copy()
        box[:2] -= 1  # 1-based ground truth -> 0-based array coordinates, as the engine does
        start = time.perf_counter()
        tracker.init(frames[0], box)
        for frame in frames[1:]:
            tracker.update(frame)
        seconds += time.perf_counter() - start
        frames_total += len(frames)
    return frames_total, seconds


def whole_run(names: list[str], width_mult: float, workers: int, out: Path) -> tuple[int, float]:
    """(frames, wall seconds) of ``run_benchmark`` on the sequences."""
    start = time.perf_counter()
    summary = run_benchmark("siamrpn", weights="random", model_config={"width_mult": width_mult},
                            sequences=names, workers=workers, results_dir=out,
                            label=f"w{workers}", progress=False)
    wall = time.perf_counter() - start
    if not summary.ok:
        raise SystemExit(f"run failed: {summary.failed or summary.not_run}")
    return summary.frames, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--width-mult", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=available_cpus())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dataset = load_dataset("synthetic")  # generated on first use (a few seconds)
    names = dataset.names[:args.sequences]
    print(f"synthetic benchmark: {len(names)} sequences, "
          f"{sum(len(dataset[n]) for n in names)} frames; SiamRPN random weights, width_mult "
          f"{args.width_mult}; {available_cpus()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average {load:.2f}"
              + ("  (busy machine: figures are not comparable)"
                 if load > 0.5 * available_cpus() else ""))
    frames, seconds = tracker_alone(names, args.width_mult)
    alone = frames / seconds
    print(f"tracker alone (frames in memory):  {alone:8.1f} frames/s")
    with tempfile.TemporaryDirectory(prefix="siambench-throughput-") as tmp:
        frames1, wall1 = whole_run(names, args.width_mult, 1, Path(tmp))
        run1 = frames1 / wall1
        print(f"siambench run --workers 1:         {run1:8.1f} frames/s "
              f"({wall1:.1f} s wall)")
        framesn, walln = whole_run(names, args.width_mult, args.workers, Path(tmp))
        runn = framesn / walln
        print(f"siambench run --workers {args.workers}:         {runn:8.1f} frames/s "
              f"({walln:.1f} s wall, including worker start-up)")
    print(f"engine efficiency (run / alone):   {run1 / alone:8.3f}  "
          f"(engine cost {100 * (1 - run1 / alone):+.1f} % of the tracker's time)")
    print(f"speed-up --workers {args.workers} over 1:      {runn / run1:8.2f}x")


if __name__ == "__main__":
    main()
