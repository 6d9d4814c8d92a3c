"""`ReadOptions` (the ``read`` settings), `read_recordings`, the CLI reading options, and the
format table (every row's detector recognizes what its writer writes)."""

import argparse
import dataclasses
import inspect

import h5py
import numpy as np
import pytest

from ceneurovae import Vocabulary
from ceneurovae.cli.options import add_read_options, read_options
from ceneurovae.errors import ConfigError
from ceneurovae.import_data import import_h5
from ceneurovae.io import (
    FORMAT_TABLE,
    FORMATS,
    ReadOptions,
    detect_format,
    find_sources,
    format_named,
    read_recordings,
    write_cohort,
    write_flavell,
    write_label_file,
    write_nwb,
    write_wormwideweb,
)
from ceneurovae.io.formats import FileView
from ceneurovae.io.nwb import LAYOUTS
from ceneurovae.io.options import CHOICES
from ceneurovae.settings import field_docs
from io_fixtures import make_recording

UIDS = ["2021-06-11-01", "2022-02-02-02"]


@pytest.fixture
def recs():
    return {uid: make_recording(uid, seed=k) for k, uid in enumerate(UIDS)}


@pytest.fixture
def h5_folder(tmp_path, recs):
    for rec in recs.values():
        write_flavell(tmp_path / "h5", rec)
    return tmp_path / "h5"


class TestReadOptions:
    def test_defaults_are_import_h5s(self):
        params = inspect.signature(import_h5).parameters
        for f in dataclasses.fields(ReadOptions):
            assert f.name in params, f.name
            assert f.default == params[f.name].default, f.name
        options = set(params) - {"path"}
        assert options == {f.name for f in dataclasses.fields(ReadOptions)}

    def test_kwargs_are_import_h5_keywords(self):
        kw = ReadOptions(dt=None, missing_behavior="mask").kwargs()
        inspect.signature(import_h5).bind("x", **kw)
        assert kw["dt"] is None and kw["missing_behavior"] == "mask"

    def test_every_field_documented(self):
        docs = field_docs(ReadOptions)
        assert set(docs) == {f.name for f in dataclasses.fields(ReadOptions)}
        assert ReadOptions.section == "read"

    @pytest.mark.parametrize("key, value", [
        ("min_confidence", -1.0), ("min_confidence", float("nan")), ("uncertain", "maybe"),
        ("vocabulary", "mine"), ("missing_behavior", "ignore"), ("head_curvature_positive", "up"),
        ("traces", "raw"), ("dt", 0.0), ("dt", "fast"), ("invalid_labels", "keep"),
        ("behaviors", ()), ("behaviors", ("velocity", "velocity")),
        ("head_angle_pos_is_ventral", {"a": "yes"}),
    ])
    def test_bad_value_names_the_key(self, key, value):
        with pytest.raises(ConfigError, match=rf"read\.{key} = "):
            ReadOptions(**{key: value})

    def test_from_dict_round_trip(self):
        opts = ReadOptions.from_dict({"behaviors": ["velocity"], "dt": 0.5, "min_confidence": None})
        assert opts.behaviors == ("velocity",) and opts.dt == 0.5 and opts.min_confidence is None
        assert ReadOptions.from_dict(opts.to_dict()) == opts
        with pytest.raises(ConfigError, match=r"read: unknown key"):
            ReadOptions.from_dict({"colour": "red"})

    def test_vocabulary_object_allowed(self):
        vocab = Vocabulary.from_atlas()
        assert ReadOptions(vocabulary=vocab).kwargs()["vocabulary"] is vocab


@pytest.mark.filterwarnings("ignore::ceneurovae.errors.DataWarning")
class TestReadRecordings:
    def test_one_path_and_a_list(self, h5_folder, recs):
        files = sorted(h5_folder.iterdir())
        one, vocab_one = read_recordings(h5_folder, ReadOptions(dt=None))
        listed, vocab_listed = read_recordings([str(f) for f in files], ReadOptions(dt=None))
        single, _ = read_recordings([files[0]], ReadOptions(dt=None))
        ref, ref_vocab = import_h5(h5_folder, dt=None)
        assert list(one) == list(listed) == list(ref) == UIDS
        assert list(single) == [UIDS[0]]
        assert list(vocab_one) == list(vocab_listed) == list(ref_vocab)

    def test_default_options_are_import_h5s(self, h5_folder):
        got, vocab = read_recordings(h5_folder)
        ref, ref_vocab = import_h5(h5_folder)
        assert list(got) == list(ref) and len(vocab) == len(ref_vocab)
        for uid in ref:
            assert (got[uid].traces == ref[uid].traces).all()


