"""Behavior names shared by the readers, and the head-angle sign convention.

Canonical names are used everywhere in the package; each format spells them its own way.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from importlib import resources

from ..errors import ConfigError

__all__ = [
    "DEFAULT_BEHAVIORS",
    "LAB_DIVISORS",
    "SIGNED_BY_HEAD_ANGLE",
    "FORMAT1_KEYS",
    "V1_KEYS",
    "V2_KEYS",
    "HEAD_TARGETS",
    "head_sign",
    "manifest_pos_is_ventral",
    "check_reader_options",
]

DEFAULT_BEHAVIORS = ("velocity", "head_curvature", "pumping")

LAB_DIVISORS = {"velocity": 0.0603, "head_curvature": 0.494, "pumping": 1.277}
"""Divisors the Flavell lab uses to normalize behaviors for modeling (Atanas & Kim 2023)."""

# Behaviors whose sign follows the dorso-ventral convention of the head angle: the lab
# flips both together when a recording's positive head angle is ventral.
SIGNED_BY_HEAD_ANGLE = ("head_curvature", "angular_velocity")

# canonical name -> key, per format; other names are looked up under their own name.
FORMAT1_KEYS = {
    "velocity": "velocity",
    "head_curvature": "head_angle",
    "pumping": "pumping",
    "angular_velocity": "angular_velocity",
    "body_curvature": "worm_curvature",
}
V1_KEYS = {
    "velocity": "velocity",
    "head_curvature": "head_curvature",
    "pumping": "pumping",
    "angular_velocity": "angular_velocity",
    "body_curvature": "body_curvature",
}
V2_KEYS = {
    "velocity": "velocity",
    "head_curvature": "head_angle",
    "pumping": "pumping",
    "angular_velocity": "angular_velocity",
    "body_curvature": "body_curvature",
}


@functools.cache
def _manifest() -> dict[str, bool]:
    text = resources.files("ceneurovae.resources").joinpath("atanas_kim_2023_manifest.csv")
    with text.open("r", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    col = next(k for k in rows[0] if k.endswith("_pos_is_ventral"))
    return {r["uid"]: r[col].strip().lower() == "true" for r in rows}


def manifest_pos_is_ventral(uid: str) -> bool | None:
    """The manifest's ``θh_pos_is_ventral`` for an Atanas & Kim 2023 recording, else None."""
    return _manifest().get(uid)

HEAD_TARGETS = ("dorsal", "ventral", "as_read")


def head_sign(source: str, target: str) -> tuple[float, str]:
    """Factor applied to the head-angle-signed behaviors, and the convention that results.

    Parameters
    ----------
    source : {"dorsal", "ventral", "unknown"}
        What positive head angle means in the file.
    target : {"dorsal", "ventral", "as_read"}
        What positive should mean after reading.

    Returns
    -------
    factor : float
        +1 or -1.
    result : str
        ``"dorsal"``, ``"ventral"`` or ``"unknown"``: the convention of the values returned.
    """
    if target == "as_read" or source == "unknown":
        return 1.0, source
    return (1.0 if source == target else -1.0), target


def check_reader_options(behaviors, traces: str, trace_kinds: Iterable[str], missing_behavior: str, target: str) -> list[str]:
    """Refuse impossible reader options with `ConfigError` before a file is opened."""
    if isinstance(behaviors, str):
        behaviors = [behaviors]
    behaviors = list(behaviors)
    if not behaviors or not all(isinstance(b, str) and b for b in behaviors) or len(set(behaviors)) != len(behaviors):
        raise ConfigError(f"behaviors must be a non-empty list of distinct names, got {behaviors!r}")
    kinds = tuple(trace_kinds)
    for name, value, allowed in [
        ("traces", traces, kinds),
        ("missing_behavior", missing_behavior, ("error", "mask")),
        ("head_curvature_positive", target, HEAD_TARGETS),
    ]:
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")
    return behaviors
