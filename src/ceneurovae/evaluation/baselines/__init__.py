"""Baselines the model must beat, fitted on the training animals, scored like the model.

Every baseline works in the evaluation's units, each neuron z-scored over its observed
frames in its own recording (the model's units too), and by identity: what is learned
about identity ``v`` on the training animals is applied to identity ``v`` of a held-out
animal. Each returns predictions (T, N) for the recording's labeled neurons, NaN where it
has nothing to say (the evaluation scores NaN as the neuron's mean, R² 0).

==================  =========================================================================
`IdentityMean`      the null: each identity's mean over the training animals (0 in z units)
`BehaviorRidge`     CePNEM-like encoding model: ridge per identity on behavior filtered by
                    causal exponential kernels at several timescales, plus rectified
                    forward / reverse velocity; penalty by leave-one-animal-out CV
`NeuronRidge`       imputation from the same animal's other labeled neurons and its behavior
                    features: ridge on moments pooled by identity over the training animals
                    (each pair of identities from the animals that recorded both, the whole
                    matrix made positive semi-definite); penalty by leave-one-animal-out CV
                    of the imputation task itself
`NeuronOnlyRidge`   the same from the other neurons alone (the model's linear read-out)
`LaggedRidge`       the same with the other neurons at t-1, t and t+1 as separate variables
`LowRank`           factor analysis with missing data (EM) in identity space; hidden neurons
                    predicted from the factors inferred from the visible ones; rank by
                    grouped CV of the imputation task
`StateSpace`        a linear-Gaussian state-space model in identity space (EM with missing
                    data); hidden neurons by Kalman smoothing from the visible ones; state
                    dimension and EM iterations by grouped CV of the imputation task
==================  =========================================================================

Baselines take `AnimalData` (one per recording, built once by `animal_data`) so that the
behavior features and z-scored traces are computed once for all of them.

Each baseline is a `Baseline` subclass in a module of its own (`base` holds what they
share) and one entry of `BASELINES`, the table of every baseline by key, in the order of
the evaluation's tables: a new baseline is one module and one entry.
"""

from __future__ import annotations

from .base import (
    BEHAVIOR_TAUS_S,
    AnimalData,
    Baseline,
    FeatureScaler,
    animal_data,
    behavior_features,
    vocabulary_identity,
    vocabulary_names,
)
from .behavior_ridge import BehaviorRidge
from .factor_analysis import FrameBlock, factor_posterior, fit_factor_analysis, frame_blocks
from .identity_mean import IdentityMean
from .lowrank import LowRank
from .neuron_ridge import LaggedRidge, NeuronOnlyRidge, NeuronRidge, shift_in_segments
from .state_space import KalmanSequence, StateSpace, kalman_smoother, kalman_smoothers

__all__ = [
    "BASELINES",
    "BEHAVIOR_TAUS_S",
    "AnimalData",
    "Baseline",
    "BehaviorRidge",
    "FeatureScaler",
    "FrameBlock",
    "IdentityMean",
    "KalmanSequence",
    "LaggedRidge",
    "LowRank",
    "NeuronOnlyRidge",
    "NeuronRidge",
    "StateSpace",
    "animal_data",
    "behavior_features",
    "default_baselines",
    "factor_posterior",
    "fit_factor_analysis",
    "frame_blocks",
    "kalman_smoother",
    "kalman_smoothers",
    "shift_in_segments",
    "vocabulary_identity",
    "vocabulary_names",
]

BASELINES: dict[str, type[Baseline]] = {
    cls.key: cls
    for cls in (
        IdentityMean,
        BehaviorRidge,
        NeuronRidge,
        NeuronOnlyRidge,
        LaggedRidge,
        LowRank,
        StateSpace,
    )
}
"""Every baseline class by its key, in table order."""


def default_baselines() -> list[Baseline]:
    """The baselines of every evaluation (each entry of `BASELINES` with its default
    settings), in table order."""
    return [cls() for cls in BASELINES.values()]
