"""`Recording`: one animal's neural traces, behavior and neuron identities.

Every reader returns recordings, the simulator makes them, and everything downstream
(windows, training, inference, evaluation) consumes them. Users can build one from numpy
arrays for any organism::

    rec = Recording(uid="fly-01", traces=x, behavior=b, behavior_names=["speed"],
                    labels=["DNa01", "", ...], dt=0.1)

Shapes (T frames, N neurons, D behaviors):

========================  ===============  ===========================================
field                     shape / type     meaning
========================  ===============  ===========================================
``uid``                   str              the animal's unique id
``traces``                (T, N) float32   activity as read (z-scored for ``trace_array``)
``mask``                  (T, N) bool      True where observed (False for NaN/dropped)
``behavior``              (T, D) float32   behavior in physical units
``behavior_names``        list[str]        name of each behavior column (stimuli: "stimulus:<name>")
``behavior_mask``         (T, D) bool      True where the behavior value is known
``identity``              (N,) int64       index into the vocabulary, 0 = unknown
``labels``                list[str]        raw label of each neuron, "" when unlabeled
``timestamps``            (T,) float64     seconds
``dt``                    float            time step, seconds
``events``                dict             named event frames, e.g. {"heat": [391]}
``source``                str              where it came from (a path, "simulator", ...)
``vocabulary``            Vocabulary       what the ``identity`` indices refer to (optional)
``meta``                  dict             anything else the reader found worth keeping
========================  ===============  ===========================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import RecordingError
from .identity import Vocabulary, canonical_label

__all__ = [
    "FLOAT32_MAX",
    "STIMULUS_PREFIX",
    "Recording",
    "interval_channel",
    "is_stimulus",
    "split_segments",
    "stimulus_name",
    "vocabulary_names",
]

STIMULUS_PREFIX = "stimulus:"
"""Conditioning channels that are stimuli (not behaviors) are named ``stimulus:<name>``.

A stimulus channel is a column of `Recording.behavior` like any behavior: the model is
conditioned on it, and a recording that lacks it has it masked. Its values are the stimulus
intensity, 1.0 during an interval and 0.0 outside it for on/off stimuli.
"""


def stimulus_name(name: str) -> str:
    """The channel name of stimulus `name` (``"NaCl"`` -> ``"stimulus:NaCl"``)."""
    name = str(name).strip()
    return name if name.startswith(STIMULUS_PREFIX) else STIMULUS_PREFIX + name


def is_stimulus(channel: str) -> bool:
    """True for a stimulus channel's name."""
    return str(channel).startswith(STIMULUS_PREFIX)


