"""The baselines: behavior features, the null, planted encodings and low-rank structure
recovered, factor analysis with missing entries, and the table of baselines.
"""

from __future__ import annotations

import numpy as np
import pytest

from ceneurovae import Recording, Vocabulary
from ceneurovae.data import choose_hidden
from ceneurovae.evaluation.baselines import (
    BASELINES,
    BehaviorRidge,
    IdentityMean,
    LowRank,
    NeuronRidge,
    animal_data,
    behavior_features,
    default_baselines,
    fit_factor_analysis,
    frame_blocks,
)
from ceneurovae.evaluation.metrics import r2_score
from ceneurovae.model.conditional import smooth_time
from eval_fixtures import BEHAVIORS


def _planted_cohort(rng, n_animals=6, T=400, V=24, K=3, per_animal=16, noise=0.3):
    """Animals recording different subsets of V identities that share K factors."""
    vocab = Vocabulary([f"N{i:02d}" for i in range(1, V + 1)])
    W = rng.normal(size=(V, K))
    recs, truths = {}, {}
    for a in range(n_animals):
        ids = np.sort(rng.choice(np.arange(1, V + 1), per_animal, replace=False))
        f = rng.normal(size=(T, K))  # white factors: every animal's factor covariance is about I
        signal = f @ W[ids - 1].T
        x = signal + noise * rng.normal(size=signal.shape)
        uid = f"p{a}"
        recs[uid] = Recording(uid=uid, traces=x, behavior=rng.normal(size=(T, 3)), behavior_names=BEHAVIORS,
                              identity=ids, labels=[vocab[i] for i in ids], vocabulary=vocab, dt=0.6)
        truths[uid] = signal
    return recs, truths, vocab, W


