"""Damaged and hostile files of every format, each with the outcome a reader owes it.

This is the case list of the fault suite (``tests/test_robustness.py``) and of
``benchmarks/robustness.py``: one place, so a new format adds its cases here. Each `Case`
writes one file into a folder and names the outcome class reading it must have:

=============  =====================================================================
``error``      the package's error (`CeNeuroVAEError`) naming the file
``warning``    recordings read, with a `DataWarning` saying what was done
``correct``    recordings read, no warning
=============  =====================================================================

`outcome` runs any call under a time limit and classifies what happened, adding the two
classes no case may ever get: ``traceback`` (any other exception) and ``hang``.
"""

from __future__ import annotations

import json
import signal
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import CeNeuroVAEError, DataWarning
from ..identity import Vocabulary
from ..recording import Recording
from .cohort import write_cohort
from .flavell import write_flavell
from .nwb import write_nwb
from .wormwideweb import write_wormwideweb

__all__ = ["CLASSES", "Case", "cases", "command_outcome", "outcome", "valid_recording"]

CLASSES = ("error", "warning", "correct", "traceback", "hang")
UID = "2022-06-14-01"
LABELS = ["AVAL", "AVAR", "RIS", "", "SMDVL", "", "ASEL", ""]

# Where each format keeps its traces (a dataset in HDF5 formats, a key path in JSON ones).
TRACE_KEY = {
    "flavell": "gcamp/trace_array",
    "cohort": f"data/{UID}/X",
    "nwb": "processing/CalciumActivity/SignalCalciumImResponseSeries/data",
    "wormwideweb-v1": ("trace_array",),
    "wormwideweb-v2": ("gcamp", "trace_array"),
}
TIME_KEY = {
    "flavell": "timing/timestamp_confocal",
    "cohort": f"data/{UID}/timestamps",
    "nwb": "processing/CalciumActivity/SignalCalciumImResponseSeries/timestamps",
    "wormwideweb-v1": ("timestamp_confocal",),
    "wormwideweb-v2": ("timing", "timestamp_confocal"),
}
FORMATS = tuple(TRACE_KEY)


