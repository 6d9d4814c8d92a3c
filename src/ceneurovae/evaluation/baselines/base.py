"""What every baseline shares: the data it reads (`AnimalData`), the behavior features, the
identity of each neuron in the evaluation's vocabulary, the feature scaling, and the
`Baseline` interface.

`animal_data` builds one `AnimalData` per recording, once for all the baselines, so that the
behavior features and z-scored traces are computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...identity import Vocabulary
from ...model.config import BEHAVIOR_TAUS_S
from ...normalize import zscore
from ...recording import Recording, split_segments, vocabulary_names

__all__ = [
    "BEHAVIOR_TAUS_S",
    "AnimalData",
    "Baseline",
    "FeatureScaler",
    "animal_data",
    "behavior_features",
    "vocabulary_identity",
    "vocabulary_names",
]


def vocabulary_identity(rec: Recording, vocabulary: Vocabulary) -> np.ndarray:
    """Identity of each neuron of `rec` in `vocabulary`, (N,) int64 (0 for names it lacks)."""
    if rec.vocabulary is not None and rec.vocabulary == vocabulary:
        return rec.identity
    return vocabulary.encode(vocabulary_names(rec))


def behavior_features(rec: Recording, behaviors: Sequence[str], taus_s: Sequence[float] = BEHAVIOR_TAUS_S) -> np.ndarray:
    """CePNEM-like behavior features: each behavior (and rectified velocity) filtered by
    causal exponential kernels of unit gain at several timescales.

    ``y[t] = a_t y[t-1] + (1 - a_t) x[t]`` with ``a_t = exp(-(t_t - t_{t-1}) / tau)``: the
    actual time steps are used, so the pause between the two halves of a recording decays
    the filters as it should. Velocity also enters as ``max(v, 0)`` and ``min(v, 0)``
    (forward and reverse), as CePNEM rectifies it. Unknown behavior holds the filter's
    last value; before the first known value the feature is NaN.

    Parameters
    ----------
    rec : Recording
    behaviors : behavior names to use (all must be in ``rec.behavior_names``, apart from
        stimulus channels, unknown where the recording lacks them)

    Returns
    -------
    (T, C * len(taus_s)) float64, C = len(behaviors) (+ 2 with velocity)
    """
    sel = rec.select_behaviors(list(behaviors))
    raw = np.where(sel.behavior_mask, sel.behavior, np.nan).astype(np.float64)
    if "velocity" in behaviors:
        v = raw[:, list(behaviors).index("velocity")]
        raw = np.concatenate([raw, np.maximum(v, 0.0)[:, None], np.minimum(v, 0.0)[:, None]], axis=1)
    taus = np.asarray(taus_s, dtype=np.float64)
    T, C = raw.shape
    steps = np.diff(rec.timestamps)
    x = np.repeat(raw[:, :, None], len(taus), axis=2)  # (T, C, L)
    smooth = taus > 0
    if smooth.any():
        a = np.exp(-steps[:, None] / taus[None, smooth])  # (T-1, L')
        y = x[0][:, smooth].copy()
        for t in range(1, T):
            xt = x[t][:, smooth]
            known = np.isfinite(xt)
            upd = np.where(np.isfinite(y), a[t - 1] * y + (1.0 - a[t - 1]) * xt, xt)
            y = np.where(known, upd, y)
            x[t][:, smooth] = y
    return x.reshape(T, C * len(taus))


@dataclass
class AnimalData:
    """One recording as the baselines see it.

    uid : str
    z : (T, N) float64 traces z-scored per neuron over observed frames (0 where unobserved)
    mask : (T, N) bool observed
    identity : (N,) identity in the evaluation's vocabulary (0 = unknown)
    features : (T, F) behavior features (`behavior_features`), NaN where never known
    segments : contiguous stretches [(start, stop), ...] (`split_segments`), for smoothing
    """

    uid: str
    z: np.ndarray
    mask: np.ndarray
    identity: np.ndarray
    features: np.ndarray
    segments: list[tuple[int, int]]

    @property
    def labeled(self) -> np.ndarray:
        return np.flatnonzero(self.identity > 0)


def animal_data(rec: Recording, vocabulary: Vocabulary, behaviors: Sequence[str]) -> AnimalData:
    """Build the `AnimalData` of a recording (identities in `vocabulary`)."""
    z, _, _ = zscore(rec.traces, rec.mask)
    return AnimalData(
        uid=rec.uid,
        z=z.astype(np.float64),
        mask=np.asarray(rec.mask, dtype=bool),
        identity=vocabulary_identity(rec, vocabulary),
        features=behavior_features(rec, behaviors),
        segments=split_segments(rec.timestamps),
    )


def _center(features: np.ndarray) -> np.ndarray:
    """Features minus their mean over the recording's known frames."""
    known = np.isfinite(features)
    mean = np.where(known, features, 0.0).sum(0) / np.maximum(known.sum(0), 1)
    return features - mean


class FeatureScaler:
    """Scales behavior features for the baselines: centered per recording, divided by the
    training animals' pooled standard deviation; unknown values -> 0 (the mean).

    Centering per recording matches the targets: each neuron is z-scored in its own
    recording, so its mean is removed whatever the animal's mean behavior was. Without it
    the slow filters' per-animal offsets would pose as animal indicators.
    """

    def __init__(self, animals: Sequence[AnimalData]):
        f = np.concatenate([_center(a.features) for a in animals])
        known = np.isfinite(f)
        sd = np.sqrt((np.where(known, f, 0.0) ** 2).sum(0) / np.maximum(known.sum(0), 1))
        self.std = np.where(sd > 1e-12, sd, 1.0)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return np.nan_to_num(_center(features) / self.std)


class Baseline:
    """Interface of a baseline. Predictions are (T, N) in z units, NaN where not predicted.

    Attributes
    ----------
    key : short name used in tables and JSON.
    label : the name printed in the table.
    """

    key = "baseline"
    label = "baseline"

    def fit(self, animals: Sequence[AnimalData], vocabulary: Vocabulary, *, hide_fraction: float = 0.2, seed: int = 0) -> Baseline:
        raise NotImplementedError

    def impute(self, animal: AnimalData, hide: np.ndarray) -> np.ndarray:
        """Predict the neurons `hide` without looking at them."""
        raise NotImplementedError

    def reconstruct(self, animal: AnimalData) -> np.ndarray | None:
        """Denoised estimate of the observed neurons (None: not offered)."""
        return None

    def from_behavior(self, animal: AnimalData) -> np.ndarray | None:
        """Prediction from behavior alone (None: not offered)."""
        return None

    def latents(self, animal: AnimalData) -> np.ndarray | None:
        """A per-frame representation (T, K) to decode behavior from (None: not offered)."""
        return None

    def describe(self) -> dict:
        """Fitted hyper-parameters, for the report."""
        return {}
