"""Earlier import path of the several-process helpers: the code lives in `ceneurovae.training.distributed`."""

from .training.distributed import (
    distributed_context,
    is_distributed,
    is_main_process,
    select_device,
    world_size,
)

__all__ = ["distributed_context", "is_distributed", "is_main_process", "select_device", "world_size"]