def valid_recording(T: int = 60, N: int = 8, seed: int = 0) -> Recording:
    """A small clean recording with labels (synthetic, z-scored traces, 0.6 s frames)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, N))
    x = (x - x.mean(0)) / x.std(0, ddof=1)
    b = rng.normal(size=(T, 3)) * [0.06, 0.5, 1.3]
    ts = 100.0 + np.arange(T) * 0.6
    return Recording(uid=UID, traces=x, behavior=b, behavior_names=["velocity", "head_curvature", "pumping"],
                     timestamps=ts, labels=(LABELS * (N // len(LABELS) + 1))[:N],
                     meta={"label_confidence": [4.0] * N})


@dataclass(frozen=True)
class Case:
    """One file to read and the outcome it must get."""

    format: str
    name: str
    expect: str
    make: Callable[[Path], Path]
    """Writes the file into a folder; returns its path."""

    @property
    def label(self) -> str:
        return f"{self.format}: {self.name}"


def _write_valid(fmt: str, folder: Path) -> Path:
    rec = valid_recording()
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "flavell":
        path = write_flavell(folder, rec, head_angle_pos_is_ventral=False)
        return Path(path)
    if fmt == "cohort":
        vocab = Vocabulary.from_names([lab for lab in LABELS if lab])
        rec = rec.replace(identity=vocab.encode(rec.labels), vocabulary=vocab)
        write_cohort(folder / "cohort.h5", {UID: rec}, vocab)
        return folder / "cohort.h5"
    if fmt == "nwb":
        return Path(write_nwb(folder / f"sub-{UID}.nwb", rec))
    version = 1 if fmt.endswith("v1") else 2
    return Path(write_wormwideweb(folder / f"v{version}", rec, version=version))


def _hdf5_edit(fmt: str, key_of: dict, change: Callable[[h5py.File, str], None]):
    def make(folder: Path) -> Path:
        path = _write_valid(fmt, folder)
        with h5py.File(path, "a") as f:
            change(f, key_of[fmt])
        return path
    return make


def _replace(f: h5py.File, key: str, values) -> None:
    del f[key]
    f[key] = values


def _array_change(fn: Callable[[np.ndarray], np.ndarray]):
    return lambda f, key: _replace(f, key, fn(f[key][()]))


def _json_edit(fmt: str, key_of: dict, change: Callable[[list], object]):
    def make(folder: Path) -> Path:
        path = _write_valid(fmt, folder)
        obj = json.loads(path.read_text())
        *parents, last = key_of[fmt]
        holder = obj
        for k in parents:
            holder = holder[k]
        holder[last] = change(holder[last])
        # json cannot build a structure nested deeper than Python's recursion limit: splice it as text
        path.write_text(json.dumps(obj).replace(f'"{_DEEP}"', "[" * 100_000 + "]" * 100_000))
        return path
    return make


_DEEP = "<nested 100000 levels deep>"


def _bytes_edit(fmt: str, change: Callable[[bytes], bytes]):
    def make(folder: Path) -> Path:
        path = _write_valid(fmt, folder)
        path.write_bytes(change(path.read_bytes()))
        return path
    return make


def _huge(f: h5py.File, key: str) -> None:
    shape = f[key].shape
    del f[key]
    big = (shape[0], 50_000_000) if shape[0] == 60 else (50_000_000, shape[1])
    f.create_dataset(key, shape=big, dtype="f4", chunks=(1, 4096) if shape[0] == 60 else (4096, 1))


def _first(values, value):
    out = np.array(values, dtype=np.float64)
    out.flat[0] = value
    return out


def _hostile_labels(entries: dict) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = _write_valid("flavell", folder)
        (folder / "labels.json").write_text(json.dumps({UID: entries}) if isinstance(entries, dict) else entries)
        return path.parent
    return make


HDF5_EDITS = [
    ("traces of booleans", "error", _array_change(lambda a: a > 0), TRACE_KEY),
    ("traces of text", "error", _array_change(lambda a: a.astype("S8")), TRACE_KEY),
    ("traces of complex numbers", "error", _array_change(lambda a: a.astype(np.complex64) * (1 + 1j)), TRACE_KEY),
    ("traces 1-D", "error", _array_change(lambda a: a.reshape(-1)), TRACE_KEY),
    ("traces one frame short", "error", _array_change(lambda a: a[:-1, :-1]), TRACE_KEY),
    ("a value of 1e300", "error", _array_change(lambda a: _first(a, 1e300)), TRACE_KEY),
    ("a NaN value", "warning", _array_change(lambda a: _first(a, np.nan)), TRACE_KEY),
    ("an infinite value", "warning", _array_change(lambda a: _first(a, np.inf)), TRACE_KEY),
    ("a declared size of 200 GB", "error", _huge, TRACE_KEY),
    ("timestamps going back", "error", _array_change(lambda a: a[::-1].copy()), TIME_KEY),
    ("timestamps in 1e-300 s", "error", _array_change(lambda a: (a - a[0]) * 1e-300), TIME_KEY),
    ("timestamps in 1e7 s", "error", _array_change(lambda a: (a - a[0]) * 1e7), TIME_KEY),
]
"""Edits of an HDF5 format's file: (case name, outcome, edit of the open file at a key, key per format)."""

JSON_EDITS = [
    ("traces of booleans", "error", lambda rows: [[v > 0 for v in r] for r in rows], TRACE_KEY),
    ("traces of text", "error", lambda rows: [[str(v) for v in r] for r in rows], TRACE_KEY),
    ("traces ragged", "error", lambda rows: [rows[0][:-1], *rows[1:]], TRACE_KEY),
    ("traces not a list", "error", lambda rows: "1.5", TRACE_KEY),
    ("a value of 1e300", "error", lambda rows: [[1e300, *rows[0][1:]], *rows[1:]], TRACE_KEY),
    ("a missing value (null)", "warning", lambda rows: [[None, *rows[0][1:]], *rows[1:]], TRACE_KEY),
    ("one frame", "error", lambda rows: [r[:1] for r in rows], TRACE_KEY),
    ("nested 100000 levels deep", "error", lambda rows: _DEEP, TRACE_KEY),
    ("timestamps going back", "error", lambda ts: ts[::-1], TIME_KEY),
    ("timestamps in 1e7 s", "error", lambda ts: [(t - ts[0]) * 1e7 for t in ts], TIME_KEY),
]
"""Edits of a JSON format's file: (case name, outcome, new value from the old one, key path per format)."""


