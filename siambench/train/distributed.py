"""Distributed data parallel through ``torchrun``: process-group setup from the environment.

``torchrun --nproc_per_node=G -m siambench train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and
initialises the default process group (``nccl`` on CUDA, ``gloo`` on CPU). Without them the
run is a single process (rank 0 of 1) and nothing is initialised. Multi-node runs are the same
command with torchrun's ``--nnodes``/``--rdzv-*`` options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from siambench.errors import SiambenchError


@dataclass(frozen=True)
class DistInfo:
    """``rank`` of ``world`` processes; ``local_rank`` picks the GPU; ``initialised`` when a
    process group was created here (and must be destroyed by :func:`cleanup`)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    initialised: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and the progress bar."""
        return self.rank == 0


def init_distributed(device: str) -> tuple[DistInfo, torch.device]:
    """Join the torchrun process group if the environment names one; returns the info and the
    device this process trains on (``cuda:LOCAL_RANK`` under DDP on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    wants_cuda = device.startswith("cuda")
    if wants_cuda and not torch.cuda.is_available():
        raise SiambenchError(f"--device {device}: CUDA is not available on this machine; "
                             "use --device cpu")
    if world <= 1:
        return DistInfo(), torch.device(device)
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if wants_cuda else "gloo"
    if wants_cuda:
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
    else:
        torch_device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://")
        return DistInfo(rank, world, local_rank, True), torch_device
    return DistInfo(rank, world, local_rank, False), torch_device


def wrap_model(model: nn.Module, info: DistInfo, device: torch.device, *,
               sync_bn: bool = False) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel when ``info.world > 1`` (SyncBatchNorm first
    when ``sync_bn``; PyTorch's SyncBatchNorm needs CUDA), else ``model`` itself."""
    if info.world <= 1:
        return model
    if sync_bn and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=False)


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op single-process)."""
    if info.world > 1 and dist.is_initialized():
        dist.barrier()


def all_mean(value: float, info: DistInfo, device: torch.device) -> float:
    """Mean of a float over the processes (logging only)."""
    if info.world <= 1:
        return float(value)
    tensor = torch.tensor([float(value)], device=device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / info.world


def cleanup(info: DistInfo) -> None:
    """Destroy the process group this module created."""
    if info.initialised and dist.is_initialized():
        dist.destroy_process_group()
