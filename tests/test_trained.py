"""`Trained`: its methods (reconstruct, impute, from_behavior, generate, prepare) and its
save/load round trip."""

import json

import numpy as np
import pytest

import ceneurovae
from ceneurovae.checkpoint import save_checkpoint
from ceneurovae.errors import CheckpointError, ConfigError, DataError
from conftest import FAST


class TestTrainedMethods:
    def test_shapes_and_units(self, trained, cohort):
        ds, _ = cohort
        rec = ds[trained.val_uids[0]]
        rec_units = rec.replace(traces=rec.traces * 5 + 100)
        T, N = rec.traces.shape
        rc = trained.reconstruct(rec_units)
        assert rc.shape == (T, N) and np.isfinite(rc).all()
        assert abs(np.nanmean(rc) - 100) < 2  # back in the units of rec.traces
        assert trained.latents(rec).shape == (T, 4)
        fb = trained.from_behavior(rec)
        assert fb.shape == (T, N) and np.isnan(fb[:, rec.identity == 0]).all()
        im = trained.impute(rec, hide=[0, 1])
        assert im.shape == (T, N)
        vals, names = trained.impute_identities(rec)
        assert vals.shape == (T, 20) and names == trained.vocabulary.names

    def test_impute_does_not_look_at_hidden_neurons(self, trained, cohort):
        rec = cohort[0][trained.val_uids[0]]
        a = trained.impute(rec, hide=[0])
        x = rec.traces.copy()
        x[:, 0] = np.random.default_rng(0).normal(size=len(x)) * 3
        b = trained.impute(rec.replace(traces=x), hide=[0])
        z0 = (a[:, 0] - rec.traces[:, 0].mean()) / rec.traces[:, 0].std(ddof=1)
        z1 = (b[:, 0] - x[:, 0].mean()) / x[:, 0].std(ddof=1)
        np.testing.assert_allclose(z0, z1, atol=1e-4)  # same prediction, mapped to each neuron's units
        np.testing.assert_allclose(a[:, 1:], b[:, 1:], atol=1e-4)

    def test_prediction_from_behavior_alone_reads_nothing_of_the_traces(self, trained, cohort):
        """The recording gain's spread comes from the traces, so from_behavior must not use it:
        scrambling every trace (same mask) leaves the z-scored prediction unchanged."""
        rec = trained.prepare(cohort[0][trained.val_uids[0]])
        scrambled = rec.replace(traces=np.random.default_rng(1).normal(size=rec.traces.shape).astype(np.float32) * 3)
        before, after = trained.run(rec, from_prior=True).pred, trained.run(scrambled, from_prior=True).pred
        np.testing.assert_allclose(after, before, atol=1e-6)
        # and it uses each identity's typical spread, as generate does
        assert not np.allclose(before, trained.run(rec, from_prior=True, raw=True).pred)

    def test_generate_any_behavior(self, trained):
        T = 120
        behavior = np.zeros((T, 3), np.float32)
        behavior[40:60, 0] = -0.15  # a reversal
        out = trained.generate(behavior, ["N01", "N05", 3])
        assert out.shape == (T, 3) and np.isfinite(out).all()
        with pytest.raises(ConfigError, match="not in the model's vocabulary"):
            trained.generate(behavior, ["AVAL"])
        with pytest.raises(ConfigError, match=r"behavior must be \(T, 3\)"):
            trained.generate(behavior[:, :2], ["N01"])

    def test_missing_behavior_is_named(self, trained, cohort):
        rec = cohort[0][trained.val_uids[0]].select_behaviors(["velocity"])
        with pytest.raises(DataError, match=r"has no behavior \['head_curvature', 'pumping'\].*trained on"):
            trained.reconstruct(rec)

    def test_unseen_animal_with_other_vocabulary_is_remapped(self, trained, cohort):
        rec = cohort[0][trained.val_uids[0]]
        other = ceneurovae.Vocabulary(["N03", "ZZZ"] + [n for n in trained.vocabulary.names if n != "N03"])
        names = rec.identity_names()
        rec2 = rec.replace(identity=other.encode(names), vocabulary=other)
        np.testing.assert_allclose(trained.reconstruct(rec2), trained.reconstruct(rec), atol=1e-4)



