"""Formats 2 and 3 (WormWideWeb JSON v1 and v2): round trips, layouts found in the wild, bad input."""

import json

import numpy as np
import pytest

from ceneurovae.errors import DataWarning, FormatError
from ceneurovae.io import read_wormwideweb, write_wormwideweb
from io_fixtures import make_recording

ALL = ["velocity", "head_curvature", "pumping", "angular_velocity", "body_curvature"]


def rewrite(path, change):
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))


class TestWriteWormWideWeb:
    @pytest.mark.parametrize("version", [1, 2])
    def test_round_trip(self, tmp_path, version):
        rec = make_recording(uid="2021-06-11-01")
        path = write_wormwideweb(tmp_path, rec, version=version, paper_id="atanas_kim_2023")
        assert path.name == ("2021-06-11-01.json" if version == 1 else "atanas_kim_2023_2021-06-11-01.json")
        behaviors = ALL if version == 1 else ALL[:4] + ["body_curvature"]
        back, labels = read_wormwideweb(path, behaviors=behaviors)
        assert back.uid == rec.uid and back.meta["format"] == f"wormwideweb-v{version}"
        np.testing.assert_allclose(back.traces, rec.traces, rtol=1e-6)
        assert back.behavior_names == behaviors + ["stimulus:heat"]
        np.testing.assert_allclose(back.behavior[:, :-1], rec.behavior, rtol=1e-6)
        assert np.flatnonzero(back.behavior[:, -1]).tolist() == rec.events["heat"]
        np.testing.assert_array_equal(back.timestamps, rec.timestamps)
        assert back.events == rec.events
        assert {r: e.label for r, e in labels.items()} == {i + 1: lab for i, lab in enumerate(rec.labels) if lab}
        assert back.meta["declared_timestep_unit"] == ("minutes per frame" if version == 1 else "seconds per frame")

    def test_version_must_be_1_or_2(self, tmp_path):
        with pytest.raises(FormatError, match="version must be 1 or 2, got 3"):
            write_wormwideweb(tmp_path, make_recording(), version=3)


