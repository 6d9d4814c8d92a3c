"""The evaluation: a perfect predictor scores 1, the truth's predictable part reproduces
the ceiling exactly, every method is scored on the same hidden neurons, and the table,
JSON and verdict say so.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from ceneurovae import Vocabulary
from ceneurovae.data import choose_hidden
from ceneurovae.errors import ConfigError, DataError, DataWarning
from ceneurovae.evaluation.baselines import (
    BehaviorRidge,
    IdentityMean,
    LowRank,
    NeuronRidge,
)
from ceneurovae.evaluation.evaluate import evaluate, format_table, verdict
from ceneurovae.simulate import SimConfig, simulate_cohort
from eval_fixtures import BEHAVIORS


def quick_baselines():
    return [IdentityMean(), BehaviorRidge(), NeuronRidge(), LowRank(ranks=(2, 4), n_folds=2, max_iter=20)]


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


def test_verdict_says_in_words_who_is_better():
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
