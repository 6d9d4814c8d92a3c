"""Scores and cross-validated ridge: known values, a planted linear map, the CV itself."""

from __future__ import annotations

import numpy as np

from ceneurovae.evaluation.metrics import (
    block_groups,
    cross_validated_r2,
    describe,
    r2_score,
    ridge_cv,
    ridge_cv_from_stats,
)


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
