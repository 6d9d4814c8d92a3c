import numpy as np
import pytest

from ceneurovae.identity import UNKNOWN, Vocabulary, atlas, canonical_label, neuron_class


class TestAtlas:
    def test_has_the_302_hermaphrodite_neurons(self):
        a = atlas()
        assert len(a.names) == 302
        assert "AVAL" in a and "VB02" in a and "CANL" in a
        assert "VB2" not in a

    def test_class_members(self):
        a = atlas()
        assert a.members("AVA") == ["AVAL", "AVAR"]
        assert a.members("RMDD") == ["RMDDL", "RMDDR"]
        assert a.members("RIS") == ["RIS"]


class TestCanonicalLabel:
    @pytest.mark.parametrize(
        "raw, name, uncertain, in_atlas",
        [
            ("AVAL", "AVAL", False, True),
            (" avar\t", "AVAR", False, True),
            ("VB2", "VB02", False, True),
            ("VB02", "VB02", False, True),
            ("da9", "DA09", False, True),
            ("RMDD?", "RMDD", True, False),
            ("IL2L?", "IL2L", True, True),
            ("XYZ", "XYZ", False, False),
            ("", "", False, False),
        ],
    )
    def test_spellings(self, raw, name, uncertain, in_atlas):
        lab = canonical_label(raw)
        assert (lab.name, lab.uncertain, lab.in_atlas) == (name, uncertain, in_atlas)
        assert lab.raw == raw

    def test_padding_does_not_invent_names(self):
        # IL2 has no numbered members: padding must not turn it into something else
        assert canonical_label("IL2").name == "IL2"


class TestNeuronClass:
    @pytest.mark.parametrize(
        "name, cls",
        [("AVAL", "AVA"), ("RMDDR", "RMDD"), ("VB02", "VB02"), ("RIS", "RIS"),
         ("RMDD?", "RMDD"), ("IL2L", "IL2L"), ("IL2DL", "IL2D"), ("ASER", "ASER"), ("I1L", "I1")],
    )
    def test_lab_classes(self, name, cls):
        assert neuron_class(name) == cls


class TestVocabulary:
    def test_index_zero_is_unknown(self):
        v = Vocabulary(["AVAL", "AVAR"])
        assert v[0] == UNKNOWN and len(v) == 3
        assert v.index("AVAR") == 2

    def test_stable_order_whatever_the_input_order(self):
        a = Vocabulary.from_names(["AVAR", "FOO", "ADAL", "AVAL", "AVAL", ""])
        b = Vocabulary.from_names(["FOO", "AVAL", "ADAL", "AVAR"])
        assert a == b
        assert a.names == ["ADAL", "AVAL", "AVAR", "FOO"]  # atlas order, then the rest

    def test_encode_maps_missing_to_unknown(self):
        v = Vocabulary(["AVAL", "AVAR"])
        np.testing.assert_array_equal(v.encode(["AVAR", "", "XYZ", "AVAL"]), [2, 0, 0, 1])

    def test_rejects_duplicates(self):
        with pytest.raises(ValueError, match="'AVAL' appears twice"):
            Vocabulary(["AVAL", "AVAL"])

    def test_round_trip_through_list(self):
        v = Vocabulary.from_atlas()
        assert Vocabulary(v.to_list()) == v
        assert len(v) == 303

    def test_remap(self):
        a = Vocabulary(["AVAL", "AVAR"])
        b = Vocabulary(["AVAR", "RIS", "AVAL"])
        np.testing.assert_array_equal(a.remap_to(b), [0, 3, 1])

    def test_missing_name_error_names_it(self):
        with pytest.raises(KeyError, match="'RIS' is not in the vocabulary"):
            Vocabulary(["AVAL"]).index("RIS")
