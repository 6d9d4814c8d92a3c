"""Behavior names shared by the readers, the head-angle sign convention, and stimulus events.

Canonical names are used everywhere in the package; each format spells them its own way.
Stimuli that files store as event frames (the heat onsets of Atanas & Kim 2023) become
conditioning channels ``stimulus:<name>`` here (`event_stimulus`, `append_stimuli`), and
go back to event frames for the writers (`stimulus_onsets`).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from importlib import resources

import numpy as np

from ..errors import ConfigError
from ..recording import STIMULUS_PREFIX, Recording, interval_channel, is_stimulus, stimulus_name

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
    "EVENT_STIMULUS_S",
    "event_stimulus",
    "append_stimuli",
    "stimulus_onsets",
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


EVENT_STIMULUS_S: dict[str, float] = {"heat": 0.0}
"""How long a stimulus stored as onset frames lasts, s, by event name (0: one frame).

The heat stimulus of Atanas & Kim 2023 is stored as its onset frame only
(``timing/stim_begin_confocal``, WormWideWeb ``events/heat``); its duration is documented
neither in the files nor in the data notes this package was written from, so it marks the
one onset frame. Other event names stored in WormWideWeb ``events`` are read the same way.
"""


def event_stimulus(name: str, frames, timestamps: np.ndarray) -> np.ndarray:
    """The (T,) float32 channel of stimulus `name` given as onset `frames` (0-based):
    1.0 from each onset for ``EVENT_STIMULUS_S[name]`` seconds (one frame at least), 0.0 elsewhere."""
    ts = np.asarray(timestamps, dtype=np.float64)
    duration = EVENT_STIMULUS_S.get(str(name), 0.0)
    starts = [float(ts[int(f)]) for f in frames if 0 <= int(f) < ts.size]
    return interval_channel(ts, [(t, t + duration) for t in starts])


def append_stimuli(rec: Recording, channels: dict[str, np.ndarray], origin: dict[str, str] | None = None) -> Recording:
    """`rec` with the stimulus `channels` (name -> (T,) values) appended as behavior columns
    ``stimulus:<name>`` (known on every frame), in name order; ``meta["stimuli"]`` says where
    each came from (`origin`, name -> the file's key)."""
    if not channels:
        return rec
    names = sorted(channels)
    columns = [stimulus_name(n) for n in names]
    keep = [j for j, n in enumerate(rec.behavior_names) if n not in columns]
    values = np.stack([np.asarray(channels[n], dtype=np.float32) for n in names], axis=1)
    behavior = np.concatenate([rec.behavior[:, keep], values], axis=1)
    bmask = np.concatenate([rec.behavior_mask[:, keep], np.ones(values.shape, dtype=bool)], axis=1)
    meta = dict(rec.meta)
    meta["stimuli"] = {
        c: {"from": (origin or {}).get(n), "duration_s": EVENT_STIMULUS_S.get(n, 0.0)} for n, c in zip(names, columns)
    }
    return rec.replace(behavior=behavior, behavior_mask=bmask,
                       behavior_names=[rec.behavior_names[j] for j in keep] + columns, meta=meta)


def stimulus_onsets(rec: Recording) -> dict[str, list[int]]:
    """Onset frames of each stimulus channel of `rec` (name without the prefix -> 0-based frames
    where the stimulus turns on), for writers that store stimuli as event frames. A channel
    never known (mask all False) is left out."""
    out = {}
    for j, n in enumerate(rec.behavior_names):
        if not is_stimulus(n) or not rec.behavior_mask[:, j].any():
            continue
        on = (rec.behavior[:, j] > 0) & rec.behavior_mask[:, j]
        starts = np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))
        out[n[len(STIMULUS_PREFIX):]] = [int(f) for f in starts]
    return out
