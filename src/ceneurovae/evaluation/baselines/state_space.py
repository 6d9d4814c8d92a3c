"""A linear-Gaussian state-space model in identity space, imputing by Kalman smoothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...data import hidden_sets
from ...model.conditional import identity_variables
from .base import AnimalData, Baseline, FeatureScaler
from .factor_analysis import fit_factor_analysis, frame_blocks

__all__ = ["KalmanSequence", "StateSpace", "kalman_smoother", "kalman_smoothers"]


@dataclass
class KalmanSequence:
    """One contiguous stretch of an animal in identity space, for the Kalman smoother.

    y (T, D) values, 0 where not observed; m (T, D) observed; f (T, F) inputs (behavior).
    """

    y: np.ndarray
    m: np.ndarray
    f: np.ndarray


def _covariances(seq: KalmanSequence, A, Q, C, R, tol: float):
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


def kalman_smoothers(seqs: Sequence[KalmanSequence], A, Q, C, Dm, d, R, tol: float = 1e-10, chunk: int = 16):
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


def kalman_smoother(seq: KalmanSequence, A, Q, C, Dm, d, R, tol: float = 1e-10):
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
    (`FeatureScaler`; off by default: on the real dev set their loadings, fitted on a few
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
        self.scale_ = FeatureScaler(animals) if animals else None
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

    def _sequences(self, animal: AnimalData, hide: np.ndarray | None = None) -> list[KalmanSequence]:
        identity = animal.identity.copy()
        if hide is not None:
            identity[hide] = 0  # hidden neurons: missing, like unrecorded identities
        y, m = identity_variables(animal.z, animal.mask, identity, self.n_id)
        T = len(animal.z)
        f = self.scale_(animal.features) if self.behavior else np.zeros((T, 0))
        return [KalmanSequence(y[a:b], m[a:b], f[a:b]) for a, b in animal.segments]

    def _em(self, animals, K):
        """EM from the factor-analysis start; yields the parameters after each count of
        iterations in `ITERATIONS`."""
        seqs = [s for a in animals for s in self._sequences(a)]
        D, F = self.n_id, seqs[0].f.shape[1] if seqs else 0
        blocks = [b for a in animals for b in frame_blocks(a, self.n_id)[0]]
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
