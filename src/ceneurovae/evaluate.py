"""Former home of the evaluation: re-exports `ceneurovae.evaluation.evaluate` and what this
module used to re-export (the shuffle control from `ceneurovae.shuffle_control`)."""

from .data import choose_hidden
from .evaluation.controls import latent_diagnostics, shuffle_behavior
from .evaluation.evaluate import (
    CEILINGS,
    FRACTION_OF,
    LEAK_TOLERANCE,
    METRICS,
    Evaluation,
    evaluate,
    format_table,
    verdict,
)
from .evaluation.metrics import r2_score
from .shuffle_control import shuffle_control
from .utils import jsonable

__all__ = [
    "CEILINGS",
    "FRACTION_OF",
    "LEAK_TOLERANCE",
    "METRICS",
    "Evaluation",
    "choose_hidden",
    "evaluate",
    "format_table",
    "jsonable",
    "latent_diagnostics",
    "r2_score",
    "shuffle_behavior",
    "shuffle_control",
    "verdict",
]
