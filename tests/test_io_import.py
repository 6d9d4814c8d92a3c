"""`import_h5` on every supported input, its options, and its bad-input paths."""

import json

import numpy as np
import pytest

from ceneurovae import Vocabulary
from ceneurovae.errors import ConfigError, DataWarning, FormatError
from ceneurovae.import_data import import_h5
from ceneurovae.io import write_cohort, write_flavell, write_label_file, write_wormwideweb
from io_fixtures import make_recording, real_data_folder

# What make_recording's labels become with the defaults (confidence >= 2.5, "?" unknown).
EXPECTED = ["AVAL", "AVAR", "", "VB02", "", "", "RIS", "", "ASEL", "", "IL2L", ""]
UIDS = ["2021-06-11-01", "2021-08-04-06", "2022-02-02-02"]  # two in the manifest, one not


def names_of(rec, vocab):
    return [vocab[i] if i else "" for i in rec.identity]


@pytest.fixture
def recs():
    return {uid: make_recording(uid, seed=k) for k, uid in enumerate(UIDS)}


@pytest.fixture
def flavell_folder(tmp_path, recs):
    folder = tmp_path / "h5"
    for rec in recs.values():
        write_flavell(folder, rec)
    return folder


SIGNS = {uid: False for uid in UIDS}


class TestImportH5Formats:
    def test_flavell_folder_with_labels_option(self, tmp_path, recs, flavell_folder):
        write_label_file(tmp_path / "labels.json", recs)
        datasets, vocab = import_h5(flavell_folder, labels=tmp_path / "labels.json", head_angle_pos_is_ventral=SIGNS)
        assert list(datasets) == UIDS
        assert vocab == Vocabulary.from_names(EXPECTED)  # atlas order, whatever the reading order
        for uid, rec in datasets.items():
            assert names_of(rec, vocab) == EXPECTED
            assert rec.labels == recs[uid].labels
            assert rec.meta["label_source"] == str(tmp_path / "labels.json")
            assert rec.meta["behavior_divisor"] == {"velocity": 0.0603, "head_curvature": 0.494, "pumping": 1.277,
                                                    "stimulus:heat": 1.0}
            np.testing.assert_allclose(rec.traces, recs[uid].traces, rtol=1e-6)
            np.testing.assert_allclose(rec.behavior[:, :3], recs[uid].behavior[:, :3], rtol=1e-6)
            assert rec.events == recs[uid].events

    def test_neuropal_labels_json_in_the_folder(self, recs, flavell_folder):
        write_label_file(flavell_folder / "neuropal_labels.json", recs)
        datasets, vocab = import_h5(flavell_folder, head_angle_pos_is_ventral=SIGNS)
        assert all(names_of(r, vocab) == EXPECTED for r in datasets.values())

    def test_names_from_matching_wormwideweb_files(self, recs, flavell_folder):
        for rec in recs.values():
            write_wormwideweb(flavell_folder, rec, version=2)
        datasets, vocab = import_h5(flavell_folder, head_angle_pos_is_ventral=SIGNS)
        assert list(datasets) == UIDS  # the JSON files lend names, not recordings
        assert all(r.meta["format"] == "flavell-h5" for r in datasets.values())
        assert all(names_of(r, vocab) == EXPECTED for r in datasets.values())

    @pytest.mark.parametrize("version", [1, 2])
    def test_wormwideweb_folder(self, tmp_path, recs, version):
        for rec in recs.values():
            write_wormwideweb(tmp_path, rec, version=version)
        datasets, vocab = import_h5(tmp_path)
        assert list(datasets) == UIDS
        for uid, rec in datasets.items():
            assert names_of(rec, vocab) == EXPECTED
            np.testing.assert_allclose(rec.traces, recs[uid].traces, rtol=1e-6)

    def test_list_of_cohort_and_folder_shares_one_vocabulary(self, tmp_path, recs, flavell_folder):
        first = dict(list(recs.items())[:1])
        extra = make_recording("2023-01-01-01", seed=9)
        vocab0 = Vocabulary(["RIS", "AVAL", "ZZZ"])
        extra = extra.replace(identity=np.array([2, 0, 1] + [0] * 9), labels=["AVAL", "", "RIS"] + [""] * 9)
        write_cohort(tmp_path / "c.h5", {extra.uid: extra}, vocab0)
        write_label_file(flavell_folder / "neuropal_labels.json", first)
        datasets, vocab = import_h5([tmp_path / "c.h5", flavell_folder], head_angle_pos_is_ventral=SIGNS)
        assert list(datasets) == ["2023-01-01-01", *UIDS]
        assert names_of(datasets["2023-01-01-01"], vocab)[:3] == ["AVAL", "", "RIS"]
        assert names_of(datasets[UIDS[0]], vocab) == EXPECTED
        assert "ZZZ" in vocab  # the cohort's identities survive the merge

    def test_single_cohort_keeps_its_vocabulary(self, tmp_path, recs):
        vocab0 = Vocabulary(["SMDDL", "AVAL"])
        write_cohort(tmp_path / "c.h5", recs, vocab0)
        _, vocab = import_h5(tmp_path / "c.h5")
        assert vocab == vocab0

    @pytest.mark.filterwarnings("ignore::ceneurovae.errors.DataWarning")
    def test_real_folder(self):
        folder = real_data_folder()
        if folder is None:
            pytest.skip("the real format-1 files are not in ../shared/data/real")
        with pytest.warns(DataWarning, match=r"resampled 1 of 2 recordings.*2022-01-16-01 \(0\.73"):
            datasets, vocab = import_h5(folder)
        assert list(datasets) == ["2022-01-16-01", "2022-05-02-01"]
        assert {round(r.dt, 3) for r in datasets.values()} == {round(datasets["2022-05-02-01"].dt, 3)}
        assert datasets["2022-05-02-01"].n_frames == 1137 and len(vocab) == 1


