"""Baselines the model must beat, fitted on the training animals, scored like the model.

Every baseline works in the evaluation's units, each neuron z-scored over its observed
frames in its own recording (the model's units too), and by identity: what is learned
about identity ``v`` on the training animals is applied to identity ``v`` of a held-out
animal. Each returns predictions (T, N) for the recording's labeled neurons, NaN where it
has nothing to say (the evaluation scores NaN as the neuron's mean, R² 0).

==================  =========================================================================
`IdentityMean`      the null: each identity's mean over the training animals (0 in z units)
`BehaviorRidge`     CePNEM-like encoding model: ridge per identity on behavior filtered by
                    causal exponential kernels at several timescales, plus rectified
                    forward / reverse velocity; penalty by leave-one-animal-out CV
`NeuronRidge`       imputation from the same animal's other labeled neurons and its behavior
                    features: ridge on moments pooled by identity over the training animals
                    (each pair of identities from the animals that recorded both, the whole
                    matrix made positive semi-definite); penalty by leave-one-animal-out CV
                    of the imputation task itself
`NeuronOnlyRidge`   the same from the other neurons alone (the model's linear read-out)
`LaggedRidge`       the same with the other neurons at t-1, t and t+1 as separate variables
`LowRank`           factor analysis with missing data (EM) in identity space; hidden neurons
                    predicted from the factors inferred from the visible ones; rank by
                    grouped CV of the imputation task
`StateSpace`        a linear-Gaussian state-space model in identity space (EM with missing
                    data); hidden neurons by Kalman smoothing from the visible ones; state
                    dimension and EM iterations by grouped CV of the imputation task
==================  =========================================================================

Baselines take `AnimalData` (one per recording, built once by `animal_data`) so that the
behavior features and z-scored traces are computed once for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .data import choose_hidden, hidden_sets
from .identity import Vocabulary
from .metrics import ridge_cv_from_stats
from .model.conditional import (
    LAMBDAS,
    SIGMAS,
    choose_penalty,
    conditional_predictions,
    identity_variables,
    moment_sums,
    pooled_moments,
    psd_factors,
    smooth_time,
)
from .model.config import BEHAVIOR_TAUS_S
from .normalize import zscore
from .recording import Recording, split_segments

__all__ = [
    "BEHAVIOR_TAUS_S",
    "AnimalData",
    "Baseline",
    "BehaviorRidge",
    "IdentityMean",
    "LaggedRidge",
    "LowRank",
    "NeuronOnlyRidge",
    "NeuronRidge",
    "StateSpace",
    "animal_data",
    "behavior_features",
    "choose_hidden",
    "smooth_time",
    "vocabulary_identity",
    "vocabulary_names",
]

"""Timescales (s) of the causal exponential filters of the behavior baseline; 0 = the current frame."""


def vocabulary_names(rec: Recording) -> list[str]:
    """The identity name of each neuron of `rec` ("" for unlabeled), read as the front door reads them."""
    from .api import _identity_names  # one reading of labels for training and evaluation

    return _identity_names(rec)


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
    behaviors : behavior names to use (all must be in ``rec.behavior_names``)

    Returns
    -------
    (T, C * len(taus_s)) float64, C = len(behaviors) (+ 2 with velocity)
    """
    cols = [rec.behavior_names.index(b) for b in behaviors]
    raw = np.where(rec.behavior_mask[:, cols], rec.behavior[:, cols], np.nan).astype(np.float64)
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


class _FeatureScaler:
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


class BehaviorRidge(Baseline):
    """CePNEM-like behavior encoding model, the behavior-only baseline.

    For each identity v, pooled over the training animals that recorded it::

        z_v(t) = w_v . f(t) + c_v

    with f the `behavior_features` (F of them) centered per recording and divided by the
    training animals' pooled standard deviation (`_FeatureScaler`), fitted by ridge
    regression. The penalty of each identity is chosen by leave-one-animal-
    out CV over its training animals (identities seen in only one animal get the median
    penalty of the others). Everything comes from per-animal sufficient statistics.
    """

    key = "cepnem"
    label = "CePNEM-like behavior ridge"

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        self.scale_ = _FeatureScaler(animals)
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
        self.scale_ = _FeatureScaler(animals) if animals else None
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


# -- factor analysis with missing data ------------------------------------------------------

