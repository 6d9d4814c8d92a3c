"""Stimuli as conditioning channels (``stimulus:<name>``): reading and writing them, the data
layer's rule (a recording without one has it masked, divisor 1), the simulator's stimulus
option and its known response, and a model driven by a stimulus."""

import warnings

import h5py
import numpy as np
import pytest
import torch

import ceneurovae
from ceneurovae import Recording, import_h5
from ceneurovae.data import build_loaders, default_behaviors, resolve_scaler
from ceneurovae.errors import DataWarning, RecordingError
from ceneurovae.identity import Vocabulary
from ceneurovae.io import (
    read_flavell,
    read_wormwideweb,
    write_cohort,
    write_flavell,
    write_wormwideweb,
)
from ceneurovae.io.resample import resample
from ceneurovae.model import NeuroBehaviorVAE, VAEConfig
from ceneurovae.simulation import SimConfig, simulate_cohort, stimulus_response
from conftest import FAST
from io_fixtures import make_recording

HEAT = "stimulus:heat"


def with_heat(rec: Recording, frames) -> Recording:
    """`rec` with a stimulus:heat channel on at `frames`."""
    ch = np.zeros((rec.n_frames, 1), np.float32)
    ch[list(frames), 0] = 1.0
    return rec.replace(behavior=np.concatenate([rec.behavior, ch], 1),
                       behavior_mask=np.concatenate([rec.behavior_mask, np.ones_like(ch, bool)], 1),
                       behavior_names=rec.behavior_names + [HEAT])


# -- reading and writing ------------------------------------------------------------------------

class TestReaders:
    def test_flavell_heat_onsets_become_a_one_frame_channel(self, tmp_path):
        rec = make_recording("2021-01-01-01")  # events["heat"] = [40]
        path = write_flavell(tmp_path, rec)
        back = read_flavell(path, behaviors=["velocity"], head_angle_pos_is_ventral=False)
        assert back.behavior_names == ["velocity", HEAT]
        assert np.flatnonzero(back.behavior[:, 1]).tolist() == [40] and back.behavior_mask[:, 1].all()
        assert back.meta["stimuli"][HEAT]["from"] == "timing/stim_begin_confocal"
        off = read_flavell(path, behaviors=["velocity"], head_angle_pos_is_ventral=False, stimuli=False)
        assert off.behavior_names == ["velocity"] and off.events["heat"] == [40]

    def test_import_h5_stimuli_option(self, tmp_path):
        write_flavell(tmp_path, make_recording("2021-01-01-01"))
        ds, _ = import_h5(tmp_path, head_angle_pos_is_ventral={"2021-01-01-01": False})
        assert ds["2021-01-01-01"].behavior_names[-1] == HEAT
        ds, _ = import_h5(tmp_path, head_angle_pos_is_ventral={"2021-01-01-01": False}, stimuli=False)
        assert HEAT not in ds["2021-01-01-01"].behavior_names

    def test_no_heat_no_channel(self, tmp_path):
        rec = make_recording("2021-01-01-01")
        rec = rec.replace(events={"reversals": rec.events["reversals"]})
        back = read_flavell(write_flavell(tmp_path, rec), behaviors=["velocity"], head_angle_pos_is_ventral=False)
        assert back.behavior_names == ["velocity"]

    @pytest.mark.parametrize("version", [1, 2])
    def test_wormwideweb_round_trip_of_a_stimulus_channel(self, tmp_path, version):
        rec = make_recording("2021-06-11-01", behaviors=["velocity", "head_curvature", "pumping"])
        rec = with_heat(rec.replace(events={"reversals": rec.events["reversals"]}), [7, 90])
        path = write_wormwideweb(tmp_path, rec, version=version)
        back, _ = read_wormwideweb(path)
        assert back.behavior_names == rec.behavior_names
        np.testing.assert_array_equal(back.behavior[:, -1], rec.behavior[:, -1])
        assert back.events["heat"] == [7, 90]
        off, _ = read_wormwideweb(path, stimuli=False)
        assert off.behavior_names == rec.behavior_names[:-1]

    def test_flavell_writes_the_channel_as_onsets(self, tmp_path):
        rec = make_recording("2021-01-01-01", behaviors=["velocity"])
        rec = with_heat(rec.replace(events={}), [5, 6, 7, 60])  # one 3-frame pulse and one 1-frame pulse
        path = write_flavell(tmp_path, rec)
        with h5py.File(path) as f:
            assert f["timing/stim_begin_confocal"][()].tolist() == [6, 61]  # 1-based onsets
            assert "stimulus:heat" not in f["behavior"]
        back = read_flavell(path, behaviors=["velocity"], head_angle_pos_is_ventral=False)
        assert np.flatnonzero(back.behavior[:, -1]).tolist() == [5, 60]  # the file keeps onsets only

    def test_cohort_round_trip_mixing_recordings_with_and_without(self, tmp_path):
        a = with_heat(make_recording("a", behaviors=["velocity"], labels=False), [3, 50])
        b = make_recording("b", behaviors=["velocity"], seed=1, labels=False)
        vocab = Vocabulary.from_names([])
        write_cohort(tmp_path / "c.h5", {"a": a, "b": b}, vocab)
        ds, _ = import_h5(tmp_path / "c.h5", behaviors=["velocity"])
        assert ds["a"].behavior_names == ["velocity", HEAT] and ds["b"].behavior_names == ["velocity"]
        np.testing.assert_array_equal(ds["a"].behavior[:, 1], a.behavior[:, 1])
        ds, _ = import_h5(tmp_path / "c.h5", behaviors=["velocity"], stimuli=False)
        assert ds["a"].behavior_names == ["velocity"]

    def test_resampling_keeps_a_one_frame_pulse(self):
        rec = with_heat(make_recording(behaviors=["velocity"], gap=False), [31])
        out = resample(rec, 0.45)
        ch = out.behavior[:, -1]
        assert set(np.unique(ch)) == {0.0, 1.0} and ch.sum() >= 1
        t_on = out.timestamps[ch > 0]
        assert np.abs(t_on - rec.timestamps[31]).min() <= 0.45 / 2 + 1e-9


