"""The seed's import path for the optimizer and schedule: the code lives in `ceneurovae.training.optimizer`."""

from .training.optimizer import build_optimizer, build_scheduler, cosine_done_epoch, lr_factor

__all__ = ["build_optimizer", "build_scheduler", "lr_factor", "cosine_done_epoch"]
