"""Low-rank imputation: factor analysis with missing data in identity space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...data import hidden_sets
from ...model.conditional import SIGMAS, smooth_time
from .base import Baseline
from .factor_analysis import factor_posterior, fit_factor_analysis, frame_blocks

__all__ = ["LowRank"]


class LowRank(Baseline):
    """Low-rank imputation: factor analysis with missing data, in identity space.

    Every training frame is a vector over the vocabulary's identities with the identities
    its animal did not record missing; ``x = W f + mu + e`` with K factors and a noise
    variance per identity is fitted by EM (`fit_factor_analysis`). A held-out animal's
    factors are inferred per frame from its visible neurons (posterior mean); the hidden
    ones are predicted as ``W f + mu``, and the factors are smoothed in time
    (`smooth_time`). The rank K and the smoothing width are chosen together by CV of the
    imputation task over groups of training animals (`n_folds`).
    """

    key = "lowrank"
    label = "low-rank (factor analysis)"

    def __init__(self, ranks: Sequence[int] = (2, 4, 8, 12, 16, 24), n_folds: int = 3, max_iter: int = 60):
        self.ranks = tuple(int(k) for k in ranks)
        self.n_folds = int(n_folds)
        self.max_iter = int(max_iter)

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        self.n_id = len(vocabulary) - 1
        n_seen = len({int(v) for a in animals for v in a.identity[a.labeled]})
        ranks = [k for k in self.ranks if k < max(n_seen, 2)] or [1]
        self.cv_sse_ = {}
        self.sigma_ = 0.0
        if len(animals) >= 2:
            folds = np.random.default_rng(seed).permutation(len(animals)) % min(self.n_folds, len(animals))
            hidden = hidden_sets([(a.identity, a.uid) for a in animals], hide_fraction, seed)
            for K in ranks:
                sse = np.zeros(len(SIGMAS))
                for f in np.unique(folds):
                    params = self._fit([a for a, g in zip(animals, folds) if g != f], K)
                    for a, hides in ((a, h) for a, g, h in zip(animals, folds, hidden) if g == f):
                        for hide in hides:
                            raw = self._predict(params, a, hide, 0.0)[:, hide]
                            for j, sigma in enumerate(SIGMAS):
                                err = np.where(a.mask[:, hide], smooth_time(raw, a.segments, sigma) - a.z[:, hide], 0.0)
                                sse[j] += float((err**2).sum())
                self.cv_sse_[K] = sse
            self.rank_ = min(self.cv_sse_, key=lambda k: self.cv_sse_[k].min())
            self.sigma_ = float(SIGMAS[int(np.argmin(self.cv_sse_[self.rank_]))])
        else:
            self.rank_ = ranks[0]
        self.params_ = self._fit(animals, self.rank_)
        return self

    def _fit(self, animals, K):
        blocks = [b for a in animals for b in frame_blocks(a, self.n_id)[0]]
        return fit_factor_analysis(blocks, self.n_id, K, self.max_iter)[:3]

    def _factors(self, params, animal, hide, sigma):
        W, mu, psi = params
        blocks, frames = frame_blocks(animal, self.n_id, hide)
        f = np.zeros((len(animal.z), W.shape[1]))
        for b, rows in zip(blocks, frames):
            f[rows] = factor_posterior(b, W, mu, psi)[0]
        return smooth_time(f, animal.segments, sigma)

    def _predict(self, params, animal, hide, sigma):
        W, mu, _ = params
        f = self._factors(params, animal, hide, sigma)
        out = np.full(animal.z.shape, np.nan)
        lab = animal.labeled
        cols = animal.identity[lab] - 1
        out[:, lab] = f @ W[cols].T + mu[cols]
        return out

    def impute(self, animal, hide):
        return self._predict(self.params_, animal, np.asarray(hide, dtype=np.int64), self.sigma_)

    def reconstruct(self, animal):
        return self._predict(self.params_, animal, None, self.sigma_)

    def latents(self, animal):
        return self._factors(self.params_, animal, None, self.sigma_)

    def describe(self):
        return {"rank": self.rank_, "sigma_frames": self.sigma_,
                "cv_sse": {str(k): float(v.min()) for k, v in self.cv_sse_.items()}}
