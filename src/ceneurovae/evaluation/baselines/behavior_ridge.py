"""The CePNEM-like behavior encoding model: ridge per identity on filtered behavior features."""

from __future__ import annotations

import numpy as np

from ..metrics import ridge_cv_from_stats
from .base import BEHAVIOR_TAUS_S, Baseline, FeatureScaler

__all__ = ["BehaviorRidge"]


class BehaviorRidge(Baseline):
    """CePNEM-like behavior encoding model, the behavior-only baseline.

    For each identity v, pooled over the training animals that recorded it::

        z_v(t) = w_v . f(t) + c_v

    with f the `behavior_features` (F of them) centered per recording and divided by the
    training animals' pooled standard deviation (`FeatureScaler`), fitted by ridge
    regression. The penalty of each identity is chosen by leave-one-animal-
    out CV over its training animals (identities seen in only one animal get the median
    penalty of the others). Everything comes from per-animal sufficient statistics.
    """

    key = "cepnem"
    label = "CePNEM-like behavior ridge"

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        self.scale_ = FeatureScaler(animals)
        per_identity: dict[int, list[tuple[np.ndarray, np.ndarray, float]]] = {}
        for a in animals:
            X = np.concatenate([self.scale_(a.features), np.ones((len(a.z), 1))], axis=1)
            gram_all = X.T @ X
            lab = a.labeled
            full = a.mask[:, lab].all(0)
            xty = X.T @ a.z[:, lab]
            yty = (a.z[:, lab] ** 2).sum(0)
            for j, n in enumerate(lab):
                g = gram_all if full[j] else X[a.mask[:, n]].T @ X[a.mask[:, n]]
                per_identity.setdefault(int(a.identity[n]), []).append((g, xty[:, j], yty[j]))
        self.weights_: dict[int, np.ndarray] = {}
        chosen = {}
        single = []
        for v, stats in per_identity.items():
            if len(stats) < 2:
                single.append(v)
                continue
            w, lam, _ = ridge_cv_from_stats(
                np.stack([s[0] for s in stats]), np.stack([s[1] for s in stats])[:, :, None],
                np.asarray([[s[2]] for s in stats]),
            )
            self.weights_[v] = w[:, 0]
            chosen[v] = float(lam[0])
        fallback = float(np.median(list(chosen.values()))) if chosen else 1e-2
        for v in single:
            g, b, yy = per_identity[v][0]
            w, _, _ = ridge_cv_from_stats(g[None], b[None, :, None], np.asarray([[yy]]), fixed=fallback)
            self.weights_[v] = w[:, 0]
        self.lambdas_ = chosen
        return self

    def from_behavior(self, animal):
        X = np.concatenate([self.scale_(animal.features), np.ones((len(animal.z), 1))], axis=1)
        out = np.full(animal.z.shape, np.nan)
        for n in animal.labeled:
            w = self.weights_.get(int(animal.identity[n]))
            if w is not None:
                out[:, n] = X @ w
        return out

    def impute(self, animal, hide):
        return self.from_behavior(animal)

    def reconstruct(self, animal):
        return self.from_behavior(animal)

    def describe(self):
        lam = np.asarray(list(self.lambdas_.values()))
        return {"taus_s": list(BEHAVIOR_TAUS_S), "identities": len(self.weights_),
                "lambda_median": float(np.median(lam)) if lam.size else None}
