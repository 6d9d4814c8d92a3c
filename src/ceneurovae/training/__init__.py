"""Training: a small `Solver` (step, epoch, validation, resumable state), its `TrainConfig`,
the optimizer and schedule, the one `Checkpoint` layout, and the several-process setup.

``fit_model`` is the seed's entry point: a thin wrapper that builds a `Solver` and runs it.
"""

from .checkpoint import CHECKPOINT_FORMAT, Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import (
    distributed_context,
    is_distributed,
    is_main_process,
    select_device,
    world_size,
)
from .optimizer import build_optimizer, build_scheduler, cosine_done_epoch, lr_factor
from .solver import (
    SPREAD_EVERY,
    EpochRecord,
    Solver,
    augmentation,
    evaluate_loss,
    fit_model,
    run_step,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "EpochRecord",
    "SPREAD_EVERY",
    "Solver",
    "TrainConfig",
    "augmentation",
    "build_optimizer",
    "build_scheduler",
    "cosine_done_epoch",
    "distributed_context",
    "evaluate_loss",
    "fit_model",
    "is_distributed",
    "is_main_process",
    "load_checkpoint",
    "lr_factor",
    "run_step",
    "save_checkpoint",
    "select_device",
    "world_size",
]
