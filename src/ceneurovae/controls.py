"""Former home of the controls: re-exports `ceneurovae.evaluation.controls` and
`ceneurovae.shuffle_control`."""

from .evaluation.controls import (
    ACTIVE_THRESHOLD,
    as_recordings,
    latent_diagnostics,
    ratio,
    shuffle_behavior,
)
from .shuffle_control import shuffle_control

__all__ = ["ACTIVE_THRESHOLD", "as_recordings", "latent_diagnostics", "ratio", "shuffle_behavior", "shuffle_control"]
