"""Format 4: the compact cohort file (one HDF5 for many animals).

Layout (the original package's, which we read and write; our extensions are optional)::

    label_name              (V,) str      identity names, index 0 = unknown
    B_norm_divisor          (D,) float    one divisor per behavior
    behavior_names          (D,) str      [extension] names of the behavior rows
    data/<uid>/X            (N, T) float  traces, neurons x time
    data/<uid>/B            (D, T) float  behaviors x time
    data/<uid>/I            (N,) int      identity index per neuron, 0 = unknown
    data/<uid>/M            (N, T) bool   [optional] observation mask
    data/<uid>/BM           (D, T) bool   [extension] behavior mask
    data/<uid>/timestamps   (T,) float    [extension] seconds
    data/<uid>/labels       (N,) str      [extension] raw label per neuron
    data/<uid>.attrs        dt, source, events (JSON), meta (JSON)   [extension]

Behaviors are written in physical units (file attribute ``B_units = "physical"``). Files of
the original package carry no such attribute and hold ``B`` already divided by
``B_norm_divisor``; the reader tells the two apart and returns physical units either way.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping

import h5py
import numpy as np

from ..errors import DataWarning, FormatError
from ..identity import Vocabulary
from ..recording import Recording, is_stimulus
from ..utils import jsonable
from .behavior import DEFAULT_BEHAVIORS, LAB_DIVISORS
from .validate import (
    LOW_LEVEL_ERRORS,
    damaged_file_guard,
    float_array,
    read_bounded,
    report_nonfinite,
)

__all__ = ["write_cohort", "read_cohort", "is_cohort_file", "has_cohort_layout"]


def _str_array(values) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=h5py.string_dtype("utf-8"))


def _decode(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def write_cohort(
    path: str | os.PathLike,
    datasets: Mapping[str, Recording],
    vocabulary: Vocabulary,
    *,
    behavior_divisor: Mapping[str, float] | None = None,
) -> None:
    """Write recordings to one cohort HDF5 file (format 4).

    Parameters
    ----------
    path : path
        File to write (replaced if it exists; written to a temporary file first).
    datasets : dict uid -> Recording
        All recordings must have the same behavior names, in the same order, apart from
        stimulus channels (``stimulus:<name>``): every stimulus channel of any recording is
        written for all of them, masked (``BM`` False) in the recordings that lack it, which
        `import_h5` reads back as not held.
    vocabulary : Vocabulary
        The identity vocabulary the recordings' ``identity`` indices refer to.
    behavior_divisor : dict, optional
        Behavior name -> divisor stored as ``B_norm_divisor``; defaults to the lab's
        constants (1 for behaviors without one).
    """
    recs = list(datasets.values())
    if not recs:
        raise FormatError("no recordings to write", path=str(path))
    names = [n for n in recs[0].behavior_names if not is_stimulus(n)]
    for rec in recs:
        own = [n for n in rec.behavior_names if not is_stimulus(n)]
        if own != names:
            raise FormatError(
                f"recording {rec.uid!r} has behaviors {own}, the first has {names}; "
                "select the same behaviors for every recording",
                path=str(path),
                key=f"data/{rec.uid}/B",
            )
        if rec.identity.size and rec.identity.max() >= len(vocabulary):
            raise FormatError(
                f"recording {rec.uid!r} has identity {int(rec.identity.max())} but the vocabulary "
                f"has only {len(vocabulary)} entries",
                path=str(path),
                key=f"data/{rec.uid}/I",
            )
    names = names + sorted({n for rec in recs for n in rec.behavior_names if is_stimulus(n)})
    datasets = {uid: rec.select_behaviors(names) for uid, rec in datasets.items()}
    divisor = dict(LAB_DIVISORS)
    divisor.update(behavior_divisor or {})
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = "ceneurovae-cohort"
        f.attrs["format_version"] = 1
        f.attrs["B_units"] = "physical"
        f.create_dataset("label_name", data=_str_array(vocabulary.to_list()))
        f.create_dataset("behavior_names", data=_str_array(names))
        f.create_dataset("B_norm_divisor", data=np.asarray(
            [1.0 if is_stimulus(n) else divisor.get(n, 1.0) for n in names], dtype=np.float64))
        data = f.create_group("data")
        for uid, rec in datasets.items():
            g = data.create_group(uid)
            g.create_dataset("X", data=rec.traces.T, compression="gzip", compression_opts=1)
            g.create_dataset("B", data=rec.behavior.T)
            g.create_dataset("I", data=rec.identity)
            if not rec.mask.all():
                g.create_dataset("M", data=rec.mask.T, compression="gzip", compression_opts=1)
            if not rec.behavior_mask.all():
                g.create_dataset("BM", data=rec.behavior_mask.T)
            g.create_dataset("timestamps", data=rec.timestamps)
            g.create_dataset("labels", data=_str_array(rec.labels))
            g.attrs["dt"] = rec.dt
            g.attrs["source"] = rec.source
            g.attrs["events"] = json.dumps(jsonable(rec.events))
            g.attrs["meta"] = json.dumps(jsonable(rec.meta))
        f.flush()
    os.replace(tmp, path)


def is_cohort_file(path: str | os.PathLike) -> bool:
    """True when `path` is an HDF5 file with the cohort layout (``data`` group and ``label_name``)."""
    try:
        with h5py.File(path, "r") as f:
            return has_cohort_layout(f)
    except LOW_LEVEL_ERRORS:
        return False


def has_cohort_layout(f: h5py.Group) -> bool:
    """True when an open HDF5 file holds the cohort layout (``data`` and ``label_name``)."""
    return "data" in f and "label_name" in f


def read_cohort(path: str | os.PathLike) -> tuple[dict[str, Recording], Vocabulary, dict[str, float]]:
    """Read a cohort file.

    Returns
    -------
    datasets : dict uid -> Recording
        In the file's order of uids (sorted, as HDF5 stores them).
    vocabulary : Vocabulary
    divisors : dict
        Behavior name -> ``B_norm_divisor`` from the file.
    """
    path = os.fspath(path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise FormatError("the file is empty (0 bytes)", path=path)
    try:
        f = h5py.File(path, "r")
    except LOW_LEVEL_ERRORS as err:
        raise FormatError(f"cannot open as HDF5: truncated, damaged or not HDF5 ({err})", path=path) from None
    with f, damaged_file_guard(path, "cohort file"):
        return _read_open_cohort(f, path)


def _require(f: h5py.Group, key: str, path: str):
    if key not in f:
        raise FormatError("missing from the cohort file", path=path, key=f"{f.name.rstrip('/')}/{key}".lstrip("/"))
    return f[key]


def _read_open_cohort(f: h5py.File, path: str):
    label_name = _decode(read_bounded(_require(f, "label_name", path), path))
    vocabulary = Vocabulary(label_name)
    data = _require(f, "data", path)
    if len(data) == 0:
        raise FormatError("the cohort holds no recordings", path=path, key="data")
    first = data[next(iter(data))]
    n_beh = _require(first, "B", path).shape[0]
    if "behavior_names" in f:
        names = _decode(read_bounded(f["behavior_names"], path))
    elif n_beh <= len(DEFAULT_BEHAVIORS):
        names = list(DEFAULT_BEHAVIORS[:n_beh])
    else:
        names = list(DEFAULT_BEHAVIORS) + [f"behavior_{i}" for i in range(len(DEFAULT_BEHAVIORS), n_beh)]
    divisor_arr = np.asarray(read_bounded(f["B_norm_divisor"], path), dtype=np.float64).ravel() if "B_norm_divisor" in f else None
    if divisor_arr is not None and not (np.isfinite(divisor_arr) & (divisor_arr > 0)).all():
        bad = int(np.argmax(~(np.isfinite(divisor_arr) & (divisor_arr > 0))))
        raise FormatError(
            f"divisor {bad} is {divisor_arr[bad]!r}: every divisor must be a positive number (behavior is "
            "stored divided by it)", path=path, key="B_norm_divisor",
        )
    if divisor_arr is not None and divisor_arr.size != n_beh:
        raise FormatError(
            f"{divisor_arr.size} divisors for {n_beh} behaviors", path=path, key="B_norm_divisor"
        )
    divisors = (
        {n: float(d) for n, d in zip(names, divisor_arr)}
        if divisor_arr is not None
        else {n: LAB_DIVISORS.get(n, 1.0) for n in names}
    )
    physical = f.attrs.get("B_units", None)
    physical = physical.decode() if isinstance(physical, bytes) else physical

    datasets: dict[str, Recording] = {}
    raw_b: dict[str, np.ndarray] = {}
    for uid in data:
        g = data[uid]
        key = f"data/{uid}"
        X = float_array(read_bounded(_require(g, "X", path), path), path, f"data/{uid}/X")
        B = float_array(read_bounded(_require(g, "B", path), path), path, f"data/{uid}/B")
        identity = np.asarray(read_bounded(_require(g, "I", path), path)).ravel()
        if X.ndim != 2 or B.ndim != 2:
            raise FormatError(f"X and B must be 2-D, got {X.shape} and {B.shape}", path=path, key=key)
        if B.shape[0] != n_beh:
            raise FormatError(f"B has {B.shape[0]} behavior rows, the cohort has {n_beh}", path=path, key=f"{key}/B")
        if X.shape[1] != B.shape[1]:
            raise FormatError(
                f"X is (neurons, time) = {X.shape} but B has {B.shape[1]} frames", path=path, key=f"{key}/X"
            )
        if identity.size != X.shape[0]:
            raise FormatError(f"I has {identity.size} entries for {X.shape[0]} neurons", path=path, key=f"{key}/I")
        if identity.size and (identity.min() < 0 or identity.max() >= len(vocabulary)):
            raise FormatError(
                f"identity indices must be in [0, {len(vocabulary)}), found {identity.min()}..{identity.max()}",
                path=path,
                key=f"{key}/I",
            )
        report_nonfinite(X.T, path, f"{key}/X")
        report_nonfinite(B.T, path, f"{key}/B", unit="behaviors")
        mask = np.asarray(read_bounded(g["M"], path), dtype=bool).T if "M" in g else None
        bmask = np.asarray(read_bounded(g["BM"], path), dtype=bool).T if "BM" in g else None
        ts = np.asarray(read_bounded(g["timestamps"], path), dtype=np.float64) if "timestamps" in g else None
        labels = _decode(read_bounded(g["labels"], path)) if "labels" in g else [vocabulary[i] if i else "" for i in identity]
        dt = float(g.attrs["dt"]) if "dt" in g.attrs else None
        events = json.loads(g.attrs["events"]) if "events" in g.attrs else {}
        meta = json.loads(g.attrs["meta"]) if "meta" in g.attrs else {}
        raw_b[uid] = B.T
        datasets[uid] = Recording(
            uid=uid,
            traces=X.T,
            mask=mask,
            behavior=B.T,
            behavior_names=names,
            behavior_mask=bmask,
            identity=identity.astype(np.int64),
            labels=labels,
            timestamps=ts,
            dt=dt,
            events=events,
            source=f"{path}:{key}",
            meta=meta,
            vocabulary=vocabulary,
        )

    if physical != "physical":
        # Original files: B divided by the divisors. Velocity in mm/s has a std near 0.06,
        # in model units near 1; use that to decide and say which was found.
        scaled = _looks_normalized(datasets, names)
        if scaled:
            div = np.asarray([divisors[n] for n in names], dtype=np.float32)
            for rec in datasets.values():
                rec.behavior = rec.behavior * div
        warnings.warn(
            f"{path}: cohort file without a B_units attribute; behaviors look "
            f"{'normalized (multiplied back by B_norm_divisor)' if scaled else 'physical (kept as they are)'}",
            DataWarning,
            stacklevel=3,
        )
    return datasets, vocabulary, divisors


def _looks_normalized(datasets: Mapping[str, Recording], names: list[str]) -> bool:
    if "velocity" not in names:
        return True
    col = names.index("velocity")
    values = np.concatenate([r.behavior[r.behavior_mask[:, col], col] for r in datasets.values()])
    return bool(values.size and np.std(values) > 0.3)
