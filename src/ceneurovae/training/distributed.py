"""Several processes, one model: DistributedDataParallel on PyTorch's own engine.

Launch any training command with torchrun; nothing else changes::

    torchrun --nproc_per_node=4 -m ceneurovae train --config run.yaml

Each process trains on its shard of the windows (a DistributedSampler), gradients are
averaged by DDP (gloo on CPU, NCCL on GPU), epoch statistics are summed across processes,
and only rank 0 writes checkpoints, metrics and the progress bar. ``train.batch_size`` is
the global batch: each of K processes takes ``batch_size // K`` windows per step, so a run
on K processes follows the same schedule as one process.
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist

from ..errors import ConfigError

__all__ = ["distributed_context", "is_distributed", "is_main_process", "select_device", "world_size"]


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``: CUDA if available, then Apple MPS, then CPU; otherwise the device named."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"device {device!r} is not a device name ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but CUDA is not available on this machine")
    return dev


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return not is_distributed() or dist.get_rank() == 0


@contextlib.contextmanager
def distributed_context(device: str | torch.device = "auto"):
    """Initialize the process group when launched by torchrun (WORLD_SIZE > 1); yield this process's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        yield select_device(device)
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = select_device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend)
    try:
        yield dev
    finally:
        dist.barrier()
        dist.destroy_process_group()
