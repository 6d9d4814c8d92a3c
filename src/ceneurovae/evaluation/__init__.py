"""The evaluation: how good a trained model is on animals it never saw.

Modules, each importing only those above it in this list and the layers below (data,
model, recording):

- `metrics`: R², summaries, cross-validated ridge (numpy only).
- `baselines`: the methods the model must beat, one module each, and their table.
- `controls`: latent diagnostics, shuffled behavior, small helpers.
- `evaluate`: `evaluate` scores a trained model beside the baselines and the noise ceiling.

Nothing here trains a model: the shuffle control, which does, is `ceneurovae.shuffle_control`.
"""

from .baselines import BASELINES, Baseline, default_baselines
from .controls import latent_diagnostics, shuffle_behavior
from .evaluate import Evaluation, evaluate, format_table, verdict
from .metrics import cross_validated_r2, describe, r2_score

__all__ = [
    "BASELINES",
    "Baseline",
    "Evaluation",
    "cross_validated_r2",
    "default_baselines",
    "describe",
    "evaluate",
    "format_table",
    "latent_diagnostics",
    "r2_score",
    "shuffle_behavior",
    "verdict",
]
