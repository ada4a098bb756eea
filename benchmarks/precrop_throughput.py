"""Pre-cropping (``siambench data crop``): crops/s at 1 and N workers, and training pairs/s from
the original frames vs from the crops.

On the synthetic train split (its first ``--sequences`` sequences; ``--root DIR`` for a set
written by ``siambench data synth --format otb``; ``--frame-size 1280x720`` generates a
temporary synthetic set with frames of that size instead, the size of LaSOT's frames, where
pre-cropping pays):

* crops/s: :func:`siambench.train.precrop.precrop` into a fresh folder with ``--workers 1`` (in
  this process) and with ``--workers N`` (spawned processes, their start-up included; default N:
  the CPUs), each printed with the ratio N / 1;
* pairs/s: the SiamRPN ``cpu`` config's data pipeline (decode both frames, two augmented crops,
  anchor targets; :class:`siambench.train.data.PairDataset`) in this process over the same
  ``--pairs`` pair table, once from the original frames and once from the crop folder, and the
  ratio crops / original. Decoding a 511×511 JPEG costs more than a 320×240 synthetic frame and
  less than a 1280×720 one, so the ratio is below 1 on the synthetic split and above it on
  large frames.

    python benchmarks/precrop_throughput.py [--sequences 16] [--pairs 300] [--workers N]
                                            [--root DIR] [--frame-size WxH]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path


def pipeline_rate(data) -> float:
    """Samples per second of ``data[i]`` over the whole table (after one warm-up sample)."""
    data[0]
    start = time.perf_counter()
    for i in range(len(data)):
        data[i]
    return len(data) / (time.perf_counter() - start)


def pair_rate(dataset, origin: int, pairs: int) -> float:
    """Pairs/s of the SiamRPN ``cpu`` pipeline on ``dataset`` (seed 0's pair table)."""
    from siambench.models import build_model
    from siambench.train.config import resolve_config
    from siambench.train.data import PairDataset
    from siambench.train.pairs import build_index

    cfg = resolve_config("siamrpn", "cpu")
    model_cfg = dict(cfg["model"])
    model = build_model(model_cfg.pop("name"), seed=0, **model_cfg)
    index = build_index([(dataset, 1.0, origin)])
    table = index.sample_pairs(pairs, seed=0, epoch=0, frame_range=int(cfg["frame_range"]),
                               neg_prob=float(cfg["neg_prob"]))
    return pipeline_rate(PairDataset(index, table, cfg, "siamrpn", model.config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0))
                        if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    parser.add_argument("--root", type=Path, default=None,
                        help="synthetic train set to read [default: the synthetic-train split]")
    parser.add_argument("--frame-size", default=None, metavar="WxH",
                        help="generate a temporary synthetic set of this frame size instead")
    args = parser.parse_args()
    logging.getLogger("siambench.train").setLevel(logging.ERROR)  # "holds N of M sequences"

    import torch

    from siambench.datasets import load_dataset
    from siambench.datasets.synthetic import write_benchmark
    from siambench.train.precrop import load_crops, precrop

    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs); figures are only "
          "comparable on an otherwise idle machine")
    with tempfile.TemporaryDirectory(prefix="siambench-precrop-bench-") as tmp:
        root = args.root
        if args.frame_size:
            w, h = (int(v) for v in args.frame_size.lower().split("x"))
            root = Path(tmp) / "source"
            start = time.perf_counter()
            write_benchmark(root, fmt="otb", sequences=args.sequences, frames=40, seed=123,
                            size=(w, h), progress=False)
            print(f"generated {args.sequences} sequences x 40 frames of {w}x{h} in "
                  f"{time.perf_counter() - start:.0f} s")
        source = load_dataset("synthetic-train", root)
        sequences = min(args.sequences, len(source))
        sizes = sorted({tuple(source[i].frame(0).shape[1::-1]) for i in range(sequences)})
        print(f"source: {source.name} at {source.root}, first {sequences} sequences, frames "
              + ", ".join(f"{w}x{h}" for w, h in sizes) + " (low-resolution ones at half size)")
        rates = {}
        for workers in (1, args.workers):
            out = Path(tmp) / f"crops-{workers}"
            summary = precrop("synthetic-train", out, root=root, workers=workers, limit=sequences,
                              progress=False)
            rates[workers] = summary.crops / summary.seconds
            print(f"crop, {workers} worker(s): {summary.crops} crops in {summary.seconds:.1f} s = "
                  f"{rates[workers]:.1f} crops/s ({summary.bytes / summary.crops / 1e3:.0f} kB "
                  "per crop)")
        print(f"crop: {args.workers} workers / 1 worker = {rates[args.workers] / rates[1]:.2f}x")
        crops = load_crops(Path(tmp) / "crops-1", dataset="synthetic-train")
        original = source.subset(crops.names)
        from_frames = pair_rate(original, 1, args.pairs)
        from_crops = pair_rate(crops, 0, args.pairs)
        print(f"training pipeline (SiamRPN cpu config, {args.pairs} pairs, this process): "
              f"original frames {from_frames:.1f} pairs/s, crops {from_crops:.1f} pairs/s; "
              f"crops / original = {from_crops / from_frames:.2f}x")


if __name__ == "__main__":
    main()