class TestBaselines:
    def test_behavior_features(self):
        T = 40
        ts = np.arange(T) * 1.0
        ts[20:] += 100.0  # a pause between two halves
        b = np.zeros((T, 3), np.float32)
        b[5:, 0] = 0.1  # a velocity step at t = 5 s
        rec = Recording(uid="a", traces=np.zeros((T, 1)), behavior=b, behavior_names=BEHAVIORS, timestamps=ts)
        f = behavior_features(rec, BEHAVIORS, taus_s=(0.0, 2.0))
        assert f.shape == (T, 5 * 2)  # (3 behaviors + forward + reverse velocity) x 2 timescales
        np.testing.assert_allclose(f[:, 0], b[:, 0])  # tau 0: the behavior itself
        t = np.arange(5, 20) - 5
        np.testing.assert_allclose(f[5:20, 1], 0.1 * (1 - np.exp(-(t + 1) / 2.0)), rtol=1e-6)  # unit-gain EMA
        assert f[20, 1] == pytest.approx(0.1, rel=1e-6)  # the filter caught up during the pause
        np.testing.assert_allclose(f[:, 6], np.maximum(b[:, 0], 0))  # forward velocity, tau 0
        rec.behavior_mask[10:12, 1] = False
        f2 = behavior_features(rec, ["head_curvature"], taus_s=(0.0,))
        assert np.isnan(f2[10:12, 0]).all() and np.isfinite(f2[12:, 0]).all()

    def test_smoothing_stays_inside_segments(self):
        x = np.concatenate([np.zeros((10, 1)), np.ones((10, 1))])
        y = smooth_time(x, [(0, 10), (10, 20)], 2.0)
        np.testing.assert_allclose(y, x)  # constant within each segment, nothing crosses the pause
        y = smooth_time(x, [(0, 20)], 2.0)
        assert 0 < y[9, 0] < 0.5 < y[10, 0] < 1

    def test_identity_mean_is_the_null(self, rng):
        recs, _, vocab, _ = _planted_cohort(rng)
        data = [animal_data(r, vocab, BEHAVIORS) for r in recs.values()]
        b = IdentityMean().fit(data[:-1], vocab)
        pred = b.impute(data[-1], data[-1].labeled[:3])
        np.testing.assert_allclose(pred[:, data[-1].labeled], 0.0, atol=1e-6)  # z units: float32 means

    def test_behavior_ridge_recovers_a_planted_encoding(self, rng):
        T, vocab = 500, Vocabulary(["A", "B"])
        recs = []
        for a in range(4):
            b = rng.normal(size=(T, 3)).astype(np.float32)
            rec = Recording(uid=f"a{a}", traces=np.zeros((T, 2)), behavior=b, behavior_names=BEHAVIORS,
                            identity=[1, 2], vocabulary=vocab, dt=0.6)
            f = behavior_features(rec, BEHAVIORS)
            f = (f - f.mean(0)) / f.std(0)
            y = np.stack([f[:, 7] - 0.5 * f[:, 20], rng.normal(size=T)], 1)  # A encodes behavior, B is noise
            recs.append(rec.replace(traces=y + 0.2 * rng.normal(size=(T, 2))))
        data = [animal_data(r, vocab, BEHAVIORS) for r in recs]
        b = BehaviorRidge().fit(data[:3], vocab)
        pred = b.from_behavior(data[3])
        r2 = r2_score(pred, data[3].z)
        assert r2[0] > 0.9 and r2[1] < 0.05

    def test_neuron_ridge_and_low_rank_impute_planted_structure(self, rng):
        # ten animals: enough for every pair of identities to be recorded together somewhere
        recs, truths, vocab, W = _planted_cohort(rng, n_animals=10)
        data = [animal_data(r, vocab, BEHAVIORS) for r in recs.values()]
        train, test = data[:-1], data[-1]
        hide = choose_hidden(test.identity, test.uid, 0.25, 0)
        truth_z = (truths[test.uid] - recs[test.uid].traces.mean(0)) / recs[test.uid].traces.std(0, ddof=1)
        ceiling = r2_score(truth_z[:, hide], test.z[:, hide]).mean()
        for b in (NeuronRidge(), LowRank(ranks=(1, 3, 6), n_folds=2)):
            b.fit(train, vocab, hide_fraction=0.25)
            r2 = r2_score(b.impute(test, hide)[:, hide], test.z[:, hide]).mean()
            assert r2 > 0.9 * ceiling, (b.key, r2, ceiling)
            recon = r2_score(b.reconstruct(test)[:, test.labeled], truth_z[:, test.labeled]).mean()
            assert recon > 0.9
        assert b.rank_ == 3  # CV finds the planted rank

    def test_factor_analysis_with_missing_entries(self, rng):
        recs, _, vocab, W = _planted_cohort(rng, n_animals=8, T=500, noise=0.3)
        data = [animal_data(r, vocab, BEHAVIORS) for r in recs.values()]
        # frames with dropped neurons make more missing-data patterns than animals
        data[0].mask[:50, data[0].labeled[:2]] = False
        blocks = [b for a in data for b in frame_blocks(a, len(vocab) - 1)[0]]
        assert len(blocks) == len(data) + 1
        Wf, mu, psi, ll = fit_factor_analysis(blocks, len(vocab) - 1, 3, max_iter=200)
        # the loadings are known up to a rotation: compare W W^T on the z scale of the data
        scale = np.sqrt((W**2).sum(1) + 0.09)
        true_cov = (W @ W.T) / np.outer(scale, scale)
        np.testing.assert_allclose(Wf @ Wf.T, true_cov, atol=0.12)
        np.testing.assert_allclose(psi, 0.09 / scale**2, atol=0.03)
        assert np.isfinite(ll)


def test_registry_lists_the_default_baselines_in_table_order():
    from ceneurovae import baselines as old

    assert list(BASELINES) == [b.key for b in default_baselines()]
    assert [type(b) for b in default_baselines()] == list(BASELINES.values())
    for key, cls in BASELINES.items():
        assert cls.key == key
        assert getattr(old, cls.__name__) is cls  # the old path re-exports the same class


def test_old_modules_re_export_the_new_objects():
    """The former modules hold no code: each name they export is the object of its new home."""
    import sys

    import ceneurovae.baselines
    import ceneurovae.controls
    import ceneurovae.data
    import ceneurovae.evaluate
    import ceneurovae.metrics
    import ceneurovae.model.conditional
    import ceneurovae.recording
    import ceneurovae.shuffle_control
    import ceneurovae.utils

    new = {name: sys.modules[f"ceneurovae.evaluation.{name}"] for name in ("baselines", "controls", "evaluate", "metrics")}
    homes = {
        ceneurovae.metrics: [new["metrics"]],
        ceneurovae.baselines: [new["baselines"], ceneurovae.data, ceneurovae.model.conditional],
        ceneurovae.controls: [new["controls"], ceneurovae.shuffle_control],
        ceneurovae.evaluate: [new["evaluate"], new["controls"], new["metrics"], ceneurovae.shuffle_control,
                              ceneurovae.data, ceneurovae.utils],
    }
    for old, places in homes.items():
        for name in old.__all__:
            obj = getattr(old, name)
            assert any(getattr(p, name, None) is obj for p in places), (old.__name__, name)
    assert new["baselines"].vocabulary_names is ceneurovae.recording.vocabulary_names
