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
                    (each pair of identities from the animals that recorded both); penalty
                    by leave-one-animal-out CV of the imputation task itself
`LowRank`           factor analysis with missing data (EM) in identity space; hidden neurons
                    predicted from the factors inferred from the visible ones; rank by
                    grouped CV of the imputation task
==================  =========================================================================

Baselines take `AnimalData` (one per recording, built once by `animal_data`) so that the
behavior features and z-scored traces are computed once for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .identity import Vocabulary
from .metrics import ridge_cv_from_stats
from .normalize import zscore
from .recording import Recording, split_segments

__all__ = [
    "BEHAVIOR_TAUS_S",
    "AnimalData",
    "Baseline",
    "BehaviorRidge",
    "IdentityMean",
    "LowRank",
    "NeuronRidge",
    "animal_data",
    "behavior_features",
    "choose_hidden",
    "smooth_time",
    "vocabulary_identity",
    "vocabulary_names",
]

BEHAVIOR_TAUS_S = (0.0, 2.0, 6.0, 20.0, 60.0)
"""Timescales (s) of the causal exponential filters of the behavior baseline; 0 = the current frame."""


def choose_hidden(identity: np.ndarray, uid: str, fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """The neurons withheld from an animal: a seeded `fraction` of its labeled neurons.

    The draw depends only on (`seed`, `uid`), not on the order or number of animals, so the
    model and every baseline see the same hidden neurons.

    Parameters
    ----------
    identity : (N,) int, 0 = unknown (only labeled neurons are hidden)
    uid : the animal's id
    fraction : share of labeled neurons to hide, rounded, at least 1 when 2 or more are labeled

    Returns
    -------
    (k,) sorted neuron indices
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"hide_fraction must be in (0, 1), got {fraction!r}")
    labeled = np.flatnonzero(np.asarray(identity) > 0)
    if labeled.size < 2:
        return np.zeros(0, dtype=np.int64)
    k = min(labeled.size - 1, max(1, int(round(fraction * labeled.size))))
    salt = [int(b) for b in str(uid).encode("utf-8")]
    rng = np.random.default_rng([int(seed), len(salt), *salt])
    return np.sort(rng.choice(labeled, size=k, replace=False)).astype(np.int64)


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


SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
"""Widths (frames) of the Gaussian smoothing tried by the neural baselines."""


def smooth_time(x: np.ndarray, segments: Sequence[tuple[int, int]], sigma: float) -> np.ndarray:
    """Gaussian smoothing along time (sd `sigma` frames) inside each segment, edges renormalized.

    The neural baselines predict frame by frame; the noise of the visible neurons then
    passes into every prediction. Smoothing the prediction (the same as predicting from
    smoothed inputs, for a linear predictor) trades it against blur; the width is chosen
    by cross-validation, as the model learns its own temporal integration.

    x : (T, M) -> (T, M)
    """
    if sigma <= 0:
        return x
    half = int(np.ceil(4 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    out = np.empty_like(x, dtype=np.float64)
    for a, b in segments:
        seg, n = x[a:b], b - a
        acc = np.zeros(seg.shape)
        weight = np.zeros(n)
        for j, k in enumerate(kernel):
            shift = j - half
            lo, hi = max(0, -shift), min(n, n - shift)
            if lo >= hi:
                continue
            acc[lo:hi] += k * seg[lo + shift:hi + shift]
            weight[lo:hi] += k
        out[a:b] = acc / weight[:, None]
    return out


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


def _psd_inverse_factors(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric matrix with negative eigenvalues clipped to 0.

    Pairwise-complete moments need not be positive semi-definite; clipping makes the ridge
    system well posed for every penalty > 0.
    """
    e, u = np.linalg.eigh((c + c.T) / 2)
    return np.maximum(e, 0.0), u


class NeuronRidge(Baseline):
    """Ridge imputation from the same animal's other labeled neurons and its behavior.

    Animals record different subsets of identities, so the regression is written in terms of
    moments. Over the training animals, the second moment of every pair of variables
    (identities in z units, standardized behavior features) is averaged over the frames of
    the animals that recorded both: ``C[u, w]``. For an animal showing variables S, the
    hidden identities H are predicted by the ridge regression whose normal equations use
    these moments::

        x_H = C[H, S] (C[S, S] + lam I)^-1 x_S

    (negative eigenvalues of ``C[S, S]`` clipped to 0), then smoothed in time
    (`smooth_time`). The penalty ``lam`` and the smoothing width are chosen together by
    leave-one-animal-out CV of this very task on the training animals (each training
    animal's seeded hidden neurons predicted from the moments of the others).
    Reconstruction predicts each observed neuron from all the others (leave-one-neuron-out,
    same penalty and smoothing).
    """

    key = "ridge"
    label = "ridge (other neurons + behavior)"
    LAMBDAS = np.logspace(-4, 1, 11)

    def fit(self, animals, vocabulary, *, hide_fraction=0.2, seed=0):
        self.scale_ = _FeatureScaler(animals)
        self.n_id = len(vocabulary) - 1
        self.n_feat = animals[0].features.shape[1] if animals else 0
        stats = [self._moments(a) for a in animals]
        self.sum_ = sum(s[0] for s in stats)
        self.count_ = sum(s[1] for s in stats)
        if len(animals) < 2:
            self.lam_, self.sigma_ = 0.1, 0.0
            return self
        sse = np.zeros((len(self.LAMBDAS), len(SIGMAS)))
        for a, (s, c) in zip(animals, stats):
            moments = self._as_moments(self.sum_ - s, self.count_ - c)
            hide = choose_hidden(a.identity, a.uid, hide_fraction, seed)
            if hide.size == 0:
                continue
            for i, pred in enumerate(self._impute_all(moments, a, hide, self.LAMBDAS)):
                for j, sigma in enumerate(SIGMAS):
                    err = np.where(a.mask[:, hide], smooth_time(pred, a.segments, sigma) - a.z[:, hide], 0.0)
                    sse[i, j] += (err**2).sum()
        i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)
        self.lam_, self.sigma_ = float(self.LAMBDAS[i]), float(SIGMAS[j])
        self.cv_sse_ = sse
        return self

    # -- variables: identity v -> column v - 1; behavior features after the identities ----
    def _variables(self, animal: AnimalData) -> tuple[np.ndarray, np.ndarray]:
        T = len(animal.z)
        x = np.zeros((T, self.n_id + self.n_feat))
        m = np.zeros((T, self.n_id + self.n_feat), dtype=bool)
        lab = animal.labeled
        cols = animal.identity[lab] - 1
        x[:, cols] = np.where(animal.mask[:, lab], animal.z[:, lab], 0.0)
        m[:, cols] = animal.mask[:, lab]
        f = animal.features
        x[:, self.n_id:] = self.scale_(f)
        m[:, self.n_id:] = np.isfinite(f)
        return x, m

    def _moments(self, animal):
        x, m = self._variables(animal)
        xm = x * m
        return xm.T @ xm, m.T.astype(np.float64) @ m.astype(np.float64)

    @staticmethod
    def _as_moments(total, count):
        return np.where(count > 0, total / np.maximum(count, 1.0), 0.0)

    def _visible(self, animal, hide):
        vis = np.setdiff1d(animal.labeled, hide)
        cols = np.concatenate([animal.identity[vis] - 1, self.n_id + np.arange(self.n_feat)]).astype(np.int64)
        return cols

    def _impute_all(self, moments, animal, hide, lambdas):
        x, _ = self._variables(animal)
        vis = self._visible(animal, hide)
        tgt = animal.identity[hide] - 1
        e, u = _psd_inverse_factors(moments[np.ix_(vis, vis)])
        proj = x[:, vis] @ u  # (T, r)
        cross = moments[np.ix_(tgt, vis)] @ u  # (H, r)
        for lam in lambdas:
            yield (proj / (e + lam)) @ cross.T

    def impute(self, animal, hide):
        hide = np.asarray(hide, dtype=np.int64)
        out = np.full(animal.z.shape, np.nan)
        if hide.size:
            moments = self._as_moments(self.sum_, self.count_)
            pred = next(self._impute_all(moments, animal, hide, [self.lam_]))
            out[:, hide] = smooth_time(pred, animal.segments, self.sigma_)
        return out

    def reconstruct(self, animal):
        x, _ = self._variables(animal)
        lab = animal.labeled
        cols = np.concatenate([animal.identity[lab] - 1, self.n_id + np.arange(self.n_feat)]).astype(np.int64)
        moments = self._as_moments(self.sum_, self.count_)
        e, u = _psd_inverse_factors(moments[np.ix_(cols, cols)])
        prec = (u / (e + self.lam_)) @ u.T
        xs = x[:, cols]
        # the Gaussian conditional of each variable given all the others, from the precision
        loo = xs - (xs @ prec) / np.diag(prec)
        out = np.full(animal.z.shape, np.nan)
        out[:, lab] = smooth_time(loo[:, : lab.size], animal.segments, self.sigma_)
        return out

    def describe(self):
        return {"lambda": self.lam_, "sigma_frames": self.sigma_}


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
    e, u = _psd_inverse_factors(cov)
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
            for K in ranks:
                sse = np.zeros(len(SIGMAS))
                for f in np.unique(folds):
                    params = self._fit([a for a, g in zip(animals, folds) if g != f], K)
                    for a in (a for a, g in zip(animals, folds) if g == f):
                        hide = choose_hidden(a.identity, a.uid, hide_fraction, seed)
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


def default_baselines() -> list[Baseline]:
    """The baselines of every evaluation, in table order."""
    return [IdentityMean(), BehaviorRidge(), NeuronRidge(), LowRank()]
