"""The evaluation: metrics, baselines, the noise ceiling, the shuffle control and the command.

Known answers: a perfect predictor scores 1, the truth's predictable part reproduces the
ceiling exactly, ridge recovers a planted linear map, factor analysis a planted low-rank
structure with missing entries, and every method is scored on the same hidden neurons.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import ceneurovae
from ceneurovae import Recording, Vocabulary
from ceneurovae.baselines import (
    BehaviorRidge,
    IdentityMean,
    LowRank,
    NeuronRidge,
    _blocks,
    animal_data,
    behavior_features,
    choose_hidden,
    fit_factor_analysis,
    smooth_time,
)
from ceneurovae.errors import ConfigError, DataError, DataWarning
from ceneurovae.evaluate import (
    evaluate,
    latent_diagnostics,
    r2_score,
    shuffle_behavior,
    shuffle_control,
)
from ceneurovae.metrics import (
    block_groups,
    cross_validated_r2,
    describe,
    ridge_cv,
    ridge_cv_from_stats,
)
from ceneurovae.simulate import SimConfig, simulate_cohort
from conftest import run_cli
from toy import toy_cohort

FAST = {"train.epochs": 3, "model.hidden_dim": 32, "model.latent_dim": 4, "model.n_heads": 2,
        "model.behavior_history": 20, "data.window_T": 50, "data.stride": 25, "train.quiet": True}
BEHAVIORS = ["velocity", "head_curvature", "pumping"]


def quick_baselines():
    return [IdentityMean(), BehaviorRidge(), NeuronRidge(), LowRank(ranks=(2, 4), n_folds=2, max_iter=20)]


@pytest.fixture(scope="module")
def sim():
    """Five short simulated animals with ground truth: 3 to train on, 2 held out."""
    cohort = simulate_cohort(n_animals=5, seed=1, config=SimConfig(n_frames=300))
    uids = sorted(cohort.datasets)
    train = {u: cohort.datasets[u] for u in uids[:3]}
    test = {u: cohort.datasets[u] for u in uids[3:]}
    return cohort, train, test


@pytest.fixture(scope="module")
def toy():
    ds, vocab = toy_cohort(n_animals=6, T=200)
    uids = sorted(ds)
    train = {u: ds[u] for u in uids[:4]}
    test = {u: ds[u] for u in uids[4:]}
    trained = ceneurovae.fit(train, config=FAST, seed=0)
    return trained, train, test, vocab


class Oracle:
    """A predictor that knows the truth: what a perfect model would output."""

    def __init__(self, cohort, train_uids=()):
        self.truth = cohort.truth
        self.vocabulary = Vocabulary.from_names(n for r in cohort.datasets.values() for n in r.labels if n)
        self.behavior_names = BEHAVIORS
        self.train_uids = list(train_uids)
        self.hidden_seen = {}

    def reconstruct(self, rec):
        return self.truth[rec.uid].signal

    def impute(self, rec, hide=()):
        self.hidden_seen[rec.uid] = np.asarray(hide).tolist()
        return self.truth[rec.uid].predictable

    def from_behavior(self, rec):
        return self.truth[rec.uid].behavior_part

    def latents(self, rec):
        return self.truth[rec.uid].internal_states


class TestR2:
    def test_known_values(self):
        y = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
        np.testing.assert_allclose(r2_score(y, y), [1, 1])
        np.testing.assert_allclose(r2_score(np.full_like(y, y.mean(0)), y), [0, 0], atol=1e-12)
        pred = y.copy()
        pred[:, 0] += 1.0  # SSE 4, SST 5
        np.testing.assert_allclose(r2_score(pred, y)[0], 1 - 4 / 5)

    def test_mask_and_nan(self):
        y = np.arange(10.0)[:, None]
        p = y.copy()
        p[0] = 100.0
        mask = np.ones_like(y, dtype=bool)
        mask[0] = False
        assert r2_score(p, y, mask)[0] == 1.0
        p[0] = np.nan
        assert r2_score(p, y)[0] == 1.0
        assert np.isnan(r2_score(np.zeros((3, 1)), np.ones((3, 1))))[0]

    def test_describe(self):
        d = describe([1.0, 2.0, 3.0, np.nan, 4.0])
        assert d == {"mean": 2.5, "median": 2.5, "q25": 1.75, "q75": 3.25, "n": 4}
        assert describe([np.nan])["n"] == 0 and np.isnan(describe([])["mean"])


class TestRidge:
    def test_recovers_planted_linear_map(self, rng):
        x = rng.normal(size=(600, 5)) * [1, 10, 0.1, 1, 1]
        w = np.array([[1.0, -2.0], [0.1, 0.0], [5.0, 1.0], [0.0, 0.5], [-1.0, 0.0]])
        y = x @ w + 3.0 + 0.1 * rng.normal(size=(600, 2))
        fit = ridge_cv(x, y, block_groups(600, 5))
        np.testing.assert_allclose(fit.coef, w, atol=0.05)
        np.testing.assert_allclose(fit.intercept, [3.0, 3.0], atol=0.05)
        assert (fit.lam <= 1e-3).all()  # little noise: CV picks a small penalty

    def test_noise_target_gets_a_large_penalty(self, rng):
        x = rng.normal(size=(400, 20))
        fit = ridge_cv(x, rng.normal(size=400), block_groups(400, 4))
        assert fit.lam[0] >= 1.0 and np.abs(fit.coef).max() < 0.05

    def test_leave_one_group_out_error_matches_naive_loop(self, rng):
        G, F = 4, 3
        xs = [np.concatenate([rng.normal(size=(50, F)), np.ones((50, 1))], 1) for _ in range(G)]
        ys = [x[:, :F] @ [1.0, -1.0, 0.5] + rng.normal(size=50) for x in xs]
        gram = np.stack([x.T @ x for x in xs])
        xty = np.stack([x.T @ y[:, None] for x, y in zip(xs, ys)])
        yty = np.stack([[y @ y] for y in ys])
        lam = 0.3
        _, _, cv = ridge_cv_from_stats(gram, xty, yty, lambdas=[lam])
        naive = 0.0
        pen = np.diag([1.0] * F + [0.0])
        for g in range(G):
            X = np.concatenate([xs[i] for i in range(G) if i != g])
            Y = np.concatenate([ys[i] for i in range(G) if i != g])
            w = np.linalg.solve(X.T @ X + lam * len(X) * pen, X.T @ Y)
            naive += ((ys[g] - xs[g] @ w) ** 2).sum()
        np.testing.assert_allclose(cv[0], naive, rtol=1e-6)

    def test_cross_validated_r2_is_out_of_sample(self, rng):
        xs = [rng.normal(size=(300, 4)) for _ in range(3)]
        wmap = rng.normal(size=(4, 2))
        ys = [x @ wmap + 0.5 * rng.normal(size=(300, 2)) for x in xs]
        r2 = cross_validated_r2(xs, ys)
        assert r2.shape == (3, 2) and (r2 > 0.7).all()
        # a target that features cannot explain must not score above chance
        noise = [rng.normal(size=(300, 1)) for _ in range(3)]
        assert cross_validated_r2(xs, noise).max() < 0.05
        one = cross_validated_r2(xs[:1], ys[:1])  # one animal: contiguous blocks
        assert one.shape == (1, 2) and (one > 0.7).all()

    def test_centering_forgives_per_animal_offsets_only(self, rng):
        xs = [rng.normal(size=(300, 3)) for _ in range(4)]
        # each animal's target sits at its own offset, which its (centered) features cannot know
        ys = [x @ [[1.0], [-1.0], [0.5]] + 3.0 * rng.normal() for x in xs]
        assert cross_validated_r2(xs, ys).mean() < 0.5
        assert cross_validated_r2(xs, ys, center=True).min() > 0.99
        noise = [rng.normal(size=(300, 1)) + 3.0 * rng.normal() for _ in range(4)]
        assert cross_validated_r2(xs, noise, center=True).max() < 0.05  # centering invents nothing

    def test_masked_targets(self, rng):
        xs = [rng.normal(size=(200, 3)) for _ in range(2)]
        ys = [x @ [[1.0], [2.0], [0.0]] for x in xs]
        ms = [np.ones((200, 1), bool), np.zeros((200, 1), bool)]
        ms[1][:100] = True
        ys[1][100:] = 1e6  # unknown frames hold garbage that the mask must keep out
        r2 = cross_validated_r2(xs, ys, ms)
        assert (r2 > 0.99).all()


class TestHiddenChoice:
    def test_seeded_by_seed_and_uid_only(self):
        identity = np.array([0, 3, 5, 0, 7, 9, 11, 2, 4, 8, 1, 6])
        a = choose_hidden(identity, "worm-1", 0.2, seed=0)
        assert np.array_equal(a, choose_hidden(identity, "worm-1", 0.2, seed=0))
        assert len(a) == 2 and (identity[a] > 0).all() and np.all(np.diff(a) > 0)
        others = [choose_hidden(identity, "worm-1", 0.2, seed=s).tolist() for s in range(1, 6)]
        assert any(o != a.tolist() for o in others)
        assert len({tuple(choose_hidden(identity, f"w{i}", 0.2, 0)) for i in range(10)}) > 1

    def test_sizes_and_errors(self):
        assert choose_hidden(np.array([0, 1]), "a").size == 0  # one labeled neuron: nothing to hide from
        assert choose_hidden(np.array([1, 2]), "a", 0.2).size == 1
        assert choose_hidden(np.arange(1, 11), "a", 0.9).size == 9
        with pytest.raises(ConfigError, match="hide_fraction"):
            choose_hidden(np.arange(5), "a", 1.0)

    def test_same_neurons_for_model_and_every_baseline(self, sim):
        cohort, train, test = sim
        oracle = Oracle(cohort)

        class Spy(IdentityMean):
            key, label = "spy", "spy"
            seen: dict = {}

            def impute(self, animal, hide):
                Spy.seen[animal.uid] = np.asarray(hide).tolist()
                return super().impute(animal, hide)

        ev = evaluate(oracle, test, cohort.truth, train_datasets=train, baselines=[Spy()], seed=3)
        for uid, rec in test.items():
            expected = choose_hidden(oracle.vocabulary.encode(rec.labels), uid, 0.2, 3).tolist()
            assert ev.hidden[uid] == oracle.hidden_seen[uid] == Spy.seen[uid] == expected
            rows = ev.neurons["uid"] == uid
            assert sorted(ev.neurons["neuron"][rows & ev.neurons["hidden"]].tolist()) == expected


class TestCeiling:
    def test_perfect_predictor_and_ceiling(self, sim):
        cohort, train, test = sim
        ev = evaluate(Oracle(cohort), test, cohort.truth, train_datasets=train, baselines=False)
        nb, s = ev.neurons, ev.summary["methods"]["model"]
        hid = nb["hidden"]
        # the truth's predictable part scored against the data IS the ceiling, neuron by neuron
        np.testing.assert_allclose(nb["model.imputation"][hid], nb["ceiling.predictable"][hid], atol=1e-10)
        assert np.isnan(nb["model.imputation"][~hid]).all()
        np.testing.assert_allclose(nb["model.imputation_vs_predictable"][hid], 1.0)
        np.testing.assert_allclose(nb["model.reconstruction_vs_signal"], 1.0)
        np.testing.assert_allclose(nb["model.reconstruction"], nb["ceiling.signal"], atol=1e-10)
        np.testing.assert_allclose(nb["model.behavior_only"], nb["ceiling.behavior"], atol=1e-10)
        np.testing.assert_allclose(s["fraction_of_ceiling"]["imputation"]["fraction_mean"], 1.0)
        assert s["internal_states"]["mean"] > 0.99  # the latent is the states themselves
        ceiling = ev.summary["methods"]["ceiling"]
        assert 0.4 < ceiling["imputation"]["mean"] < ceiling["reconstruction"]["mean"] < 1.0
        assert 0.0 < ceiling["behavior_only"]["mean"] < ceiling["imputation"]["mean"]

    def test_duck_typed_truth_and_noise_copying_is_not_denoising(self, sim):
        cohort, train, test = sim

        class Copier(Oracle):
            def reconstruct(self, rec):  # returns the noisy input: perfect vs data, not vs truth
                return rec.traces

        truth = {u: SimpleNamespace(**{k: getattr(t, k) for k in ("signal", "predictable", "behavior_part",
                                                                   "noise", "internal_states")})
                 for u, t in cohort.truth.items()}
        ev = evaluate(Copier(cohort), test, truth, baselines=False)
        s = ev.summary["methods"]["model"]
        assert s["reconstruction"]["mean"] == pytest.approx(1.0)
        assert s["reconstruction_vs_signal"]["mean"] < ev.summary["methods"]["ceiling"]["reconstruction"]["mean"] + 0.05
        assert s["fraction_of_ceiling"]["reconstruction"]["fraction_mean"] > 1.0

    def test_truth_of_another_cohort_is_refused(self, sim):
        cohort, train, test = sim
        other = simulate_cohort(n_animals=5, seed=2, config=SimConfig(n_frames=300))
        with pytest.raises(DataError, match="(does not add up|ground truth of)"):
            evaluate(Oracle(cohort), test, other.truth, baselines=False)
        with pytest.raises(DataError, match="no ground truth"):
            evaluate(Oracle(cohort), test, {}, baselines=False)

    def test_an_imputation_that_peeks_is_caught(self, sim):
        cohort, train, test = sim

        class Peeker(Oracle):
            def impute(self, rec, hide=()):  # "predicts" the hidden neurons from their own traces
                out = np.array(self.truth[rec.uid].predictable)
                out[:, hide] = 0.9 * rec.traces[:, hide] + 0.1 * out[:, hide]
                return out

        with pytest.warns(DataWarning, match="not valid"):
            ev = evaluate(Peeker(cohort), test, cohort.truth, baselines=False)
        assert ev.summary["leak_check"]["leaking"] == ["model"]
        assert "WARNING" in ev.table()
        honest = evaluate(Oracle(cohort), test, cohort.truth, baselines=False)
        assert honest.summary["leak_check"]["leaking"] == [] and "WARNING" not in honest.table()

    def test_abstaining_scores_as_the_mean(self, sim):
        cohort, train, test = sim

        class Abstainer(Oracle):
            def impute(self, rec, hide=()):
                out = np.array(self.truth[rec.uid].predictable)
                out[:, hide] = np.nan
                return out

        ev = evaluate(Abstainer(cohort), test, cohort.truth, baselines=False)
        np.testing.assert_allclose(ev.neurons["model.imputation"][ev.neurons["hidden"]], 0.0, atol=1e-12)


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
        blocks = [b for a in data for b in _blocks(a, len(vocab) - 1)[0]]
        assert len(blocks) == len(data) + 1
        Wf, mu, psi, ll = fit_factor_analysis(blocks, len(vocab) - 1, 3, max_iter=200)
        # the loadings are known up to a rotation: compare W W^T on the z scale of the data
        scale = np.sqrt((W**2).sum(1) + 0.09)
        true_cov = (W @ W.T) / np.outer(scale, scale)
        np.testing.assert_allclose(Wf @ Wf.T, true_cov, atol=0.12)
        np.testing.assert_allclose(psi, 0.09 / scale**2, atol=0.03)
        assert np.isfinite(ll)


class TestEvaluateModel:
    def test_keys_and_finite_numbers(self, toy):
        trained, train, test, _ = toy
        ev = evaluate(trained, test, train_datasets=train, baselines=quick_baselines())
        s = ev.summary
        assert ev.methods == ["model", "identity_mean", "cepnem", "ridge", "lowrank"]
        assert s["animals"] == {"test": sorted(test), "train": sorted(train)} and not s["truth"]
        for m in ev.methods:
            assert np.isfinite(s["methods"][m]["imputation"]["mean"])
        for metric in ("reconstruction", "imputation", "behavior_only"):
            assert set(s["methods"]["model"][metric]) == {"mean", "median", "q25", "q75", "n"}
        assert set(s["methods"]["model"]["decoding"]) >= set(BEHAVIORS)
        assert np.isfinite(s["methods"]["model"]["decoding"]["velocity"])
        lat = s["latent"]
        assert len(lat["kl_per_dim"]) == 4 and min(lat["kl_per_dim"]) >= 0
        assert 0 <= lat["active_units"] <= 4 and np.isfinite(lat["elbo_per_entry"])
        assert lat["elbo_per_entry"] == pytest.approx(-(lat["recon_per_entry"] + lat["kl_per_entry"]))
        nb = ev.neurons
        n = s["n_labeled"]
        assert all(len(v) == n for v in nb.values())
        assert {"uid", "neuron", "identity", "class", "hidden"} <= set(nb)
        assert set(nb["identity"]) <= set(trained.vocabulary.names)
        assert nb["hidden"].sum() == s["n_hidden"] > 0
        for m in ("model", "cepnem"):
            for metric in ("reconstruction", "imputation", "behavior_only"):
                assert f"{m}.{metric}" in nb
        assert "lowrank.behavior_only" not in nb  # not offered: not invented
        # the real model and every baseline keep their eyes off the hidden neurons
        assert s["leak_check"]["leaking"] == [] and set(s["leak_check"]["max_change"]) == set(ev.methods)

    def test_table_and_json(self, toy, tmp_path):
        trained, train, test, _ = toy
        ev = evaluate(trained, test, train_datasets=train, baselines=[IdentityMean(), BehaviorRidge()])
        table = ev.table()
        for label in ("model", "per-identity mean", "CePNEM-like behavior ridge", "recon", "impute", "velocity"):
            assert label in table
        assert "noise ceiling" not in table  # no truth, no ceiling
        ev.to_json(tmp_path / "eval.json")
        def no_nan(name):
            raise AssertionError(f"{name} in JSON")

        back = json.loads((tmp_path / "eval.json").read_text(), parse_constant=no_nan)
        assert set(back) == {"summary", "hidden", "neurons"}
        assert None in back["neurons"]["model.imputation"]  # visible neurons: NaN written as null
        assert back["summary"]["n_hidden"] == ev.summary["n_hidden"]
        assert len(back["neurons"]["model.reconstruction"]) == ev.summary["n_labeled"]

    def test_latent_diagnostics_match_the_encoder(self, toy):
        import torch

        trained, _, test, _ = toy
        rec = next(iter(test.values()))
        lat = latent_diagnostics(trained, [rec])
        mu = trained.latents(rec)  # stitched posterior means of overlapping windows
        assert lat["windows"] == int(np.ceil(rec.n_frames / trained.window_T))
        # the variance of the posterior mean over frames is of the same order as the stitched one
        np.testing.assert_allclose(lat["posterior_mean_variance"], mu.var(0), rtol=0.5, atol=0.01)
        state = torch.random.get_rng_state()
        latent_diagnostics(trained, [rec])
        assert torch.equal(state, torch.random.get_rng_state())  # the global random state is untouched

    def test_refusals(self, toy):
        trained, train, test, _ = toy
        with pytest.raises(DataError, match="used to train"):
            evaluate(trained, train, baselines=False)
        with pytest.raises(ConfigError, match="train_datasets"):
            evaluate(trained, test)
        both = {**train, **test}
        with pytest.raises(DataError, match="both held out"):
            evaluate(trained, test, train_datasets=both, baselines=[IdentityMean()])
        with pytest.raises(ConfigError, match="hide_fraction"):
            evaluate(trained, test, baselines=False, hide_fraction=0.0)
        with pytest.raises(ConfigError, match="no held-out"):
            evaluate(trained, {}, baselines=False)
        ev = evaluate(trained, train, baselines=False, allow_seen=True)
        assert ev.summary["n_labeled"] > 0


class TestShuffleControl:
    def test_derangement(self, toy):
        _, train, _, _ = toy
        a = shuffle_behavior(train, seed=0)
        assert list(a) == list(train)
        donors = {u: r.meta["behavior_from"] for u, r in a.items()}
        assert all(u != d for u, d in donors.items()) and sorted(donors.values()) == sorted(train)
        for u, r in a.items():
            np.testing.assert_array_equal(r.behavior, train[donors[u]].behavior)
            np.testing.assert_array_equal(r.traces, train[u].traces)
        assert {u: r.meta["behavior_from"] for u, r in shuffle_behavior(train, seed=0).items()} == donors
        assert any({u: r.meta["behavior_from"] for u, r in shuffle_behavior(train, seed=s).items()} != donors
                   for s in range(1, 8))

    def test_lengths_cut_and_padded(self, toy):
        _, train, _, _ = toy
        recs = list(train.values())[:2]
        short = recs[1].replace(traces=recs[1].traces[:150], mask=None, behavior=recs[1].behavior[:150],
                                behavior_mask=None, timestamps=recs[1].timestamps[:150])
        out = shuffle_behavior([recs[0], short], seed=0)
        long_one, short_one = out[recs[0].uid], out[short.uid]
        assert long_one.behavior.shape == (200, 3) and not long_one.behavior_mask[150:].any()
        assert long_one.behavior_mask[:150].all() and short_one.behavior.shape == (150, 3)
        with pytest.raises(ConfigError, match="at least 2"):
            shuffle_behavior(recs[:1])

    def test_control_trains_and_reports(self, toy):
        trained, train, test, _ = toy
        out = shuffle_control(train, test, config={**FAST, "train.epochs": 2}, reference=trained)
        assert set(out) >= {"behavior_only", "reference_mean", "retained", "donors", "seconds"}
        assert np.isfinite(out["behavior_only"]["mean"]) and out["behavior_only"]["n"] > 0


class TestCommand:
    def test_evaluate_command_with_truth(self, sim, tmp_path):
        from ceneurovae.io import write_cohort
        from ceneurovae.simulate import save_truth

        cohort, train, test = sim
        write_cohort(tmp_path / "cohort.h5", cohort.datasets, cohort.vocabulary)
        save_truth(tmp_path / "truth.h5", cohort.truth)
        trained = ceneurovae.fit(train, config={**FAST, "train.epochs": 1}, val_uids=[sorted(train)[-1]])
        trained.save(tmp_path / "model.pt")
        res = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--truth", tmp_path / "truth.h5",
                      "--test-uids", *sorted(test), "-o", tmp_path / "eval.json")
        assert res.returncode == 0, res.stderr
        assert "noise ceiling" in res.stdout and "low-rank" in res.stdout
        assert "held out: 2 animals" in res.stdout
        back = json.loads((tmp_path / "eval.json").read_text())
        assert back["summary"]["animals"]["test"] == sorted(test)
        # the other animals of DATA fit the baselines
        assert set(back["summary"]["animals"]["train"]) == set(cohort.datasets) - set(test)

    def test_defaults_to_the_validation_animals(self, toy, tmp_path):
        from ceneurovae.io import write_cohort

        trained, train, test, vocab = toy
        write_cohort(tmp_path / "cohort.h5", {**train, **test}, vocab)
        mix = trained.linear_mix
        try:
            trained.model.linear.set_mix(0.0)  # the linear read-out unused: the validation animals are held out
            trained.save(tmp_path / "model.pt")
            res = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--no-baselines")
            assert res.returncode == 0, res.stderr
            assert "validation animals" in res.stdout and f"held out: {len(trained.val_uids)} animals" in res.stdout
            # with weight, its moments hold the validation animals: only animals never used are scored
            trained.model.linear.set_mix(0.5)
            trained.save(tmp_path / "model.pt")
            res = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--no-baselines")
            assert res.returncode == 0, res.stderr
            assert f"held out: {len(test)} animals, every animal of DATA the model was not trained on" in res.stdout
        finally:
            trained.model.linear.set_mix(mix)
        bad = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--hide-fraction", "1.5")
        assert bad.returncode == 2 and "--hide-fraction" in bad.stderr


@pytest.mark.slow
def test_quality_benchmark_runs(tmp_path):
    """The benchmark end to end on a tiny cohort: it trains, evaluates and writes the bar."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "quality.py"
    res = subprocess.run(
        [sys.executable, str(script), "--animals", "5", "--test", "2", "--quiet", "--no-shuffle-control",
         "--set", "train.epochs=1", "model.hidden_dim=32", "model.n_heads=2", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(Path(ceneurovae.__file__).resolve().parents[1])},
    )
    assert res.returncode in (0, 1), res.stderr  # 1: the bar is missed, as a one-epoch model must
    assert "the bar" in res.stdout and "wall times" in res.stdout
    out = json.loads((tmp_path / "quality.json").read_text())
    names = [b["criterion"] for b in out["bar"]]
    assert names[0].startswith("imputation R² >= 0.90") and any("internal states" in n for n in names)
    assert (tmp_path / "model.pt").is_file() and (tmp_path / "table.txt").is_file()


