"""Checks shared by the file readers: arrays, orientation, frame counts, timestamps, events.

Each helper takes the file and key it is looking at, so that every error and warning names
them. Readers call these once at the edge; nothing downstream re-checks.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from ..errors import CeNeuroVAEError, DataWarning, FormatError
from ..recording import FLOAT32_MAX

# What h5py, json and numpy raise on damaged input; turned into FormatError at the edge.
LOW_LEVEL_ERRORS = (KeyError, OSError, ValueError, TypeError, IndexError, RuntimeError, AttributeError)


@contextmanager
def damaged_file_guard(path, what: str) -> Iterator[None]:
    """Turn any low-level error raised while reading `path` into a `FormatError` naming it.

    Readers check what they can and say so precisely; this is the last line for damage
    nobody can foresee (a corrupted HDF5 header, a byte flipped inside a JSON key).
    """
    try:
        yield
    except CeNeuroVAEError:
        raise
    except LOW_LEVEL_ERRORS as err:
        raise FormatError(f"damaged or unreadable {what} ({type(err).__name__}: {err})", path=path) from None


def warn(message: str, path: str | os.PathLike | None = None, key: str | None = None) -> None:
    """Emit a `DataWarning` that names the file and key, like the errors do."""
    where = []
    if path is not None:
        where.append(f"file {os.fspath(path)}")
    if key is not None:
        where.append(f"key {key!r}")
    prefix = (", ".join(where) + ": ") if where else ""
    warnings.warn(prefix + message, DataWarning, stacklevel=_outside_package())


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _outside_package() -> int:
    """Stack level of the first caller outside the package, so warnings point at user code."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


MAX_ARRAY_BYTES = 4 * 2**30
"""The largest array a reader loads (4 GiB): processed traces of a whole-brain recording
are megabytes; a larger declared size is a raw volume or a damaged header, not data to read."""


def read_bounded(ds, path, key: str | None = None, max_bytes: int = MAX_ARRAY_BYTES) -> np.ndarray:
    """The values of an HDF5 dataset, after checking its declared size against `max_bytes`.

    A header can declare any shape: checking before reading keeps a 1 MB file from asking
    for 149 GiB, and a raw imaging volume from being loaded by mistake.
    """
    size = int(np.prod(ds.shape, dtype=np.float64)) * ds.dtype.itemsize if ds.shape else ds.dtype.itemsize
    if size > max_bytes:
        raise FormatError(
            f"declares shape {ds.shape} of {ds.dtype} ({size / 2**30:.1f} GiB), more than the "
            f"{max_bytes / 2**30:.0f} GiB a processed array can hold; a raw volume or a damaged "
            "header, not read",
            path=path, key=key,
        )
    return ds[()]


def float_array(value, path, key: str) -> np.ndarray:
    """`value` (an HDF5 array or nested JSON lists, ``None`` meaning missing) as float64.

    Raises `FormatError` for ragged lists and for values that are not real numbers: booleans,
    complex numbers (their imaginary part would be dropped) and text (``"1.5"``) are refused,
    not converted.
    """
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise FormatError(f"expected numbers in a rectangular array ({err})", path=path, key=key) from None
    kind = raw.dtype.kind
    bad = {"b": "true/false values", "c": "complex numbers", "S": "text", "U": "text", "M": "dates", "m": "durations"}
    if kind == "O":
        odd = next((v for v in raw.reshape(-1) if v is not None and (
            isinstance(v, (bool, np.bool_, str, bytes)) or not isinstance(v, (int, float, np.number)))), None)
        if odd is not None:
            raise FormatError(f"expected numbers, found {type(odd).__name__} {odd!r}", path=path, key=key)
    elif kind in bad:
        first = raw.reshape(-1)[:1].tolist()
        raise FormatError(f"expected numbers, got {bad[kind]} (dtype {raw.dtype}, first value {first})",
                          path=path, key=key)
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise FormatError(
            f"expected numbers in a rectangular array, got {type(value).__name__} ({err})",
            path=path, key=key,
        ) from None
    with np.errstate(invalid="ignore"):
        huge = np.isfinite(arr) & (np.abs(arr) > FLOAT32_MAX)
    if huge.any():
        where = tuple(int(i) for i in np.argwhere(huge)[0])
        raise FormatError(
            f"{int(huge.sum())} values beyond float32's range (±3.4e38), e.g. {float(arr[where]):.3g} at "
            f"index {list(where)}: they would become infinite; check the file's scale",
            path=path, key=key,
        )
    return arr


