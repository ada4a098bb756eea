"""Training throughput: pairs/s of the data pipeline alone and of full training steps.

For each tracker (SiamRPN, SiamFC; the `cpu` config's model sizes and batch sizes) on the
synthetic train split: (1) the data pipeline alone (frame decode + augmented crops + targets,
in the main process), (2) full training steps (the same pipeline + forward/backward/SGD), on
the CPU and, when present, on CUDA. Prints pairs/s and the ratio pipeline / training (how
many times faster the data comes than the steps consume it: > 1 means compute-bound).

    python benchmarks/train_throughput.py [--pairs 96] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, default_collate


def _setup(kind: str, pairs: int):
    from siambench.datasets import load_dataset
    from siambench.datasets.registry import get_spec
    from siambench.models import build_model
    from siambench.train.config import resolve_config
    from siambench.train.data import PairDataset
    from siambench.train.pairs import build_index

    cfg = resolve_config(kind, "cpu")
    model_cfg = dict(cfg["model"])
    model = build_model(model_cfg.pop("name"), seed=0, **model_cfg)
    index = build_index([(load_dataset("synthetic-train"), 1.0, get_spec("synthetic-train").origin)])
    table = index.sample_pairs(pairs, seed=0, epoch=0, neg_prob=cfg["neg_prob"])
    return cfg, model, PairDataset(index, table, cfg, kind, model.config)


def pipeline_rate(data) -> float:
    data[0]
    start = time.perf_counter()
    for i in range(len(data)):
        data[i]
    return len(data) / (time.perf_counter() - start)


def training_rate(kind: str, cfg, model, data, device: str) -> float:
    from siambench.train.loop import make_optimizer, train_step

    model = model.to(device).train()
    optimizer = make_optimizer(model, cfg)
    scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda"))
    batch = int(cfg["batch_size"])
    loader = DataLoader(data, batch_size=batch, drop_last=True, collate_fn=default_collate)
    it = iter(loader)
    train_step(model, optimizer, next(it), cfg, kind, device=device, scaler=scaler)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, count = time.perf_counter(), 0
    for sample in it:
        train_step(model, optimizer, sample, cfg, kind, device=device, scaler=scaler)
        count += batch
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=96)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, devices {devices}")
    for kind in ("siamrpn", "siamfc"):
        cfg, model, data = _setup(kind, args.pairs)
        pipe = pipeline_rate(data)
        print(f"{kind} (width {cfg['model']['width_mult']}, batch {cfg['batch_size']}): "
              f"data pipeline {pipe:.1f} pairs/s")
        for device in devices:
            rate = training_rate(kind, cfg, model, data, device)
            print(f"  {device}: full training steps {rate:.1f} pairs/s; pipeline / training "
                  f"= {pipe / rate:.2f}x")


if __name__ == "__main__":
    main()