class TestReadWormWideWeb:
    def test_trace_original_time_by_neuron_is_oriented(self, tmp_path):
        rec = make_recording()
        path = write_wormwideweb(tmp_path, rec, version=1)
        rewrite(path, lambda o: o.update(trace_original=rec.traces.astype(float).tolist()))  # T lists of N
        with pytest.warns(DataWarning, match=r"key 'trace_original': stored as \(120, 12\) = \(frames, neurons\)"):
            back, _ = read_wormwideweb(path, traces="original")
        assert back.meta["trace_orientation"] == "time x neuron"
        np.testing.assert_allclose(back.traces, rec.traces, rtol=1e-6)

    def test_avg_timestep_in_seconds_is_recognized(self, tmp_path):
        rec = make_recording(gap=False)
        path = write_wormwideweb(tmp_path, rec, version=1)
        rewrite(path, lambda o: o.update(avg_timestep=rec.dt))
        back, _ = read_wormwideweb(path)
        assert back.meta["declared_timestep_unit"] == "seconds per frame"

    def test_without_timestamps_uses_minutes(self, tmp_path):
        rec = make_recording(gap=False)
        path = write_wormwideweb(tmp_path, rec, version=1)
        rewrite(path, lambda o: o.pop("timestamp_confocal"))
        back, _ = read_wormwideweb(path)
        assert back.dt == pytest.approx(rec.dt)
        assert back.meta["declared_timestep_unit"] == "minutes per frame (assumed)"

    def test_pumping_null_is_missing(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)
        rewrite(path, lambda o: o["behavior"].update(pumping=None))
        with pytest.raises(FormatError, match=r"key 'behavior/pumping': .* lacks the requested behaviors \['pumping'\]"):
            read_wormwideweb(path)
        back, _ = read_wormwideweb(path, missing_behavior="mask")
        assert not back.behavior_mask[:, 2].any()

    @pytest.mark.parametrize(
        "stored, layout",
        [
            ([[0, 4], [10, 15], [117, 120]], "(n, 2) rows"),
            ([[0, 10, 117], [4, 15, 120]], "(2, n) starts over stops"),
            ([[0], [10], [117], [4], [15], [120]], "flat"),
        ],
    )
    def test_reversal_layouts(self, tmp_path, stored, layout):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)
        rewrite(path, lambda o: o["behavior"].update(reversal_events=stored))
        back, _ = read_wormwideweb(path)
        assert back.events["reversals"] == [[0, 4], [10, 15], [117, 120]]
        assert back.meta["reversal_events_layout"].startswith(layout)

    def test_label_keys_beyond_neuron_count_are_kept_for_the_caller(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)
        rewrite(path, lambda o: o["label"].update({"250": {"label": "AVBL", "confidence": 4}}))
        _, labels = read_wormwideweb(path)
        assert 250 in labels  # assign_labels (import_h5) decides; see test_io_import

    def test_missing_traces(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)
        rewrite(path, lambda o: o["gcamp"].pop("trace_array"))
        with pytest.raises(FormatError, match=r"key 'gcamp/trace_array': missing"):
            read_wormwideweb(path)

    def test_missing_section(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)
        rewrite(path, lambda o: o.pop("behavior"))
        with pytest.raises(FormatError, match=r"key 'behavior': missing or not an object"):
            read_wormwideweb(path)

    def test_f20_not_in_v2(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)
        with pytest.raises(FormatError, match=r"traces='f20' is not available in WormWideWeb v2"):
            read_wormwideweb(path, traces="f20")

    def test_frame_mismatch(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=1)
        rewrite(path, lambda o: o.update(trace_array=[row[:-5] for row in o["trace_array"]]))
        with pytest.raises(FormatError, match=r"shape \(12, 115\) has no axis of 120 frames"):
            read_wormwideweb(path)

    def test_ragged_traces(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=1)
        rewrite(path, lambda o: o["trace_array"][3].pop())
        with pytest.raises(FormatError, match=r"key 'trace_array': expected numbers in a rectangular array"):
            read_wormwideweb(path)

    def test_null_values_are_masked_and_counted(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=1)

        def hole(o):
            o["trace_array"][2][7] = None
            o["velocity"][9] = None

        rewrite(path, hole)
        with pytest.warns(DataWarning) as record:
            back, _ = read_wormwideweb(path)
        messages = " | ".join(str(w.message) for w in record)
        assert "key 'trace_array': 1 NaN and 0 inf values in 1 neurons (1-based: 3)" in messages
        assert "key 'velocity': 1 NaN" in messages
        assert not back.mask[7, 2] and not back.behavior_mask[9, 0]

    def test_non_monotonic_timestamps(self, tmp_path):
        path = write_wormwideweb(tmp_path, make_recording(), version=2)

        def swap(o):
            ts = o["timing"]["timestamp_confocal"]
            ts[10], ts[11] = ts[11], ts[10]

        rewrite(path, swap)
        with pytest.raises(FormatError, match=r"timing/timestamp_confocal.*must increase"):
            read_wormwideweb(path)

    def test_not_a_recording(self, tmp_path):
        p = tmp_path / "x.json"
        p.write_text(json.dumps({"hello": 1}))
        with pytest.raises(FormatError, match=r"not a WormWideWeb recording.*found \['hello'\]"):
            read_wormwideweb(p)

    @pytest.mark.parametrize("text, message", [("", "the file is empty"), ('{"trace_array": [[1, 2', "truncated or not JSON")])
    def test_empty_or_truncated(self, tmp_path, text, message):
        p = tmp_path / "x.json"
        p.write_text(text)
        with pytest.raises(FormatError, match=message):
            read_wormwideweb(p)
