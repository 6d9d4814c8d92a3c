"""The simulator against the documented statistics of Atanas & Kim 2023 (DATA_FORMATS.md)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ceneurovae.errors import ConfigError, FormatError
from ceneurovae.identity import atlas
from ceneurovae.recording import split_segments
from ceneurovae.simulation import BEHAVIORS, SimConfig, load_truth, save_truth, simulate_cohort
from conftest import run_cli

SMALL = SimConfig(n_frames=400)


@pytest.fixture(scope="module")
def cohort():
    """Twelve full-length animals: enough frames for the behavior statistics."""
    return simulate_cohort(n_animals=12, seed=0)


@pytest.fixture(scope="module")
def small():
    return simulate_cohort(n_animals=3, seed=0, config=SMALL)


def pooled(cohort, name: str) -> np.ndarray:
    col = BEHAVIORS.index(name)
    return np.concatenate([r.behavior[:, col] for r in cohort.datasets.values()])


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


class TestBehaviorStatistics:
    """Documented: velocity mean ~0.01, std ~0.06, 5/95 % ~ -0.10/+0.10, extremes ~ +-0.26 mm/s."""

    def test_velocity_distribution(self, cohort):
        v = pooled(cohort, "velocity")
        assert -0.005 < v.mean() < 0.025
        assert 0.048 < v.std() < 0.072
        p5, p95 = np.percentile(v, [5, 95])
        assert -0.13 < p5 < -0.075
        assert 0.075 < p95 < 0.13
        assert 0.15 < -v.min() < 0.35 and 0.15 < v.max() < 0.35

    def test_head_curvature_and_pumping(self, cohort):
        assert 0.4 < pooled(cohort, "head_curvature").std() < 0.6
        pumping = pooled(cohort, "pumping")
        assert 1.0 < pumping.std() < 1.6
        assert pumping.min() >= 0

    def test_reversals_a_few_per_minute(self, cohort):
        recs = cohort.datasets.values()
        rates = [len(r.events["reversals"]) / (r.n_frames * r.dt / 60) for r in recs]
        assert 1.8 < np.mean(rates) < 4.0
        assert min(rates) > 0.3

    def test_reversal_events_mark_backward_movement(self, cohort):
        during, before = [], []
        for rec in cohort.datasets.values():
            events = np.asarray(rec.events["reversals"])
            assert (events[:, 0] < events[:, 1]).all() and (events[1:, 0] >= events[:-1, 1]).all()
            assert events.min() >= 0 and events.max() <= rec.n_frames
            inside = np.zeros(rec.n_frames, dtype=bool)
            for a, b in events:
                inside[a:b] = True
            v = rec.behavior[:, BEHAVIORS.index("velocity")]
            pumping = rec.behavior[:, BEHAVIORS.index("pumping")]
            assert v[inside].mean() < -0.05 < 0.0 < v[~inside].mean()
            for a, b in events[events[:, 0] >= 5]:
                during.append(pumping[a:b].mean())
                before.append(pumping[a - 5:a].mean())
        # Pumping drops during reversals, compared with the seconds just before each.
        assert np.mean(during) < 0.9 * np.mean(before)
        assert (np.asarray(during) < np.asarray(before)).mean() > 0.75

    def test_time_step_and_the_gap_between_halves(self, cohort):
        for rec in cohort.datasets.values():
            assert 0.55 < rec.dt < 0.65
            segments = split_segments(rec.timestamps)
            assert segments == [(0, 800), (800, 1600)]
            assert rec.timestamps[800] - rec.timestamps[799] > 10 * rec.dt


class TestNeurons:
    """Documented: 105-163 ROIs (median 138), 60-111 labeled (mean ~88)."""

    def test_neurons_and_labeled_per_animal(self, cohort):
        n = np.array([r.n_neurons for r in cohort.datasets.values()])
        labeled = np.array([r.n_labeled for r in cohort.datasets.values()])
        assert n.min() >= 105 and n.max() <= 163 and 125 <= np.median(n) <= 150
        assert labeled.min() >= 60 and labeled.max() <= 111 and 80 <= labeled.mean() <= 97
        assert (n - labeled >= 10).all()

    def test_labels_unique_and_consistent_with_vocabulary(self, cohort):
        vocab = cohort.vocabulary
        seen = set()
        for rec in cohort.datasets.values():
            named = [lab for lab in rec.labels if lab]
            assert len(named) == len(set(named)) == rec.n_labeled
            assert all(vocab[i] == lab for i, lab in zip(rec.identity, rec.labels, strict=True) if lab)
            assert all(i == 0 for i, lab in zip(rec.identity, rec.labels, strict=True) if not lab)
            seen.update(named)
        assert set(vocab.names) == seen

    def test_true_labels_cover_every_neuron(self, cohort):
        names = set(atlas().names)
        for uid, rec in cohort.datasets.items():
            true = cohort.truth[uid].true_labels
            assert len(true) == rec.n_neurons == len(set(true)) and set(true) <= names
            assert all(t == lab for t, lab in zip(true, rec.labels, strict=True) if lab)
            ident = cohort.truth[uid].true_identity(cohort.vocabulary)
            np.testing.assert_array_equal(ident[rec.identity > 0], rec.identity[rec.identity > 0])
            # Some unlabeled neurons are identities labeled in other animals.
            assert (ident[rec.identity == 0] > 0).any()

    @pytest.mark.parametrize("cls, sign", [("AVA", -1), ("AIB", -1), ("RIB", 1), ("RME", 1)])
    def test_encodings_shared_by_identity(self, cohort, cls, sign):
        """Reverse neurons (AVA, AIB) anti-correlate with velocity in (nearly) every animal."""
        rs = []
        for uid, rec in cohort.datasets.items():
            true = cohort.truth[uid].true_labels
            for side in "LR":
                if cls + side in true:
                    i = true.index(cls + side)
                    rs.append(corr(rec.traces[:, i], rec.behavior[:, 0]))
        assert len(rs) >= 6
        assert sign * np.mean(rs) > 0.2 and (sign * np.asarray(rs) > 0).mean() > 0.9


class TestGroundTruth:
    def test_parts_add_up_to_the_traces(self, cohort):
        for uid, rec in cohort.datasets.items():
            t = cohort.truth[uid]
            assert t.behavior_part.shape == t.noise.shape == rec.traces.shape
            np.testing.assert_allclose(t.signal + t.noise, rec.traces, atol=2e-5)
            np.testing.assert_allclose(t.predictable + t.private_part, t.signal, atol=1e-6)

    def test_traces_are_zscored(self, cohort):
        for rec in cohort.datasets.values():
            np.testing.assert_allclose(rec.traces.mean(0), 0, atol=1e-4)
            np.testing.assert_allclose(rec.traces.std(0, ddof=1), 1, atol=1e-4)

    def test_variance_shares(self, cohort):
        noise, private, ceiling = [], [], []
        for uid, rec in cohort.datasets.items():
            t = cohort.truth[uid]
            total = rec.traces.var(0)
            noise.append(t.noise.var(0) / total)
            private.append(t.private_part.var(0) / total)
            ceiling.append(1 - ((rec.traces - t.predictable) ** 2).sum(0) / (rec.traces**2).sum(0))
            np.testing.assert_allclose(t.noise.std(0), t.noise_std, rtol=0.08)
        noise, private, ceiling = map(np.concatenate, (noise, private, ceiling))
        assert 0.05 < noise.min() and noise.max() < 0.5 and 0.2 < noise.mean() < 0.3
        assert 0.01 < private.mean() < 0.05
        assert 0.6 < ceiling.mean() < 0.85

    def test_internal_states_slow_and_unit_variance(self, cohort):
        t = cohort.truth["sim-000"]
        z = t.internal_states
        assert z.shape == (1600, SimConfig().n_internal)
        # unit variance in expectation: the scale is the process's, not each recording's
        var = np.stack([cohort.truth[u].internal_states.var(0) for u in cohort.truth])  # (animals, K)
        assert 0.6 < var.mean() < 1.4
        assert var.std(0).min() > 0.05  # slow states: a recording's own variance varies
        lag = 10  # 6 s: far shorter than the slowest timescale
        assert np.mean([corr(z[:-lag, k], z[lag:, k]) for k in range(z.shape[1])]) > 0.7

    def test_save_and_load_round_trip(self, small, tmp_path):
        save_truth(tmp_path / "truth.h5", small.truth, small.config)
        back = load_truth(tmp_path / "truth.h5")
        assert list(back) == list(small.truth)
        for uid, t in small.truth.items():
            got = back[uid]
            for name in ("behavior_part", "internal_part", "private_part", "noise", "noise_std",
                         "internal_states", "tau", "encoding"):
                np.testing.assert_array_equal(getattr(got, name), getattr(t, name))
            assert got.true_labels == t.true_labels

    def test_load_rejects_damaged_files(self, small, tmp_path):
        path = tmp_path / "truth.h5"
        save_truth(path, small.truth)
        with h5py.File(path, "a") as f:
            del f["truth/sim-001/noise"]
        with pytest.raises(FormatError, match="truth/sim-001/noise"):
            load_truth(path)
        (tmp_path / "junk.h5").write_text("not hdf5")
        with pytest.raises(FormatError, match="cannot open as HDF5"):
            load_truth(tmp_path / "junk.h5")
        with h5py.File(tmp_path / "other.h5", "w") as f:
            f["data"] = np.zeros(3)
        with pytest.raises(FormatError, match="not a ground-truth file"):
            load_truth(tmp_path / "other.h5")

    def test_load_rejects_wrong_shapes(self, small, tmp_path):
        path = tmp_path / "truth.h5"
        save_truth(path, {"sim-000": small.truth["sim-000"]})
        with h5py.File(path, "a") as f:
            del f["truth/sim-000/tau"]
            f["truth/sim-000/tau"] = np.zeros(3)
        with pytest.raises(FormatError, match=r"truth/sim-000/tau.*shape \(3,\)"):
            load_truth(path)

    def test_load_refuses_a_newer_format(self, small, tmp_path):
        path = tmp_path / "truth.h5"
        save_truth(path, {"sim-000": small.truth["sim-000"]})
        with h5py.File(path, "a") as f:
            f.attrs["format_version"] = 99
        with pytest.raises(FormatError, match="format_version 99 is newer"):
            load_truth(path)


class TestDeterminism:
    def test_same_seed_same_cohort(self, small):
        again = simulate_cohort(n_animals=3, seed=0, config=SMALL)
        for uid, rec in small.datasets.items():
            np.testing.assert_array_equal(again.datasets[uid].traces, rec.traces)
            np.testing.assert_array_equal(again.datasets[uid].behavior, rec.behavior)
            assert again.datasets[uid].labels == rec.labels
        assert again.vocabulary == small.vocabulary

    def test_different_seeds_differ(self, small):
        other = simulate_cohort(n_animals=3, seed=1, config=SMALL)
        a, b = small.datasets["sim-000"], other.datasets["sim-000"]
        assert a.labels != b.labels
        assert not np.allclose(a.behavior, b.behavior)

    def test_animal_k_does_not_depend_on_cohort_size(self, small):
        five = simulate_cohort(n_animals=5, seed=0, config=SMALL)
        assert list(five.datasets) == [f"sim-{k:03d}" for k in range(5)]
        for uid, rec in small.datasets.items():
            got = five.datasets[uid]
            np.testing.assert_array_equal(got.traces, rec.traces)
            np.testing.assert_array_equal(got.behavior, rec.behavior)
            np.testing.assert_array_equal(got.timestamps, rec.timestamps)
            assert got.labels == rec.labels
            np.testing.assert_array_equal(five.truth[uid].internal_part,
                                          small.truth[uid].internal_part)


class TestConfig:
    def test_frames_and_halves(self, small):
        rec = small.datasets["sim-000"]
        assert rec.n_frames == 400 and split_segments(rec.timestamps) == [(0, 200), (200, 400)]
        assert rec.behavior_names == list(BEHAVIORS) and rec.behavior_mask.all()

    def test_no_gap_and_missing_pumping(self):
        config = SimConfig(n_frames=300, gap_s=0, pumping_missing_fraction=1)
        sim = simulate_cohort(n_animals=1, seed=3, config=config)
        rec = sim.datasets["sim-000"]
        assert split_segments(rec.timestamps) == [(0, 300)]
        assert not rec.behavior_mask[:, BEHAVIORS.index("pumping")].any()
        assert rec.behavior_mask[:, BEHAVIORS.index("velocity")].all()

    @pytest.mark.parametrize("kwargs, match", [
        ({"n_frames": 10}, "n_frames = 10"),
        ({"dt": 0}, "dt = 0"),
        ({"noise_fraction": (0.5, 0.2)}, "noise_fraction"),
        ({"neurons_range": 5}, "neurons_range = 5: .*pair"),
        ({"private_fraction": 0.2}, "behavior_fraction_max"),
        ({"n_internal": 2.5}, "n_internal = 2.5: .*integer"),
    ])
    def test_bad_settings_are_refused(self, kwargs, match):
        with pytest.raises(ConfigError, match=match):
            SimConfig(**kwargs)

    def test_from_dict_refuses_unknown_keys(self):
        config = SimConfig.from_dict({"n_frames": 500, "noise_fraction": [0.1, 0.2]})
        assert config.noise_fraction == (0.1, 0.2) and config.n_frames == 500
        with pytest.raises(ConfigError, match="nframes"):
            SimConfig.from_dict({"nframes": 500})

    def test_dict_round_trip(self):
        assert SimConfig.from_dict(SimConfig().to_dict()) == SimConfig()
        changed = SimConfig(n_frames=500, noise_fraction=(0.05, 0.2), neurons_range=[100, 150])
        assert SimConfig.from_dict(changed.to_dict()) == changed

    def test_numbers_are_stored_as_the_field_type(self):
        config = SimConfig(n_frames=np.int64(400), dt=1, gap_s=np.float32(0.5),
                           neurons_range=[100, 150], n_internal=3.0)
        assert type(config.n_frames) is int and type(config.n_internal) is int
        assert type(config.dt) is float and type(config.gap_s) is float
        assert config.neurons_range == (100, 150)
        with pytest.raises(ConfigError, match=r"simulate\.dt = nan: must be a number"):
            SimConfig(dt=float("nan"))

    @pytest.mark.parametrize("kwargs, match", [
        ({"n_animals": 0}, "n_animals"),
        ({"seed": -1}, "seed"),
        ({"config": {"n_frames": 400}}, "SimConfig"),
    ])
    def test_bad_arguments_are_refused(self, kwargs, match):
        with pytest.raises(ConfigError, match=match):
            simulate_cohort(**kwargs)


class TestCommandLine:
    def test_simulate_writes_cohort_and_truth(self, tmp_path):
        from ceneurovae.io import read_cohort

        out = tmp_path / "sim"
        result = run_cli("simulate", "-o", out, "--animals", "3", "--seed", "0", "--frames", "400")
        assert result.returncode == 0, result.stderr
        assert "3 animals" in result.stdout and "labeled" in result.stdout
        datasets, vocab, _ = read_cohort(out / "cohort.h5")
        truth = load_truth(out / "truth.h5")
        expected = simulate_cohort(n_animals=3, seed=0, config=SMALL)
        assert list(datasets) == list(truth) == list(expected.datasets)
        assert vocab == expected.vocabulary
        for uid, rec in datasets.items():
            assert rec.n_frames == 400 and rec.behavior_names == list(BEHAVIORS)
            np.testing.assert_allclose(rec.traces, expected.datasets[uid].traces)
            np.testing.assert_allclose(truth[uid].signal + truth[uid].noise, rec.traces, atol=2e-5)
            assert rec.events["reversals"] == expected.datasets[uid].events["reversals"]

    def test_every_format_reads_back_the_same_cohort(self, tmp_path):
        from ceneurovae.import_data import import_h5

        out = tmp_path / "sim"
        result = run_cli("simulate", "-o", out, "--animals", "2", "--seed", "1", "--frames", "300",
                         "--formats", "cohort", "flavell", "wormwideweb", "wormwideweb2")
        assert result.returncode == 0, result.stderr
        expected = simulate_cohort(n_animals=2, seed=1, config=SimConfig(n_frames=300))
        for where in ("cohort.h5", "flavell", "wormwideweb", "wormwideweb2"):
            datasets, vocab = import_h5(out / where, dt=None)
            assert sorted(datasets) == sorted(expected.datasets), where
            for uid, rec in datasets.items():
                exp = expected.datasets[uid]
                np.testing.assert_allclose(rec.traces, exp.traces, atol=1e-5, err_msg=where)
                np.testing.assert_allclose(rec.behavior, exp.behavior, atol=1e-5, err_msg=where)
                assert rec.identity_names() == exp.identity_names(), where

    def test_stimuli_and_nwb(self, tmp_path):
        """A stimulated cohort written as NWB reads back with the same traces, behavior and
        stimulus channel as from the cohort file."""
        from ceneurovae.import_data import import_h5

        pytest.importorskip("pynwb")
        out = tmp_path / "sim"
        result = run_cli("simulate", "-o", out, "--animals", "2", "--seed", "1", "--frames", "200",
                         "--stimuli", "1", "--formats", "cohort", "nwb")
        assert result.returncode == 0, result.stderr
        cohort, _ = import_h5(out / "cohort.h5", dt=None)
        nwb, _ = import_h5(out / "nwb", dt=None, missing_behavior="mask")
        for uid, rec in cohort.items():
            got = nwb[uid]
            assert got.behavior_names == rec.behavior_names and "stimulus:stim1" in rec.behavior_names
            j = rec.behavior_names.index("stimulus:stim1")
            assert rec.behavior[:, j].any()
            np.testing.assert_array_equal(got.behavior[:, j], rec.behavior[:, j])
            np.testing.assert_allclose(got.traces, rec.traces, atol=1e-6)
            assert got.identity_names() == rec.identity_names()

    def test_bad_argument_exits_with_a_message(self, tmp_path):
        result = run_cli("simulate", "-o", tmp_path, "--animals", "0")
        assert result.returncode == 2 and "--animals" in result.stderr


class TestModules:
    @pytest.mark.parametrize("old", ["ceneurovae.simulate", "ceneurovae.sim_model"])
    def test_old_modules_re_export_the_package(self, old):
        import importlib

        import ceneurovae.simulation as simulation

        module = importlib.import_module(old)
        assert module.__all__
        for name in module.__all__:
            assert getattr(module, name) is getattr(simulation, name), name
            assert name in simulation.__all__

    def test_behaviors_are_the_default_behaviors(self):
        from ceneurovae.io import DEFAULT_BEHAVIORS

        assert BEHAVIORS is DEFAULT_BEHAVIORS