@dataclass
class _Block:
    """Frames that share one set of observed identities: x (n, D) zero elsewhere, cols (d,)."""

    x: np.ndarray
    cols: np.ndarray


def _blocks(animal: AnimalData, n_id: int, hide: np.ndarray | None = None) -> tuple[list[_Block], list[np.ndarray]]:
    """Split an animal's frames by their pattern of observed (not hidden) labeled neurons.

    Returns the blocks and, for each, the frame indices it holds.
    """
    keep = np.setdiff1d(animal.labeled, [] if hide is None else hide)
    if keep.size == 0:
        return [], []
    cols = animal.identity[keep] - 1
    m = animal.mask[:, keep]
    x = np.zeros((len(animal.z), n_id))
    x[:, cols] = np.where(m, animal.z[:, keep], 0.0)
    if m.all():  # the usual case: every labeled neuron seen in every frame
        groups = {b"": np.arange(len(m))}
        patterns = {b"": np.ones(m.shape[1], dtype=bool)}
    else:
        groups, patterns = {}, {}
        for t, key in enumerate(np.packbits(m, axis=1)):
            k = key.tobytes()
            groups.setdefault(k, []).append(t)
            patterns.setdefault(k, m[t])
    blocks, frames = [], []
    for k, rows in groups.items():
        rows = np.asarray(rows)
        c = cols[patterns[k]]
        if c.size == 0:
            continue
        blocks.append(_Block(x=x[rows][:, c], cols=c))
        frames.append(rows)
    return blocks, frames


def _posterior(block: _Block, W, mu, psi):
    """Posterior mean of the factors (n, K) and their shared covariance (K, K), and the
    block's log-likelihood under x = W f + mu + e, e ~ N(0, diag psi)."""
    Wo, ipsi = W[block.cols], 1.0 / psi[block.cols]
    K = W.shape[1]
    M = np.eye(K) + Wo.T @ (ipsi[:, None] * Wo)
    Minv = np.linalg.inv(M)
    r = block.x - mu[block.cols]
    rw = (r * ipsi) @ Wo  # (n, K)
    E = rw @ Minv
    n, d = r.shape
    _, logdet_m = np.linalg.slogdet(M)
    quad = (r * r * ipsi).sum() - (rw * E).sum()
    ll = -0.5 * (n * (d * np.log(2 * np.pi) + logdet_m + np.log(psi[block.cols]).sum()) + quad)
    return E, Minv, ll


def fit_factor_analysis(blocks: Sequence[_Block], D: int, K: int, max_iter: int = 60, tol: float = 1e-5):
    """Factor analysis x = W f + mu + e (f ~ N(0, I), e ~ N(0, diag psi)) by EM with missing data.

    Parameters
    ----------
    blocks : frames grouped by their observed variables
    D : number of variables; K : number of factors

    Returns
    -------
    W (D, K), mu (D,), psi (D,), log-likelihood per observed entry; variables never
    observed get W = 0, mu = 0, psi = 1.
    """
    K1 = K + 1
    seen = np.zeros(D, dtype=bool)
    s1, s2, cnt = np.zeros(D), np.zeros((D, D)), np.zeros((D, D))
    for b in blocks:
        seen[b.cols] = True
        s1[b.cols] += b.x.sum(0)
        s2[np.ix_(b.cols, b.cols)] += b.x.T @ b.x
        cnt[np.ix_(b.cols, b.cols)] += len(b.x)
    n_obs = np.diag(cnt)
    mu = np.where(n_obs > 0, s1 / np.maximum(n_obs, 1), 0.0)
    cov = np.where(cnt > 0, s2 / np.maximum(cnt, 1), 0.0) - np.outer(mu, mu) * (cnt > 0)
    e, u = psd_factors(cov)
    top = np.argsort(e)[::-1][:K]
    W = u[:, top] * np.sqrt(np.maximum(e[top], 1e-6))[None, :] * 0.9
    psi = np.where(seen, np.maximum(np.diag(cov) - (W**2).sum(1), 0.05), 1.0)
    W[~seen] = 0.0
    prev = -np.inf
    total_entries = sum(b.x.size for b in blocks)
    ll_per = np.nan
    for _ in range(max_iter):
        A = np.zeros((D, K1, K1))
        B = np.zeros((D, K1))
        sxx = np.zeros(D)
        ll = 0.0
        for b in blocks:
            E, Minv, llb = _posterior(b, W, mu, psi)
            ll += llb
            n = len(E)
            Ef = np.concatenate([E, np.ones((n, 1))], axis=1)
            sff = Ef.T @ Ef
            sff[:K, :K] += n * Minv
            A[b.cols] += sff[None]
            B[b.cols] += b.x.T @ Ef
            sxx[b.cols] += (b.x**2).sum(0)
        idx = np.flatnonzero(seen)
        L = np.linalg.solve(A[idx] + 1e-9 * np.eye(K1)[None], B[idx][:, :, None])[:, :, 0]  # (d, K1)
        W[idx], mu[idx] = L[:, :K], L[:, K]
        psi[idx] = np.maximum((sxx[idx] - (L * B[idx]).sum(1)) / n_obs[idx], 1e-3)
        ll_per = ll / max(total_entries, 1)
        if np.isfinite(prev) and abs(ll_per - prev) < tol * max(1.0, abs(prev)):
            break
        prev = ll_per
    return W, mu, psi, ll_per


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
        blocks = [b for a in animals for b in _blocks(a, self.n_id)[0]]
        return fit_factor_analysis(blocks, self.n_id, K, self.max_iter)[:3]

    def _factors(self, params, animal, hide, sigma):
        W, mu, psi = params
        blocks, frames = _blocks(animal, self.n_id, hide)
        f = np.zeros((len(animal.z), W.shape[1]))
        for b, rows in zip(blocks, frames):
            f[rows] = _posterior(b, W, mu, psi)[0]
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


