"""Time ``siambench report`` with ``--ci none`` against the default bootstrap intervals.

The issue asks that intervals keep a 100-sequence, 20-tracker OTB report within 2x its time
without them. The published OTB-100 results hold 10 trackers; ``--copies 2`` links each tracker's
files twice (``<name>``, ``<name>-copy1``) into a temporary results folder to reach 20.

    data=../shared/data
    python benchmarks/report_uncertainty.py \\
        --root $data/zhangzheng0131_Tracker_Benchmark_tb100/anno_TB100 \\
        --results-dir $data/Soarkey_tracking_raw_results/OTB100 --copies 2

The same for VOT (EAO intervals recompute the curve per resample) and with ``--attributes``::

    python benchmarks/report_uncertainty.py --dataset vot2018 --root $data/xl-sr_THOR/data \\
        --results-dir $data/HonglinChu_SiamTrackers/NanoTrack/results/VOT2018.zip --copies 2

Prints the wall time of each command (the whole CLI process, best of ``--repeat``) and the ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path


def _results(source: Path, copies: int, folder: Path) -> Path:
    target = folder / "results"
    target.mkdir()
    if source.is_file() and source.suffix == ".zip":      # a zip of tracker folders: unpack it
        with zipfile.ZipFile(source) as archive:
            archive.extractall(folder / "unpacked")
        source = folder / "unpacked"
        while len(list(source.iterdir())) == 1 and not (next(source.iterdir()) / "baseline").is_dir():
            source = next(source.iterdir())       # the zip's single top folder
    for entry in sorted(source.iterdir()):
        for copy in range(copies):
            name = entry.name if copy == 0 else f"{entry.name}-copy{copy}"
            if entry.is_dir():         # a folder of links per copy (a linked folder is read once)
                (target / name).mkdir()
                for file in entry.iterdir():
                    (target / name / file.name).symlink_to(file.resolve())
            else:
                (target / name).symlink_to(entry.resolve())
    return target


def _time(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="otb100")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=2, help="links per tracker folder")
    parser.add_argument("--resamples", type=int, default=None, help="default: the report's")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--attributes", action="store_true",
                        help="also break down by attribute/tag (per-attribute intervals)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = _results(args.results_dir, args.copies, Path(folder))
        trackers = len(list(results.iterdir()))
        base = [sys.executable, "-m", "siambench", "report", "--dataset", args.dataset, "--root",
                str(args.root), "--results-dir", str(results), "--out", str(Path(folder) / "out"),
                *(["--attributes"] if args.attributes else [])]
        plain = _time([*base, "--ci", "none"], args.repeat)
        extra = ["--resamples", str(args.resamples)] if args.resamples else []
        boot = _time([*base, "--ci", "bootstrap", *extra], args.repeat)
    print(f"{trackers} trackers, {args.dataset}{' --attributes' if args.attributes else ''}: "
          f"report --ci none {plain:.2f} s, "
          f"--ci bootstrap{' --resamples ' + str(args.resamples) if args.resamples else ''} "
          f"{boot:.2f} s, ratio {boot / plain:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
