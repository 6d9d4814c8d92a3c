"""The null baseline: each identity's mean over the training animals (0 in z units)."""

from __future__ import annotations

import numpy as np

from .base import Baseline

__all__ = ["IdentityMean"]


class IdentityMean(Baseline):
    """The null model: every neuron is predicted by its identity's mean activity over the
    training animals. In z units this mean is 0, i.e. each neuron's own mean: R² 0 against
    the data. It is the reference point of R², and a check on the evaluation itself."""

    key = "identity_mean"
    label = "per-identity mean"

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        V = len(vocabulary)
        total, count = np.zeros(V), np.zeros(V)
        for a in animals:
            lab = a.labeled
            np.add.at(total, a.identity[lab], (a.z[:, lab] * a.mask[:, lab]).sum(0))
            np.add.at(count, a.identity[lab], a.mask[:, lab].sum(0))
        self.mean_ = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        return self

    def _predict(self, animal):
        out = np.full(animal.z.shape, np.nan)
        lab = animal.labeled
        out[:, lab] = self.mean_[animal.identity[lab]][None, :]
        return out

    def impute(self, animal, hide):
        return self._predict(animal)

    def reconstruct(self, animal):
        return self._predict(animal)

    def from_behavior(self, animal):
        return self._predict(animal)
