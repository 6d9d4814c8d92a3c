"""Format 1 (<uid>-data.h5): the real files, round trips, and every kind of bad input."""

import h5py
import numpy as np
import pytest

from ceneurovae.errors import DataWarning, FormatError
from ceneurovae.io import read_flavell, write_flavell
from io_fixtures import make_recording, real_data_folder

REAL = ["2022-01-16-01", "2022-05-02-01"]


@pytest.fixture
def real():
    folder = real_data_folder()
    if folder is None or not all((folder / f"{uid}-data.h5").is_file() for uid in REAL):
        pytest.skip("the real format-1 files are not in ../shared/data/real")
    return folder


def written(tmp_path, **kw):
    rec = make_recording(**kw)
    return rec, write_flavell(tmp_path, rec)


def edit(path, key, value):
    with h5py.File(path, "a") as f:
        del f[key]
        if value is not None:
            f[key] = value


# Each test matches the warning it is about; the real files give others too (sign unknown...).
@pytest.mark.filterwarnings("ignore::ceneurovae.errors.DataWarning")
class TestReadFlavellRealFiles:
    def test_first_file_time_step_and_shapes(self, real):
        with pytest.warns(DataWarning, match="not in the Atanas & Kim 2023 manifest"):
            rec = read_flavell(real / "2022-01-16-01-data.h5")
        assert (rec.n_frames, rec.n_neurons) == (799, 130)
        assert rec.dt == pytest.approx(0.737, abs=0.002)
        assert rec.meta["trace_orientation"] == "time x neuron"
        assert rec.meta["segments"] == [[0, 799]]  # idx_splits (2, 1): one piece
        assert rec.meta["zscored"] is True
        assert rec.meta["head_curvature_positive"] == "unknown"
        assert rec.mask.all() and rec.behavior_mask.all()

    def test_second_file_keeps_first_timestamps_and_says_so(self, real):
        with pytest.warns(DataWarning, match=r"1600 timestamps for 1137 frames.*kept the first 1137"):
            rec = read_flavell(real / "2022-05-02-01-data.h5")
        assert (rec.n_frames, rec.n_neurons) == (1137, 136)
        with h5py.File(real / "2022-05-02-01-data.h5") as f:
            np.testing.assert_array_equal(rec.timestamps, f["timing/timestamp_confocal"][:1137])
        assert rec.dt == pytest.approx(0.60, abs=0.005)
        assert "segments" not in rec.meta  # idx_splits (2, 1137) of one-frame pieces is ignored
        assert rec.meta["idx_splits_shape"] == [2, 1137]

    def test_odd_idx_splits_is_reported(self, real):
        with pytest.warns(DataWarning, match=r"idx_splits.*\(2, 1137\) holds 1137 one-frame pieces"):
            read_flavell(real / "2022-05-02-01-data.h5")

    def test_reversals_follow_reversal_vec(self, real):
        with pytest.warns(DataWarning):
            rec = read_flavell(real / "2022-01-16-01-data.h5")
        with h5py.File(real / "2022-01-16-01-data.h5") as f:
            vec = f["behavior/reversal_vec"][()]
        rebuilt = np.zeros(rec.n_frames, dtype=int)
        for a, b in rec.events["reversals"]:
            rebuilt[a:b] = 1
        np.testing.assert_array_equal(rebuilt, vec)
        agree = rec.meta["reversal_events_agreement"]
        # What the real files show: pairs (a, b) are 0-based [a, b), except a first reversal at frame 1.
        assert agree["match_as_0based_half_open"] == agree["pairs_within_frames"] - 1

    def test_body_angle_shapes_differ_between_files(self, real):
        with pytest.warns(DataWarning):
            rec = read_flavell(real / "2022-05-02-01-data.h5", behaviors=["velocity", "body_angle"])
        assert rec.behavior_names == ["velocity", "body_angle"]
        with pytest.raises(FormatError, match=r"key 'behavior/body_angle'.*shape \(799, 30\) is not one value per frame"):
            read_flavell(real / "2022-01-16-01-data.h5", behaviors=["velocity", "body_angle"])

    def test_explicit_head_sign_flips(self, real):
        with pytest.warns(DataWarning):
            a = read_flavell(real / "2022-01-16-01-data.h5")
        b = read_flavell(real / "2022-01-16-01-data.h5", head_angle_pos_is_ventral={"2022-01-16-01": True})
        col = a.behavior_names.index("head_curvature")
        np.testing.assert_allclose(b.behavior[:, col], -a.behavior[:, col])
        assert b.meta["head_curvature_positive"] == "dorsal"