def frame_count(lengths: Mapping[str, int], path, what: str = "behavior") -> int:
    """The common length of several per-frame arrays; a mismatch names every length."""
    distinct = sorted(set(lengths.values()))
    if len(distinct) > 1:
        listing = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise FormatError(
            f"{what} arrays disagree on the number of frames ({listing}); every per-frame "
            "array of one recording must have the same length",
            path=path,
        )
    return distinct[0]


ORIENTATIONS = {"frames-first": "time x neuron", "neurons-first": "neuron x time"}
"""The reading option ``orientation`` -> the orientation it names."""


def orient(arr: np.ndarray, n_frames: int, path, key: str, *, expected: str,
           given: str = "auto") -> tuple[np.ndarray, str]:
    """Return `arr` as (T frames, N neurons), deciding the orientation by the frame count.

    Parameters
    ----------
    arr : (T, N) or (N, T) array
    n_frames : int
        T, from the behavior arrays of the same recording.
    expected : {"time x neuron", "neuron x time"}
        The orientation the format documents (named in the square case's error).
    given : {"auto", "frames-first", "neurons-first"}
        The reading option ``orientation``: ``"auto"`` decides by `n_frames` and refuses a
        square array (T == N), whose orientation cannot be told; the others say it.

    Returns
    -------
    traces : (T, N) array
    found : str
        ``"time x neuron"`` or ``"neuron x time"``: the orientation found in the file.
    """
    if arr.ndim != 2:
        raise FormatError(f"expected a 2-D array (frames and neurons), got shape {arr.shape}", path=path, key=key)
    rows, cols = arr.shape
    if given != "auto":
        found = ORIENTATIONS[given]
        if (rows if found == "time x neuron" else cols) != n_frames:
            raise FormatError(
                f"orientation={given!r} reads shape {arr.shape} as {found}, but the recording has "
                f"{n_frames} frames (the length of its behavior arrays)", path=path, key=key)
    elif rows == n_frames and cols == n_frames:
        raise FormatError(
            f"shape {arr.shape}: as many neurons as frames, so the orientation cannot be told from the "
            f"shapes (this format documents {expected}); pass orientation='frames-first' or "
            "'neurons-first' (command line: --orientation)",
            path=path, key=key,
        )
    elif rows == n_frames:
        found = "time x neuron"
    elif cols == n_frames:
        found = "neuron x time"
    else:
        raise FormatError(
            f"shape {arr.shape} has no axis of {n_frames} frames (the length of the behavior "
            "arrays): traces and behavior disagree on the number of frames",
            path=path, key=key,
        )
    return (arr if found == "time x neuron" else arr.T), found


def report_nonfinite(arr: np.ndarray, path, key: str, *, unit: str = "neurons") -> int:
    """Warn with counts when `arr` (T, K) holds NaN or inf; return how many entries do.

    The caller's `Recording` masks those entries (mask False, value 0): they are never
    used as values. Counting them here is what makes that visible to the user.
    """
    finite = np.isfinite(arr)
    bad = int(arr.size - np.count_nonzero(finite))
    if bad:
        n_nan = int(np.isnan(arr).sum())
        n_inf = bad - n_nan
        cols = np.flatnonzero(~finite.all(axis=0)) if arr.ndim == 2 else np.array([], dtype=int)
        shown = ", ".join(str(c + 1) for c in cols[:8]) + (", ..." if cols.size > 8 else "")
        which = f" in {cols.size} {unit} (1-based: {shown})" if arr.ndim == 2 else ""
        warn(
            f"{n_nan} NaN and {n_inf} inf values{which}; those entries are masked "
            "(mask False) and never used as values",
            path, key,
        )
    return bad