def cases() -> list[Case]:
    """Every case, format by format (each format's valid file first)."""
    out: list[Case] = []
    for fmt in FORMATS:
        hdf5 = fmt in ("flavell", "cohort", "nwb")
        out.append(Case(fmt, "valid", "correct", lambda folder, fmt=fmt: _write_valid(fmt, folder)))
        out += [
            Case(fmt, "empty", "error", _bytes_edit(fmt, lambda raw: b"")),
            Case(fmt, "truncated to half", "error", _bytes_edit(fmt, lambda raw: raw[: len(raw) // 2])),
            Case(fmt, "garbage bytes", "error", _bytes_edit(fmt, lambda raw: bytes(range(256)) * 4)),
        ]
        if hdf5:
            out += [Case(fmt, name, expect, _hdf5_edit(fmt, key_of, fn)) for name, expect, fn, key_of in HDF5_EDITS]
        else:
            out += [Case(fmt, name, expect, _json_edit(fmt, key_of, fn)) for name, expect, fn, key_of in JSON_EDITS]
    # Label files beside format-1 files: hostile names and numbers.
    out += [
        Case("labels", "valid", "correct", _hostile_labels({"1": {"label": "AVAL", "confidence": 4}})),
        Case("labels", "HTML in a name", "warning",
             _hostile_labels({"1": {"label": "<script>alert(1)</script>", "confidence": 4}})),
        Case("labels", "a name of 10000 characters", "warning", _hostile_labels({"1": {"label": "A" * 10000}})),
        Case("labels", "a 5000-digit confidence", "error",
             _hostile_labels('{"' + UID + '": {"1": {"label": "AVAL", "confidence": ' + "9" * 5000 + "}}}")),
        Case("labels", "row 0", "error", _hostile_labels({"0": {"label": "AVAL"}})),
        Case("labels", "row -3", "error", _hostile_labels({"-3": {"label": "AVAL"}})),
        Case("labels", "row abc", "error", _hostile_labels({"abc": {"label": "AVAL"}})),
        Case("labels", "a label that is a number", "error", _hostile_labels({"1": {"label": 5}})),
        Case("labels", "a confidence that is text", "error", _hostile_labels({"1": {"label": "AVAL", "confidence": "high"}})),
        Case("labels", "a name given twice", "warning",
             _hostile_labels({"1": {"label": "AVAL"}, "2": {"label": "AVAL"}})),
    ]
    return out


def command_outcome(code: int, stderr: str) -> tuple[str, str]:
    """The class of a command's run from its exit code and standard error: 2 with the
    package's ``error:`` line is an error; 0 a warning when it printed ``warning:`` lines, else
    correct; anything else a traceback."""
    if code == 2 and "error:" in stderr:
        return "error", stderr
    if code == 0:
        return ("warning", stderr) if "warning:" in stderr else ("correct", "")
    return "traceback", f"exit {code}: {stderr[-400:]}"


class Hang(BaseException):
    """Raised by the alarm when a call outlives its time limit (not an Exception: no handler
    in the code under test can swallow it)."""


def _alarm(signum, frame):
    raise Hang()


def outcome(call: Callable[[], object], seconds: int = 30) -> tuple[str, str]:
    """Run `call` under a time limit (SIGALRM; POSIX main thread) and classify it.

    Returns
    -------
    (class, detail)
        The class among `CLASSES` and the message (error, first warning or exception).
    """
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call()
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], str):
            return result  # the call classified itself (a command run)
        ours = [w for w in caught if issubclass(w.category, DataWarning)]
        return ("warning", str(ours[0].message)) if ours else ("correct", "")
    except Hang:
        return "hang", f"still running after {seconds} s"
    except CeNeuroVAEError as err:
        return "error", str(err)
    except Exception as err:  # noqa: BLE001 - the point is to catch what nothing else did
        return "traceback", f"{type(err).__name__}: {err}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
