"""Former home of the evaluation's scores: re-exports `ceneurovae.evaluation.metrics`."""

from .evaluation.metrics import (
    LAMBDAS,
    RidgeFit,
    block_groups,
    cross_validated_r2,
    describe,
    r2_score,
    ridge_cv,
    ridge_cv_from_stats,
)

__all__ = [
    "LAMBDAS",
    "RidgeFit",
    "block_groups",
    "cross_validated_r2",
    "describe",
    "r2_score",
    "ridge_cv",
    "ridge_cv_from_stats",
]
