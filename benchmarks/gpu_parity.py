"""CPU and GPU runs of the Siamese trackers give the same results (needs a CUDA device).

``siambench run`` on generated one-pass (OTB layout, the ``synthetic`` loader), VOT (reset
protocol) and GOT-10k sets, for SiamRPN and SiamFC (bundled weights) and SiamRPN at paper
size (random weights): on the CPU at ``--batch 1`` (the reference), and on the GPU at
``--batch 1`` and ``--batch 8`` (forwards replayed from CUDA graphs, IEEE float32
convolutions), each also with ``crop: tensor`` against its CPU run. Every result file (boxes,
VOT's 1/2/0 codes, one line per frame) is compared number by number; times are not. Prints
the largest difference per run and PASS / FAIL against 1e-3 px (a differing VOT failure frame
shows as a difference of whole pixels or more). Exit status 1 on any FAIL.

    python benchmarks/gpu_parity.py [--sequences 6] [--frames 60] [--out DIR] [--device cuda]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from siambench.datasets.synthetic import write_benchmark
from siambench.run import run_benchmark

TOLERANCE = 1e-3
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN")


def result_numbers(folder: Path) -> dict[str, list[list[float]]]:
    """Every result file under ``folder`` (not times, manifests or status files): its lines as
    lists of numbers, keyed by the path relative to ``folder``."""
    files = {}
    for path in sorted(folder.rglob("*.txt")):
        if "time" in path.name or path.name.startswith("."):
            continue
        lines = path.read_text().splitlines()
        files[str(path.relative_to(folder))] = [[float(v) for v in _NUMBER.findall(line)]
                                                for line in lines]
    return files


def largest_difference(reference: Path, other: Path) -> tuple[float, list[str]]:
    """The largest absolute difference between the two runs' numbers, and the problems found
    (missing files, other line or value counts)."""
    a, b = result_numbers(reference), result_numbers(other)
    problems = [f"{name}: only in one run" for name in sorted(set(a) ^ set(b))]
    worst = 0.0
    for name in sorted(set(a) & set(b)):
        if len(a[name]) != len(b[name]):
            problems.append(f"{name}: {len(a[name])} vs {len(b[name])} lines")
            continue
        for row, (x, y) in enumerate(zip(a[name], b[name], strict=True)):
            if len(x) != len(y):
                problems.append(f"{name} line {row + 1}: {x} vs {y}")
                break
            if x:
                a_row, b_row = np.asarray(x), np.asarray(y)
                diff = np.abs(a_row - b_row)  # NaN where either is NaN
                diff[np.isnan(a_row) & np.isnan(b_row)] = 0.0  # NaN in both runs: the same
                worst = max(worst, float(np.max(np.nan_to_num(diff, nan=np.inf))))
    if not a:
        problems.append("no result files")
    return worst, problems


def run(tracker: str, dataset: str, root: Path, out: Path, label: str, *, device: str,
        batch: int, paper: bool, overrides: dict[str, Any]) -> tuple[Path, float]:
    start = time.perf_counter()
    summary = run_benchmark(tracker, dataset=dataset, root=root, results_dir=out, device=device,
                            batch=batch, label=label, weights="random" if paper else None,
                            overrides=overrides or None, repetitions=1, progress=False)
    if not summary.ok:
        raise SystemExit(f"{label}: run failed: {summary.failed or summary.not_run}")
    return out / dataset / label, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=6)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--device", default="cuda",
                        help="the device compared with the CPU (cpu: a dry run of this script)")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: nothing to compare")
        return 0
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"torch {torch.__version__}, {name}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="siambench-gpu-parity-") as tmp:
        base = args.out or Path(tmp)
        data = base / "data"
        sets = [("synthetic", write_benchmark(data / "otb", "otb", args.sequences, args.frames, seed=1,
                                            progress=False)),
                ("vot2018", write_benchmark(data / "vot", "vot", args.sequences, args.frames, seed=2,
                                            progress=False)),
                ("got10k-val", write_benchmark(data / "got10k" / "val", "got10k", args.sequences,
                                               args.frames, seed=3, progress=False))]
        results = base / "results"
        for tracker, paper in (("siamrpn", False), ("siamfc", False), ("siamrpn", True)):
            for dataset, root in sets:
                for crop in ("default", "tensor"):
                    overrides = {"crop": "tensor"} if crop == "tensor" else {}
                    tag = f"{tracker}{'-paper' if paper else ''}-{crop}"
                    reference, seconds = run(tracker, dataset, root, results, f"{tag}-cpu",
                                             device="cpu", batch=1, paper=paper, overrides=overrides)
                    for batch in (1, 8):
                        other, gpu_seconds = run(tracker, dataset, root, results,
                                                 f"{tag}-{args.device}-b{batch}", device=args.device,
                                                 batch=batch, paper=paper, overrides=overrides)
                        worst, problems = largest_difference(reference, other)
                        ok = not problems and worst <= TOLERANCE
                        failed |= not ok
                        print(f"{'PASS' if ok else 'FAIL'} {dataset:<11} {tag:<26} {args.device} "
                              f"--batch {batch}: largest difference {worst:.2e} (cpu {seconds:.1f} s, "
                              f"{args.device} {gpu_seconds:.1f} s)")
                        for problem in problems[:5]:
                            print(f"     {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
