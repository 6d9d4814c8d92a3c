"""``ceneurovae convert`` and ``ceneurovae info`` through the real console script."""

import pytest

from ceneurovae.import_data import import_h5
from ceneurovae.io import write_flavell, write_label_file, write_wormwideweb
from conftest import run_cli
from io_fixtures import make_recording

UIDS = ["2021-06-11-01", "2022-02-02-02"]


@pytest.fixture
def folder(tmp_path):
    recs = {uid: make_recording(uid, seed=k) for k, uid in enumerate(UIDS)}
    for rec in recs.values():
        write_flavell(tmp_path / "h5", rec)
    write_label_file(tmp_path / "labels.json", recs)
    return tmp_path


class TestConvert:
    def test_writes_a_cohort_and_prints_the_table(self, folder):
        out = folder / "cohort.h5"
        res = run_cli("convert", folder / "h5", "-o", out, "--labels", folder / "labels.json")
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert lines[0].split() == ["animal", "format", "frames", "neurons", "labeled", "behaviors", "dt", "(s)"]
        assert lines[2].split()[:5] == ["2021-06-11-01", "flavell-h5", "120", "12", "6"]
        assert "2 animals, 240 frames" in res.stdout and f"wrote {out}" in res.stdout
        assert "warning: " in res.stderr and "not in the Atanas & Kim 2023 manifest" in res.stderr
        datasets, vocab = import_h5(out)
        assert list(datasets) == UIDS and len(vocab) == 7
        assert datasets[UIDS[0]].n_labeled == 6

    def test_behaviors_option(self, folder):
        out = folder / "cohort.h5"
        res = run_cli("convert", folder / "h5", "-o", out, "--behaviors", "velocity", "angular_velocity")
        assert res.returncode == 0, res.stderr
        assert "velocity,angular_velocity" in res.stdout

    def test_bad_input_exits_2_with_the_message(self, tmp_path):
        (tmp_path / "notes.txt").write_text("x")
        res = run_cli("convert", tmp_path, "-o", tmp_path / "c.h5")
        assert res.returncode == 2
        assert "folder holds no recognizable file: found [notes.txt]" in res.stderr
        assert not (tmp_path / "c.h5").exists()

    def test_bad_option_exits_2(self, folder):
        res = run_cli("convert", folder / "h5", "-o", folder / "c.h5", "--dt", "fast")
        assert res.returncode == 2 and "--dt 'fast' must be 'auto', 'none' or a number" in res.stderr


class TestInfo:
    def test_any_supported_input(self, folder):
        write_wormwideweb(folder / "json", make_recording("2023-03-03-03"), version=2)
        res = run_cli("info", folder / "json")
        assert res.returncode == 0, res.stderr
        assert "wormwideweb" in res.stdout and "2023-03-03-03  wormwideweb-v2" in res.stdout
        assert "1 animals, 120 frames" in res.stdout

    def test_missing_behavior_is_shown_not_fatal(self, folder):
        rec = make_recording("2021-09-09-09", behaviors=["velocity", "head_curvature"])
        write_flavell(folder / "h5", rec)
        res = run_cli("info", folder / "h5")
        assert res.returncode == 0, res.stderr
        assert "velocity,head_curvature,pumping(missing)" in res.stdout
