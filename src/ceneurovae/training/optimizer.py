"""Optimizer and learning-rate schedule (the seed's ``build_optimizer`` / ``build_scheduler``).

Schedule, by epoch (0-based), as multiples of the base learning rate:

- warm-up, epochs ``0 .. warmup-1``: linear, ``(epoch + 1) / warmup``;
- cosine, the next ``cosine_portion`` of the remaining epochs: from 1 down to `min_lr_ratio`;
- tail (epoch >= ``cosine_done``): `min_lr_ratio`, lowered further by ReduceLROnPlateau
  when the validation loss stops improving (if ``use_plateau``).
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from ..errors import ConfigError

__all__ = ["build_optimizer", "build_scheduler", "lr_factor", "cosine_done_epoch"]

_NO_DECAY_MODULES = (nn.LayerNorm, nn.Embedding, nn.BatchNorm1d, nn.GroupNorm)


def build_optimizer(
    model: nn.Module,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW with weight decay on weight matrices only.

    Biases, normalization parameters and embeddings (the per-identity vectors) are not
    decayed: shrinking an identity's vector toward zero would penalize rarely recorded
    neurons more than common ones. ``fused`` defaults to True on CUDA (it lets AMP skip
    non-finite steps without a host synchronization).
    """
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ConfigError(f"learning rate must be a positive number, got {lr!r}")
    if weight_decay < 0:
        raise ConfigError(f"weight_decay must be >= 0, got {weight_decay!r}")
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if isinstance(module, _NO_DECAY_MODULES) or p.dim() < 2 or name.endswith("bias"):
                no_decay.append(p)
            else:
                decay.append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if fused is None:
        fused = any(p.is_cuda for p in decay + no_decay)
    return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused or None)


def cosine_done_epoch(total_epochs: int, warmup_epochs: int, cosine_portion: float) -> int:
    """First epoch of the tail, after warm-up and cosine."""
    warmup = min(warmup_epochs, total_epochs)
    return warmup + max(1, round(cosine_portion * (total_epochs - warmup))) if total_epochs > warmup else warmup


def lr_factor(epoch: int, total_epochs: int, warmup_epochs: int, min_lr_ratio: float, cosine_portion: float) -> float:
    """Multiple of the base learning rate at `epoch` (before any plateau reductions)."""
    if epoch < warmup_epochs:
        return (epoch + 1) / warmup_epochs
    done = cosine_done_epoch(total_epochs, warmup_epochs, cosine_portion)
    if epoch >= done:
        return min_lr_ratio
    progress = (epoch - warmup_epochs) / max(done - warmup_epochs, 1)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(
    optim: torch.optim.Optimizer,
    total_epochs: int,
    warmup_epochs: int = 10,
    min_lr_ratio: float = 0.05,
    use_plateau: bool = True,
    cosine_portion: float = 0.85,
    plateau_patience: int = 5,
    plateau_factor: float = 0.5,
) -> tuple[LambdaLR, ReduceLROnPlateau | None, int]:
    """Warm-up + cosine schedule, then ReduceLROnPlateau in the tail.

    Returns
    -------
    scheduler_seq : LambdaLR
        Stepped once per epoch until ``cosine_done``.
    scheduler_plat : ReduceLROnPlateau or None
        Stepped with the validation loss from ``cosine_done`` on (None if not `use_plateau`).
    cosine_done : int
        The epoch from which the plateau scheduler takes over.
    """
    if not isinstance(total_epochs, int) or total_epochs < 1:
        raise ConfigError(f"total_epochs must be a positive integer, got {total_epochs!r}")
    if warmup_epochs < 0:
        raise ConfigError(f"warmup_epochs must be >= 0, got {warmup_epochs!r}")
    if not 0.0 < min_lr_ratio <= 1.0:
        raise ConfigError(f"min_lr_ratio must be in (0, 1], got {min_lr_ratio!r}")
    if not 0.0 <= cosine_portion <= 1.0:
        raise ConfigError(f"cosine_portion must be in [0, 1], got {cosine_portion!r}")
    factor = functools.partial(
        lr_factor,
        total_epochs=total_epochs,
        warmup_epochs=warmup_epochs,
        min_lr_ratio=min_lr_ratio,
        cosine_portion=cosine_portion,
    )
    scheduler_seq = LambdaLR(optim, lr_lambda=factor)
    scheduler_plat = None
    if use_plateau:
        base = max(g["initial_lr"] for g in optim.param_groups)
        scheduler_plat = ReduceLROnPlateau(
            optim, mode="min", factor=plateau_factor, patience=plateau_patience, min_lr=base * min_lr_ratio * 1e-2
        )
    return scheduler_seq, scheduler_plat, cosine_done_epoch(total_epochs, warmup_epochs, cosine_portion)