class TestImportH5Labels:
    @pytest.fixture
    def folder(self, tmp_path, recs, flavell_folder):
        write_label_file(flavell_folder / "neuropal_labels.json", recs)
        return flavell_folder

    def test_uncertain_as_class(self, folder):
        datasets, vocab = import_h5(folder, uncertain="class", head_angle_pos_is_ventral=SIGNS)
        assert names_of(datasets[UIDS[0]], vocab)[2] == "RMDD"

    def test_lower_threshold(self, folder):
        datasets, vocab = import_h5(folder, min_confidence=1.0, head_angle_pos_is_ventral=SIGNS)
        assert names_of(datasets[UIDS[0]], vocab)[5] == "SMDDL"

    def test_atlas_vocabulary(self, folder):
        datasets, vocab = import_h5(folder, vocabulary="atlas", head_angle_pos_is_ventral=SIGNS)
        assert len(vocab) == 303 and names_of(datasets[UIDS[0]], vocab) == EXPECTED

    def test_given_vocabulary_reports_names_outside(self, folder):
        given = Vocabulary(["AVAL", "RIS"])
        with pytest.warns(DataWarning, match=r"4 names are not in the vocabulary.*ASEL \(3\)"):
            datasets, vocab = import_h5(folder, vocabulary=given, head_angle_pos_is_ventral=SIGNS)
        assert vocab is given and datasets[UIDS[0]].n_labeled == 2

    def test_label_keys_beyond_neuron_count(self, tmp_path, recs):
        path = write_wormwideweb(tmp_path, recs[UIDS[0]], version=2)
        obj = json.loads(path.read_text())
        obj["label"]["140"] = {"label": "AVBL", "confidence": 4}
        path.write_text(json.dumps(obj))
        with pytest.raises(FormatError, match=r"label keys \(140\) lie outside the trace rows 1\.\.12.*invalid_labels='drop'"):
            import_h5(path)
        with pytest.warns(DataWarning, match="every label of this recording dropped"):
            datasets, _ = import_h5(path, invalid_labels="drop")
        assert datasets[UIDS[0]].n_labeled == 0

    def test_labels_for_unknown_uids_are_reported(self, tmp_path, recs, folder):
        write_label_file(tmp_path / "more.json", {"nobody": recs[UIDS[0]]})
        with pytest.warns(DataWarning, match=r"more\.json: labels for 1 uids match no recording read.*nobody"):
            import_h5(folder, labels=tmp_path / "more.json", head_angle_pos_is_ventral=SIGNS)