def fit_timestamps(ts: np.ndarray, n_frames: int, path, key: str) -> tuple[np.ndarray, str | None]:
    """Check timestamps (s) against the frame count; keep the first T when there are more.

    Returns the (T,) timestamps and a note (``None`` when nothing was changed).
    Fewer timestamps than frames, non-finite or non-increasing ones raise `FormatError`.
    """
    ts = np.asarray(ts, dtype=np.float64).reshape(-1)
    note = None
    if ts.size < n_frames:
        raise FormatError(
            f"{ts.size} timestamps for {n_frames} frames; every frame needs a timestamp",
            path=path, key=key,
        )
    if ts.size > n_frames:
        note = (
            f"{ts.size} timestamps for {n_frames} frames (traces and behavior): kept the first "
            f"{n_frames}; the recording looks cut short after frame {n_frames}"
        )
        ts = ts[:n_frames]
    if not np.isfinite(ts).all():
        bad = np.flatnonzero(~np.isfinite(ts))
        raise FormatError(
            f"{bad.size} non-finite timestamps (first at frame {bad[0] + 1} of {ts.size})",
            path=path, key=key,
        )
    if ts.size > 1:
        steps = np.diff(ts)
        if not (steps > 0).all():
            bad = np.flatnonzero(steps <= 0)
            i = int(bad[0])
            raise FormatError(
                f"timestamps must increase, but {bad.size} steps do not: frame {i + 2} is at "
                f"{ts[i + 1]:.6g} s after frame {i + 1} at {ts[i]:.6g} s (1-based frames)",
                path=path, key=key,
            )
    return ts, note


def intervals_from_vector(vec: np.ndarray) -> list[list[int]]:
    """0-based [start, stop) runs of nonzero entries of a per-frame 0/1 vector."""
    on = np.asarray(vec).reshape(-1) != 0
    edges = np.diff(np.concatenate([[False], on, [False]]).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return [[int(a), int(b)] for a, b in zip(starts, stops)]


def vector_from_intervals(intervals: Sequence[Sequence[int]], n_frames: int) -> np.ndarray:
    """Per-frame 0/1 int64 vector from 0-based [start, stop) pairs."""
    vec = np.zeros(n_frames, dtype=np.int64)
    for a, b in intervals:
        vec[max(int(a), 0):min(int(b), n_frames)] = 1
    return vec


def _ordered(pairs: np.ndarray) -> bool:
    return bool((pairs[:, 0] <= pairs[:, 1]).all())


def _disjoint(pairs: np.ndarray) -> bool:
    return _ordered(pairs) and bool((pairs[1:, 0] >= pairs[:-1, 1]).all())


def parse_pairs(value, path, key: str, *, prefer: str = "rows") -> tuple[np.ndarray, str]:
    """Start/stop frame pairs in any of the layouts the lab's exporters produce.

    Accepted: (n, 2) rows of [start, stop]; (2, n) a row of starts over a row of stops (what
    h5py shows for the Julia-written HDF5 files); a flat or singleton-wrapped list of 2n
    numbers, all starts then all stops (a column-major export of the (n, 2) array).

    Parameters
    ----------
    prefer : {"rows", "columns"}
        The layout to assume for a (2, 2) array when both readings give ordered,
        non-overlapping pairs: "rows" for JSON, "columns" for HDF5.

    Returns
    -------
    pairs : (n, 2) int64 array, as stored (no index shift)
    layout : str
        Which layout was found.
    """
    arr = float_array(value if value is not None else [], path, key)
    rows_name, cols_name = "(n, 2) rows of [start, stop]", "(2, n) starts over stops"
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64), "empty"
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 1:
        if arr.size % 2:
            raise FormatError(f"{arr.size} numbers cannot be start/stop pairs", path=path, key=key)
        half = arr.size // 2
        pairs, layout = np.stack([arr[:half], arr[half:]], axis=1), "flat (starts then stops)"
    elif arr.ndim == 2 and arr.shape[1] == 2 and arr.shape[0] != 2:
        pairs, layout = arr, rows_name
    elif arr.ndim == 2 and arr.shape[0] == 2 and arr.shape[1] != 2:
        pairs, layout = arr.T, cols_name
    elif arr.shape == (2, 2):
        # Two pairs: ambiguous. Keep the preferred reading unless only the other one gives
        # ordered, non-overlapping pairs.
        readings = [(arr, rows_name), (arr.T, cols_name)]
        if prefer == "columns":
            readings.reverse()
        pairs, layout = next((r for r in readings if _disjoint(r[0])), readings[0])
    else:
        raise FormatError(f"expected start/stop pairs, got shape {arr.shape}", path=path, key=key)
    if not np.isfinite(pairs).all() or (pairs != np.round(pairs)).any():
        raise FormatError("start/stop frames must be whole numbers", path=path, key=key)
    pairs = pairs.astype(np.int64)
    if not _ordered(pairs):
        i = int(np.flatnonzero(pairs[:, 1] < pairs[:, 0])[0])
        raise FormatError(
            f"pair {i + 1} ends before it starts: {pairs[i].tolist()} (layout read: {layout})",
            path=path, key=key,
        )
    return pairs, layout


