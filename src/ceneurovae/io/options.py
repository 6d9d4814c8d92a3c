"""`ReadOptions`: the ``read`` settings section, the options of `import_h5` in one place.

The allowed values (`CHOICES`) and the rules for numbers live here too; `import_h5` checks
its keyword arguments against the same ones, and the command line builds its reading
options from this class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from ..identity import Vocabulary
from ..settings import Settings
from .behavior import DEFAULT_BEHAVIORS, HEAD_TARGETS
from .flavell import TRACE_KINDS

__all__ = ["CHOICES", "ReadOptions", "valid_dt", "valid_min_confidence"]

CHOICES: dict[str, tuple[str, ...]] = {
    "uncertain": ("unknown", "class"),
    "vocabulary": ("data", "atlas"),
    "missing_behavior": ("error", "drop", "mask"),
    "head_curvature_positive": HEAD_TARGETS,
    "traces": tuple(TRACE_KINDS),
    "invalid_labels": ("error", "drop"),
    "orientation": ("auto", "frames-first", "neurons-first"),
}
"""Allowed values of the reading options that name a choice."""


def valid_min_confidence(value) -> bool:
    """None, or a finite number >= 0."""
    return value is None or (
        not isinstance(value, bool) and isinstance(value, (int, float))
        and math.isfinite(value) and value >= 0
    )


def valid_dt(value) -> bool:
    """``"auto"``, None, or a finite positive number of seconds."""
    return value is None or value == "auto" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


@dataclass
class ReadOptions(Settings):
    """How recordings are read: the keyword options of `import_h5`."""

    section = "read"

    labels: str | None = None
    """Label JSON file or WormWideWeb JSON file/folder naming the neurons of files that hold no names."""
    behaviors: tuple[str, ...] = DEFAULT_BEHAVIORS
    """Behavior channels, in order."""
    min_confidence: float | None = 2.5
    """Minimum NeuroPAL label confidence (None keeps every label)."""
    uncertain: str = "unknown"
    """What a '?' label becomes: unknown, or its class."""
    vocabulary: str | Vocabulary = "data"
    """Identities from the data or the whole atlas (or a given Vocabulary)."""
    missing_behavior: str = "error"
    """A recording lacking a behavior: raise, drop it, or mask the channel."""
    head_curvature_positive: str = "dorsal"
    """Sign convention of head curvature and angular velocity."""
    head_angle_pos_is_ventral: dict[str, bool] | None = None
    """Per-recording sign of format-1 files, uid -> True/False (None: the shipped manifest)."""
    traces: str = "zscored"
    """Which trace array to read."""
    dt: float | str | None = "auto"
    """Common time step: 'auto', None (each recording's own) or seconds."""
    invalid_labels: str = "error"
    """Label keys outside the trace rows: raise, or load that recording without labels."""
    orientation: str = "auto"
    """Axes of trace arrays: auto (told by the frame count; an error when as many neurons as
    frames), frames-first (T, N) or neurons-first (N, T)."""
    stimuli: bool = True
    """Read the stimuli a file holds as conditioning channels named stimulus:<name>."""
    nwb_series: str | None = None
    """NWB files: the response series to read (its path in the file, or its name); None finds it."""
    nwb_labels: str | None = None
    """NWB files: the neuron-name column (its path in the file, or its name); None finds it."""

    def validate(self) -> None:
        b = self.behaviors
        self.need(
            not isinstance(b, str) and len(b) > 0 and len(set(b)) == len(b)
            and all(isinstance(x, str) and x.strip() for x in b),
            "behaviors", "a non-empty list of distinct names",
        )
        self.need(valid_min_confidence(self.min_confidence), "min_confidence",
                  "a number >= 0 (NeuroPAL scale 1-5) or None")
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if name == "vocabulary" and isinstance(value, Vocabulary):
                continue
            self.need(isinstance(value, str) and value in allowed, name,
                      f"one of {', '.join(map(repr, allowed))}")
        v = self.head_angle_pos_is_ventral
        self.need(v is None or (isinstance(v, Mapping) and all(isinstance(x, (bool, np.bool_)) for x in v.values())),
                  "head_angle_pos_is_ventral", "a mapping uid -> True/False, or None")
        self.need(valid_dt(self.dt), "dt", "'auto', None or a positive number of seconds")
        self.need(isinstance(self.stimuli, (bool, np.bool_)), "stimuli", "true or false")
        for name in ("nwb_series", "nwb_labels"):
            value = getattr(self, name)
            self.need(value is None or (isinstance(value, str) and value.strip() != ""), name,
                      "a path inside the NWB file, a name, or None")

    def kwargs(self) -> dict:
        """`import_h5` keyword arguments."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
