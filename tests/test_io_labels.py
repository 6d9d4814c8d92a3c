"""Label files and the decisions that turn labels into identities."""

import json

import numpy as np
import pytest

from ceneurovae.errors import DataWarning, FormatError
from ceneurovae.io import (
    LabelEntry,
    assign_labels,
    import_h5,
    parse_label_dict,
    read_label_file,
    write_label_file,
)
from io_fixtures import make_recording


def entries(**rows):
    """{row: (label, confidence)} -> {row: LabelEntry}; rows given as r1=..., r2=..."""
    return {int(k[1:]): LabelEntry(lab, conf) for k, (lab, conf) in rows.items()}


class TestParseLabelDict:
    def test_entries_and_bare_strings(self):
        parsed = parse_label_dict({"1": {"label": "AVAL", "confidence": 4, "roi_id": 7}, "3": "RIS"})
        assert parsed[1] == LabelEntry("AVAL", 4.0, {"roi_id": 7})
        assert parsed[3] == LabelEntry("RIS")

    def test_key_not_a_row_number(self):
        with pytest.raises(FormatError, match=r"label key 'AVAL' is not a trace row number"):
            parse_label_dict({"AVAL": {"label": "AVAL"}})

    def test_entry_without_label(self):
        with pytest.raises(FormatError, match=r"key 'labels/2': label entry has no 'label' field \(fields: \['confidence'\]\)"):
            parse_label_dict({"2": {"confidence": 3}})

    def test_same_row_twice(self):
        with pytest.raises(FormatError, match="trace row 1 is labeled twice"):
            parse_label_dict({"1": "AVAL", "01": "AVAR"})

    def test_bad_confidence(self):
        with pytest.raises(FormatError, match=r"confidence must be a number, got 'high'"):
            parse_label_dict({"1": {"label": "AVAL", "confidence": "high"}})


class TestAssignLabels:
    def test_threshold_uncertain_padding(self):
        e = entries(r1=("AVAL", 5), r2=("SMDDL", 2.0), r3=("RMDD?", 4), r4=("vb2", 3), r5=("missing", None))
        a = assign_labels(e, 6)
        assert a.names == ["AVAL", "", "", "VB02", "", ""]
        assert a.raw == ["AVAL", "SMDDL", "RMDD?", "vb2", "missing", ""]
        assert a.report["below_confidence"] == [2] and a.report["uncertain"] == [3]
        assert a.report["placeholder"] == [5] and a.report["n_named"] == 2
        assert np.isnan(a.confidence[4]) and a.confidence[0] == 5

    def test_threshold_is_a_parameter(self):
        e = entries(r1=("SMDDL", 2.0))
        assert assign_labels(e, 1, min_confidence=1.5).names == ["SMDDL"]
        assert assign_labels(e, 1, min_confidence=None).names == ["SMDDL"]
        assert assign_labels(e, 1, min_confidence=2.5).names == [""]

    def test_uncertain_as_class(self):
        a = assign_labels(entries(r1=("RMDD?", 4), r2=("AVAL?", 4)), 2, uncertain="class")
        assert a.names == ["RMDD", "AVA"]

    def test_names_not_in_atlas_are_reported_and_kept(self):
        with pytest.warns(DataWarning, match=r"names not in the atlas of 302 neurons: \['XYZ1'\]"):
            a = assign_labels(entries(r1=("XYZ1", 4), r2=("AVAL", 4)), 2)
        assert a.names == ["XYZ1", "AVAL"] and a.report["not_in_atlas"] == ["XYZ1"]

    def test_duplicate_labels_within_an_animal(self):
        e = entries(r1=("AVAL", 4), r2=("RIS", 4), r4=("aval", 3))
        with pytest.warns(DataWarning, match=r"recording 'w1'.*AVAL on rows \[1, 4\].*left unknown"):
            a = assign_labels(e, 4, uid="w1")
        assert a.names == ["", "RIS", "", ""]
        assert a.report["duplicates"] == {"AVAL": [1, 4]}

    def test_duplicates_after_padding(self):
        with pytest.warns(DataWarning, match=r"VB02 on rows \[1, 2\]"):
            assign_labels(entries(r1=("VB2", 4), r2=("VB02", 4)), 2)

    def test_keys_beyond_the_neuron_count(self):
        e = entries(r3=("AVAL", 4), r140=("RIS", 4), r152=("AVAR", 4))
        with pytest.raises(FormatError, match=r"2 label keys \(140, 152\) lie outside the trace rows 1\.\.136 \(they look like ROI ids"):
            assign_labels(e, 136, path="x.json", uid="w")

    def test_keys_beyond_the_neuron_count_dropped_on_request(self):
        e = entries(r3=("AVAL", 4), r140=("RIS", 4))
        with pytest.warns(DataWarning, match="every label of this recording dropped"):
            a = assign_labels(e, 136, invalid="drop")
        assert not any(a.names) and "dropped" in a.report

    def test_zero_key_means_zero_based(self):
        with pytest.raises(FormatError, match="key 0 suggests 0-based keys"):
            assign_labels(entries(r0=("AVAL", 4)), 5)