def clip_intervals(intervals: list[list[int]], n_frames: int, path, key: str) -> list[list[int]]:
    """Drop or shorten [start, stop) pairs reaching past the last frame, with a warning."""
    kept = [[a, min(b, n_frames)] for a, b in intervals if a < n_frames and b > 0]
    kept = [[max(a, 0), b] for a, b in kept if b > max(a, 0)]
    beyond = [p for p in intervals if p[1] > n_frames or p[0] < 0]
    if beyond:
        warn(
            f"{len(beyond)} of {len(intervals)} intervals reach beyond the {n_frames} frames "
            f"(last ends at frame {max(b for _, b in intervals)}): clipped to the recording",
            path, key,
        )
    return kept


def frames_from_one_based(values, n_frames: int, path, key: str) -> list[int]:
    """1-based event frames (as the Julia exporters write them) -> 0-based, checked."""
    arr = float_array(values, path, key).reshape(-1)
    if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise FormatError(f"event frames must be whole numbers, got {arr.tolist()}", path=path, key=key)
    frames = [int(v) - 1 for v in arr]
    outside = [f + 1 for f in frames if not 0 <= f < n_frames]
    if outside:
        warn(f"event frames {outside} lie outside the {n_frames} frames: dropped", path, key)
    return [f for f in frames if 0 <= f < n_frames]


def time_step(timestamps: np.ndarray, gap_factor: float = 1.5) -> float:
    """Mean step (s) between frames, ignoring gaps longer than `gap_factor` x the median step.

    Real recordings are two halves joined together: the join is one long step that would
    inflate a plain mean.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size < 2:
        return 1.0
    steps = np.diff(ts)
    med = float(np.median(steps))
    regular = steps[steps <= gap_factor * med]
    return float(regular.mean()) if regular.size else med


def behavior_columns(values: Mapping[str, np.ndarray], behaviors: Sequence[str], n_frames: int):
    """The (T, D) behavior array of a reader and its mask: each requested behavior's values,
    or a masked column of zeros for one the file lacks."""
    behavior = np.zeros((n_frames, len(behaviors)), dtype=np.float64)
    mask = np.ones((n_frames, len(behaviors)), dtype=bool)
    for j, name in enumerate(behaviors):
        if name in values:
            behavior[:, j] = values[name]
        else:
            mask[:, j] = False
    return behavior, mask
