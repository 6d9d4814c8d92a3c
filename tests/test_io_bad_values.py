"""Values the readers used to accept with a wrong result (issue 22): every one is now the
package's error naming the file, the key and the value."""

from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest

from ceneurovae import import_h5
from ceneurovae.errors import FormatError
from ceneurovae.io import write_flavell, write_wormwideweb
from io_fixtures import make_recording

TRACES = "gcamp/trace_array"


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_h5(path, missing_behavior="mask", dt=None)


@pytest.fixture
def flavell(tmp_path):
    return write_flavell(tmp_path, make_recording("2021-01-01-01", T=40, N=6))


def replace(path, key, value):
    with h5py.File(path, "a") as f:
        del f[key]
        f[key] = value


@pytest.mark.parametrize("values, message", [
    (np.ones((40, 6), dtype=bool), "got true/false values"),
    (np.full((40, 6), b"1.5"), "got text"),
    (np.ones((40, 6), dtype=np.complex64) * (1 + 2j), "got complex numbers"),
])
def test_traces_that_are_not_real_numbers(flavell, values, message):
    replace(flavell, TRACES, values)
    with pytest.raises(FormatError, match=message) as err:
        read(flavell)
    assert str(flavell) in str(err.value) and TRACES in str(err.value)


def test_values_beyond_float32(flavell):
    with h5py.File(flavell, "a") as f:
        x = f[TRACES][()].astype(np.float64)
    x[3, 2] = 1e300
    replace(flavell, TRACES, x)
    with pytest.raises(FormatError, match=r"beyond float32's range.*1e\+300 at index \[3, 2\]") as err:
        read(flavell)
    assert str(flavell) in str(err.value) and TRACES in str(err.value)


def test_a_recording_built_in_python_with_values_beyond_float32():
    from ceneurovae import Recording
    from ceneurovae.errors import RecordingError

    x = np.zeros((10, 3))
    x[4, 1] = -1e200
    with pytest.raises(RecordingError, match=r"traces holds 1 finite values beyond float32's range.*frame 4, column 1"):
        Recording(uid="a", traces=x, behavior=np.zeros((10, 1)), behavior_names=["velocity"])


@pytest.mark.parametrize("T, N, message", [
    (1, 6, "has 1 frames and 6 neurons"),
    (40, 0, "has 40 frames and 0 neurons"),
])
def test_too_small_to_be_a_recording(tmp_path, T, N, message):
    rec = make_recording("2021-01-01-01", T=max(T, 4), N=max(N, 1), gap=False)
    path = write_wormwideweb(tmp_path / "r", rec, version=1)
    obj = json.loads(path.read_text())
    obj["trace_array"] = [row[:T] for row in obj["trace_array"]][:N] if N else []
    for k in ("velocity", "head_curvature", "pumping", "angular_velocity", "body_curvature", "timestamp_confocal"):
        if k in obj:
            obj[k] = obj[k][:T]
    obj["reversal_events"] = []
    obj["events"] = {}
    path.write_text(json.dumps(obj))
    with pytest.raises(FormatError) as err:
        read(path)
    assert str(path) in str(err.value)
    if N:
        assert message in str(err.value)


@pytest.mark.parametrize("scale", [1e-300, 1e7])
def test_a_time_step_that_is_not_seconds(flavell, scale):
    with h5py.File(flavell, "a") as f:
        ts = f["timing/timestamp_confocal"][()]
    replace(flavell, "timing/timestamp_confocal", (ts - ts[0]) * scale)
    with pytest.raises(FormatError, match="are the timestamps in seconds"):
        read(flavell)


def test_as_many_neurons_as_frames_needs_the_orientation(tmp_path):
    """Issue 22: a square trace array was read in whichever orientation came first, silently."""
    from ceneurovae.errors import ConfigError

    rec = make_recording("2021-01-01-01", T=12, N=12, gap=False)
    path = write_flavell(tmp_path, rec)
    with pytest.raises(FormatError, match=r"as many neurons as frames.*orientation='frames-first'") as err:
        read(path)
    assert TRACES in str(err.value)
    got = import_h5(path, orientation="frames-first", missing_behavior="mask", dt=None)[0]["2021-01-01-01"]
    np.testing.assert_allclose(got.traces, rec.traces, rtol=1e-6)
    flipped = import_h5(path, orientation="neurons-first", missing_behavior="mask", dt=None)[0]["2021-01-01-01"]
    np.testing.assert_allclose(flipped.traces, rec.traces.T, rtol=1e-6)
    assert flipped.meta["trace_orientation"] == "neuron x time"
    with pytest.raises(ConfigError, match="orientation='sideways' is not one of"):
        import_h5(path, orientation="sideways")