class TestWriteFlavell:
    def test_round_trip(self, tmp_path):
        rec, path = written(tmp_path, uid="2021-01-01-01")
        assert path.name == "2021-01-01-01-data.h5"
        back = read_flavell(path, behaviors=rec.behavior_names, head_angle_pos_is_ventral=False)
        np.testing.assert_allclose(back.traces, rec.traces, rtol=1e-6)
        # the heat onset comes back as a stimulus channel after the behaviors
        assert back.behavior_names == rec.behavior_names + ["stimulus:heat"]
        np.testing.assert_allclose(back.behavior[:, :-1], rec.behavior, rtol=1e-6)
        assert np.flatnonzero(back.behavior[:, -1]).tolist() == rec.events["heat"] and back.behavior_mask[:, -1].all()
        np.testing.assert_array_equal(back.timestamps, rec.timestamps)
        assert back.events == rec.events
        assert back.meta["segments"] == [[0, 60], [60, 120]]

    def test_head_sign_written_ventral_reads_back_dorsal(self, tmp_path):
        rec = make_recording(uid="2021-05-26-07")  # in the manifest: positive head angle is ventral
        path = write_flavell(tmp_path, rec, head_angle_pos_is_ventral=True)
        with h5py.File(path) as f:
            raw = f["behavior/head_angle"][()]
        col = rec.behavior_names.index("head_curvature")
        np.testing.assert_allclose(raw, -rec.behavior[:, col], rtol=1e-6)
        back = read_flavell(path, behaviors=rec.behavior_names)
        assert back.meta["head_angle_sign_from"] == "manifest"
        np.testing.assert_allclose(back.select_behaviors(rec.behavior_names).behavior, rec.behavior, rtol=1e-6)

    def test_masked_values_round_trip_as_masked(self, tmp_path):
        rec = make_recording()
        mask = rec.mask.copy()
        mask[3:6, 2] = False
        rec = rec.replace(mask=mask)
        path = write_flavell(tmp_path / "x.h5", rec)
        with pytest.warns(DataWarning, match=r"3 NaN and 0 inf values in 1 neurons \(1-based: 3\)"):
            back = read_flavell(path, head_angle_pos_is_ventral=False)
        np.testing.assert_array_equal(back.mask, mask)
        assert np.isfinite(back.traces).all()


