"""Windows, batches, padding and the animal split."""

import numpy as np
import pytest
import torch

from ceneurovae import Recording
from ceneurovae.data import (
    WindowDataset,
    build_loaders,
    collate_windows,
    split_animals,
    window_starts,
)
from ceneurovae.errors import ConfigError, DataError
from ceneurovae.normalize import BehaviorScaler
from toy import toy_cohort


class TestWindowStarts:
    def test_cover_every_frame(self):
        assert window_starts(250, 100, 50) == [0, 50, 100, 150]
        assert window_starts(260, 100, 50) == [0, 50, 100, 150, 160]
        assert window_starts(80, 100, 50) == [0]


class TestWindowDataset:
    def test_windows_stay_inside_segments_and_pad_short_ones(self):
        T = 230
        ts = np.arange(T) * 0.6
        ts[150:] += 60.0  # a gap after frame 150: segments of 150 and 80 frames
        rec = Recording(uid="a", traces=np.random.default_rng(0).normal(size=(T, 4)),
                        behavior=np.ones((T, 1)) * 2.0, behavior_names=["velocity"], timestamps=ts)
        ds = WindowDataset([rec], 100, 50, BehaviorScaler(("velocity",), (0.5,)), history=20)
        assert [(s, e) for _, s, e, _ in ds.windows] == [(0, 100), (50, 150), (150, 230)]
        x, mask, b, bm, past, pm, ident, pad, i, start = ds[2]
        assert x.shape == (100, 4) and pad[80:].all() and not pad[:80].any()
        assert not mask[80:].any() and not bm[80:].any()
        assert torch.allclose(b[:80], torch.full((80, 1), 4.0))  # scaled by 1 / 0.5
        assert not pm.any()  # the history would cross the gap: none is given
        _, _, _, _, past1, pm1, *_ = ds[1]
        assert pm1.all() and torch.allclose(past1, torch.full((20, 1), 4.0))
        _, _, _, _, past0, pm0, *_ = ds[0]
        assert not pm0.any()

    def test_traces_are_zscored_over_observed_frames(self):
        ds, _ = toy_cohort(n_animals=1, T=120)
        rec = next(iter(ds.values()))
        x = rec.traces * 3 + 10
        x[:5, 0] = np.nan
        rec = rec.replace(traces=x, mask=None)
        w = WindowDataset([rec], 120, 60, BehaviorScaler.lab(rec.behavior_names))
        xz, mask = w[0][0].numpy(), w[0][1].numpy()
        assert not mask[:5, 0].any()
        np.testing.assert_allclose(xz[mask[:, 0], 0].mean(), 0, atol=1e-5)
        np.testing.assert_allclose(xz[mask[:, 0], 0].std(ddof=1), 1, atol=1e-4)


def test_collate_pads_neurons_with_unknown_identity_and_no_mask():
    ds, _ = toy_cohort(n_animals=2, T=120)
    a, b = ds.values()
    b = b.replace(traces=b.traces[:, :5], mask=None, identity=b.identity[:5], labels=b.labels[:5])
    sc = BehaviorScaler.lab(a.behavior_names)
    items = [WindowDataset([r], 100, 50, sc)[0] for r in (a, b)]
    batch = collate_windows(items)
    assert batch.x.shape == (2, 100, a.n_neurons)
    assert not batch.mask[1, :, 5:].any() and (batch.identity[1, 5:] == 0).all()
    assert (batch.x[1, :, 5:] == 0).all()


class TestSplit:
    def test_split_by_animal_is_reproducible(self):
        uids = [f"u{i}" for i in range(10)]
        tr, va = split_animals(uids, 0.2, seed=3)
        assert len(va) == 2 and set(tr) | set(va) == set(uids) and not set(tr) & set(va)
        assert split_animals(list(reversed(uids)), 0.2, seed=3) == (tr, va)
        assert split_animals(uids, 0.2, seed=4) != (tr, va)

    def test_single_animal_has_no_validation(self):
        assert split_animals(["a"], 0.2) == (["a"], [])


class TestBuildLoaders:
    def test_seed_signature_and_split(self):
        ds, _ = toy_cohort(n_animals=6, T=300)
        lt, lv, tr, va = build_loaders(ds, window_T=100, stride=50, batch_size=8, num_workers=0)
        assert len(va) == 1 and len(tr) == 5
        batch = next(iter(lt))
        assert batch.x.shape[:2] == (8, 100) and batch.behavior.shape == (8, 100, 3)
        seen = {lt.dataset.recordings[i].uid for i in batch.animal.tolist()}
        assert seen <= set(tr)
        assert {r.uid for r in lv.dataset.recordings} == set(va)

    def test_scaler_is_fitted_on_training_animals_only(self):
        ds, _ = toy_cohort(n_animals=4, T=200)
        recs = list(ds.values())
        recs = [r.replace(behavior=r.behavior[:, :1], behavior_mask=r.behavior_mask[:, :1], behavior_names=["speed"]) for r in recs]
        val = recs[0].uid
        recs[0] = recs[0].replace(behavior=recs[0].behavior * 1000)
        lt, *_ = build_loaders(recs, window_T=100, val_uids=[val])
        assert lt.dataset.scaler.divisor[0] < 1.0  # not blown up by the held-out animal

    @pytest.mark.parametrize(
        "kw, match",
        [
            (dict(window_T=1000), r"window_T=1000 frames is longer than every recording \(the longest has 300\)"),
            (dict(stride=0), "stride must be a positive integer, got 0"),
            (dict(val_uids=["nope"]), r"val_uids \['nope'\] are not among the recordings"),
        ],
    )
    def test_impossible_settings(self, kw, match):
        ds, _ = toy_cohort(n_animals=3, T=300)
        with pytest.raises(ConfigError, match=match):
            build_loaders(ds, **kw)

    def test_missing_behavior_is_named(self):
        ds, _ = toy_cohort(n_animals=3, T=300)
        with pytest.raises(DataError, match=r"has no behavior \['angular_velocity'\]"):
            build_loaders(ds, behaviors=["velocity", "angular_velocity"])
