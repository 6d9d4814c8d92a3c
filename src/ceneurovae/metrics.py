"""Former home of the evaluation's scores: re-exports `ceneurovae.evaluation.metrics`."""

from .evaluation.metrics import *  # noqa: F403
from .evaluation.metrics import __all__  # noqa: F401
