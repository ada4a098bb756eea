"""Trials per hour of ``siambench tune``: one worker, ``--workers 2``, and ``--batch N``.

The bundled SiamRPN tuned on the first ``--sequences`` sequences of ``synthetic-val`` (random
search over ``penalty_k`` and ``window_influence``, no pruning, so every trial tracks every
sequence), a fresh study each time; the wall time includes the workers' start-up. The ratios
are against one worker measured in the same run.

    python benchmarks/tune_throughput.py [--trials 8] [--sequences 4] [--batch 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from siambench.datasets import load_dataset
from siambench.run.workers import available_cpus
from siambench.tune import TuneSettings, run_tune


def trials_per_hour(out: Path, names: tuple[str, ...], trials: int, workers: int,
                    batch: int) -> float:
    settings = TuneSettings(tracker="siamrpn", dataset="synthetic-val",
                            space=("penalty_k=0.0:0.5", "window_influence=0.1:0.8"), out=out,
                            trials=trials, sampler="random", workers=workers, batch=batch,
                            sequences=names, prune=False)
    start = time.perf_counter()
    result = run_tune(settings, echo=lambda text: None)
    wall = time.perf_counter() - start
    return result.finished / wall * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--sequences", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    names = tuple(load_dataset("synthetic-val").names[:args.sequences])
    print(f"siambench tune: bundled SiamRPN, {args.trials} trials of {len(names)} synthetic-val "
          f"sequences each; {available_cpus()} CPUs")
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="siambench-tune-bench-") as tmp:
        one = trials_per_hour(Path(tmp) / "w1", names, args.trials, 1, 1)
        print(f"--workers 1:            {one:8.0f} trials/hour")
        two = trials_per_hour(Path(tmp) / "w2", names, args.trials, 2, 1)
        print(f"--workers 2:            {two:8.0f} trials/hour  ({two / one:.2f}x --workers 1)")
        batched = trials_per_hour(Path(tmp) / "b", names, args.trials, 1, args.batch)
        print(f"--workers 1 --batch {args.batch}:  {batched:8.0f} trials/hour  "
              f"({batched / one:.2f}x --workers 1)")


if __name__ == "__main__":
    main()