def test_imputation_bound_oracles():
    """The oracles on a small cohort: with every neuron's true encodings, the states inferred from
    the visible neurons predict the hidden ones almost as well as the ceiling; a read-out pooled
    over other animals cannot, and knowing the shared encodings exactly lies between. A pooled
    read-out in fixed units gains from being rescaled to each recording's spread, as the data's
    z-scoring does. Without per-animal deviations (``--no-variability``) every neuron follows its
    identity's shared encoding: the oracle that knows them reaches the ceiling, and the pooled
    read-out comes much closer to it than with deviations."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "imputation_bound.py"
    env = {**os.environ, "PYTHONPATH": str(Path(ceneurovae.__file__).resolve().parents[1])}

    def fractions(*flags):
        res = subprocess.run([sys.executable, str(script), "--animals", "8", "--test", "2", *flags],
                             capture_output=True, text=True, timeout=300, env=env)
        assert res.returncode == 0, res.stderr
        assert ("no per-animal variability" in res.stdout) == bool(flags)
        return {line[:2]: float(line.split()[-1]) for line in res.stdout.splitlines()
                if line[:2] in ("no", "1.", "4.", "5'", "6.", "6'", '6"')}

    frac = fractions()
    assert frac["no"] == 1.0
    assert frac["1."] > 0.95
    assert frac["4."] < frac["1."] - 0.02
    assert frac["4."] < frac["5'"] < frac["1."]  # shared encodings known exactly: between the two
    assert frac["6."] + 0.01 < frac["6'"] <= frac['6"'] < frac["1."]
    shared = fractions("--no-variability")
    assert shared["5'"] > 0.98 > frac["5'"]
    assert shared["6'"] > frac["6'"] + 0.02


def test_verdict_says_in_words_who_is_better():
    from ceneurovae.evaluate import format_table, verdict

    def summary(model, ridge, cepnem):
        return {
            "labels": {"model": "model", "ridge": "ridge (other neurons + behavior)", "cepnem": "CePNEM-like behavior ridge"},
            "methods": {
                "model": {"imputation": {"mean": model[0]}, "behavior_only": {"mean": model[1]}},
                "ridge": {"imputation": {"mean": ridge}},
                "cepnem": {"imputation": {"mean": cepnem}, "behavior_only": {"mean": cepnem}},
            },
            "animals": {"test": ["a"], "train": ["b"]}, "n_hidden": 3, "n_labeled": 10,
            "hide_fraction": 0.2, "seed": 0,
        }

    lose = verdict(summary((0.20, 0.01), 0.25, 0.02))
    assert lose[0] == ("The baseline ridge (other neurons + behavior) imputes the hidden neurons better than the "
                       "model: R² 0.250 against 0.200 (mean over neurons).")
    assert lose[1].startswith("The baseline CePNEM-like behavior ridge predicts activity from behavior alone better")
    win = verdict(summary((0.30, 0.05), 0.25, 0.02))
    assert win[0].startswith("The model imputes the hidden neurons better than every baseline: R² 0.300")
    assert win[1].startswith("The model predicts activity from behavior alone better than every baseline")
    assert verdict({"methods": {"model": {"imputation": {"mean": 0.3}}}}) == []  # no baselines: nothing to say
    table = format_table(summary((0.20, 0.01), 0.25, 0.02))
    assert lose[0] in table.splitlines()[:5]  # the table opens with it
