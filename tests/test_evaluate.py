import numpy as np

from ceneurovae.evaluate import r2_score


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
