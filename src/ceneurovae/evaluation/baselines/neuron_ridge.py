"""Ridge imputation from the same animal's other neurons, on moments pooled by identity:
`NeuronRidge` (with behavior), `NeuronOnlyRidge` (without) and `LaggedRidge` (the other
neurons at t-1, t and t+1), one class with three settings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...data import hidden_sets
from ...model.conditional import (
    LAMBDAS,
    SIGMAS,
    choose_penalty,
    conditional_predictions,
    moment_sums,
    pooled_moments,
    psd_factors,
    smooth_time,
)
from .base import AnimalData, Baseline, FeatureScaler

__all__ = ["LaggedRidge", "NeuronOnlyRidge", "NeuronRidge", "shift_in_segments"]


def shift_in_segments(x: np.ndarray, m: np.ndarray, lag: int, segments: Sequence[tuple[int, int]]):
    """``x[t + lag]`` and its mask at every frame t, inside each contiguous segment (False
    where t + lag falls outside the frame's segment).

    x, m : (T, M) -> (T, M), (T, M)
    """
    if lag == 0:
        return x, m
    xs, ms = np.zeros_like(x), np.zeros_like(m)
    for a, b in segments:
        if lag > 0 and b - a > lag:
            xs[a:b - lag], ms[a:b - lag] = x[a + lag:b], m[a + lag:b]
        elif lag < 0 and b - a > -lag:
            xs[a - lag:b], ms[a - lag:b] = x[a:b + lag], m[a:b + lag]
    return xs, ms


class NeuronRidge(Baseline):
    """Ridge imputation from the same animal's other labeled neurons (and its behavior).

    Animals record different subsets of identities, so the regression is written in terms of
    moments. The variables are each identity's z-scored trace at every lag of `lags`
    (frame ``t + lag``) and, with `behavior`, the standardized behavior features. Over the
    training animals, the second moment of every pair of variables is averaged over the
    frames of the animals that recorded both, and the whole matrix is projected onto the
    positive semi-definite ones (`model.conditional.pooled_moments`): ``C[u, w]``. For an
    animal showing variables S, the hidden identities H (at lag 0) are predicted by the
    ridge regression whose normal equations use these moments::

        x_H = C[H, S] (C[S, S] + lam I)^-1 x_S

    then smoothed in time (`smooth_time`). The penalty ``lam`` and the smoothing width are
    chosen together by leave-one-animal-out CV of this very task on the training animals
    (each training animal's seeded hidden neurons, or on few animals every labeled neuron a
    fold at a time: `data.hidden_sets`, predicted from the moments of the others). The model's linear read-out
    (`model.conditional.LinearReadout`) is this ridge without lags and behavior.
    Reconstruction predicts each observed neuron from all the other neurons (leave-one-
    neuron-out, its own lagged values excluded; same penalty and smoothing).
    """

    key = "ridge"
    label = "ridge (other neurons + behavior)"
    LAMBDAS = LAMBDAS
    lags: tuple[int, ...] = (0,)
    behavior: bool = True

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        self.scale_ = FeatureScaler(animals) if animals else None
        self.n_id = len(vocabulary) - 1
        self.n_feat = animals[0].features.shape[1] if animals and self.behavior else 0
        variables = [self._variables(a) for a in animals]
        stats = [moment_sums(x, m) for x, m in variables]
        self.moments_ = pooled_moments(sum(s[0] for s in stats), sum(s[1] for s in stats))
        if len(animals) < 2:
            self.lam_, self.sigma_ = 0.1, 0.0
            return self
        tasks = []
        hidden = hidden_sets([(a.identity, a.uid) for a in animals], hide_fraction, seed)
        for a, (x, _), folds in zip(animals, variables, hidden):
            tasks.append([(x, self._columns(a, np.setdiff1d(a.labeled, hide)), self._target_columns(a, hide),
                           a.z[:, hide], a.mask[:, hide], a.segments) for hide in folds])
        self.lam_, self.sigma_, self.cv_sse_ = choose_penalty(stats, tasks, self.LAMBDAS, SIGMAS)
        return self

    # -- variables: identity v at lag index l -> column l * n_id + v - 1; behavior last -----
    def _variables(self, animal: AnimalData) -> tuple[np.ndarray, np.ndarray]:
        T = len(animal.z)
        L = len(self.lags)
        x = np.zeros((T, L * self.n_id + self.n_feat))
        m = np.zeros((T, L * self.n_id + self.n_feat), dtype=bool)
        lab = animal.labeled
        cols = animal.identity[lab] - 1
        z0 = np.where(animal.mask[:, lab], animal.z[:, lab], 0.0)
        for i, lag in enumerate(self.lags):
            zl, ml = shift_in_segments(z0, animal.mask[:, lab], lag, animal.segments)
            x[:, i * self.n_id + cols] = zl
            m[:, i * self.n_id + cols] = ml
        if self.n_feat:
            f = animal.features
            x[:, L * self.n_id:] = self.scale_(f)
            m[:, L * self.n_id:] = np.isfinite(f)
        return x, m

    def _columns(self, animal, neurons):
        """Variable columns of `neurons` at every lag, then the behavior features."""
        ids = animal.identity[neurons] - 1
        cols = [i * self.n_id + ids for i in range(len(self.lags))]
        cols.append(len(self.lags) * self.n_id + np.arange(self.n_feat))
        return np.concatenate(cols).astype(np.int64)

    def _target_columns(self, animal, neurons):
        """Variable columns of `neurons` at lag 0."""
        return self.lags.index(0) * self.n_id + animal.identity[neurons] - 1

    def _impute(self, animal, hide, x=None):
        if x is None:
            x, _ = self._variables(animal)
        vis = self._columns(animal, np.setdiff1d(animal.labeled, hide))
        pred = next(conditional_predictions(self.moments_, x, vis, self._target_columns(animal, hide), [self.lam_]))
        return smooth_time(pred, animal.segments, self.sigma_)

    def impute(self, animal, hide):
        hide = np.asarray(hide, dtype=np.int64)
        out = np.full(animal.z.shape, np.nan)
        if hide.size:
            out[:, hide] = self._impute(animal, hide)
        return out

    def reconstruct(self, animal):
        x, _ = self._variables(animal)
        lab = animal.labeled
        out = np.full(animal.z.shape, np.nan)
        if self.lags == (0,):
            # the Gaussian conditional of each variable given all the others, from the precision
            cols = self._columns(animal, lab)
            e, u = psd_factors(self.moments_[np.ix_(cols, cols)])
            prec = (u / (e + self.lam_)) @ u.T
            xs = x[:, cols]
            loo = xs - (xs @ prec) / np.diag(prec)
            out[:, lab] = smooth_time(loo[:, : lab.size], animal.segments, self.sigma_)
            return out
        for n in lab:  # each neuron from the others, its own lagged values excluded
            out[:, n] = self._impute(animal, np.array([n]), x)[:, 0]
        return out

    def describe(self):
        return {"lambda": self.lam_, "sigma_frames": self.sigma_, "lags": list(self.lags), "behavior": self.behavior}


class NeuronOnlyRidge(NeuronRidge):
    """`NeuronRidge` from the other neurons alone, without behavior."""

    key = "ridge_neurons"
    label = "ridge (other neurons only)"
    behavior = False


class LaggedRidge(NeuronRidge):
    """`NeuronRidge` that also reads the other neurons one frame before and after (separate
    coefficients for t-1, t and t+1), plus behavior: a linear predictor with temporal context."""

    key = "ridge_lagged"
    label = "ridge (other neurons at t-1, t, t+1 + behavior)"
    lags = (-1, 0, 1)
