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