class TestSaveLoad:
    def test_round_trip(self, trained, cohort, tmp_path):
        rec = cohort[0][trained.val_uids[0]]
        trained.save(tmp_path / "m.pt")
        back = ceneurovae.load(tmp_path / "m.pt")
        np.testing.assert_allclose(back.reconstruct(rec), trained.reconstruct(rec), atol=1e-5)
        assert back.vocabulary == trained.vocabulary and back.scaler == trained.scaler
        assert back.config.to_dict() == trained.config.to_dict()
        assert back.linear_uids == trained.linear_uids == sorted(cohort[0])  # every animal fitted the moments
        assert (back.behavior_scale, back.linear_mix) == (trained.behavior_scale, trained.linear_mix)

    def test_linear_read_out_and_what_it_has_seen(self, cohort, tmp_path):
        """With weight on the linear read-out, a hidden neuron is the mix of the two read-outs,
        and the validation animals, whose data its moments hold, are no longer held out."""
        from ceneurovae.errors import DataError
        from ceneurovae.evaluate import evaluate

        ds, _ = cohort
        model = ceneurovae.fit(ds, config=FAST, seed=0)
        model.model.linear.set_mix(0.0)
        val = {u: ds[u] for u in model.val_uids}
        assert set(model.seen_uids) == set(model.train_uids)
        evaluate(model, val, baselines=False)  # the weight at 0: the validation animals are held out
        rec = model.prepare(ds[model.val_uids[0]])
        hide = np.array([0, 3])
        latent = model.run(rec, hide=hide, refine_steps=0).pred
        linear = model.run(rec, hide=hide, refine_steps=0, mix=1.0).pred
        model.model.linear.set_mix(0.25)
        mixed = model.run(rec, hide=hide, refine_steps=0).pred
        np.testing.assert_allclose(mixed[:, hide], 0.75 * latent[:, hide] + 0.25 * linear[:, hide], atol=1e-5)
        visible = np.setdiff1d(np.arange(rec.n_neurons), hide)
        np.testing.assert_allclose(mixed[:, visible], latent[:, visible], atol=1e-6)  # visible: latent only
        assert set(model.seen_uids) == set(model.train_uids) | set(model.val_uids)
        with pytest.raises(DataError, match="linear read-out"):
            evaluate(model, val, baselines=False)
        model.save(tmp_path / "m.pt")
        assert set(ceneurovae.load(tmp_path / "m.pt").seen_uids) == set(model.seen_uids)

    def test_refinement_prior_is_saved_and_a_run_folder_keeps_it(self, cohort, tmp_path):
        t = ceneurovae.fit(cohort[0], config={**FAST, "train.epochs": 1}, run_dir=tmp_path / "run")
        t.refine_prior = 8.0
        t.save(tmp_path / "m.pt")
        assert ceneurovae.load(tmp_path / "m.pt").refine_prior == 8.0
        back = ceneurovae.load(tmp_path / "run")  # best.pt carries fit's choice
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert back.refine_prior == summary["refine_prior"] and len(summary["refine_prior_scores"]) == 4
        payload = t.payload()
        payload["refine_prior"] = -1.0
        save_checkpoint(tmp_path / "bad.pt", payload)
        with pytest.raises(CheckpointError, match="refine_prior"):
            ceneurovae.load(tmp_path / "bad.pt")
        del payload["refine_prior"]  # saved before the weight was chosen: the default
        save_checkpoint(tmp_path / "old.pt", payload)
        assert ceneurovae.load(tmp_path / "old.pt").refine_prior == 4.0

    def test_checkpoint_from_before_the_recording_gain_loads_without_it(self, trained, cohort, tmp_path):
        rec = cohort[0][trained.val_uids[0]]
        payload = trained.payload()
        payload["model_config"] = {k: v for k, v in payload["model_config"].items() if k != "recording_gain"}
        payload["config"]["model"].pop("recording_gain")
        payload["model_state"] = {k: v for k, v in payload["model_state"].items()
                                  if not k.startswith(("decoder.gain_floor", "decoder.typical_spread"))}
        save_checkpoint(tmp_path / "old.pt", payload)
        old = ceneurovae.load(tmp_path / "old.pt")
        assert old.model.cfg.recording_gain is False and old.model.decoder.gain_floor is None
        assert np.isfinite(old.impute(rec, hide=[0])[:, 0]).all()