# -- linear-Gaussian state-space model ---------------------------------------------------------

@dataclass
class _Sequence:
    """One contiguous stretch of an animal in identity space, for the Kalman smoother.

    y (T, D) values, 0 where not observed; m (T, D) observed; f (T, F) inputs (behavior).
    """

    y: np.ndarray
    m: np.ndarray
    f: np.ndarray


def _covariances(seq: _Sequence, A, Q, C, R, tol: float):
    """The data-free part of `kalman_smoothers` for one sequence: per frame, the filtered
    covariance Pf, the weight WA of the previous filtered mean, the smoother gain G and the
    smoothed covariance Ps."""
    T, K = len(seq.y), A.shape[0]
    keys = [row.tobytes() for row in np.packbits(seq.m, axis=1)]
    info_of: dict[bytes, np.ndarray] = {}
    for key, t in zip(keys, range(T)):
        if key not in info_of:
            o = seq.m[t]
            info_of[key] = (C[o] / R[o, None]).T @ C[o]
    eye = np.eye(K)
    Pp = np.zeros((T, K, K))  # predicted covariance
    Pf = np.zeros((T, K, K))  # filtered covariance
    WA = np.zeros((T, K, K))  # Pf inv(Pp) A: weight of the previous mean in the filtered one
    rep = np.zeros(T, dtype=bool)  # frame t repeats the covariances of frame t - 1
    for t in range(T):
        if t > 1 and rep[t - 1] and keys[t] == keys[t - 1]:
            Pp[t], Pf[t], WA[t], rep[t] = Pp[t - 1], Pf[t - 1], WA[t - 1], True
            continue
        P_pred = eye.copy() if t == 0 else A @ Pf[t - 1] @ A.T + Q
        P_pred = (P_pred + P_pred.T) / 2
        info = np.linalg.inv(P_pred)
        Pp[t] = P_pred
        Pf[t] = np.linalg.inv(info + info_of[keys[t]])
        WA[t] = Pf[t] @ info @ A
        # steady from here on: the next frames of this pattern repeat these covariances
        rep[t] = t > 0 and keys[t] == keys[t - 1] and np.abs(Pp[t] - Pp[t - 1]).max() < tol
    Ps = Pf.copy()
    G = np.zeros((T, K, K))  # G[T-1] = 0: nothing after the last frame
    steady = False
    for t in range(T - 2, -1, -1):
        # G and the smoothed covariance repeat where the forward pass did on both sides
        same = t + 2 < T and rep[t + 1] and rep[t + 2]
        if steady and same:
            G[t], Ps[t] = G[t + 1], Ps[t + 1]
        else:
            G[t] = Pf[t] @ A.T @ np.linalg.inv(Pp[t + 1])
            Ps[t] = Pf[t] + G[t] @ (Ps[t + 1] - Pp[t + 1]) @ G[t].T
            steady = same and np.abs(Ps[t] - Ps[t + 1]).max() < tol
    return Pf, WA, G, Ps