# -- the data layer ------------------------------------------------------------------------------

def toy_pair():
    a = with_heat(make_recording("a", behaviors=["velocity", "pumping"], labels=False), [10, 70])
    b = make_recording("b", behaviors=["velocity", "pumping"], seed=1, labels=False)
    return a, b


class TestDataLayer:
    def test_missing_stimulus_is_masked_missing_behavior_is_an_error(self):
        a, b = toy_pair()
        sel = b.select_behaviors(["pumping", HEAT])
        assert sel.behavior_names == ["pumping", HEAT]
        assert not sel.behavior_mask[:, 1].any() and (sel.behavior[:, 1] == 0).all()
        with pytest.raises(RecordingError, match="has no behavior"):
            b.select_behaviors(["head_curvature", HEAT])

    def test_conditioning_channels_are_the_behaviors_plus_every_stimulus(self):
        a, b = toy_pair()
        assert default_behaviors([b, a]) == ["velocity", "pumping", HEAT]
        sc = resolve_scaler([b, a])
        assert sc.names == ("velocity", "pumping", HEAT)
        assert sc.divisor[2] == 1.0  # not the pulse train's std
        assert resolve_scaler([b, a], scaler="fit").divisor[2] == 1.0
        assert resolve_scaler([b, a], behaviors=["velocity"]).names == ("velocity",)  # a named list is as named

    def test_a_mixed_cohort_trains_and_masks(self):
        a, b = toy_pair()
        c = with_heat(make_recording("c", behaviors=["velocity", "pumping"], seed=2, labels=False), [20])
        loader, val, _, _ = build_loaders([a, b, c], window_T=40, stride=40, batch_size=8, val_uids=["c"],
                                          history=10)
        assert loader.dataset.behavior_names == ["velocity", "pumping", HEAT]
        batch = next(iter(torch.utils.data.DataLoader(loader.dataset, batch_size=64,
                                                      collate_fn=loader.collate_fn)))
        lacking = batch.animal == loader.dataset.recordings.index(b)
        assert lacking.any() and not batch.behavior_mask[lacking][..., 2].any()
        assert batch.behavior_mask[~lacking][..., 2].all()
        cfg = VAEConfig(n_identities=2, behavior_dim=3, hidden_dim=16, latent_dim=2, n_heads=2, behavior_history=10)
        model = NeuroBehaviorVAE(cfg)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        out = model(batch.x, batch.mask, batch.behavior, batch.identity, **batch.model_inputs())
        loss = ((out.pred - batch.x) ** 2 * batch.mask).sum() / batch.mask.sum()
        loss.backward()
        opt.step()
        assert torch.isfinite(loss)


# -- the simulator ---------------------------------------------------------------------------------

