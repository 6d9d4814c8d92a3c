"""The linear read-out (`model.conditional`) and the linear baselines built on the same pieces.

Known answers: pooled moments are positive semi-definite; the torch read-out gives the
numpy conditional; hidden neurons' own data never enter; a planted Gaussian cohort is
imputed as well as its true conditional allows; a planted lag is found by the lagged ridge
only; the Kalman smoother equals a textbook implementation; the state-space baseline
imputes a planted linear dynamical system nearly as well as its true parameters do; and
on the real dev set the model's read-out is the pooled ridge baseline itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ceneurovae import Vocabulary
from ceneurovae.data import choose_hidden, hidden_sets, neuron_folds
from ceneurovae.evaluation.baselines import (
    AnimalData,
    LaggedRidge,
    NeuronOnlyRidge,
    NeuronRidge,
    StateSpace,
    kalman_smoother,
    kalman_smoothers,
)
from ceneurovae.evaluation.baselines import KalmanSequence as _Sequence
from ceneurovae.evaluation.metrics import r2_score
from ceneurovae.model.conditional import (
    LinearReadout,
    as_moments,
    conditional_predictions,
    fit_conditional,
    moment_sums,
    pooled_moments,
    psd,
)


def gaussian_cohort(n_animals=5, T=1500, V=30, per_animal=22, rank=3, seed=0):
    """Animals recording random subsets of V identities drawn from one Gaussian N(0, S)."""
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(V, rank))
    S = L @ L.T + np.diag(rng.uniform(0.3, 1.0, V))
    d = np.sqrt(np.diag(S))
    S = S / np.outer(d, d)  # unit variances, like z-scored traces
    chol = np.linalg.cholesky(S)
    animals = []
    for a in range(n_animals):
        ids = np.sort(rng.choice(V, per_animal, replace=False)) + 1
        full = rng.normal(size=(T, V)) @ chol.T
        z = full[:, ids - 1]
        z = (z - z.mean(0)) / z.std(0)
        animals.append(AnimalData(uid=f"g{a}", z=z, mask=np.ones_like(z, dtype=bool), identity=ids,
                                  features=np.zeros((T, 0)), segments=[(0, T)]))
    return animals, S, Vocabulary([f"N{i:02d}" for i in range(1, V + 1)])


class TestMoments:
    def test_pooled_moments_are_positive_semidefinite(self, rng):
        x = rng.normal(size=(50, 6))
        m = rng.random((50, 6)) > 0.3
        m[:, 0] = m[:, 0] & ~m[:, 1]  # a pair never observed together: its moment is 0
        total, count = moment_sums(x, m)
        raw = as_moments(total, count)
        assert raw[0, 1] == 0.0
        pooled = pooled_moments(total, count)
        assert np.linalg.eigvalsh(pooled).min() > -1e-10
        assert np.allclose(pooled, pooled.T)
        assert np.allclose(psd(pooled), pooled)  # a projection: applying it twice changes nothing

    def test_neuron_folds_hide_every_labeled_neuron_once(self):
        identity = np.array([0, 3, 5, 0, 7, 8, 9, 11, 12, 13, 14, 15])
        folds = neuron_folds(identity, "animal-1", 0.2, seed=0)
        assert len(folds) == 5
        assert sorted(np.concatenate(folds).tolist()) == np.flatnonzero(identity > 0).tolist()
        assert [f.tolist() for f in folds] == [f.tolist() for f in neuron_folds(identity, "animal-1", 0.2, seed=0)]
        assert [f.tolist() for f in folds] != [f.tolist() for f in neuron_folds(identity, "animal-2", 0.2, seed=0)]
        assert len(neuron_folds(identity, "a", 0.5)) == 2
        assert neuron_folds(np.array([0, 4]), "a") == []

    def test_hidden_sets_use_folds_only_when_one_draw_hides_few_neurons(self):
        few = [(np.arange(1, 21), f"a{k}") for k in range(3)]  # a draw hides 4 + 4 + 4
        sets = hidden_sets(few)
        assert [len(s) for s in sets] == [5, 5, 5]
        many = [(np.arange(1, 101), f"a{k}") for k in range(6)]  # a draw hides 20 each: 120
        sets = hidden_sets(many)
        assert [len(s) for s in sets] == [1] * 6
        assert [s[0].tolist() for s in sets] == [choose_hidden(i, u).tolist() for i, u in many]


class TestLinearReadout:
    def setup_readout(self, rng, V=12, penalty=0.5):
        L = rng.normal(size=(V - 1, 3))
        M = L @ L.T + np.eye(V - 1)
        lin = LinearReadout(V)
        lin.set_moments(M, penalty, 0.0)
        return lin, M

    def test_matches_the_numpy_conditional_and_ignores_hidden_data(self, rng):
        lin, M = self.setup_readout(rng)
        B, T, N = 2, 30, 8
        identity = torch.tensor([[1, 2, 3, 4, 5, 6, 0, 0], [11, 10, 9, 8, 7, 0, 3, 2]])
        x = torch.randn(B, T, N, dtype=torch.float64)
        visible = torch.ones(B, T, N, dtype=torch.bool)
        hide = [[1, 4], [0, 6]]
        for b, h in enumerate(hide):
            visible[b, :, h] = False
        targets = torch.tensor([2, 5, 9])
        pred, pred_t = lin(x.float(), visible, identity, targets)
        for b, h in enumerate(hide):
            ids = identity[b].numpy()
            vis = [n for n in range(N) if n not in h and ids[n] > 0]
            xv = np.zeros((T, 11))
            xv[:, ids[vis] - 1] = x[b][:, vis].numpy()
            want = next(conditional_predictions(M, xv, ids[vis] - 1, ids[h] - 1, [0.5]))
            assert np.allclose(pred[b][:, h].numpy(), want, atol=1e-4)
            want_t = next(conditional_predictions(M, xv, ids[vis] - 1, targets.numpy() - 1, [0.5]))
            assert np.allclose(pred_t[b].numpy(), want_t, atol=1e-4)
            others = [n for n in range(N) if n not in h]
            assert torch.all(pred[b][:, others] == 0)  # visible and unknown neurons: no term
        scrambled = x.clone()
        for b, h in enumerate(hide):
            scrambled[b][:, h] = torch.randn(T, len(h), dtype=torch.float64) * 100
        assert torch.equal(lin(scrambled.float(), visible, identity)[0], pred)

    def test_smoothing_and_padding(self, rng):
        lin, _ = self.setup_readout(rng)
        identity = torch.tensor([[1, 2, 3, 4]])
        visible = torch.ones(1, 40, 4, dtype=torch.bool)
        visible[:, :, 0] = False
        x = torch.randn(1, 40, 4)
        raw, _ = lin(x, visible, identity)
        lin.sigma.fill_(2.0)
        smooth, _ = lin(x, visible, identity)
        assert smooth[0, :, 0].diff().abs().mean() < raw[0, :, 0].diff().abs().mean()
        pad = torch.zeros(1, 40, dtype=torch.bool)
        pad[:, 30:] = True
        padded, _ = lin(x, visible, identity, pad=pad)
        # frames of padding take no part in the smoothing of real frames
        x2 = x.clone()
        x2[:, 30:] = 1e3
        assert torch.allclose(lin(x2, visible, identity, pad=pad)[0][:, :30], padded[:, :30], atol=1e-4)

    def test_recovers_the_true_conditional_of_a_gaussian_cohort(self):
        animals, S, vocab = gaussian_cohort()
        train, test = animals[:-1], animals[-1]
        fitted = fit_conditional([(a.z, a.mask, a.identity, a.segments, neuron_folds(a.identity, a.uid))
                                  for a in train], len(vocab) - 1)
        hide = choose_hidden(test.identity, test.uid, 0.3)
        vis = np.setdiff1d(np.arange(len(test.identity)), hide)
        xv = np.zeros((len(test.z), len(vocab) - 1))
        xv[:, test.identity - 1] = test.z
        got = next(conditional_predictions(fitted["moments"], xv, test.identity[vis] - 1, test.identity[hide] - 1,
                                           [fitted["penalty"]]))
        oracle = next(conditional_predictions(S, xv, test.identity[vis] - 1, test.identity[hide] - 1, [1e-9]))
        r2_got = r2_score(got, test.z[:, hide]).mean()
        r2_oracle = r2_score(oracle, test.z[:, hide]).mean()
        assert r2_oracle > 0.3
        assert r2_got > r2_oracle - 0.03
        assert fitted["sigma"] == 0.0  # the planted frames are independent: nothing to smooth


class TestLinearBaselines:
    def test_ridge_family_on_a_planted_lag(self, rng):
        """Neuron 1 follows neuron 2 one frame later: only the lagged ridge sees it."""
        V, T = 6, 1200
        vocab = Vocabulary([f"N{i}" for i in range(1, V + 1)])
        animals = []
        for a in range(4):
            drive = rng.normal(size=(T + 1, V))
            z = drive[1:].copy()
            z[:, 0] = drive[:-1, 1]  # x_1(t) = x_2(t - 1)
            z = (z - z.mean(0)) / z.std(0)
            animals.append(AnimalData(uid=f"a{a}", z=z, mask=np.ones_like(z, dtype=bool),
                                      identity=np.arange(1, V + 1), features=np.zeros((T, 0)),
                                      segments=[(0, T)]))
        test = animals[-1]
        scores = {}
        for b in (NeuronOnlyRidge(), LaggedRidge(), NeuronRidge()):
            b.fit(animals[:-1], vocab)
            pred = b.impute(test, np.array([0]))
            scores[b.key] = r2_score(pred[:, [0]], test.z[:, [0]])[0]
        assert scores["ridge_lagged"] > 0.9
        assert scores["ridge_neurons"] < 0.1 and scores["ridge"] < 0.1

    def test_kalman_smoother_matches_the_textbook_one(self, rng):
        T, D, K, F = 300, 20, 3, 2
        A = 0.9 * np.eye(K) + 0.05 * rng.normal(size=(K, K))
        Q, C = 0.2 * np.eye(K), rng.normal(size=(D, K))
        Dm, d, R = rng.normal(size=(D, F)), rng.normal(size=D), rng.uniform(0.5, 1.5, D)
        m = np.ones((T, D), dtype=bool)
        m[:, :4] = False
        m[100:120, 10] = False
        m[200] = False
        seq = _Sequence(rng.normal(size=(T, D)) * m, m, rng.normal(size=(T, F)))
        got = kalman_smoother(seq, A, Q, C, Dm, d, R)
        want = _textbook_smoother(seq, A, Q, C, Dm, d, R)
        for g, w in zip(got, want):
            assert np.allclose(g, w, atol=1e-9)
        # sequences of different lengths smoothed together (the shorter one padded) as alone
        short = _Sequence(seq.y[:170], seq.m[:170], seq.f[:170])
        together = kalman_smoothers([seq, short], A, Q, C, Dm, d, R)
        for one, alone in zip(together, (got, _textbook_smoother(short, A, Q, C, Dm, d, R))):
            for g, w in zip(one, alone):
                assert g.shape == w.shape and np.allclose(g, w, atol=1e-9)

    def test_state_space_imputes_a_planted_system(self, rng):
        V, K, T = 16, 2, 800
        vocab = Vocabulary([f"N{i}" for i in range(1, V + 1)])
        A = np.array([[0.95, 0.1], [-0.1, 0.95]])
        C = rng.normal(size=(V, K))
        animals = []
        for a in range(4):
            s = np.zeros((T, K))
            for t in range(1, T):
                s[t] = A @ s[t - 1] + 0.3 * rng.normal(size=K)
            ids = np.sort(rng.choice(V, 12, replace=False)) + 1
            x = s @ C[ids - 1].T + 0.5 * rng.normal(size=(T, 12))
            z = (x - x.mean(0)) / x.std(0)
            animals.append(AnimalData(uid=f"a{a}", z=z, mask=np.ones_like(z, dtype=bool), identity=ids,
                                      features=np.zeros((T, 0)), segments=[(0, T)]))
        lds = StateSpace(ranks=(2, 4)).fit(animals[:-1], vocab)
        test = animals[-1]
        hide = np.array([0, 5])
        r2 = r2_score(lds.impute(test, hide)[:, hide], test.z[:, hide]).mean()
        assert lds.rank_ in (2, 4)
        assert r2 > 0.6


def _textbook_smoother(seq, A, Q, C, Dm, d, R):
    """Kalman filter (covariance form) and Rauch-Tung-Striebel smoother, frame by frame."""
    T, K = len(seq.y), A.shape[0]
    mp, Pp = np.zeros((T, K)), np.zeros((T, K, K))
    mf, Pf = np.zeros((T, K)), np.zeros((T, K, K))
    for t in range(T):
        m_pred, P_pred = (np.zeros(K), np.eye(K)) if t == 0 else (A @ mf[t - 1], A @ Pf[t - 1] @ A.T + Q)
        o = seq.m[t]
        Co = C[o]
        gain = P_pred @ Co.T @ np.linalg.inv(Co @ P_pred @ Co.T + np.diag(R[o]))
        y = seq.y[t, o] - seq.f[t] @ Dm[o].T - d[o]
        mf[t], Pf[t] = m_pred + gain @ (y - Co @ m_pred), P_pred - gain @ Co @ P_pred
        mp[t], Pp[t] = m_pred, P_pred
    ms, Ps, cross = mf.copy(), Pf.copy(), np.zeros((T - 1, K, K))
    for t in range(T - 2, -1, -1):
        G = Pf[t] @ A.T @ np.linalg.inv(Pp[t + 1])
        ms[t] = mf[t] + G @ (ms[t + 1] - mp[t + 1])
        Ps[t] = Pf[t] + G @ (Ps[t + 1] - Pp[t + 1]) @ G.T
        cross[t] = Ps[t + 1] @ G.T
    return ms, Ps, cross


@pytest.mark.slow
def test_on_real_animals_the_models_read_out_is_the_pooled_ridge(shared_data):
    """Three real animals train a model (one epoch: only the read-out matters here); with its
    weight at 1 it imputes the fourth animal's hidden neurons as the baseline ridge from the
    other neurons does (up to the model's centering per recording and its smoothing within
    windows)."""
    import warnings

    import ceneurovae
    from ceneurovae.evaluation.baselines import animal_data, vocabulary_identity
    from ceneurovae.normalize import zscore

    folder = shared_data / "real" / "neuropal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds, _ = ceneurovae.import_h5(folder, labels=folder / "neuropal_labels.json")
        uids = sorted(ds)
        train = [ds[u] for u in uids[1:]]
        trained = ceneurovae.fit(train, config={"train.epochs": 1}, quiet=True)
    trained.model.linear.set_mix(1.0)
    rec = ds[uids[0]]
    vocab = trained.vocabulary
    rec = rec.replace(identity=vocabulary_identity(rec, vocab), vocabulary=vocab)
    hide = neuron_folds(rec.identity, rec.uid)[0]
    z, mean, std = zscore(rec.traces, rec.mask)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = (trained.impute(rec, hide=hide) - mean) / std
    baseline = NeuronOnlyRidge().fit([animal_data(r, vocab, trained.behavior_names) for r in train], vocab)
    assert baseline.lam_ == pytest.approx(float(trained.model.linear.penalty))
    assert baseline.sigma_ == pytest.approx(float(trained.model.linear.sigma))
    want = baseline.impute(animal_data(rec, vocab, trained.behavior_names), hide)[:, hide]
    want = want - want.mean(0)
    # the same predictions, but for the smoothing at the model's window edges
    assert np.abs(model[:, hide] - want).mean() < 1e-3
    assert np.abs(r2_score(model[:, hide], z[:, hide]) - r2_score(want, z[:, hide])).max() < 1e-3
