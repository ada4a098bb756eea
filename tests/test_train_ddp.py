"""A 2-process torchrun (gloo, CPU) run of ``siambench train`` trains and writes a loadable checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from siambench.models.checkpoint import load_checkpoint


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(tmp_path: Path) -> None:
    pytest.importorskip("torch.distributed.run")
    data, out = tmp_path / "synth", tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SIAMBENCH_CACHE": str(tmp_path / "cache")}
    subprocess.run([sys.executable, "-m", "siambench", "data", "synth", "--out", str(data),
                    "--sequences", "3", "--frames", "12", "--seed", "5"],
                   check=True, env=env, capture_output=True, timeout=120)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               "--master_port=0", "--rdzv-backend=c10d", "--rdzv-endpoint=localhost:0",
               "-m", "siambench", "train", "--tracker", "siamrpn",
               "--dataset", "synthetic-train", "--root", str(data), "--out", str(out),
               "--device", "cpu", "--quiet", "--epochs", "1", "--batch-size", "2",
               "--set", "pairs_per_epoch=8", "--set", "model.width_mult=0.25",
               "--set", "val_sequences=0", "--set", "log_every=1"]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    model, meta = load_checkpoint(out / "model.pt")
    assert meta["processes"] == 2 and meta["steps"] == 2          # 8 pairs / 2 ranks / batch 2
    assert model.config["width_mult"] == 0.25
    lines = (out / "metrics.csv").read_text().splitlines()
    assert len(lines) == 3                                         # header + one line per step, rank 0 only
