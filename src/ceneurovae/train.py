"""The seed's import path for training (``from ceneurovae.train import fit_model``): the code lives in `ceneurovae.training`."""

from .model import unwrap
from .training import EpochRecord, Solver, TrainConfig, evaluate_loss, fit_model, run_step

__all__ = ["TrainConfig", "EpochRecord", "Solver", "fit_model", "run_step", "evaluate_loss", "unwrap"]