class TestReadLabelFile:
    def test_uid_layout(self, tmp_path):
        p = tmp_path / "labels.json"
        p.write_text(json.dumps({"w1": {"1": {"label": "AVAL", "confidence": 4}}, "w2": {}}))
        out = read_label_file(p)
        assert out["w1"][1].label == "AVAL" and out["w2"] == {}

    def test_lab_neuropal_layout(self, tmp_path):
        p = tmp_path / "neuropal_label.json"
        p.write_text(json.dumps({"data": {"w1": {"roi_to_neuron": {"2": {"label": "RIS", "confidence": 5}},
                                                 "neuron_to_roi": {}}}, "metadata": {"blake": "x"}}))
        assert read_label_file(p)["w1"][2] == LabelEntry("RIS", 5.0)

    def test_not_a_label_file(self, tmp_path):
        p = tmp_path / "x.json"
        p.write_text(json.dumps({"a": 1}))
        with pytest.raises(FormatError, match=r"x\.json: not a label file"):
            read_label_file(p)

    def test_truncated(self, tmp_path):
        p = tmp_path / "x.json"
        p.write_text('{"w1": {"1": {"label": "AV')
        with pytest.raises(FormatError, match=r"x\.json: cannot read as JSON"):
            read_label_file(p)


class TestWriteLabelFile:
    def test_round_trip(self, tmp_path):
        rec = make_recording()
        write_label_file(tmp_path / "l.json", {rec.uid: rec})
        got = read_label_file(tmp_path / "l.json")[rec.uid]
        for i, lab in enumerate(rec.labels):
            if lab:
                assert got[i + 1].label == lab
                assert got[i + 1].confidence == rec.meta["label_confidence"][i]
            else:
                assert i + 1 not in got


class TestDamagedLabelFiles:
    """Issue 22: rows 0, -3 or abc gave "incomplete or damaged (found ['sim-000'])", naming
    neither the row nor the value; a 5000-digit confidence ended in a raw ValueError."""

    @pytest.fixture
    def folder(self, tmp_path):
        from ceneurovae.io import write_flavell

        write_flavell(tmp_path, make_recording("2021-01-01-01", T=40, N=6))
        return tmp_path

    @pytest.mark.parametrize("row, message", [
        ("0", "1 label keys (0) lie outside the trace rows 1..6 (key 0 suggests 0-based keys)"),
        ("-3", "1 label keys (-3) lie outside the trace rows 1..6 (a row number is never negative)"),
        ("abc", "label key 'abc' is not a trace row number"),
    ])
    def test_a_bad_row_is_named(self, folder, row, message):
        (folder / "labels.json").write_text(json.dumps({"2021-01-01-01": {row: {"label": "AVAL"}}}))
        with pytest.raises(FormatError) as err:
            import_h5(folder, missing_behavior="mask")
        assert message in str(err.value) and "labels.json" in str(err.value)

    def test_a_number_too_long_to_read(self, folder):
        (folder / "labels.json").write_text(
            '{"2021-01-01-01": {"1": {"label": "AVAL", "confidence": ' + "9" * 5000 + "}}}")
        with pytest.raises(FormatError, match="labels.json: a value cannot be read"):
            import_h5(folder, missing_behavior="mask")