class TestImportH5Behavior:
    @pytest.fixture
    def folder(self, tmp_path, recs):
        rec = recs[UIDS[1]]
        no_pumping = rec.replace(behavior_mask=rec.behavior_mask & np.array([True, True, False, True, True]))
        write_flavell(tmp_path, recs[UIDS[0]])
        write_flavell(tmp_path, no_pumping)
        return tmp_path

    def test_missing_behavior_error(self, folder):
        with pytest.raises(FormatError, match=r"2021-08-04-06-data\.h5, key 'behavior/pumping'.*lacks the requested behaviors \['pumping'\]"):
            import_h5(folder)

    def test_missing_behavior_drop(self, folder):
        with pytest.warns(DataWarning, match=r"left out 1 of 2 recordings.*2021-08-04-06 lacks \['pumping'\]"):
            datasets, _ = import_h5(folder, missing_behavior="drop")
        assert list(datasets) == [UIDS[0]]

    def test_missing_behavior_mask(self, folder):
        with pytest.warns(DataWarning, match=r"kept 1 recordings with the missing channels masked"):
            datasets, _ = import_h5(folder, missing_behavior="mask")
        rec = datasets[UIDS[1]]
        assert not rec.behavior_mask[:, 2].any() and (rec.behavior[:, 2] == 0).all()

    def test_behavior_selection_and_order(self, folder, recs):
        datasets, _ = import_h5(folder, behaviors=["angular_velocity", "velocity"], head_angle_pos_is_ventral=SIGNS)
        rec = datasets[UIDS[0]]
        assert rec.behavior_names == ["angular_velocity", "velocity", "stimulus:heat"]
        np.testing.assert_allclose(rec.behavior[:, :2], recs[UIDS[0]].behavior[:, [3, 0]], rtol=1e-6)

    def test_head_sign_from_manifest(self, tmp_path, recs):
        rec = recs[UIDS[0]]  # the manifest says positive head angle is ventral for this uid
        write_flavell(tmp_path, rec, head_angle_pos_is_ventral=True)
        datasets, _ = import_h5(tmp_path)
        np.testing.assert_allclose(datasets[rec.uid].behavior[:, 1], rec.behavior[:, 1], rtol=1e-6)
        datasets, _ = import_h5(tmp_path, head_curvature_positive="as_read")
        np.testing.assert_allclose(datasets[rec.uid].behavior[:, 1], -rec.behavior[:, 1], rtol=1e-6)

    def test_different_time_steps_are_resampled(self, tmp_path):
        write_flavell(tmp_path, make_recording("2021-06-11-01", dt=0.6))
        write_flavell(tmp_path, make_recording("2021-08-04-06", dt=0.6, seed=1))
        write_flavell(tmp_path, make_recording("2021-08-17-01", dt=0.75, seed=2))
        with pytest.warns(DataWarning, match=r"resampled 1 of 3 recordings.*2021-08-17-01"):
            datasets, _ = import_h5(tmp_path)
        assert datasets["2021-08-17-01"].dt == pytest.approx(0.6, rel=0.01)
        assert datasets["2021-08-17-01"].n_frames > 120
        with pytest.warns(DataWarning, match="time steps differ between recordings"):
            datasets, _ = import_h5(tmp_path, dt=None)
        assert datasets["2021-08-17-01"].n_frames == 120

    def test_same_animal_twice(self, tmp_path, recs):
        write_flavell(tmp_path / "a", recs[UIDS[0]])
        write_wormwideweb(tmp_path / "b", recs[UIDS[0]], version=1)
        write_flavell(tmp_path / "c", recs[UIDS[0]])
        # A WormWideWeb file of an animal read from HDF5 only lends its labels...
        datasets, _ = import_h5([tmp_path / "a", tmp_path / "b"], head_angle_pos_is_ventral=SIGNS)
        assert list(datasets) == [UIDS[0]] and datasets[UIDS[0]].n_labeled == 6
        # ... but the same recording read twice is refused.
        with pytest.raises(FormatError, match=r"recording '2021-06-11-01' appears twice: in .*a/2021-06-11-01-data\.h5 and in .*c/2021-06-11-01-data\.h5"):
            import_h5([tmp_path / "a", tmp_path / "c"], head_angle_pos_is_ventral=SIGNS)


