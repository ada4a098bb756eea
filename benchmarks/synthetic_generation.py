"""Speed of the synthetic benchmark generator.

Prints frames/s of rendering alone (in memory), of rendering + writing one layout (JPEG files,
ground truth, labels), and the same figures for the baseline measured in this run: plain
``cv2.imwrite`` of a constant frame of the same size, the cost floor of writing the files.

    python benchmarks/synthetic_generation.py [--sequences 20] [--frames 100] [--format otb]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from siambench.datasets.synthetic import generate_sequence, write_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--format", default="otb", choices=["otb", "vot", "got10k"])
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for the writing run (default: the library's choice)")
    args = parser.parse_args()
    total = args.sequences * args.frames

    start = time.perf_counter()
    for index in range(args.sequences):
        generate_sequence(0, index, args.frames)
    render = total / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_benchmark(Path(folder) / "set", args.format, args.sequences, args.frames, 0,
                        workers=args.workers)
        written = total / (time.perf_counter() - start)
        size_mb = sum(p.stat().st_size for p in (Path(folder) / "set").rglob("*")
                      if p.is_file()) / 2**20

        constant = np.full((240, 320, 3), 127, np.uint8)
        base = Path(folder) / "baseline"
        base.mkdir()
        start = time.perf_counter()
        for i in range(total):
            cv2.imwrite(str(base / f"{i:08d}.jpg"), constant)
        baseline = total / (time.perf_counter() - start)

    print(f"{args.sequences} sequences x {args.frames} frames, layout {args.format}")
    print(f"render only            {render:9.1f} frames/s   ratio to baseline {render / baseline:.3f}")
    print(f"render + write         {written:9.1f} frames/s   ratio to baseline {written / baseline:.3f}"
          f"   ({size_mb:.1f} MB on disk)")
    print(f"baseline cv2.imwrite   {baseline:9.1f} frames/s   (constant 320x240 frame)")


if __name__ == "__main__":
    main()
