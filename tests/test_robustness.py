"""The fault suite: every damaged or hostile file of `ceneurovae.io.damage.cases` through the
reader and the commands that read files, each under a time limit. Each must end in the
outcome its case names (the package's error, a warning, or a correct read): never a raw
traceback, never a hang (issue 22). The case list lives in the package, beside the readers,
so that a new format adds its cases there; ``benchmarks/robustness.py`` prints the same runs
as a table."""

from __future__ import annotations

import pytest

from ceneurovae import import_h5
from ceneurovae.cli import run_captured
from ceneurovae.io.damage import UID, cases, command_outcome, outcome
from nwb_fixtures import need_pynwb

need_pynwb()
SIGN = f"{UID}=false"
CASES = cases()


def run_command(*argv: str):
    code, _, err = run_captured(list(argv))
    return command_outcome(code, err)


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_every_reader_and_command_gives_the_cases_outcome(case, tmp_path):
    path = case.make(tmp_path / "in")
    runs = {
        "import_h5": outcome(lambda: import_h5(path, head_angle_pos_is_ventral={UID: False})),
        "info": outcome(lambda: run_command("info", str(path), "--head-angle-pos-is-ventral", SIGN)),
        "convert": outcome(lambda: run_command("convert", str(path), "-o", str(tmp_path / "out.h5"),
                                               "--head-angle-pos-is-ventral", SIGN)),
    }
    for runner, (got, detail) in runs.items():
        assert got == case.expect, f"{runner}: {got} ({detail[:600]})"
        if got == "error" and runner == "import_h5":
            assert str(path.name) in detail or str(path) in detail, detail


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A tiny trained model, for the commands that take one."""
    import ceneurovae
    from toy import toy_cohort

    ds, _ = toy_cohort(n_animals=4, T=120)
    trained = ceneurovae.fit(ds, config={"train.epochs": 1, "model.hidden_dim": 16, "model.latent_dim": 2,
                                         "model.n_heads": 2, "model.behavior_history": 10, "data.window_T": 40,
                                         "data.stride": 40, "train.quiet": True}, seed=0)
    path = tmp_path_factory.mktemp("model") / "model.pt"
    trained.save(path)
    return path


ERRORS = [c for c in CASES if c.expect == "error"]


@pytest.mark.parametrize("case", ERRORS, ids=[c.label for c in ERRORS])
def test_the_commands_that_train_or_use_a_model_refuse_a_bad_file_first(case, tmp_path, model_file):
    """train, predict and evaluate read files through the same reader: a file that is the
    reader's error is theirs too, before any work, and train writes no run folder."""
    path = case.make(tmp_path / "in")
    run = tmp_path / "run"
    runs = {
        "train": outcome(lambda: run_command("train", "--data", str(path), "--out", str(run), "--quiet",
                                             "--head-angle-pos-is-ventral", SIGN)),
        "predict": outcome(lambda: run_command("predict", str(model_file), str(path), "-o", str(tmp_path / "p.h5"),
                                               "--head-angle-pos-is-ventral", SIGN)),
        "evaluate": outcome(lambda: run_command("evaluate", str(model_file), str(path),
                                                "--head-angle-pos-is-ventral", SIGN)),
    }
    for runner, (got, detail) in runs.items():
        assert got == "error", f"{runner}: {got} ({detail[:600]})"
    assert not (run / "config.yaml").exists() and not (tmp_path / "p.h5").exists()


def test_the_case_list_covers_every_format_that_holds_recordings():
    from ceneurovae.io import FORMAT_TABLE

    covered = {c.format.split("-")[0] for c in CASES}
    assert {f.name for f in FORMAT_TABLE} <= covered
    assert all(c.expect in ("error", "warning", "correct") for c in CASES)


def test_outcome_classes():
    import time
    import warnings

    from ceneurovae.errors import DataWarning, FormatError

    def warns():
        warnings.warn("changed", DataWarning, stacklevel=1)

    def raises_ours():
        raise FormatError("bad", path="f.h5")

    assert outcome(lambda: 1)[0] == "correct"
    assert outcome(warns) == ("warning", "changed")
    assert outcome(raises_ours)[0] == "error"
    assert outcome(lambda: {}["x"])[0] == "traceback"
    assert outcome(lambda: time.sleep(5), seconds=1)[0] == "hang"
