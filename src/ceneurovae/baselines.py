"""Former home of the baselines: re-exports `ceneurovae.evaluation.baselines` (and the
helpers this module used to re-export from `ceneurovae.data` and `ceneurovae.model`)."""

from .data import choose_hidden
from .evaluation.baselines import (
    BEHAVIOR_TAUS_S,
    AnimalData,
    Baseline,
    BehaviorRidge,
    IdentityMean,
    KalmanSequence,
    LaggedRidge,
    LowRank,
    NeuronOnlyRidge,
    NeuronRidge,
    StateSpace,
    animal_data,
    behavior_features,
    default_baselines,
    fit_factor_analysis,
    kalman_smoother,
    kalman_smoothers,
    shift_in_segments,
    vocabulary_identity,
    vocabulary_names,
)
from .model.conditional import smooth_time

__all__ = [
    "BEHAVIOR_TAUS_S",
    "AnimalData",
    "Baseline",
    "BehaviorRidge",
    "IdentityMean",
    "KalmanSequence",
    "LaggedRidge",
    "LowRank",
    "NeuronOnlyRidge",
    "NeuronRidge",
    "StateSpace",
    "animal_data",
    "behavior_features",
    "choose_hidden",
    "default_baselines",
    "fit_factor_analysis",
    "kalman_smoother",
    "kalman_smoothers",
    "shift_in_segments",
    "smooth_time",
    "vocabulary_identity",
    "vocabulary_names",
]
