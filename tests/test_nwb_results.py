"""Predictions written as NWB (``predict -o out.nwb``, `io.nwb_results`): the file reads back
with pynwb with the same arrays, names and provenance, passes nwbinspector without a
CRITICAL or ERROR message, and without pynwb the command says which extra to install before
any work."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import yaml

import ceneurovae
from ceneurovae.cli import main
from ceneurovae.errors import FormatError, RecordingError
from ceneurovae.io.nwb_results import MODULE_NAME, AnimalPredictions, write_predictions_nwb
from nwb_fixtures import need_pynwb, serious_inspector_messages, write_recording_nwb


def predictions(T=60, N=5, K=7, Z=3, timestamps=None, seed=0) -> AnimalPredictions:
    rng = np.random.default_rng(seed)
    fb = rng.normal(size=(T, N)).astype(np.float32)
    fb[:, 1] = np.nan  # unknown identity
    return AnimalPredictions(
        uid="worm-1", timestamps=np.arange(T) * 0.5 + 10.0 if timestamps is None else timestamps,
        labels=["AVAL", "", "RMDD?", "SMDDL", "ASEL"][:N], identities=["AVAL", "", "", "SMDDL", "ASEL"][:N],
        reconstruction=rng.normal(size=(T, N)).astype(np.float32), from_behavior=fb,
        latents=rng.normal(size=(T, Z)).astype(np.float32), identity_names=[f"ID{k}" for k in range(K)],
        imputed=rng.normal(size=(T, K)).astype(np.float32),
    )


def read_back(path) -> dict:
    """What pynwb reads of processing/ceneurovae, as plain arrays."""
    pynwb = need_pynwb()
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        m = f.processing[MODULE_NAME]
        out = {name: np.asarray(m[name].data[:]) for name in ("denoised", "from_behavior", "imputed_identities", "latents")}
        out["timestamps"] = {name: np.asarray(m[name].get_timestamps()) for name in out}
        out["labels"] = list(m["denoised"].rois.table["label"][:])
        out["identities"] = list(m["denoised"].rois.table["identity"][:])
        out["from_behavior_rows"] = list(m["from_behavior"].rois.table["label"][:])
        out["identity_names"] = list(m["imputed_identities"].rois.table["identity"][:])
        prov = m["provenance"]
        out["provenance"] = dict(zip(prov["key"][:], prov["value"][:]))
        out["source_script"] = f.source_script
        out["subject"] = f.subject.subject_id if f.subject is not None else None
        out["modules"] = sorted(f.processing)
        out["identifier"] = f.identifier
        out["units"] = (m["denoised"].unit, m["imputed_identities"].unit)
    return out


class TestWriter:
    def test_reads_back_the_same_arrays_names_and_provenance(self, tmp_path):
        need_pynwb()
        pred = predictions()
        path = tmp_path / "out.nwb"
        write_predictions_nwb(path, pred, {"checkpoint": "/runs/a/best.pt", "command": "ceneurovae predict a b",
                                           "config": "model:\n  latent_dim: 3\n"}, unit="dF/F")
        got = read_back(path)
        np.testing.assert_array_equal(got["denoised"], pred.reconstruction)
        np.testing.assert_array_equal(got["from_behavior"], pred.from_behavior)  # NaN where NaN
        np.testing.assert_array_equal(got["imputed_identities"], pred.imputed)
        np.testing.assert_array_equal(got["latents"], pred.latents)
        for ts in got["timestamps"].values():  # regular: written as a start and a rate
            np.testing.assert_allclose(ts, pred.timestamps, rtol=0, atol=1e-9)
        assert got["labels"] == list(pred.labels) and got["from_behavior_rows"] == list(pred.labels)
        assert got["identities"] == list(pred.identities)
        assert got["identity_names"] == list(pred.identity_names)
        assert got["provenance"] == {"package": "ceneurovae", "version": ceneurovae.__version__,
                                     "checkpoint": "/runs/a/best.pt", "command": "ceneurovae predict a b",
                                     "config": "model:\n  latent_dim: 3\n"}
        assert got["source_script"] == "ceneurovae predict a b"
        assert got["subject"] == "worm-1" and got["units"] == ("dF/F", "z-score")
        assert not list(tmp_path.glob("*.partial*"))

    def test_irregular_timestamps_are_written_as_they_are(self, tmp_path):
        need_pynwb()
        ts = np.cumsum(np.random.default_rng(1).uniform(0.4, 0.8, size=60))
        pred = predictions(timestamps=ts)
        write_predictions_nwb(tmp_path / "out.nwb", pred)
        for got in read_back(tmp_path / "out.nwb")["timestamps"].values():
            np.testing.assert_array_equal(got, ts)

    @pytest.mark.parametrize("timestamps", ["regular", "irregular"])
    def test_nwbinspector_finds_nothing_critical(self, tmp_path, timestamps):
        need_pynwb()
        ts = None if timestamps == "regular" else np.cumsum(np.random.default_rng(1).uniform(0.4, 0.8, size=60))
        write_predictions_nwb(tmp_path / "out.nwb", predictions(timestamps=ts), {"command": "ceneurovae predict"})
        assert serious_inspector_messages(tmp_path / "out.nwb") == []

    def test_shapes_that_disagree_are_refused_naming_the_array(self, tmp_path):
        need_pynwb()
        pred = predictions()
        bad = AnimalPredictions(**{**pred.__dict__, "imputed": pred.imputed[:, :3]})
        with pytest.raises(RecordingError, match="imputed has shape"):
            write_predictions_nwb(tmp_path / "out.nwb", bad)
        assert not list(tmp_path.iterdir())

    def test_append_keeps_the_input_and_adds_the_module(self, tmp_path, cohort):
        need_pynwb()
        ds, _ = cohort
        rec = ds["toy-00"]
        source = tmp_path / "rec.nwb"
        write_recording_nwb(source, rec)
        before = source.read_bytes()
        pred = predictions(T=rec.n_frames, timestamps=rec.timestamps)
        write_predictions_nwb(tmp_path / "out.nwb", pred, {"command": "x"}, append_to=source)
        assert source.read_bytes() == before
        got = read_back(tmp_path / "out.nwb")
        assert got["modules"] == ["Behavior", "CalciumActivity", MODULE_NAME]
        assert got["identifier"] == "input-recording" and got["subject"] == "toy-00"  # the input's own
        np.testing.assert_array_equal(got["denoised"], pred.reconstruction)
        pynwb = need_pynwb()
        with pynwb.NWBHDF5IO(str(tmp_path / "out.nwb"), "r") as io:
            series = io.read().processing["CalciumActivity"]["SignalCalciumImResponseSeries"]
            np.testing.assert_array_equal(series.data[:], rec.traces.astype(np.float32))
        assert serious_inspector_messages(tmp_path / "out.nwb") == []
        # a file that already holds predictions is refused: append to the recording itself
        with pytest.raises(FormatError, match="already holds predictions"):
            write_predictions_nwb(tmp_path / "again.nwb", pred, append_to=tmp_path / "out.nwb")
        assert not (tmp_path / "again.nwb").exists()

    def test_append_to_a_file_that_is_not_nwb(self, tmp_path):
        need_pynwb()
        bad = tmp_path / "bad.nwb"
        bad.write_bytes(b"not an HDF5 file at all")
        with pytest.raises(FormatError, match="not a readable NWB file"):
            write_predictions_nwb(tmp_path / "out.nwb", predictions(), append_to=bad)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nwb"]


# -- the command ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_files(trained, cohort, tmp_path_factory):
    """The fitted toy model saved, one-animal and whole-cohort files."""
    from ceneurovae.io import write_cohort

    ds, vocab = cohort
    folder = tmp_path_factory.mktemp("predict-nwb")
    trained.save(folder / "model.pt")
    write_cohort(folder / "one.h5", {"toy-00": ds["toy-00"]}, vocab)
    write_cohort(folder / "all.h5", ds, vocab)
    return folder


class TestCommand:
    def test_predict_writes_nwb_with_the_models_results_and_provenance(self, run_files, trained, tmp_path, capsys):
        need_pynwb()
        out = tmp_path / "out.nwb"
        argv = ["predict", str(run_files / "model.pt"), str(run_files / "one.h5"), "-o", str(out)]
        assert main(argv) == 0, capsys.readouterr().err
        rec = ceneurovae.import_h5(run_files / "one.h5")[0]["toy-00"]  # what predict read
        got = read_back(out)
        np.testing.assert_allclose(got["denoised"], trained.reconstruct(rec), atol=1e-5)
        np.testing.assert_allclose(got["from_behavior"], trained.from_behavior(rec), atol=1e-5)
        np.testing.assert_allclose(got["latents"], trained.latents(rec), atol=1e-5)
        imputed, names = trained.impute_identities(rec)
        np.testing.assert_allclose(got["imputed_identities"], imputed, atol=1e-5)
        assert got["identity_names"] == names == trained.vocabulary.names
        assert got["labels"] == list(rec.labels)
        assert got["identities"] == list(rec.labels)  # the toy's labels are its vocabulary's names
        np.testing.assert_allclose(got["timestamps"]["denoised"], rec.timestamps, atol=1e-9)
        prov = got["provenance"]
        assert prov["version"] == ceneurovae.__version__
        assert prov["checkpoint"] == str(run_files / "model.pt")
        assert prov["command"] == " ".join(["ceneurovae", *argv])
        assert yaml.safe_load(prov["config"]) == trained.config.to_dict()
        assert serious_inspector_messages(out) == []

    def test_several_animals_need_a_uid_in_the_name(self, run_files, tmp_path, capsys):
        need_pynwb()
        rc = main(["predict", str(run_files / "model.pt"), str(run_files / "all.h5"), "-o", str(tmp_path / "out.nwb")])
        err = capsys.readouterr().err
        assert rc == 2 and "an NWB file holds one animal, and the data hold 5" in err and "{uid}.nwb" in err
        assert not list(tmp_path.iterdir())
        rc = main(["predict", str(run_files / "model.pt"), str(run_files / "all.h5"), "-o",
                   str(tmp_path / "preds" / "{uid}.nwb")])
        assert rc == 0, capsys.readouterr().err
        written = sorted(p.name for p in (tmp_path / "preds").iterdir())
        assert written == [f"toy-{a:02d}.nwb" for a in range(5)]
        assert read_back(tmp_path / "preds" / "toy-03.nwb")["subject"] == "toy-03"

    def test_append_to_the_recordings_nwb_file(self, run_files, cohort, tmp_path, capsys):
        need_pynwb()
        source = tmp_path / "toy-00.nwb"
        write_recording_nwb(source, cohort[0]["toy-00"])
        before = source.read_bytes()
        out = tmp_path / "with-predictions.nwb"
        rc = main(["predict", str(run_files / "model.pt"), str(run_files / "one.h5"), "-o", str(out),
                   "--append-to", str(source)])
        assert rc == 0, capsys.readouterr().err
        assert source.read_bytes() == before
        got = read_back(out)
        assert got["modules"] == ["Behavior", "CalciumActivity", MODULE_NAME]
        assert got["denoised"].shape == (200, 17) and got["imputed_identities"].shape == (200, 20)
        assert serious_inspector_messages(out) == []
        # several animals cannot go into one recording's file
        rc = main(["predict", str(run_files / "model.pt"), str(run_files / "all.h5"), "-o",
                   str(tmp_path / "{uid}.nwb"), "--append-to", str(source)])
        assert rc == 2 and "predict one recording at a time" in capsys.readouterr().err

    @pytest.mark.parametrize("extra, message", [
        (["-o", "out-{uid}.h5"], "needs a name ending in .nwb"),
        (["-o", "out.h5", "--append-to", "rec.nwb"], "--append-to writes an NWB file"),
        (["-o", "out.nwb", "--append-to", "missing.nwb"], "--append-to missing.nwb: no such file"),
    ])
    def test_impossible_outputs_are_refused_before_the_model_loads(self, tmp_path, capsys, monkeypatch, extra,
                                                                   message):
        need_pynwb()
        monkeypatch.chdir(tmp_path)
        (tmp_path / "rec.nwb").write_bytes(b"")
        rc = main(["predict", "no-such-model.pt", "no-such-data.h5", *extra])
        assert rc == 2 and message in capsys.readouterr().err

    def test_without_pynwb_the_error_names_the_extra_before_any_work(self, tmp_path, capsys, monkeypatch):
        from ceneurovae import api

        monkeypatch.setitem(sys.modules, "pynwb", None)  # import pynwb raises ImportError

        def no_load(*a, **k):
            raise AssertionError("the model was loaded before the output was checked")

        monkeypatch.setattr(api, "load", no_load)
        rc = main(["predict", str(tmp_path / "model.pt"), str(tmp_path / "data.h5"), "-o", str(tmp_path / "o.nwb")])
        err = capsys.readouterr().err
        assert rc == 2 and "writing NWB needs pynwb: pip install 'ceneurovae[nwb]'" in err
        assert not list(tmp_path.iterdir())
