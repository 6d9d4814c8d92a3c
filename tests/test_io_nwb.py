"""NWB files (format 5): the real NeuroPAL recordings written in the documented layouts and
read back, the options that choose a series and a name column, bad files, remote reading.

The files are written here with pynwb (`write_nwb`) in the layouts of
``shared/DATA_FORMATS.md`` ("Format 5"), filled with the real recordings: the container is
ours, the content is real.
"""

from __future__ import annotations

import shutil
import warnings

import h5py
import numpy as np
import pytest

from ceneurovae import import_h5
from ceneurovae.errors import ConfigError, DataWarning, FormatError
from ceneurovae.io import (
    ReadOptions,
    describe_nwb,
    detect_format,
    find_sources,
    read_recordings,
    write_nwb,
)
from ceneurovae.io import nwb as nwb_module
from ceneurovae.recording import interval_channel, stimulus_name
from conftest import FAST, run_cli
from nwb_fixtures import need_pynwb

need_pynwb()

SERIES = "processing/CalciumActivity/SignalCalciumImResponseSeries"


def quiet_import(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return import_h5(*args, **kwargs)


@pytest.fixture(scope="module")
def real(shared_data):
    """The four labeled real animals, read from their HDF5 files with the head angle as stored."""
    folder = shared_data / "real" / "neuropal"
    datasets, vocab = quiet_import(folder, labels=folder / "neuropal_labels.json", dt=None,
                                   head_curvature_positive="as_read")
    return datasets, vocab, folder


@pytest.fixture(scope="module")
def atanas(real, tmp_path_factory):
    """The four animals in the Atanas & Kim 2023 layout, in a dandiset's sub-<id>/ folders."""
    datasets, _, _ = real
    root = tmp_path_factory.mktemp("dandiset")
    for uid, rec in datasets.items():
        write_nwb(root / f"sub-{uid}" / f"sub-{uid}_ses-1_behavior+image+ophys.nwb", rec, layout="atanas2023",
                  raw_traces=rec.traces * 2.0 + 10.0)
    return root


@pytest.fixture
def one(real, atanas, tmp_path):
    """A writable copy of one animal's Atanas-layout file, and its recording."""
    datasets, _, _ = real
    uid = next(iter(datasets))
    src = next((atanas / f"sub-{uid}").glob("*.nwb"))
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    return dst, datasets[uid]


class TestRoundTrip:
    def test_the_four_real_animals_read_back_as_from_their_hdf5_files(self, real, atanas):
        datasets, vocab, folder = real
        back, back_vocab = quiet_import(atanas, dt=None, head_curvature_positive="as_read")
        assert list(back) == list(datasets)
        assert back_vocab.names == vocab.names
        for uid, rec in datasets.items():
            got = back[uid]
            np.testing.assert_array_equal(got.traces, rec.traces)
            np.testing.assert_array_equal(got.mask, rec.mask)
            np.testing.assert_array_equal(got.behavior, rec.behavior)
            np.testing.assert_array_equal(got.behavior_mask, rec.behavior_mask)
            np.testing.assert_array_equal(got.timestamps, rec.timestamps)
            assert got.dt == rec.dt
            assert got.behavior_names == rec.behavior_names
            assert got.identity_names() == rec.identity_names()
            assert got.events["reversals"] == rec.events["reversals"]
            assert got.meta["format"] == "nwb" and got.meta["nwb_layout"] == "atanas2023"
        # The default conventions too (head sign, common time step) agree with the HDF5 reading.
        a, _ = quiet_import(folder, labels=folder / "neuropal_labels.json")
        b, _ = quiet_import(atanas)
        for uid in a:
            np.testing.assert_array_equal(a[uid].behavior, b[uid].behavior)
            assert a[uid].dt == b[uid].dt

    def test_original_traces_read_the_raw_series(self, real, one):
        path, rec = one
        got = quiet_import(path, traces="original", dt=None, head_curvature_positive="as_read")[0][rec.uid]
        np.testing.assert_allclose(got.traces[rec.mask], rec.traces[rec.mask] * 2.0 + 10.0, rtol=1e-6)
        assert got.meta["trace_key"] == "/processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries/data"
        with pytest.raises(FormatError, match="f20"):
            quiet_import(path, traces="f20")

    def test_detected_by_content(self, one, tmp_path):
        path, _ = one
        renamed = tmp_path / "recording.h5"
        shutil.copy(path, renamed)
        assert detect_format(path) == "nwb" and detect_format(renamed) == "nwb"
        assert [s.format for s in find_sources(tmp_path)] == ["nwb", "nwb"]


class TestWormIdLayout:
    @pytest.fixture
    def wormid(self, real, tmp_path):
        datasets, _, _ = real
        rec = list(datasets.values())[1]
        labels = list(rec.identity_names())
        named = [i for i, n in enumerate(labels) if n]
        labels[named[0]] = "-"
        labels[named[1]] = labels[named[1]] + "?"
        # Two chemical stimuli: NaCl pulses and one butanone interval (seconds).
        t0 = rec.timestamps[0]
        stim = np.zeros((rec.n_frames, 2), dtype=np.float32)
        stim[:, 0] = interval_channel(rec.timestamps, [(t0 + 60, t0 + 90), (t0 + 200, t0 + 230)])
        stim[:, 1] = interval_channel(rec.timestamps, [(t0 + 120, t0 + 150)])
        regular = np.arange(rec.n_frames) * rec.dt + t0
        stim = np.column_stack([interval_channel(regular, [(t0 + 60, t0 + 90), (t0 + 200, t0 + 230)]),
                                interval_channel(regular, [(t0 + 120, t0 + 150)])])
        written = rec.replace(
            labels=labels, vocabulary=None, identity=np.zeros(rec.n_neurons, dtype=np.int64),
            behavior=np.column_stack([rec.behavior, stim]),
            behavior_mask=np.column_stack([rec.behavior_mask, np.ones_like(stim, dtype=bool)]),
            behavior_names=[*rec.behavior_names, "stimulus:NaCl", "stimulus:butanone"],
            timestamps=regular, dt=rec.dt,
        )
        path = write_nwb(tmp_path / "wormid.nwb", written, layout="wormid")
        return path, rec, labels, stim

    def test_rate_time_names_and_chemical_stimuli(self, wormid):
        path, rec, labels, stim = wormid
        with h5py.File(path) as f:
            assert "intervals/chemical_stimuli/stimulus" in f
            assert "timestamps" not in f["processing/CalciumActivity/SignalRawFluordNMF/dNMFCalciumImResponseSeries"]
        datasets, _ = quiet_import(path, dt=None, head_curvature_positive="as_read")
        got = datasets[rec.uid]
        assert got.meta["nwb_layout"] == "wormid"
        np.testing.assert_array_equal(got.traces, rec.traces)
        np.testing.assert_allclose(np.diff(got.timestamps), rec.dt, rtol=1e-9)
        # blank, '-' and 'X?' stay unknown; the other names come through as before
        names = got.identity_names()
        for i, lab in enumerate(labels):
            if not lab or lab == "-" or lab.endswith("?"):
                assert names[i] == "", (i, lab, names[i])
            else:
                assert names[i] == lab
        assert got.behavior_names[-2:] == [stimulus_name("NaCl"), stimulus_name("butanone")]
        np.testing.assert_array_equal(got.behavior[:, -2:], stim)
        assert got.behavior_mask[:, -2:].all()
        table = "/intervals/chemical_stimuli"
        assert got.meta["stimuli"] == {"stimulus:NaCl": {"from": [table], "intervals": 2},
                                       "stimulus:butanone": {"from": [table], "intervals": 1}}
        # uncertain labels become their class when asked
        got = quiet_import(path, dt=None, uncertain="class")[0][rec.uid]
        i = next(i for i, lab in enumerate(labels) if lab.endswith("?"))
        assert got.identity_names()[i] != ""

    def test_no_stimuli_option(self, wormid):
        path, rec, _, _ = wormid
        got = quiet_import(path, dt=None, stimuli=False)[0][rec.uid]
        assert got.behavior_names == rec.behavior_names


class TestGenericLayout:
    def test_one_roi_series_and_a_name_column(self, real, tmp_path):
        datasets, _, _ = real
        rec = next(iter(datasets.values()))
        path = write_nwb(tmp_path / "g.nwb", rec, layout="generic")
        got = quiet_import(path, dt=None, head_curvature_positive="as_read")[0][rec.uid]
        assert got.meta["nwb_layout"] == "generic"
        assert got.meta["label_key"].endswith("/neuron_name")
        assert got.identity_names() == rec.identity_names()
        np.testing.assert_array_equal(got.traces, rec.traces)

    def test_two_series_need_a_choice_and_info_lists_them(self, real, tmp_path):
        datasets, _, _ = real
        rec = next(iter(datasets.values()))
        path = write_nwb(tmp_path / "g.nwb", rec, layout="generic")
        other = "processing/CalciumActivity/Fluorescence/Other"
        with h5py.File(path, "a") as f:
            f.copy("processing/CalciumActivity/Fluorescence/RoiResponseSeries", other)
            f[other + "/data"][...] = 0.0
        with pytest.raises(FormatError, match="2 response series and none in a known layout") as err:
            quiet_import(path)
        assert "--nwb-series" in str(err.value) and other in str(err.value)
        lines = "\n".join(describe_nwb(path))
        assert other in lines and "read by default" not in lines
        chosen = quiet_import(path, dt=None, nwb_series="Other")[0][rec.uid]
        assert not chosen.traces.any()
        by_path = read_recordings(path, ReadOptions(dt=None, nwb_series="/" + other + "/data",
                                                    nwb_labels="neuron_name"))[0][rec.uid]
        assert not by_path.traces.any() and by_path.identity_names() == rec.identity_names()
        with pytest.raises(FormatError, match="nwb_series='Nothing' names no 2-D response series"):
            quiet_import(path, nwb_series="Nothing")
        with pytest.raises(FormatError, match="nwb_labels='nope' names 0 name columns"):
            quiet_import(path, nwb_series="Other", nwb_labels="nope")


class TestBadFiles:
    def edit(self, path, fn):
        with h5py.File(path, "a") as f:
            fn(f)

    def test_traces_stored_neurons_by_frames_are_transposed_and_said(self, one):
        path, rec = one

        def transpose(f):
            data = f[SERIES + "/data"][()]
            del f[SERIES + "/data"]
            f[SERIES + "/data"] = data.T

        self.edit(path, transpose)
        with pytest.warns(DataWarning, match=r"\(neurons, frames\).*transposed"):
            got = import_h5(path, dt=None, head_curvature_positive="as_read")[0][rec.uid]
        np.testing.assert_array_equal(got.traces, rec.traces)
        assert got.meta["trace_orientation"] == "neuron x time"

    def test_mismatched_timestamps(self, one):
        path, rec = one

        def cut(f):
            ts = f[SERIES + "/timestamps"][()]
            del f[SERIES + "/timestamps"]
            f[SERIES + "/timestamps"] = ts[:-7]

        self.edit(path, cut)
        with pytest.raises(FormatError, match=f"{rec.n_frames - 7} timestamps.*match neither axis") as err:
            quiet_import(path)
        assert str(path) in str(err.value) and SERIES + "/timestamps" in str(err.value)

    def test_labels_of_the_wrong_length(self, one):
        path, rec = one
        key = "processing/CalciumActivity/NeuronIDs/labels"

        def shorten(f):
            names = f[key][()]
            del f[key]
            f[key] = names[:-3]

        self.edit(path, shorten)
        with pytest.raises(FormatError, match=f"{rec.n_neurons - 3} neuron names for the {rec.n_neurons} neurons") as err:
            quiet_import(path)
        assert key in str(err.value)

    def test_no_response_series(self, one):
        path, _ = one
        self.edit(path, lambda f: f.__delitem__(SERIES))
        self.edit(path, lambda f: f.__delitem__("processing/CalciumActivity/SignalRawFluor"))
        with pytest.raises(FormatError, match="no response series") as err:
            quiet_import(path)
        assert str(path) in str(err.value) and "/processing" in str(err.value)

    def test_traces_that_are_not_numbers(self, one):
        path, rec = one

        def strings(f):
            del f[SERIES + "/data"]
            f[SERIES + "/data"] = np.full((rec.n_frames, rec.n_neurons), b"1.5")

        self.edit(path, strings)
        with pytest.raises(FormatError, match="traces must be numbers, got dtype"):
            quiet_import(path)

    def test_a_declared_size_is_checked_before_reading(self, one):
        path, rec = one

        def huge(f):
            del f[SERIES + "/data"]
            # declared 149 GiB, nothing written: the file stays small
            f.create_dataset(SERIES + "/data", shape=(rec.n_frames, 50_000_000), dtype="f4", chunks=(8, 4096))

        self.edit(path, huge)
        with pytest.raises(FormatError, match=r"declares shape \(\d+, 50000000\).*GiB"):
            quiet_import(path)

    def test_the_raw_volume_in_acquisition_is_never_touched(self, one):
        path, rec = one

        # Any access to the acquisition volume would fail: it links to a file that does not exist.
        def broken_volume(f):
            g = f.require_group("acquisition/CalciumImageSeries")
            g["data"] = h5py.ExternalLink("no-such-volume.h5", "/data")

        self.edit(path, broken_volume)
        got = quiet_import(path, dt=None, head_curvature_positive="as_read")[0][rec.uid]
        np.testing.assert_array_equal(got.traces, rec.traces)

    def test_missing_behavior_follows_the_option(self, one):
        path, rec = one
        self.edit(path, lambda f: f.__delitem__("processing/Behavior/velocity"))
        with pytest.raises(FormatError, match=r"lacks the requested behaviors \['velocity'\]"):
            quiet_import(path)
        got = quiet_import(path, missing_behavior="mask", dt=None)[0][rec.uid]
        assert not got.behavior_mask[:, 0].any()

    def test_behavior_on_its_own_timestamps_is_interpolated(self, one):
        path, rec = one
        key = "processing/Behavior/velocity/velocity"

        def half_rate(f):
            v = f[key + "/data"][()]
            ts = f[key + "/timestamps"][()]
            del f[key + "/data"], f[key + "/timestamps"]
            f[key + "/data"] = v[::2]
            f[key + "/timestamps"] = ts[::2]

        self.edit(path, half_rate)
        with pytest.warns(DataWarning, match="interpolated onto the"):
            got = import_h5(path, dt=None, head_curvature_positive="as_read")[0][rec.uid]
        np.testing.assert_allclose(got.behavior[::2, 0][got.behavior_mask[::2, 0]],
                                   rec.behavior[::2, 0][got.behavior_mask[::2, 0]], rtol=1e-5)

    def test_the_models_results_are_never_read_as_data(self, one):
        """A file with predict's results appended reads as the recording it was."""
        path, rec = one
        self.edit(path, lambda f: f.copy(SERIES, "processing/ceneurovae/denoised"))
        self.edit(path, lambda f: f.__delitem__(SERIES))
        # left: the raw series (known layout) and the results module (never a candidate)
        assert "ceneurovae" not in "\n".join(describe_nwb(path))
        got = quiet_import(path, dt=None)[0][rec.uid]
        assert got.meta["trace_key"].startswith("/processing/CalciumActivity/SignalRawFluor/")

    def test_bad_options(self, one):
        path, _ = one
        with pytest.raises(ConfigError, match="nwb_series"):
            import_h5(path, nwb_series="")
        with pytest.raises(ConfigError, match="stimuli"):
            import_h5(path, stimuli="yes")


class TestRemote:
    def test_a_url_is_read_through_fsspec_as_the_local_file(self, one):
        path, rec = one
        local = quiet_import(path, dt=None)[0][rec.uid]
        url = f"file://{path.resolve()}"
        assert url.startswith("file://")
        remote = quiet_import(url, dt=None)[0][rec.uid]
        np.testing.assert_array_equal(remote.traces, local.traces)
        np.testing.assert_array_equal(remote.behavior, local.behavior)
        assert remote.source == url

    def test_without_fsspec_the_error_names_the_extra(self, one, monkeypatch):
        path, _ = one
        monkeypatch.setattr(nwb_module, "_optional", lambda name: None)
        with pytest.raises(FormatError, match=r"pip install 'ceneurovae\[nwb\]'"):
            quiet_import(f"file://{path.resolve()}")

    def test_writing_without_pynwb_names_the_extra(self, real, monkeypatch, tmp_path):
        datasets, _, _ = real
        monkeypatch.setattr(nwb_module, "_optional", lambda name: None)
        with pytest.raises(ConfigError, match=r"writing NWB needs pynwb: pip install 'ceneurovae\[nwb\]'"):
            write_nwb(tmp_path / "x.nwb", next(iter(datasets.values())))


class TestCommands:
    def test_info_lists_what_the_file_holds(self, one):
        path, rec = one
        res = run_cli("info", path)
        assert res.returncode == 0, res.stderr
        assert f"/{SERIES}" in res.stdout and "read by default" in res.stdout
        assert "/processing/CalciumActivity/NeuronIDs/labels" in res.stdout
        assert rec.uid in res.stdout

    def test_convert_to_a_cohort(self, one, tmp_path):
        path, rec = one
        res = run_cli("convert", path, "-o", tmp_path / "c.h5", "--missing-behavior", "mask")
        assert res.returncode == 0, res.stderr
        got = quiet_import(tmp_path / "c.h5", missing_behavior="mask")[0][rec.uid]
        assert got.traces.shape == rec.traces.shape

    @pytest.mark.slow
    def test_train_on_a_folder_of_nwb_files(self, atanas, tmp_path):
        sets = [f"{k}={v}" for k, v in FAST.items()] + ["train.epochs=1", "data.window_T=40", "data.stride=40"]
        res = run_cli("train", "--data", atanas, "--out", tmp_path / "run", "--quiet", "--set", *sets)
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "run" / "best.pt").is_file()
        # predict straight from one NWB recording into a copy of it
        source = next(atanas.glob("sub-*/*.nwb"))
        out = tmp_path / "with-results.nwb"
        res = run_cli("predict", tmp_path / "run", source, "-o", out, "--append-to", source)
        assert res.returncode == 0, res.stderr
        with h5py.File(out) as f:
            assert f["processing/ceneurovae/denoised/data"].shape == f[SERIES + "/data"].shape
        # and the copy still reads as the recording it was
        a = quiet_import(source, dt=None)[0]
        b = quiet_import(out, dt=None)[0]
        uid = next(iter(a))
        np.testing.assert_array_equal(a[uid].traces, b[uid].traces)


@pytest.mark.parametrize("layout", nwb_module.LAYOUTS)
def test_info_and_convert_on_every_layout(real, tmp_path, layout):
    from ceneurovae.cli import run_captured

    datasets, _, _ = real
    rec = list(datasets.values())[2]
    path = write_nwb(tmp_path / f"{layout}.nwb", rec, layout=layout)
    code, out, err = run_captured(["info", path])
    assert code == 0, err
    assert "read by default" in out and rec.uid in out and "nwb" in out
    code, out, err = run_captured(["convert", path, "-o", str(tmp_path / "c.h5")])
    assert code == 0, err
    back = quiet_import(tmp_path / "c.h5")[0][rec.uid]
    assert back.n_labeled == rec.n_labeled and back.traces.shape == rec.traces.shape
