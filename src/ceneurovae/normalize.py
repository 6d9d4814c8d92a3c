"""Normalization with kept scalers: traces z-scored per neuron, behaviors divided per channel.

The model sees normalized numbers; users see physical units. The scalers that connect the
two are stored in cohort files and checkpoints, so a prediction can always be mapped back.

- Traces: z-scored per neuron per recording over its observed frames (`zscore`). The mean and
  standard deviation are properties of that recording, recomputed wherever it is used, so
  predictions return in the units of ``rec.traces``.
- Behaviors: divided by one positive number per channel (`BehaviorScaler`): the lab's
  constants (`LAB_DIVISORS`) or the standard deviation over the training animals.
  Stimulus channels (``stimulus:<name>``, 0..1 already) are divided by 1 (`divisor_of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .io.behavior import LAB_DIVISORS
from .recording import Recording, is_stimulus

__all__ = ["LAB_DIVISORS", "BehaviorScaler", "stimulus_divisor", "zscore"]


def stimulus_divisor(name: str) -> float | None:
    """1.0 for a stimulus channel (its values are intensities in 0..1 already, not a quantity
    whose spread is worth fitting), None for a behavior."""
    return 1.0 if is_stimulus(name) else None


@dataclass(frozen=True)
class BehaviorScaler:
    """Per-channel divisors mapping physical behavior units to model units.

    Attributes
    ----------
    names : tuple of str
        Behavior names, in column order.
    divisor : tuple of float
        One positive divisor per behavior: ``model = physical / divisor``.
    """

    names: tuple[str, ...]
    divisor: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.divisor):
            raise ConfigError(f"{len(self.names)} behavior names but {len(self.divisor)} divisors")
        bad = [(n, d) for n, d in zip(self.names, self.divisor) if not (np.isfinite(d) and d > 0)]
        if bad:
            raise ConfigError(f"behavior divisors must be positive and finite, got {bad}")

    @classmethod
    def lab(cls, names: Iterable[str]) -> BehaviorScaler:
        """The lab's constants; behaviors without one, and stimuli, are left unscaled (divisor 1)."""
        names = tuple(names)
        return cls(names, tuple(float(LAB_DIVISORS.get(n, 1.0)) for n in names))

    @classmethod
    def fit(cls, recordings: Iterable[Recording], names: Iterable[str]) -> BehaviorScaler:
        """Standard deviation of each behavior over the observed frames of `recordings`.

        Stimulus channels get divisor 1 (`stimulus_divisor`), and a recording may lack them.
        """
        names = tuple(names)
        sums = np.zeros(len(names))
        sq = np.zeros(len(names))
        count = np.zeros(len(names))
        for rec in recordings:
            sel = rec.select_behaviors(list(names))
            b = sel.behavior.astype(np.float64)
            m = sel.behavior_mask
            sums += (b * m).sum(0)
            sq += (b * b * m).sum(0)
            count += m.sum(0)
        count = np.maximum(count, 1)
        var = sq / count - (sums / count) ** 2
        std = np.sqrt(np.maximum(var, 0))
        return cls(names, tuple(stimulus_divisor(n) or (float(s) if s > 1e-12 else 1.0)
                                for n, s in zip(names, std)))

    def transform(self, behavior: np.ndarray) -> np.ndarray:
        """Physical units -> model units; `behavior` is (..., D)."""
        return (np.asarray(behavior) / np.asarray(self.divisor, dtype=np.float32)).astype(np.float32)

    def inverse(self, behavior: np.ndarray) -> np.ndarray:
        """Model units -> physical units."""
        return (np.asarray(behavior) * np.asarray(self.divisor, dtype=np.float32)).astype(np.float32)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "divisor": [float(d) for d in self.divisor]}

    @classmethod
    def from_dict(cls, d: dict) -> BehaviorScaler:
        return cls(tuple(d["names"]), tuple(float(x) for x in d["divisor"]))


def zscore(traces: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-score each neuron over its observed frames.

    Parameters
    ----------
    traces, mask : (T, N) arrays

    Returns
    -------
    z : (T, N) float32
        ``(traces - mean) / std`` where observed, 0 elsewhere.
    mean, std : (N,) float64
        Per-neuron statistics (std 1 for neurons with fewer than 2 observed frames or
        no variance), so that ``traces = z * std + mean``.
    """
    x = np.asarray(traces, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    n = m.sum(0)
    mean = np.where(n > 0, (x * m).sum(0) / np.maximum(n, 1), 0.0)
    var = np.where(n > 1, (((x - mean) ** 2) * m).sum(0) / np.maximum(n - 1, 1), 1.0)
    std = np.sqrt(var)
    std = np.where(std > 1e-8, std, 1.0)
    z = np.where(m, (x - mean) / std, 0.0).astype(np.float32)
    return z, mean, std