class TestReadFlavellBadInput:
    def test_missing_trace_key(self, tmp_path):
        _, path = written(tmp_path)
        edit(path, "gcamp/trace_array", None)
        with pytest.raises(FormatError, match=r"key 'gcamp/trace_array': missing .*gcamp holds \['idx_splits'\]"):
            read_flavell(path)

    def test_missing_group(self, tmp_path):
        _, path = written(tmp_path)
        edit(path, "behavior", None)
        with pytest.raises(FormatError, match=r"key 'behavior': missing group"):
            read_flavell(path)

    def test_missing_timestamps(self, tmp_path):
        _, path = written(tmp_path)
        edit(path, "timing/timestamp_confocal", None)
        with pytest.raises(FormatError, match=r"timing/timestamp_confocal.*every frame needs a timestamp"):
            read_flavell(path)

    def test_missing_behavior_errors_or_masks(self, tmp_path):
        _, path = written(tmp_path)
        edit(path, "behavior/pumping", None)
        with pytest.raises(FormatError, match=r"lacks the requested behaviors \['pumping'\].*missing_behavior='mask'"):
            read_flavell(path)
        rec = read_flavell(path, missing_behavior="mask", head_angle_pos_is_ventral=False)
        assert not rec.behavior_mask[:, 2].any() and rec.behavior_mask[:, :2].all()
        assert rec.meta["missing_behaviors"] == ["pumping"]

    def test_transposed_traces_are_detected_and_named(self, tmp_path):
        rec, path = written(tmp_path)
        edit(path, "gcamp/trace_array", rec.traces.T.astype(np.float64))
        with pytest.warns(DataWarning, match=r"stored as \(12, 120\) = \(neurons, frames\).*transposed"):
            back = read_flavell(path, head_angle_pos_is_ventral=False)
        assert back.meta["trace_orientation"] == "neuron x time"
        np.testing.assert_allclose(back.traces, rec.traces, rtol=1e-6)

    def test_traces_and_behavior_disagree_on_frames(self, tmp_path):
        rec, path = written(tmp_path)
        edit(path, "gcamp/trace_array", rec.traces[:100].astype(np.float64))
        with pytest.raises(FormatError, match=r"gcamp/trace_array.*shape \(100, 12\) has no axis of 120 frames"):
            read_flavell(path)

    def test_behaviors_disagree_on_frames(self, tmp_path):
        _, path = written(tmp_path)
        edit(path, "behavior/pumping", np.zeros(119))
        with pytest.raises(FormatError, match=r"behavior/velocity: 120, behavior/head_angle: 120, behavior/pumping: 119"):
            read_flavell(path)

    def test_fewer_timestamps_than_frames(self, tmp_path):
        rec, path = written(tmp_path)
        edit(path, "timing/timestamp_confocal", rec.timestamps[:110])
        with pytest.raises(FormatError, match=r"110 timestamps for 120 frames"):
            read_flavell(path)

    def test_more_timestamps_than_frames_keeps_first(self, tmp_path):
        rec, path = written(tmp_path)
        edit(path, "timing/timestamp_confocal", np.concatenate([rec.timestamps, rec.timestamps[-1] + [1, 2, 3]]))
        with pytest.warns(DataWarning, match=r"123 timestamps for 120 frames.*kept the first 120"):
            back = read_flavell(path, head_angle_pos_is_ventral=False)
        np.testing.assert_array_equal(back.timestamps, rec.timestamps)

    def test_non_monotonic_timestamps(self, tmp_path):
        rec, path = written(tmp_path)
        ts = rec.timestamps.copy()
        ts[30] = ts[28]
        edit(path, "timing/timestamp_confocal", ts)
        with pytest.raises(FormatError, match=r"timestamp_confocal.*must increase.*frame 31 is at"):
            read_flavell(path)

    def test_nan_and_inf_are_counted_and_masked(self, tmp_path):
        rec, path = written(tmp_path)
        x = rec.traces.astype(np.float64)
        x[5, 1] = np.nan
        x[6, 1] = np.inf
        x[7, 4] = np.nan
        edit(path, "gcamp/trace_array", x)
        with pytest.warns(DataWarning, match=r"2 NaN and 1 inf values in 2 neurons \(1-based: 2, 5\)"):
            back = read_flavell(path, head_angle_pos_is_ventral=False)
        assert not back.mask[5, 1] and not back.mask[6, 1] and not back.mask[7, 4]
        assert back.mask.sum() == back.mask.size - 3 and np.isfinite(back.traces).all()

    def test_nan_in_behavior_is_counted_and_masked(self, tmp_path):
        rec, path = written(tmp_path)
        v = rec.behavior[:, 0].astype(np.float64)
        v[[3, 9]] = np.nan
        edit(path, "behavior/velocity", v)
        with pytest.warns(DataWarning, match=r"behavior/velocity.*2 NaN and 0 inf"):
            back = read_flavell(path, head_angle_pos_is_ventral=False)
        assert back.behavior_mask[:, 0].sum() == 118

    def test_empty_file(self, tmp_path):
        path = tmp_path / "a-data.h5"
        path.write_bytes(b"")
        with pytest.raises(FormatError, match=r"a-data\.h5: the file is empty"):
            read_flavell(path)

    def test_truncated_file(self, tmp_path):
        _, path = written(tmp_path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(FormatError, match=r"cannot open as HDF5: truncated"):
            read_flavell(path)

    def test_reversal_pairs_beyond_frames_are_clipped(self, tmp_path):
        _, path = written(tmp_path)
        edit(path, "behavior/reversal_vec", None)
        edit(path, "behavior/reversal_events", np.array([[2, 100, 118], [5, 110, 130]]))
        with pytest.warns(DataWarning, match=r"1 of 3 intervals reach beyond the 120 frames"):
            back = read_flavell(path, head_angle_pos_is_ventral=False)
        assert back.events["reversals"] == [[2, 5], [100, 110], [118, 120]]


class TestReadFlavellOptions:
    @pytest.mark.parametrize(
        "option, message",
        [
            ({"traces": "raw"}, r"traces='raw' is not one of 'zscored', 'original', 'f20', 'fmean'"),
            ({"missing_behavior": "drop"}, r"missing_behavior='drop' is not one of 'error', 'mask'"),
            ({"head_curvature_positive": "up"}, r"head_curvature_positive='up' is not one of"),
            ({"behaviors": ["velocity", "velocity"]}, r"behaviors must be a non-empty list of distinct names"),
        ],
    )
    def test_refused_before_opening(self, tmp_path, option, message):
        from ceneurovae.errors import ConfigError

        with pytest.raises(ConfigError, match=message):
            read_flavell(tmp_path / "never-opened-data.h5", **option)

    def test_other_trace_kind(self, tmp_path):
        rec, path = written(tmp_path)
        with h5py.File(path, "a") as f:
            f["gcamp/trace_array_original"] = rec.traces.astype(np.float64) + 3.0
        back = read_flavell(path, traces="original", head_angle_pos_is_ventral=False)
        assert back.meta["trace_key"] == "gcamp/trace_array_original" and "zscored" not in back.meta
        np.testing.assert_allclose(back.traces, rec.traces + 3.0, rtol=1e-6)
