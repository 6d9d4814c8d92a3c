"""Format detection for files, folders and lists of paths."""

import json

import h5py
import numpy as np
import pytest

from ceneurovae import Vocabulary
from ceneurovae.errors import DataWarning, FormatError
from ceneurovae.io import (
    detect_format,
    find_sources,
    write_cohort,
    write_flavell,
    write_label_file,
    write_wormwideweb,
)
from io_fixtures import make_recording


@pytest.fixture
def files(tmp_path):
    rec = make_recording(uid="w1")
    out = {
        "flavell": write_flavell(tmp_path / "f", rec),
        "v1": write_wormwideweb(tmp_path / "j1", rec, version=1),
        "v2": write_wormwideweb(tmp_path / "j2", rec, version=2),
        "cohort": tmp_path / "c.h5",
        "labels": tmp_path / "labels.json",
    }
    write_cohort(out["cohort"], {"w1": rec}, Vocabulary([]))
    write_label_file(out["labels"], {"w1": rec})
    return out


class TestDetectFormat:
    @pytest.mark.parametrize(
        "name, fmt",
        [("flavell", "flavell"), ("v1", "wormwideweb"), ("v2", "wormwideweb"), ("cohort", "cohort"), ("labels", "labels")],
    )
    def test_each_format(self, files, name, fmt):
        assert detect_format(files[name]) == fmt

    def test_empty(self, tmp_path):
        (tmp_path / "a.h5").write_bytes(b"")
        with pytest.raises(FormatError, match=r"a\.h5: the file is empty"):
            detect_format(tmp_path / "a.h5")

    def test_truncated_hdf5(self, files):
        data = files["cohort"].read_bytes()
        files["cohort"].write_bytes(data[: len(data) // 3])
        with pytest.raises(FormatError, match="cannot open as HDF5: truncated"):
            detect_format(files["cohort"])

    def test_foreign_hdf5(self, tmp_path):
        with h5py.File(tmp_path / "x.h5", "w") as f:
            f["something"] = np.zeros(3)
        with pytest.raises(FormatError, match=r"HDF5 file in no supported layout: top-level keys \['something'\]"):
            detect_format(tmp_path / "x.h5")

    def test_foreign_json(self, tmp_path):
        (tmp_path / "x.json").write_text(json.dumps({"a": [1, 2]}))
        with pytest.raises(FormatError, match=r"JSON file in no supported layout \(found \['a'\]\)"):
            detect_format(tmp_path / "x.json")

    def test_neither(self, tmp_path):
        (tmp_path / "x.txt").write_text("hello")
        with pytest.raises(FormatError, match="neither HDF5 nor JSON"):
            detect_format(tmp_path / "x.txt")

    def test_missing(self, tmp_path):
        with pytest.raises(FormatError, match="no such file or folder"):
            detect_format(tmp_path / "nope.h5")


class TestFindSources:
    def test_folder_with_no_recognizable_file(self, tmp_path):
        (tmp_path / "notes.txt").write_text("x")
        (tmp_path / "sub").mkdir()
        with pytest.raises(FormatError, match=r"folder holds no recognizable file: found \[notes\.txt, sub/\]"):
            find_sources(tmp_path)

    def test_empty_folder(self, tmp_path):
        with pytest.raises(FormatError, match=r"found \[nothing\]"):
            find_sources(tmp_path)

    def test_folder_with_only_labels(self, tmp_path, files):
        folder = tmp_path / "only"
        folder.mkdir()
        (folder / "l.json").write_text(files["labels"].read_text())
        with pytest.raises(FormatError, match="folder holds only label files"):
            find_sources(folder)

    def test_foreign_files_in_a_folder_are_skipped_with_a_warning(self, files):
        folder = files["flavell"].parent
        (folder / "config.json").write_text(json.dumps({"lr": 1}))
        (folder / "README.md").write_text("hi")
        with pytest.warns(DataWarning, match=r"skipped 1 files in no supported layout: config\.json"):
            sources = find_sources(folder)
        assert [s.format for s in sources] == ["flavell"]

    def test_truncated_file_in_a_folder_is_an_error(self, files):
        folder = files["flavell"].parent
        (folder / "b-data.h5").write_bytes(files["flavell"].read_bytes()[:1000])
        with pytest.raises(FormatError, match=r"b-data\.h5: cannot open as HDF5"):
            find_sources(folder)

    def test_list_keeps_order_and_drops_repeats(self, files):
        sources = find_sources([files["v2"], files["cohort"], files["v2"]])
        assert [s.format for s in sources] == ["wormwideweb", "cohort"]


class TestDamagedLayouts:
    def test_hdf5_with_some_of_our_keys_is_damaged_not_foreign(self, tmp_path):
        with h5py.File(tmp_path / "x.h5", "w") as f:
            f["behavior/velocity"] = np.zeros(3)
        with pytest.raises(FormatError, match=r"x\.h5: incomplete or damaged: top-level keys \['behavior'\]"):
            find_sources(tmp_path)

    def test_json_recording_without_traces_is_damaged_not_foreign(self, tmp_path):
        (tmp_path / "w.json").write_text(json.dumps({"velocity": [1, 2], "uid": "w"}))
        with pytest.raises(FormatError, match=r"w\.json: incomplete or damaged"):
            find_sources(tmp_path)
