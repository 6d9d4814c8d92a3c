"""Resampling to a common time step: values, masks, events, and the warning that says so."""

import numpy as np
import pytest

from ceneurovae import Recording
from ceneurovae.errors import ConfigError, DataWarning
from ceneurovae.io import common_time_step, resample, resample_to_common, time_step
from io_fixtures import make_recording


def linear(dt=0.75, T=81, gap_at=None):
    ts = np.arange(T) * dt
    if gap_at is not None:
        ts[gap_at:] += 30.0
    x = np.stack([2.0 * ts + 1.0, -ts], axis=1)
    return Recording(uid="lin", traces=x, behavior=ts[:, None] * 0.1, behavior_names=["velocity"],
                     timestamps=ts, events={"reversals": [[8, 16]], "heat": [40]})


class TestTimeStep:
    def test_ignores_the_join_of_two_halves(self):
        ts = np.concatenate([np.arange(100) * 0.6, 200 + np.arange(100) * 0.6])
        assert time_step(ts) == pytest.approx(0.6)


class TestResample:
    def test_linear_signals_are_exact(self):
        rec = linear()
        out = resample(rec, 0.6)
        assert out.dt == 0.6 and out.n_frames == 101  # 60 s / 0.6 + 1
        np.testing.assert_allclose(out.traces[:, 0], 2.0 * out.timestamps + 1.0, rtol=1e-5)
        np.testing.assert_allclose(out.behavior[:, 0], 0.1 * out.timestamps, rtol=1e-5, atol=1e-6)
        assert out.mask.all() and out.meta["resampled_from_dt"] == 0.75

    def test_events_move_to_the_same_time(self):
        out = resample(linear(), 0.6)
        assert out.events["heat"] == [50]  # 30 s
        (a, b), = out.events["reversals"]
        assert out.timestamps[a] == pytest.approx(6.0) and out.timestamps[b - 1] == pytest.approx(11.4)

    def test_unobserved_frames_stay_unobserved(self):
        rec = linear()
        mask = rec.mask.copy()
        mask[20, 0] = False  # t = 15 s
        out = resample(rec.replace(mask=mask), 0.6)
        near = np.abs(out.timestamps - 15.0) < 0.75
        assert not out.mask[near, 0].any() and out.mask[near, 1].all()
        assert out.mask[~near, 0].all()

    def test_gap_is_not_bridged(self):
        out = resample(linear(gap_at=40), 0.6)
        steps = np.diff(out.timestamps)
        assert (steps > 10).sum() == 1
        assert not ((out.timestamps > 29.3) & (out.timestamps < 60.0)).any()  # nothing inside the gap
        np.testing.assert_allclose(out.traces[:, 1], -out.timestamps, rtol=1e-5)

    def test_bad_dt(self):
        with pytest.raises(ConfigError, match="dt must be a positive number of seconds, got -1"):
            resample(linear(), -1)


class TestResampleToCommon:
    def test_auto_picks_the_median_recording_and_says_which_changed(self):
        recs = {f"a{i}": make_recording(f"a{i}", dt=0.6, seed=i) for i in range(3)}
        recs["slow"] = make_recording("slow", dt=0.737)
        assert common_time_step(recs) == pytest.approx(recs["a0"].dt)
        with pytest.warns(DataWarning, match=r"resampled 1 of 4 recordings to the common time step 0\.6.*slow \(0\.73"):
            out = resample_to_common(recs, "auto")
        assert out["a1"] is recs["a1"] and out["slow"].dt == pytest.approx(recs["a0"].dt)

    def test_none_keeps_steps_but_warns(self):
        recs = {"a": make_recording("a", dt=0.6), "b": make_recording("b", dt=0.737)}
        with pytest.warns(DataWarning, match="time steps differ between recordings"):
            out = resample_to_common(recs, None)
        assert out["b"].dt == recs["b"].dt

    def test_jitter_within_tolerance_is_left_alone(self, recwarn):
        recs = {"a": make_recording("a", dt=0.6), "b": make_recording("b", dt=0.61)}
        out = resample_to_common(recs, "auto")
        assert out["b"] is recs["b"] and not recwarn.list
