"""Controls: latent diagnostics, shuffled behavior and the shuffle control."""

from __future__ import annotations

import numpy as np
import pytest

from ceneurovae.errors import ConfigError
from ceneurovae.evaluation.controls import latent_diagnostics, shuffle_behavior
from ceneurovae.shuffle_control import shuffle_control
from eval_fixtures import FAST


class TestLatentDiagnostics:
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
