"""Fuzzing: truncated or corrupted files of every format end in the package's own error.

Never a crash, never a bare KeyError/OSError from h5py or json, never a partial cohort: a
folder holding one damaged file is refused as a whole, or read whole when the damage hit
only numbers.
"""

import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ceneurovae import Vocabulary
from ceneurovae.errors import CeNeuroVAEError
from ceneurovae.import_data import import_h5
from ceneurovae.io import (
    write_cohort,
    write_flavell,
    write_label_file,
    write_nwb,
    write_wormwideweb,
)
from io_fixtures import make_recording

UIDS = ["2021-06-11-01", "2022-02-02-02"]
# Fixed examples (derandomize) so a run is repeatable; no "explain" phase, whose line tracing
# makes a failing case take minutes to report.
FUZZ = settings(
    max_examples=25, deadline=None, derandomize=True, database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


class Originals(tuple):
    def __repr__(self):  # hypothesis prints arguments of failing cases: keep it short
        return "<valid files of every format>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """name -> (file name, bytes) of one small valid file per format, plus a good neighbor."""
    root = tmp_path_factory.mktemp("orig")
    recs = {uid: make_recording(uid, T=40, N=6, seed=k) for k, uid in enumerate(UIDS)}
    out = {}
    p = write_flavell(root / "f", recs[UIDS[0]])
    out["flavell"] = (p.name, p.read_bytes())
    for v in (1, 2):
        p = write_wormwideweb(root / f"j{v}", recs[UIDS[0]], version=v)
        out[f"wormwideweb-v{v}"] = (p.name, p.read_bytes())
    write_cohort(root / "c.h5", {UIDS[0]: recs[UIDS[0]]}, Vocabulary(["AVAL", "RIS"]))
    out["cohort"] = ("c.h5", (root / "c.h5").read_bytes())
    write_label_file(root / "neuropal_labels.json", recs)
    out["labels"] = ("neuropal_labels.json", (root / "neuropal_labels.json").read_bytes())
    try:
        import pynwb  # noqa: F401
    except ImportError:
        pass
    else:
        p = Path(write_nwb(root / "r.nwb", recs[UIDS[0]]))
        out["nwb"] = (p.name, p.read_bytes())
    neighbor = write_flavell(root / "n", recs[UIDS[1]])
    return Originals((out, neighbor))


def read_damaged(originals, kind, damage):
    files, neighbor = originals
    if kind not in files:
        pytest.skip(f"no {kind} file: its writer needs an optional package")
    name, raw = files[kind]
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / name).write_bytes(damage(raw))
        shutil.copy(neighbor, folder / neighbor.name)  # a good animal beside the damaged file
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                datasets, _ = import_h5(folder, missing_behavior="mask", invalid_labels="error")
            except CeNeuroVAEError:
                return
        # Read whole or not at all: the damaged animal must be there (labels apply to both).
        expected = {UIDS[1]} if kind == "labels" else {UIDS[0], UIDS[1]}
        assert set(datasets) == expected
    finally:
        shutil.rmtree(folder)


KINDS = ["flavell", "cohort", "wormwideweb-v1", "wormwideweb-v2", "labels", "nwb"]


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(fraction=st.floats(0.0, 0.999))
def test_truncated_file(originals, kind, fraction):
    read_damaged(originals, kind, lambda raw: raw[: int(len(raw) * fraction)])


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, 255)), min_size=1, max_size=12))
def test_corrupted_bytes(originals, kind, flips):
    def damage(raw):
        data = bytearray(raw)
        for where, value in flips:
            data[int(where * len(data))] = value
        return bytes(data)

    read_damaged(originals, kind, damage)