def kalman_smoothers(seqs: Sequence[_Sequence], A, Q, C, Dm, d, R, tol: float = 1e-10, chunk: int = 16):
    """Posterior of the states of ``s_t = A s_{t-1} + w, x_t = C s_t + Dm f_t + d + e`` given
    the observed entries of each sequence (s_0 ~ N(0, I), w ~ N(0, Q), e ~ N(0, diag R)).

    The update is written in information form, so each frame costs a few K x K operations
    whatever its number of observed variables; frames that share a pattern of observed
    variables share its information matrix. The covariances do not depend on the data:
    once they stop changing within a run of frames with the same pattern (`tol`), the
    steady state is reused, forward and backward. The means, which do depend on it, are run
    for `chunk` sequences at a time (shorter ones padded at the end, where nothing follows).

    Returns
    -------
    per sequence: mean (T, K), cov (T, K, K) of each state, and the lag-one
    cross-covariances ``Cov(s_{t+1}, s_t)`` (T-1, K, K).
    """
    K = A.shape[0]
    out = []
    for lo in range(0, len(seqs), chunk):
        part = seqs[lo:lo + chunk]
        covs = [_covariances(s, A, Q, C, R, tol) for s in part]
        n = [len(s.y) for s in part]
        S, T = len(part), max(n)
        WA = np.zeros((S, T, K, K))
        G = np.zeros((S, T, K, K))
        drive = np.zeros((S, T, K))
        for i, (s, (Pf, wa, g, _)) in enumerate(zip(part, covs)):
            h = ((s.y - s.f @ Dm.T - d) * s.m / R) @ C  # C^T R^-1 (y - Dm f - d) on observed entries
            WA[i, : n[i]], G[i, : n[i]] = wa, g
            drive[i, : n[i]] = np.einsum("tij,tj->ti", Pf, h)
        mf = np.zeros((S, T, K))
        m = np.zeros((S, K))
        for t in range(T):
            m = np.einsum("sij,sj->si", WA[:, t], m) + drive[:, t]
            mf[:, t] = m
        pred_next = mf @ A.T  # A m_f[t]: the predicted mean of frame t + 1
        ms = mf.copy()
        for t in range(T - 2, -1, -1):
            ms[:, t] += np.einsum("sij,sj->si", G[:, t], ms[:, t + 1] - pred_next[:, t])
        for i, (_, _, g, Ps) in enumerate(covs):
            out.append((ms[i, : n[i]], Ps, Ps[1:] @ g[:-1].transpose(0, 2, 1)))
    return out


def kalman_smoother(seq: _Sequence, A, Q, C, Dm, d, R, tol: float = 1e-10):
    """`kalman_smoothers` of a single sequence: its mean (T, K), cov (T, K, K) and lag-one
    cross-covariances (T-1, K, K)."""
    return kalman_smoothers([seq], A, Q, C, Dm, d, R, tol)[0]