class TestImportH5Options:
    @pytest.mark.parametrize(
        "option, message",
        [
            ({"missing_behavior": "skip"}, r"missing_behavior='skip' is not one of 'error', 'drop', 'mask'"),
            ({"uncertain": "guess"}, r"uncertain='guess' is not one of 'unknown', 'class'"),
            ({"vocabulary": "mine"}, r"vocabulary='mine' is not one of 'data', 'atlas'"),
            ({"head_curvature_positive": "up"}, r"head_curvature_positive='up' is not one of 'dorsal'"),
            ({"traces": "raw"}, r"traces='raw' is not one of 'zscored', 'original', 'f20', 'fmean'"),
            ({"dt": 0}, r"dt=0 must be 'auto', None or a positive number"),
            ({"dt": "fast"}, r"dt='fast' must be"),
            ({"min_confidence": -1}, r"min_confidence=-1 must be a number >= 0"),
            ({"behaviors": []}, r"behaviors must be a non-empty list"),
            ({"behaviors": ["velocity", "velocity"]}, r"behaviors lists \['velocity'\] more than once"),
            ({"invalid_labels": "fix"}, r"invalid_labels='fix' is not one of 'error', 'drop'"),
            ({"head_angle_pos_is_ventral": {"a": "yes"}}, r"head_angle_pos_is_ventral must map uid -> True/False"),
            ({"labels": "/no/such/labels.json"}, r"labels='/no/such/labels.json': no such file or folder"),
        ],
    )
    def test_bad_option_is_refused_before_reading(self, tmp_path, option, message):
        with pytest.raises(ConfigError, match=message):
            import_h5(tmp_path / "never-read", **option)

    def test_missing_input(self, tmp_path):
        with pytest.raises(FormatError, match=r"nope: no such file or folder"):
            import_h5(tmp_path / "nope")


class TestImportH5Cohort:
    def test_head_sign_option_applies_to_cohorts(self, tmp_path, recs):
        vocab = Vocabulary([])
        write_cohort(tmp_path / "c.h5", recs, vocab)
        dorsal, _ = import_h5(tmp_path / "c.h5")
        ventral, _ = import_h5(tmp_path / "c.h5", head_curvature_positive="ventral")
        for uid in recs:
            np.testing.assert_allclose(ventral[uid].behavior[:, 1], -dorsal[uid].behavior[:, 1])
            np.testing.assert_allclose(ventral[uid].behavior[:, 0], dorsal[uid].behavior[:, 0])
            assert ventral[uid].meta["head_curvature_positive"] == "ventral"

    def test_convert_round_trip_keeps_labels_and_report(self, tmp_path, recs, flavell_folder):
        write_label_file(flavell_folder / "neuropal_labels.json", recs)
        first, vocab = import_h5(flavell_folder, head_angle_pos_is_ventral=SIGNS)
        write_cohort(tmp_path / "c.h5", first, vocab)
        back, vocab2 = import_h5(tmp_path / "c.h5")
        assert vocab2 == vocab
        for uid, rec in first.items():
            assert back[uid].labels == rec.labels
            np.testing.assert_array_equal(back[uid].identity, rec.identity)
            assert back[uid].meta["label_report"] == rec.meta["label_report"]
            assert back[uid].meta["format"] == "cohort" and back[uid].meta["source_format"] == "flavell-h5"