class TestSimulator:
    def test_default_simulator_unchanged(self):
        """Values of the cohort as simulated before the stimulus option existed."""
        c = simulate_cohort(2, 5, SimConfig(n_frames=300))
        rec = c.datasets["sim-000"]
        assert rec.behavior_names == ["velocity", "head_curvature", "pumping"] and "stimulus" not in rec.meta
        np.testing.assert_allclose(rec.traces[[0, 150, 299]][:, :3],
                                   [[0.06177, 2.00382, -1.00488], [0.18312, -0.64256, -0.64873],
                                    [-0.47968, -1.62183, 0.84498]], atol=2e-5)
        np.testing.assert_allclose(c.datasets["sim-001"].traces[[0, 150]][:, :3],
                                   [[1.30445, -1.32231, 0.20538], [1.05579, -0.23293, 0.44384]], atol=2e-5)

    def test_stimulus_settings_do_nothing_without_stimuli(self):
        a = simulate_cohort(1, 3, SimConfig(n_frames=300))
        b = simulate_cohort(1, 3, SimConfig(n_frames=300, stimulus_gain=9.0, stimulus_pulses=2))
        np.testing.assert_array_equal(a.datasets["sim-000"].traces, b.datasets["sim-000"].traces)

    def test_stimulus_channels_and_a_detectable_known_response(self):
        cfg = SimConfig(n_frames=300, n_stimuli=1, stimulus_gain=2.0, stimulus_pulses=5)
        c = simulate_cohort(3, 0, cfg)
        for rec in c.datasets.values():
            assert rec.behavior_names[-1] == "stimulus:stim1"
            info = rec.meta["stimulus"]["stim1"]
            ch = rec.behavior[:, -1]
            assert np.flatnonzero(np.diff(np.r_[0, ch]) > 0).tolist() == info["onsets"]
            x, resp = rec.traces, np.array(info["neurons"])
            d = np.mean([x[f + 2:f + 14].mean(0) - x[max(f - 10, 0):f].mean(0) for f in info["onsets"]], 0)
            other = np.setdiff1d(np.arange(rec.n_neurons), resp)
            assert np.corrcoef(d[resp], info["gain"])[0, 1] > 0.8
            assert np.abs(d[resp]).mean() > 2.5 * np.abs(d[other]).mean()
        # the unit response saturates at 1 for a long pulse and rises after the onset
        step = np.r_[np.zeros(20), np.ones(200)]
        r = stimulus_response(step, 0.6, cfg)
        assert np.abs(r[:20]).max() < 1e-9 and r[21] > 0 and abs(r[-1] - 1) < 1e-3

    def test_some_animals_without_stimuli(self):
        c = simulate_cohort(6, 0, SimConfig(n_frames=300, n_stimuli=2, stimulated_fraction=0.5))
        flags = [r.meta["stimulus"]["stimulated"] for r in c.datasets.values()]
        assert any(flags) and not all(flags)
        for r, on in zip(c.datasets.values(), flags):
            assert r.behavior_names[3:] == (["stimulus:stim1", "stimulus:stim2"] if on else [])


# -- a trained model driven by a stimulus ------------------------------------------------------------

@pytest.mark.slow
def test_fit_prepare_save_and_generate_with_a_stimulus(tmp_path):
    c = simulate_cohort(6, 1, SimConfig(n_frames=300, n_stimuli=1, stimulated_fraction=0.6, stimulus_gain=3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        trained = ceneurovae.fit(c.datasets, config={**FAST, "train.epochs": 8}, seed=0)
    assert trained.behavior_names[-1] == "stimulus:stim1" and trained.scaler.divisor[-1] == 1.0
    plain = next(r for r in c.datasets.values() if not r.meta["stimulus"]["stimulated"])
    assert trained.prepare(plain) is not None and np.isfinite(trained.reconstruct(plain)).all()
    trained.save(tmp_path / "m.pt")
    back = ceneurovae.load(tmp_path / "m.pt")
    assert back.behavior_names == trained.behavior_names
    # generate takes a mapping; a stimulus left out is off, the same as zeros given
    back.behavior_scale = 1.0
    T = 150
    base = {"velocity": np.full(T, 0.05), "head_curvature": np.zeros(T), "pumping": np.full(T, 1.0)}
    pulse = np.zeros(T, np.float32)
    pulse[40:48] = 1.0
    off = back.generate(base)
    np.testing.assert_allclose(off, back.generate({**base, "stimulus:stim1": np.zeros(T)}), atol=1e-6)
    on = back.generate({**base, "stimulus:stim1": pulse})
    assert np.abs(on - off)[40:80].max() > 1e-4  # the pulse drives the prediction
    np.testing.assert_allclose(on[:40], off[:40], atol=1e-5)  # and nothing before it (causal filters)
    with pytest.raises(ceneurovae.errors.ConfigError, match="lacks"):
        back.generate({"velocity": np.zeros(T)})