class StateSpace(Baseline):
    """A linear-Gaussian state-space model over identities, imputing by Kalman smoothing.

    ::

        s_t = A s_{t-1} + w_t,            w_t ~ N(0, Q),   s_t in R^K
        x_t = C s_t + B f_t + d + e_t,    e_t ~ N(0, diag R)

    with ``x_t`` the vector of every identity of the vocabulary (z units; those an animal did
    not record are missing) and, with `behavior`, ``f_t`` the standardized behavior features
    (`_FeatureScaler`; off by default: on the real dev set their loadings, fitted on a few
    animals, made imputation worse than none). Fitted on the training animals by EM with
    missing data, starting from factor analysis (`fit_factor_analysis`) with A = 0.9 I, each
    contiguous stretch of a recording a sequence of its own. A held-out animal's hidden
    neurons are treated as missing: the smoother infers the states from the visible neurons
    of every frame before and after, and predicts ``C s_t + B f_t + d``. This is the linear
    model with temporal context, the fair test of what a nonlinear sequential model adds.

    The state dimension K and the number of EM iterations (EM raises the training
    likelihood but, on few animals, can lower the imputation of new ones) are chosen
    together by CV of the imputation task over groups of training animals (`n_folds`; on
    a seeded subset of at most `max_cv_animals` of them, for time), then the model is
    fitted to all of them.
    """

    key = "lds"
    label = "linear state-space (Kalman)"
    ITERATIONS = (0, 2, 5, 10, 20)

    def __init__(self, ranks: Sequence[int] = (4, 8, 16), n_folds: int = 3, behavior: bool = False,
                 ridge: float = 10.0, max_cv_animals: int = 8):
        self.ranks = tuple(int(k) for k in ranks)
        self.n_folds = int(n_folds)
        self.behavior = bool(behavior)
        self.ridge = float(ridge)
        self.max_cv_animals = int(max_cv_animals)

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        self.n_id = len(vocabulary) - 1
        self.scale_ = _FeatureScaler(animals) if animals else None
        n_seen = len({int(v) for a in animals for v in a.identity[a.labeled]})
        ranks = [k for k in self.ranks if k < max(n_seen, 2)] or [1]
        self.cv_sse_: dict[str, float] = {}
        self.rank_, self.iterations_ = ranks[0], self.ITERATIONS[-1]
        if len(animals) >= 2:
            # the choice is made on at most `max_cv_animals` of them (a seeded subset), for time
            rng = np.random.default_rng(seed)
            cv = [animals[i] for i in sorted(rng.permutation(len(animals))[: self.max_cv_animals])]
            folds = rng.permutation(len(cv)) % min(self.n_folds, len(cv))
            hidden = hidden_sets([(a.identity, a.uid) for a in cv], hide_fraction, seed)
            sse = np.zeros((len(ranks), len(self.ITERATIONS)))
            for i, K in enumerate(ranks):
                for g in np.unique(folds):
                    held = [(a, h) for a, k, h in zip(cv, folds, hidden) if k == g]
                    for j, params in enumerate(self._em([a for a, k in zip(cv, folds) if k != g], K)):
                        for a, hides in held:
                            for hide in hides:
                                pred = self._predict(params, a, hide)[:, hide]
                                sse[i, j] += float((np.where(a.mask[:, hide], pred - a.z[:, hide], 0.0) ** 2).sum())
            i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)
            self.rank_, self.iterations_ = ranks[i], self.ITERATIONS[j]
            self.cv_sse_ = {f"K={K},iter={n}": float(sse[a, b]) for a, K in enumerate(ranks)
                            for b, n in enumerate(self.ITERATIONS)}
        for j, params in enumerate(self._em(animals, self.rank_)):
            if self.ITERATIONS[j] == self.iterations_:
                self.params_ = params
                break
        return self

    def _sequences(self, animal: AnimalData, hide: np.ndarray | None = None) -> list[_Sequence]:
        identity = animal.identity.copy()
        if hide is not None:
            identity[hide] = 0  # hidden neurons: missing, like unrecorded identities
        y, m = identity_variables(animal.z, animal.mask, identity, self.n_id)
        T = len(animal.z)
        f = self.scale_(animal.features) if self.behavior else np.zeros((T, 0))
        return [_Sequence(y[a:b], m[a:b], f[a:b]) for a, b in animal.segments]

    def _em(self, animals, K):
        """EM from the factor-analysis start; yields the parameters after each count of
        iterations in `ITERATIONS`."""
        seqs = [s for a in animals for s in self._sequences(a)]
        D, F = self.n_id, seqs[0].f.shape[1] if seqs else 0
        blocks = [b for a in animals for b in _blocks(a, self.n_id)[0]]
        C, d, R = fit_factor_analysis(blocks, D, K, max_iter=20)[:3]
        Bm = np.zeros((D, F))
        seen = np.zeros(D, dtype=bool)
        for s in seqs:
            seen |= s.m.any(0)
        idx = np.flatnonzero(seen)
        A, Q = 0.9 * np.eye(K), 0.19 * np.eye(K)
        q = K + F + 1
        pen = np.full(q, self.ridge)
        pen[-1] = 0.0  # no penalty on the offset
        n_steps = max(sum(len(s.y) - 1 for s in seqs), 1)
        for it in range(self.ITERATIONS[-1] + 1):
            if it in self.ITERATIONS:
                yield A.copy(), Q.copy(), C.copy(), Bm.copy(), d.copy(), R.copy()
            if it == self.ITERATIONS[-1]:
                return
            Szz, Szy = np.zeros((D, q, q)), np.zeros((D, q))
            Syy, n = np.zeros(D), np.zeros(D)
            S11, S10, S00 = np.zeros((K, K)), np.zeros((K, K)), np.zeros((K, K))
            for s, (ms, Ps, cross) in zip(seqs, kalman_smoothers(seqs, A, Q, C, Bm, d, R)):
                T = len(ms)
                z = np.concatenate([ms, s.f, np.ones((T, 1))], axis=1)  # (T, q)
                w = s.m.astype(np.float64)
                # sum over frames of E[z z^T] for each variable, over the frames it is observed:
                # once for the variables seen in every frame, frame by frame for the others
                Ezz = z.T @ z
                Ezz[:K, :K] += Ps.sum(0)
                full = s.m.all(0)
                Szz[full] += Ezz
                part = np.flatnonzero(s.m.any(0) & ~full)
                if part.size:
                    wp = w[:, part]
                    Szz[part] += (wp.T @ (z[:, :, None] * z[:, None, :]).reshape(T, q * q)).reshape(-1, q, q)
                    Szz[part, :K, :K] += (wp.T @ Ps.reshape(T, K * K)).reshape(-1, K, K)
                Szy += (s.y * w).T @ z
                Syy += (s.y**2 * w).sum(0)
                n += w.sum(0)
                if T > 1:
                    S11 += ms[1:].T @ ms[1:] + Ps[1:].sum(0)
                    S00 += ms[:-1].T @ ms[:-1] + Ps[:-1].sum(0)
                    S10 += ms[1:].T @ ms[:-1] + cross.sum(0)
            L = np.linalg.solve(Szz[idx] + np.diag(pen)[None], Szy[idx][:, :, None])[:, :, 0]
            C[idx], Bm[idx], d[idx] = L[:, :K], L[:, K:K + F], L[:, -1]
            R[idx] = np.maximum((Syy[idx] - (L * Szy[idx]).sum(1)) / np.maximum(n[idx], 1), 1e-3)
            A = S10 @ np.linalg.inv(S00 + 1e-6 * np.eye(K))
            Q = (S11 - A @ S10.T) / n_steps
            Q = (Q + Q.T) / 2 + 1e-6 * np.eye(K)

    def _predict(self, params, animal, hide):
        A, Q, C, Bm, d, R = params
        out = np.full(animal.z.shape, np.nan)
        lab = animal.labeled
        cols = animal.identity[lab] - 1
        seqs = self._sequences(animal, hide)
        for (a, b), s, (ms, _, _) in zip(animal.segments, seqs, kalman_smoothers(seqs, A, Q, C, Bm, d, R)):
            out[a:b, lab] = ms @ C[cols].T + s.f @ Bm[cols].T + d[cols]
        return out

    def impute(self, animal, hide):
        return self._predict(self.params_, animal, np.asarray(hide, dtype=np.int64))

    def reconstruct(self, animal):
        return self._predict(self.params_, animal, None)

    def from_behavior(self, animal):
        """The states at their prior mean (0): ``B f_t + d`` (with `behavior`; else not offered)."""
        if not self.behavior:
            return None
        _, _, _, Bm, d, _ = self.params_
        out = np.full(animal.z.shape, np.nan)
        lab = animal.labeled
        cols = animal.identity[lab] - 1
        out[:, lab] = self.scale_(animal.features) @ Bm[cols].T + d[cols]
        return out

    def latents(self, animal):
        A, Q, C, Bm, d, R = self.params_
        return np.concatenate([ms for ms, _, _ in kalman_smoothers(self._sequences(animal), A, Q, C, Bm, d, R)])

    def describe(self):
        return {"state_dim": self.rank_, "em_iterations": self.iterations_, "behavior": self.behavior,
                "cv_sse": self.cv_sse_}


def default_baselines() -> list[Baseline]:
    """The baselines of every evaluation, in table order."""
    return [IdentityMean(), BehaviorRidge(), NeuronRidge(), NeuronOnlyRidge(), LaggedRidge(), LowRank(), StateSpace()]
