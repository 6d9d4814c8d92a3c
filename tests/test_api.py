"""The front door: fit, the Trained methods, save/load; config files; checkpoints."""

import json
import pickle

import numpy as np
import pytest
import torch

import ceneurovae
from ceneurovae import Config, Recording
from ceneurovae.checkpoint import load_checkpoint, save_checkpoint
from ceneurovae.errors import CheckpointError, ConfigError, DataError
from conftest import run_cli
from toy import toy_cohort

FAST = {"train.epochs": 4, "model.hidden_dim": 32, "model.latent_dim": 4, "model.n_heads": 2,
        "model.behavior_history": 20, "data.window_T": 50, "data.stride": 25, "train.quiet": True}


@pytest.fixture(scope="module")
def cohort():
    return toy_cohort(n_animals=5, T=200)


@pytest.fixture(scope="module")
def trained(cohort):
    ds, _ = cohort
    return ceneurovae.fit(ds, config=FAST, seed=0)


class TestFit:
    def test_split_and_history(self, trained, cohort):
        ds, vocab = cohort
        assert len(trained.val_uids) == 1 and set(trained.train_uids) | set(trained.val_uids) == set(ds)
        assert len(trained.history) == 4 and trained.vocabulary == vocab
        assert trained.behavior_names == ["velocity", "head_curvature", "pumping"]

    def test_config_from_yaml_path(self, cohort, tmp_path):
        cfg = Config().with_overrides(FAST)
        cfg.train.epochs = 2
        cfg.to_yaml(tmp_path / "run.yaml")
        t = ceneurovae.fit(cohort[0], config=tmp_path / "run.yaml")
        assert len(t.history) == 2 and t.model.cfg.hidden_dim == 32

    def test_recordings_without_vocabulary_get_one_from_labels(self, cohort):
        ds, vocab = cohort
        plain = {u: r.replace(vocabulary=None, identity=None) for u, r in ds.items()}
        t = ceneurovae.fit(plain, config={**FAST, "train.epochs": 1})
        assert set(t.vocabulary.names) == {n for r in ds.values() for n in r.labels if n}


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

    def test_refinement_improves_the_visible_fit_and_never_sees_hidden_neurons(self, trained, cohort):
        from ceneurovae.data import WindowDataset, collate_windows
        from ceneurovae.inference import refine_posterior
        from ceneurovae.model.loss import kl_divergence, reconstruction_loss

        rec = cohort[0][trained.val_uids[0]]
        core = trained.model.eval()
        ds = WindowDataset([rec], trained.window_T, trained.window_T, trained.scaler, core.cfg.behavior_history)
        batch = collate_windows([ds[k] for k in range(len(ds))])
        visible = batch.mask.clone()
        visible[:, :, :2] = False  # two neurons hidden

        def objective(mu, logvar, feats):
            pred = core.decoder(mu, feats, batch.identity)
            obs = visible & (batch.identity > 0)[:, None, :]
            return (reconstruction_loss(pred, batch.x, obs, core.cfg.recon_loss, core.decoder.log_sigma(batch.identity).squeeze(-1))
                    + kl_divergence(mu, logvar, ~batch.pad, core.prior_ar())).sum().item()

        with torch.no_grad():
            feats = core.behavior_features(batch.behavior, batch.behavior_mask, batch.behavior_past, batch.behavior_past_mask)
            mu, logvar = core.encode(batch.x, visible, batch.identity, feats, batch.pad)
        weights = [p.detach().clone() for p in core.parameters()]
        grads = [None if p.grad is None else p.grad.clone() for p in core.parameters()]
        refined = refine_posterior(core, batch, visible, feats, mu, logvar, steps=20, lr=0.05)
        assert objective(refined, logvar, feats) < objective(mu, logvar, feats)
        for p, w, g in zip(core.parameters(), weights, grads):  # the model is left alone
            assert torch.equal(p, w) and (p.grad is None if g is None else torch.equal(p.grad, g))
        # hidden neurons' data cannot move the refined latent
        x2 = batch.x.clone()
        x2[:, :, :2] = torch.randn_like(x2[:, :, :2]) * 5
        again = refine_posterior(core, type(batch)(**{**vars(batch), "x": x2}), visible, feats, mu, logvar, 20, 0.05)
        torch.testing.assert_close(again, refined)
        # the front door: refinement on by default, off with 0, and a bad value refused
        assert not np.allclose(trained.impute(rec, hide=[0, 1]), trained.impute(rec, hide=[0, 1], refine_steps=0))
        with pytest.raises(ConfigError, match="refine_steps"):
            trained.impute(rec, hide=[0], refine_steps=-1)

    def test_refinement_prior_weight_holds_the_latent_toward_the_prior(self, trained, cohort):
        from ceneurovae.data import WindowDataset, collate_windows
        from ceneurovae.inference import refine_posterior
        from ceneurovae.model.loss import kl_divergence

        rec = cohort[0][trained.val_uids[0]]
        core = trained.model.eval()
        ds = WindowDataset([rec], trained.window_T, trained.window_T, trained.scaler, core.cfg.behavior_history)
        batch = collate_windows([ds[k] for k in range(len(ds))])
        with torch.no_grad():
            feats = core.behavior_features(batch.behavior, batch.behavior_mask, batch.behavior_past, batch.behavior_past_mask)
            mu, logvar = core.encode(batch.x, batch.mask, batch.identity, feats, batch.pad)

        def kl(weight):
            m = refine_posterior(core, batch, batch.mask, feats, mu, logvar, steps=30, lr=0.05, prior_weight=weight)
            return kl_divergence(m, logvar, ~batch.pad, core.prior_ar()).sum().item()

        assert kl(16.0) < kl(4.0) < kl(1.0)
        # the front door: the weight reaches the refinement, and a bad one is refused
        assert not np.allclose(trained.impute(rec, hide=[0, 1]), trained.impute(rec, hide=[0, 1], refine_prior=1.0))
        for bad in (0, -1.0, float("nan"), "4"):
            with pytest.raises(ConfigError, match="refine_prior"):
                trained.impute(rec, hide=[0], refine_prior=bad)

    def test_fit_calibrates_on_its_validation_animals(self, trained, cohort):
        from ceneurovae.api import BEHAVIOR_SCALES, MIXES, REFINE_PRIORS, choose_refine_prior
        from ceneurovae.data import hidden_sets
        from ceneurovae.normalize import zscore

        cal = trained.calibration
        assert set(cal.imputation) == {(p, m) for p in REFINE_PRIORS for m in MIXES}
        assert set(cal.behavior_only) == set(BEHAVIOR_SCALES)
        assert (trained.refine_prior, trained.linear_mix) == max(cal.imputation, key=cal.imputation.get)
        assert trained.behavior_scale == max(cal.behavior_only, key=cal.behavior_only.get)
        assert f"refine_prior={trained.refine_prior:g}" in repr(trained)
        # each latent-only score is the mean R² of the hidden neurons imputed with that weight
        val = [trained.prepare(cohort[0][u]) for u in trained.val_uids]
        sets = hidden_sets([(r.identity, r.uid) for r in val])
        mix = trained.linear_mix
        trained.model.linear.set_mix(0.0)
        try:
            r2 = []
            for rec, folds in zip(val, sets):
                z, mean, std = zscore(rec.traces, rec.mask)
                for hide in folds:
                    pz = (trained.impute(rec, hide=hide, refine_prior=2.0) - mean) / std
                    r2 += [1 - np.sum((z[:, j] - pz[:, j]) ** 2) / np.sum((z[:, j] - z[:, j].mean()) ** 2) for j in hide]
        finally:
            trained.model.linear.set_mix(mix)
        assert cal.imputation[(2.0, 0.0)] == pytest.approx(np.mean(r2), abs=1e-4)
        # impute's default is the chosen weight
        rec, hide = val[0], sets[0][0]
        np.testing.assert_array_equal(trained.impute(rec, hide=hide),
                                      trained.impute(rec, hide=hide, refine_prior=trained.refine_prior))
        # choose_refine_prior: the same choice among the prior weights alone; nothing to score: no change
        best, scores = choose_refine_prior(trained, [])
        assert (best, scores) == (trained.refine_prior, {})

    def test_recording_gain_uses_each_recordings_own_spread(self, trained, cohort):
        from ceneurovae.inference import recording_spread, run_recording

        core = trained.model
        assert core.cfg.recording_gain
        # training replaced the initial typical spreads (their value: tests/test_training.py)
        assert not torch.allclose(core.decoder.typical_spread, torch.ones_like(core.decoder.typical_spread))
        rec = trained.prepare(cohort[0][trained.val_uids[0]])
        hide = np.array([0, 1])
        spread, _ = recording_spread(core, rec, trained.scaler, window_T=trained.window_T, hide=hide)
        raw = run_recording(core, rec, trained.scaler, window_T=trained.window_T, hide=hide, center=False,
                            stride=trained.window_T, raw=True).pred
        labeled = np.flatnonzero(rec.identity > 0)
        np.testing.assert_allclose(spread.numpy()[labeled], raw[:, labeled].var(0), rtol=1e-4)
        # the hidden neurons' spread comes from their imputation, not their data
        scrambled = rec.replace(traces=rec.traces.copy())
        scrambled.traces[:, :2] = np.random.default_rng(0).normal(size=(rec.n_frames, 2)) * 5
        again, _ = recording_spread(core, scrambled, trained.scaler, window_T=trained.window_T, hide=hide)
        torch.testing.assert_close(again, spread)
        # the gain follows the recording: the same raw read-out, divided by its own spread
        gained = run_recording(core, rec, trained.scaler, window_T=trained.window_T, hide=hide, center=False,
                               mix=0.0).pred  # the latent read-out alone
        raw_fine = run_recording(core, rec, trained.scaler, window_T=trained.window_T, hide=hide, center=False, raw=True).pred
        ids = torch.as_tensor(rec.identity[labeled])
        floor = torch.exp(core.decoder.gain_floor(ids).squeeze(-1)).detach().numpy()
        bias = core.decoder.bias(ids).squeeze(-1).detach().numpy()
        expect = (raw_fine[:, labeled] - bias) / np.sqrt(spread.numpy()[labeled] + floor) + bias
        np.testing.assert_allclose(gained[:, labeled], expect, rtol=1e-4, atol=1e-5)

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

    def test_malicious_pickle_is_refused_without_running(self, tmp_path):
        marker = tmp_path / "pwned"

        class Evil:
            def __reduce__(self):
                return (open, (str(marker), "w"))

        path = tmp_path / "evil.pt"
        torch.save({"format": "ceneurovae-checkpoint-v1", "model_config": {}, "model_state": Evil()}, path)
        with pytest.raises(CheckpointError, match="refused without running"):
            ceneurovae.load(path)
        assert not marker.exists()

    def test_plain_pickle_is_refused(self, tmp_path):
        path = tmp_path / "p.pt"
        with open(path, "wb") as fh:
            pickle.dump({"a": 1}, fh)
        with pytest.raises(CheckpointError):
            load_checkpoint(path)

    def test_truncated_and_foreign_files(self, trained, tmp_path):
        trained.save(tmp_path / "m.pt")
        data = (tmp_path / "m.pt").read_bytes()
        (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
        with pytest.raises(CheckpointError, match="damaged"):
            ceneurovae.load(tmp_path / "cut.pt")
        torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
        with pytest.raises(CheckpointError, match="not a ceneurovae checkpoint"):
            ceneurovae.load(tmp_path / "foreign.pt")
        with pytest.raises(CheckpointError, match="does not exist"):
            ceneurovae.load(tmp_path / "nothing.pt")

    def test_atomic_write_leaves_no_temporary_file(self, tmp_path):
        save_checkpoint(tmp_path / "c.pt", {"model_config": {}, "model_state": {}})
        assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


class TestConfigFiles:
    def test_unknown_and_mistyped_keys(self, tmp_path):
        (tmp_path / "a.yaml").write_text("model:\n  latent_dimm: 4\n")
        with pytest.raises(ConfigError, match=r"unknown key\(s\) \['latent_dimm'\]"):
            Config.from_yaml(tmp_path / "a.yaml")
        (tmp_path / "b.yaml").write_text("train:\n  lr: fast\n")
        with pytest.raises(ConfigError, match=r"train.lr = 'fast': expected float"):
            Config.from_yaml(tmp_path / "b.yaml")
        (tmp_path / "c.yaml").write_text("trainer:\n  lr: 1\n")
        with pytest.raises(ConfigError, match=r"unknown section\(s\) \['trainer'\]"):
            Config.from_yaml(tmp_path / "c.yaml")

    def test_yaml_round_trip(self, tmp_path):
        cfg = Config().with_overrides(["model.latent_dim=3", "model.behavior_taus=[0, 4]", "data.behaviors=[velocity]"])
        cfg.to_yaml(tmp_path / "r.yaml")
        assert Config.from_yaml(tmp_path / "r.yaml") == cfg


class TestCli:
    def test_print_config(self):
        res = run_cli("train", "--print-config", "--set", "model.latent_dim=7")
        assert res.returncode == 0, res.stderr
        assert Config.from_dict(__import__("yaml").safe_load(res.stdout)).model.latent_dim == 7

    def test_bad_override_is_a_clear_error(self):
        res = run_cli("train", "--print-config", "--set", "model.latent_dim=0")
        assert res.returncode == 2 and "model.latent_dim = 0" in res.stderr and "Traceback" not in res.stderr

    def test_train_then_predict(self, cohort, tmp_path):
        ds, vocab = cohort
        from ceneurovae.io import write_cohort

        write_cohort(tmp_path / "c.h5", ds, vocab)
        sets = [f"{k}={v}" for k, v in FAST.items()] + ["train.epochs=2"]
        res = run_cli("train", "--data", tmp_path / "c.h5", "--out", tmp_path / "run", "--quiet", "--set", *sets)
        assert res.returncode == 0, res.stderr
        for name in ("best.pt", "last.pt", "config.yaml", "metrics.csv", "summary.json"):
            assert (tmp_path / "run" / name).is_file(), name
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            pass
        else:
            assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
        res = run_cli("predict", tmp_path / "run", tmp_path / "c.h5", "-o", tmp_path / "p.h5")
        assert res.returncode == 0, res.stderr
        import h5py

        with h5py.File(tmp_path / "p.h5") as f:
            uid = next(iter(ds))
            assert f[uid]["reconstruction"].shape == ds[uid].traces.shape
            assert f[uid]["latents"].shape == (200, 4)
            assert f[uid]["identities"].shape == (200, 20)

    def test_unwritable_output_folder(self, cohort, tmp_path):
        ds, vocab = cohort
        from ceneurovae.io import write_cohort

        write_cohort(tmp_path / "c.h5", ds, vocab)
        blocker = tmp_path / "file"
        blocker.write_text("x")
        res = run_cli("train", "--data", tmp_path / "c.h5", "--out", blocker / "run")
        assert res.returncode == 2 and "cannot be written" in res.stderr


def test_recording_from_numpy_for_any_organism():
    rng = np.random.default_rng(0)
    recs = []
    for k in range(3):
        x = rng.normal(size=(150, 4))
        recs.append(Recording(uid=f"fly{k}", traces=x, behavior=rng.normal(size=(150, 1)), behavior_names=["speed"],
                              labels=["DNa01", "DNa02", "", "MDN"], dt=0.1))
    t = ceneurovae.fit(recs, config={**FAST, "train.epochs": 1})
    assert t.vocabulary.names == ["DNa01", "DNa02", "MDN"] and t.behavior_names == ["speed"]
