"""Time VOT scoring of the VOT2018 NanoTrack archive's 5 trackers against a per-frame baseline.

Run from the repository root with the package installed::

    python benchmarks/vot_scoring.py [--data ../shared/data] [--eao vot|pysot] [--repeat 3]

Data: ``xl-sr_THOR/data/VOT2018.json`` (ground truth, image sizes) and
``HonglinChu_SiamTrackers/NanoTrack/results/VOT2018.zip`` (LightTrack, NanoTrack, SiamAPN,
SiamAPN++, SiamTPN; 60 sequences, 21,356 frames each) under ``--data``.

Prints the best-of-``repeat`` time of ``siambench.metrics.vot.score_vot`` on all 5 trackers, with
the reading (``read_tracker`` + ``align`` + the ground truth) excluded and included, and the time
of the **baseline**: the same scoring with every overlap computed by a per-frame Python loop that
calls ``siambench.boxes.raster_overlap`` on one pair at a time (the way pysot's
``vot_overlap_traj`` walks a trajectory), the per-frame overlaps then aggregated by the same
``aggregate_vot``. The ratio baseline / vectorised is printed, and the two reports are checked to
be identical.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siambench.boxes import raster_overlap
from siambench.datasets import load_dataset
from siambench.metrics.vot import (
    REGION,
    VOTSequenceScore,
    aggregate_vot,
    score_vot,
    vot_sequence_score,
)
from siambench.protocols import load_protocol
from siambench.results import align, read_tracker

TRACKERS = ["LightTrack", "NanoTrack", "SiamAPN", "SiamAPN++", "SiamTPN"]
VOT2018_EAO = load_protocol("vot2018").eao_interval


def read_inputs(data: Path) -> tuple[dict[str, dict[str, list]], dict[str, Any], dict, dict]:
    """Results, ground truth, image sizes and tags of the 5 trackers on VOT2018."""
    dataset = load_dataset("vot2018", root=data / "xl-sr_THOR" / "data")
    archive = data / "HonglinChu_SiamTrackers" / "NanoTrack" / "results" / "VOT2018.zip"
    results = {}
    for tracker in TRACKERS:
        aligned, _ = align(read_tracker(archive / "VOT2018" / tracker, tracker), dataset)
        results[tracker] = {seq: runs for seq, runs in aligned.sequences.items() if runs}
    groundtruth = {s.name: s.groundtruth for s in dataset}
    sizes = {s.name: s.image_size for s in dataset}
    tags = {s.name: s.tags for s in dataset}
    return results, groundtruth, sizes, tags


def per_frame_overlaps(codes: np.ndarray, regions: np.ndarray, gt: np.ndarray,
                       bound: tuple[float, float] | None) -> np.ndarray:
    """Baseline: one ``raster_overlap`` call per region frame."""
    out = np.full(len(codes), np.nan)
    for frame in np.flatnonzero(codes == REGION):
        pred = regions[frame]
        pred = pred[:4] if np.isnan(pred[4:]).all() else pred
        truth = gt[frame]
        truth = truth[:4] if len(truth) == 4 or np.isnan(truth[4:]).all() else truth
        out[frame] = raster_overlap(pred, truth, bound=bound)
    return out


def baseline(results: dict, groundtruth: dict, sizes: dict, tags: dict, eao: str) -> Any:
    scores: dict[str, dict[str, VOTSequenceScore]] = {}
    for tracker, by_seq in results.items():
        scores[tracker] = {}
        for seq, runs in by_seq.items():
            gt = np.asarray(groundtruth[seq], dtype=np.float64)
            size = sizes.get(seq)
            codes = np.array([run.codes for run in runs], dtype=np.int8)
            overlaps = np.array([per_frame_overlaps(run.codes, run.regions, gt, size)
                                 for run in runs])
            eao_overlaps = None
            if eao == "pysot" and size is not None:
                small = (size[0] - 1, size[1] - 1)
                eao_overlaps = np.array([per_frame_overlaps(run.codes, run.regions, gt, small)
                                         for run in runs])
            blank = (np.zeros(len(gt), dtype=np.int8), np.full((len(gt), 4), np.nan))
            template = vot_sequence_score([blank], gt, tags=tags.get(seq))   # the tag arrays only
            scores[tracker][seq] = VOTSequenceScore(overlaps, codes, template.tags, 10, eao_overlaps)
    return aggregate_vot(scores, interval=VOT2018_EAO, eao=eao)


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    default = Path(os.environ.get("SIAMBENCH_SHARED_DATA", Path(__file__).resolve().parents[2]
                                  / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--eao", choices=["vot", "pysot"], default="vot")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    read_s, (results, groundtruth, sizes, tags) = timed(lambda: read_inputs(args.data), 1)

    def vectorised() -> Any:
        return score_vot(results, groundtruth, interval=VOT2018_EAO, image_sizes=sizes,
                         tags=tags, eao=args.eao)

    fast_s, fast = timed(vectorised, args.repeat)
    slow_s, slow = timed(lambda: baseline(results, groundtruth, sizes, tags, args.eao), 1)
    pd.testing.assert_frame_equal(fast.overall, slow.overall, check_exact=True)
    pd.testing.assert_frame_equal(fast.by_tag, slow.by_tag, check_exact=True)
    frames = sum(len(groundtruth[s]) for s in next(iter(results.values())))
    print(f"VOT2018, {len(results)} trackers x {frames} frames, eao={args.eao!r}")
    print(f"  reading (read_tracker + align + GT)        {read_s:8.2f} s")
    print(f"  score_vot, reading excluded                 {fast_s:8.2f} s")
    print(f"  score_vot, reading included                 {fast_s + read_s:8.2f} s")
    print(f"  baseline: per-frame raster_overlap loop     {slow_s:8.2f} s")
    print(f"  speed-up (scoring only)                     {slow_s / fast_s:8.1f} x")
    print("  reports identical: yes")
    print(fast.overall.to_string(index=False))


if __name__ == "__main__":
    main()
