"""Earlier import path of the checkpoint functions: the code lives in `ceneurovae.training.checkpoint`."""

from .training.checkpoint import CHECKPOINT_FORMAT, Checkpoint, load_checkpoint, save_checkpoint

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]
