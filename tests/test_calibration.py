"""`ceneurovae.calibration`: fit's choice of the refinement prior, linear mix and behavior scale."""

import numpy as np
import pytest


class TestCalibrate:
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

