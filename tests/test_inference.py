"""`ceneurovae.inference`: the posterior refinement and the recording gain's spread."""

import numpy as np
import pytest
import torch

from ceneurovae.errors import ConfigError


class TestRefinePosterior:
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



class TestRecordingSpread:
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