def interval_channel(timestamps: np.ndarray, intervals) -> np.ndarray:
    """A (T,) float32 channel: 1.0 on the frames inside any interval, 0.0 elsewhere.

    `intervals` is a sequence of (start, stop) in the timestamps' seconds. A frame is inside
    when ``start <= t < stop``; an interval shorter than a frame (an instantaneous event)
    marks the first frame at or after its start, so no interval vanishes between frames.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    out = np.zeros(ts.shape[0], dtype=np.float32)
    step = ts[1] - ts[0] if ts.shape[0] > 1 else 0.0
    for start, stop in intervals:
        inside = (ts >= start) & (ts < stop)
        k = int(np.searchsorted(ts, start))
        if not inside.any() and k < ts.shape[0] and start >= ts[0] - step:
            inside[k] = True  # shorter than a frame: the first frame at or after its start
        out[inside] = 1.0
    return out


@dataclass(eq=False)
class Recording:
    """One animal's recording. See the module docstring for the fields and their shapes.

    Only `uid`, `traces`, `behavior` and `behavior_names` are required. Missing optional
    fields get neutral values: every value observed, every neuron unlabeled, timestamps
    ``arange(T) * dt`` with ``dt`` from the timestamps or 1.0.
    Arrays are converted to the documented dtypes; inconsistent shapes raise
    `RecordingError` naming the field and the shapes found.
    """

    uid: str
    traces: np.ndarray
    behavior: np.ndarray
    behavior_names: list[str]
    mask: np.ndarray | None = None
    behavior_mask: np.ndarray | None = None
    identity: np.ndarray | None = None
    labels: list[str] | None = None
    timestamps: np.ndarray | None = None
    dt: float | None = None
    events: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    vocabulary: Vocabulary | None = None

    def __post_init__(self) -> None:
        where = self.source or None
        self.uid = str(self.uid)

        def fail(message: str, key: str) -> RecordingError:
            return RecordingError(f"recording {self.uid!r}: {message}", path=where, key=key)

        traces = np.asarray(self.traces)
        if traces.ndim != 2:
            raise fail(f"traces must be 2-D (T frames, N neurons), got shape {traces.shape}", "traces")
        T, N = traces.shape
        _check_float32(traces, fail, "traces")
        self.traces = traces.astype(np.float32, copy=False)

        behavior = np.asarray(self.behavior)
        if behavior.ndim == 1:
            behavior = behavior[:, None]
        if behavior.ndim != 2 or behavior.shape[0] != T:
            raise fail(
                f"behavior must be (T={T}, D) to match traces (T, N)={traces.shape}, "
                f"got shape {behavior.shape}",
                "behavior",
            )
        _check_float32(behavior, fail, "behavior")
        self.behavior = behavior.astype(np.float32, copy=False)
        self.behavior_names = [str(n) for n in self.behavior_names]
        if len(self.behavior_names) != behavior.shape[1]:
            raise fail(
                f"{len(self.behavior_names)} behavior names {self.behavior_names} for "
                f"{behavior.shape[1]} behavior columns",
                "behavior_names",
            )

        finite = np.isfinite(self.traces)
        if self.mask is None:
            self.mask = finite
        else:
            mask = np.asarray(self.mask, dtype=bool)
            if mask.shape != (T, N):
                raise fail(f"mask must have the shape of traces {(T, N)}, got {mask.shape}", "mask")
            self.mask = mask & finite
        if not finite.all():
            # Unobserved entries hold 0 so that no NaN can reach a sum; the mask says they are missing.
            self.traces = np.where(finite, self.traces, 0.0).astype(np.float32)

        bfinite = np.isfinite(self.behavior)
        if self.behavior_mask is None:
            self.behavior_mask = bfinite
        else:
            bmask = np.asarray(self.behavior_mask, dtype=bool)
            if bmask.shape != self.behavior.shape:
                raise fail(
                    f"behavior_mask must have the shape of behavior {self.behavior.shape}, got {bmask.shape}",
                    "behavior_mask",
                )
            self.behavior_mask = bmask & bfinite
        if not bfinite.all():
            self.behavior = np.where(bfinite, self.behavior, 0.0).astype(np.float32)

        if self.identity is None:
            self.identity = np.zeros(N, dtype=np.int64)
        else:
            identity = np.asarray(self.identity)
            if identity.shape != (N,):
                raise fail(f"identity must have one entry per neuron ({N}), got shape {identity.shape}", "identity")
            if identity.size and (not np.issubdtype(identity.dtype, np.integer) or identity.min() < 0):
                raise fail("identity must hold non-negative integers (0 = unknown)", "identity")
            self.identity = identity.astype(np.int64, copy=False)
            if self.vocabulary is not None and self.identity.size and self.identity.max() >= len(self.vocabulary):
                raise fail(
                    f"identity {int(self.identity.max())} is beyond the vocabulary ({len(self.vocabulary)} entries)",
                    "identity",
                )
            known = self.identity[self.identity > 0]
            values, counts = np.unique(known, return_counts=True)
            if (counts > 1).any():
                raise fail(
                    f"identities {values[counts > 1].tolist()} are given to more than one neuron",
                    "identity",
                )

        if self.labels is None:
            self.labels = [""] * N
        else:
            self.labels = ["" if lab is None else str(lab) for lab in self.labels]
            if len(self.labels) != N:
                raise fail(f"{len(self.labels)} labels for {N} neurons", "labels")

        if self.timestamps is None:
            step = 1.0 if self.dt is None else float(self.dt)
            self.timestamps = np.arange(T, dtype=np.float64) * step
        else:
            ts = np.asarray(self.timestamps, dtype=np.float64)
            if ts.shape != (T,):
                raise fail(f"timestamps must have one entry per frame ({T}), got shape {ts.shape}", "timestamps")
            if T > 1 and not (np.diff(ts) > 0).all():
                bad = int(np.argmax(~(np.diff(ts) > 0)))
                raise fail(
                    f"timestamps must increase; frame {bad + 1} is at {ts[bad + 1]!r} s "
                    f"after frame {bad} at {ts[bad]!r} s",
                    "timestamps",
                )
            self.timestamps = ts
        if self.dt is None:
            self.dt = float(np.median(np.diff(self.timestamps))) if T > 1 else 1.0
        self.dt = float(self.dt)
        if not np.isfinite(self.dt) or self.dt <= 0:
            raise fail(f"dt must be a positive number of seconds, got {self.dt!r}", "dt")
        self.events = dict(self.events)
        self.meta = dict(self.meta)

    # -- sizes -----------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.traces.shape[0])

    @property
    def n_neurons(self) -> int:
        return int(self.traces.shape[1])

    @property
    def n_labeled(self) -> int:
        """Neurons with a known identity (identity > 0)."""
        return int((self.identity > 0).sum())

    @property
    def labeled_indices(self) -> np.ndarray:
        """Indices of the neurons with a known identity."""
        return np.flatnonzero(self.identity > 0)

    # -- derived recordings ----------------------------------------------------------------
    def replace(self, **changes: Any) -> Recording:
        """A copy with some fields replaced (arrays are shared unless replaced)."""
        return dataclasses.replace(self, **changes)

    def with_hidden(self, idx) -> Recording:
        """A copy in which the neurons at `idx` are marked unobserved (their values kept)."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_neurons):
            raise RecordingError(
                f"recording {self.uid!r}: neuron indices to hide must be in [0, {self.n_neurons}), "
                f"got {idx.min()}..{idx.max()}",
                key="hide",
            )
        mask = self.mask.copy()
        mask[:, idx] = False
        return self.replace(mask=mask)

    def identity_names(self) -> list[str]:
        """The vocabulary name of each neuron's identity ("" for unknown), or the raw labels
        of labeled neurons when the recording carries no vocabulary."""
        if self.vocabulary is None:
            return [lab if i > 0 else "" for i, lab in zip(self.identity, self.labels)]
        return [self.vocabulary[i] if i > 0 else "" for i in self.identity]

    def require_behaviors(self, names, hint: str = "") -> None:
        """Raise `RecordingError` naming the behaviors of `names` this recording lacks.

        Stimulus channels (``stimulus:<name>``) are never required: a recording without one
        has it masked (`select_behaviors`).
        """
        missing = [n for n in names if n not in self.behavior_names and not is_stimulus(n)]
        if missing:
            raise RecordingError(
                f"recording {self.uid!r} has no behavior {missing} (it has {self.behavior_names}){hint}",
                path=self.source or None,
                key="behavior",
            )

    def select_behaviors(self, names: list[str], missing: str = "error") -> Recording:
        """A copy holding only the named behavior columns, in that order.

        A behavior the recording lacks is a `RecordingError` (``missing="error"``) or a masked
        column (``missing="mask"``, as a reader's ``missing_behavior='mask'``); a stimulus
        channel it lacks is always added masked (zeros, ``behavior_mask`` False): nothing is
        known of that stimulus in this recording. This is the one place where that rule is
        applied.
        """
        names = list(names)
        if missing == "error":
            self.require_behaviors(names)
        T = self.n_frames
        behavior = np.zeros((T, len(names)), dtype=np.float32)
        bmask = np.zeros((T, len(names)), dtype=bool)
        for j, n in enumerate(names):
            if n in self.behavior_names:
                k = self.behavior_names.index(n)
                behavior[:, j] = self.behavior[:, k]
                bmask[:, j] = self.behavior_mask[:, k]
        return self.replace(behavior=behavior, behavior_mask=bmask, behavior_names=names)

    def __repr__(self) -> str:
        return (
            f"Recording(uid={self.uid!r}, frames={self.n_frames}, neurons={self.n_neurons}, "
            f"labeled={self.n_labeled}, behaviors={self.behavior_names}, dt={self.dt:.3f} s)"
        )


FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Recordings hold float32: a finite value beyond this would become infinite."""


def _check_float32(values: np.ndarray, fail, key: str) -> None:
    """Refuse finite values that float32 cannot hold (they would become inf, and then masked)."""
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4 or not values.size:
        if values.dtype.kind not in "fiub":
            raise fail(f"{key} must be real numbers, got dtype {values.dtype}", key)
        return
    with np.errstate(invalid="ignore"):
        big = np.abs(values) > FLOAT32_MAX
    big &= np.isfinite(values)
    if big.any():
        t, j = np.argwhere(big)[0]
        raise fail(f"{key} holds {int(big.sum())} finite values beyond float32's range (±3.4e38), e.g. "
                   f"{float(values[t, j]):.3g} at frame {t}, column {j}: check the scale", key)


def vocabulary_names(rec: Recording) -> list[str]:
    """The identity name of each neuron of `rec` ("" for unlabeled), as a vocabulary reads them.

    With a vocabulary, its names (`Recording.identity_names`). Without one, the raw labels
    name the identities, in the canonical spelling for atlas names; uncertain labels count
    as unlabeled. Training and evaluation read labels this one way.
    """
    if rec.vocabulary is not None:
        return rec.identity_names()
    names = []
    for lab in rec.labels:
        c = canonical_label(lab) if lab else None
        names.append("" if c is None or c.uncertain else (c.name if c.in_atlas else lab.strip()))
    return names


def split_segments(timestamps: np.ndarray, gap_factor: float = 3.0) -> list[tuple[int, int]]:
    """Contiguous stretches of a recording, split where a time step exceeds `gap_factor` x median.

    Real recordings are two halves joined together; the join shows as one long step.

    Returns
    -------
    list of (start, stop)
        Half-open frame ranges covering every frame once.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size < 2:
        return [(0, int(ts.size))]
    steps = np.diff(ts)
    cut = np.flatnonzero(steps > gap_factor * np.median(steps)) + 1
    edges = [0, *cut.tolist(), int(ts.size)]
    return list(zip(edges[:-1], edges[1:]))