class TestCommandLine:
    def parse(self, *argv, **kw):
        parser = argparse.ArgumentParser()
        add_read_options(parser, **kw)
        return parser.parse_args(list(argv))

    def test_defaults_areoptions_defaults(self):
        assert read_options(self.parse()) == ReadOptions()
        assert read_options(self.parse(missing_default="mask")) == ReadOptions(missing_behavior="mask")

    def test_option_names_and_choices(self):
        parser = argparse.ArgumentParser()
        add_read_options(parser)
        by_dest = {a.dest: a for a in parser._actions}
        for name, allowed in CHOICES.items():
            action = by_dest[name]
            assert action.option_strings == ["--" + name.replace("_", "-")]
            assert list(action.choices) == list(allowed)
        assert by_dest["min_confidence"].option_strings == ["--min-confidence"]
        assert by_dest["dt"].default == "auto" and by_dest["labels"].default is None

    def test_values_reach_import_h5(self):
        args = self.parse("--behaviors", "velocity", "pumping", "--dt", "none", "--min-confidence", "3",
                          "--uncertain", "class", "--labels", "lab.json")
        kw = read_options(args).kwargs()
        assert kw["behaviors"] == ("velocity", "pumping") and kw["dt"] is None
        assert kw["min_confidence"] == 3.0 and kw["uncertain"] == "class" and kw["labels"] == "lab.json"
        assert read_options(self.parse("--dt", "0.5")).kwargs()["dt"] == 0.5

    def test_bad_dt(self):
        with pytest.raises(ConfigError, match="--dt 'fast' must be 'auto', 'none' or a number"):
            read_options(self.parse("--dt", "fast"))

    def test_every_reading_option_is_on_the_command_line(self):
        """Issue 23: the head-angle sign could be set only from Python."""
        parser = argparse.ArgumentParser()
        add_read_options(parser)
        dests = {a.dest for a in parser._actions}
        assert {f.name for f in dataclasses.fields(ReadOptions)} <= dests

    def test_head_angle_sign_per_recording(self, h5_folder):
        args = self.parse("--head-angle-pos-is-ventral", f"{UIDS[0]}=true", f"{UIDS[1]}=False")
        options = read_options(args)
        assert options.head_angle_pos_is_ventral == {UIDS[0]: True, UIDS[1]: False}
        flipped, _ = read_recordings(h5_folder, options)
        as_given, _ = read_recordings(h5_folder, dataclasses.replace(options, head_angle_pos_is_ventral={
            UIDS[0]: False, UIDS[1]: False}))
        j = flipped[UIDS[0]].behavior_names.index("head_curvature")
        np.testing.assert_allclose(flipped[UIDS[0]].behavior[:, j], -as_given[UIDS[0]].behavior[:, j])
        with pytest.raises(ConfigError, match="'AVAL' must be UID=true or UID=false"):
            read_options(self.parse("--head-angle-pos-is-ventral", "AVAL"))


def _write(fmt: str, tmp_path, recs):
    """One file of format `fmt`, written by the row's writer."""
    rec = recs[UIDS[0]]
    tmp_path.mkdir(parents=True, exist_ok=True)
    if fmt == "cohort":
        path = tmp_path / "cohort.h5"
        format_named(fmt).write(path, recs, Vocabulary.from_names(["AVAL", "AVAR", "RMDD", "VB2", "SMDDL",
                                                                  "RIS", "ASEL", "IL2L"]))
        return [path]
    if fmt == "flavell":
        return [format_named(fmt).write(tmp_path, rec)]
    if fmt == "wormwideweb":
        return [format_named(fmt).write(tmp_path / f"v{v}", rec, version=v) for v in (1, 2)]
    if fmt == "nwb":
        pytest.importorskip("pynwb")
        return [format_named(fmt).write(tmp_path / "r.nwb", rec, layout=layout) for layout in LAYOUTS]
    if fmt == "labels":
        path = tmp_path / "labels.json"
        format_named(fmt).write(path, recs)
        return [path]
    raise AssertionError(f"no test writer for format {fmt!r}: add one here")


class TestFormatTable:
    def test_names(self):
        assert FORMATS == tuple(f.name for f in FORMAT_TABLE) == ("nwb", "cohort", "flavell", "wormwideweb", "labels")
        with pytest.raises(Exception, match="unknown format"):
            format_named("csv")

    def test_writers_written_files_are_detected(self, tmp_path, recs):
        writers = {"cohort": write_cohort, "flavell": write_flavell, "wormwideweb": write_wormwideweb,
                   "labels": write_label_file, "nwb": write_nwb}
        for row in FORMAT_TABLE:
            assert row.write is writers[row.name]
            for path in _write(row.name, tmp_path / row.name, recs):
                assert detect_format(path) == row.name
                assert [s.format for s in find_sources(path)] == [row.name]
                if row.container == "hdf5":
                    with h5py.File(path, "r") as f:
                        view = FileView(path, hdf5=f)
                        hits = [r.name for r in FORMAT_TABLE if r.container == "hdf5" and r.detect(view)]
                else:
                    view = FileView(path, raw=path.read_bytes())
                    hits = [r.name for r in FORMAT_TABLE if r.container == "json" and r.detect(view)]
                assert hits[0] == row.name


def test_reporting_warnings_ends_and_shows_warnings_that_are_not_the_packages():
    """Issue 22: one warning that is not a DataWarning (numpy's, for an all-NaN neuron) made
    `info` and `convert` loop forever while showing it; in a subprocess with a time limit."""
    import subprocess
    import sys

    code = (
        "import warnings\n"
        "from ceneurovae.cli.options import read_reporting_warnings\n"
        "from ceneurovae.errors import DataWarning\n"
        "def f():\n"
        "    warnings.warn('from numpy', RuntimeWarning)\n"
        "    warnings.warn('from the package', DataWarning)\n"
        "    return 7\n"
        "print(read_reporting_warnings(f))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "7"
    assert "RuntimeWarning: from numpy" in res.stderr and "warning: from the package" in res.stderr
