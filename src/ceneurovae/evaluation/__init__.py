"""The evaluation: how good a trained model is on animals it never saw.

Modules, each importing only those above it in this list and the layers below (data,
model, recording):

- `metrics`: R², summaries, cross-validated ridge (numpy only).
- `baselines`: the methods the model must beat, one module each, and their table.
- `controls`: latent diagnostics, shuffled behavior, small helpers.
- `evaluate`: `evaluate` scores a trained model beside the baselines and the noise ceiling.
- `benchmark`: the simulated benchmark's protocol (its cohort, split, paired bootstrap and
  oracle regressors), shared by the scripts under ``benchmarks/``; it also imports
  `ceneurovae.simulation` and `ceneurovae.config`.
- `timing`: speed and memory measurements (standard library only), for ``benchmarks/speed.py``
  and ``benchmarks/readout.py``; its names are generic (``table``, ``publish``), so they are
  imported from the module and not re-exported here.

Nothing here trains a model: the shuffle control, which does, is `ceneurovae.shuffle_control`.
"""

from .baselines import BASELINES, Baseline, default_baselines
from .benchmark import (
    benchmark_cohort,
    cohort_arguments,
    filtered_behavior_features,
    filtered_states,
    no_variability,
    paired_bootstrap,
    split_cohort,
)
from .controls import latent_diagnostics, shuffle_behavior
from .evaluate import Evaluation, evaluate, format_table, verdict
from .metrics import cross_validated_r2, describe, r2_score

__all__ = [
    "BASELINES",
    "Baseline",
    "Evaluation",
    "benchmark_cohort",
    "cohort_arguments",
    "cross_validated_r2",
    "default_baselines",
    "describe",
    "evaluate",
    "filtered_behavior_features",
    "filtered_states",
    "format_table",
    "latent_diagnostics",
    "no_variability",
    "paired_bootstrap",
    "r2_score",
    "shuffle_behavior",
    "split_cohort",
    "verdict",
]
