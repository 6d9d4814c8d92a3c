"""Format 1: the Flavell lab's per-animal HDF5 file, ``<uid>-data.h5``.

Written by Julia, so arrays Julia holds as (neuron, time) read in h5py as (time, neuron).
What the reader uses (h5py shapes; T frames, N neurons)::

    gcamp/trace_array            (T, N)  ratio z-scored per neuron ("zscored", default)
    gcamp/trace_array_original   (T, N)  ratio before z-scoring ("original")
    gcamp/traces_array_F_F20     (T, N)  ratio / 20th percentile ("f20")
    gcamp/traces_array_F_Fmean   (T, N)  ratio / mean ("fmean"; newer files)
    gcamp/idx_splits             (2, S)  1-based inclusive [start, end] of joined pieces
    behavior/velocity            (T,)    mm/s; its length decides T
    behavior/head_angle          (T,)    rad -> "head_curvature" (sign: see below)
    behavior/pumping             (T,)    pumps/s; absent in some recordings
    behavior/angular_velocity    (T,)    rad/s (sign follows the head angle)
    behavior/worm_curvature      (T,)    -> "body_curvature"
    behavior/reversal_vec        (T,)    0/1 per frame
    behavior/reversal_events     (2, R)  start/end pairs
    timing/timestamp_confocal    (T,)    s
    timing/stim_begin_confocal   (k,)    heat onset frame(s), 1-based -> "stimulus:heat"

Any other 1-D ``behavior/<name>`` can be requested by its own name.

Findings on the real files (Dag et al. 2023, same pipeline): the trace orientation is
(T, N) as documented; ``reversal_events`` is (2, R) and, compared with ``reversal_vec``,
a pair (a, b) covers the 1-based frames a+1..b, i.e. the 0-based half-open [a, b) (a first
reversal at frame 1 is stored as (1, b)). The reader therefore takes reversals from
``reversal_vec`` when present and reads pairs as 0-based [a, b) otherwise; it records in
``meta`` how well the pairs agreed with the vector.

Head angle: positive is ventral in some recordings. The sign is taken from
``head_angle_pos_is_ventral`` (per uid) or the Atanas & Kim 2023 manifest shipped with the
package; for a uid in neither, values are kept as read and a warning says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from ..errors import FormatError
from ..recording import Recording, is_stimulus, split_segments
from .behavior import (
    DEFAULT_BEHAVIORS,
    FORMAT1_KEYS,
    SIGNED_BY_HEAD_ANGLE,
    append_stimuli,
    check_reader_options,
    event_stimulus,
    head_sign,
    manifest_pos_is_ventral,
    stimulus_onsets,
)
from .validate import (
    LOW_LEVEL_ERRORS,
    behavior_columns,
    clip_intervals,
    damaged_file_guard,
    fit_timestamps,
    float_array,
    frame_count,
    frames_from_one_based,
    intervals_from_vector,
    orient,
    parse_pairs,
    read_bounded,
    report_nonfinite,
    time_step,
    vector_from_intervals,
    warn,
)

__all__ = [
    "FILE_SUFFIX",
    "TRACE_KINDS",
    "flavell_uid",
    "has_flavell_layout",
    "is_flavell_file",
    "open_hdf5",
    "read_flavell",
    "write_flavell",
]

TRACE_KINDS = {
    "zscored": "trace_array",
    "original": "trace_array_original",
    "f20": "traces_array_F_F20",
    "fmean": "traces_array_F_Fmean",
}
"""Trace kind -> the format-1 dataset under ``gcamp/`` that holds it."""

FILE_SUFFIX = "-data.h5"
"""How format-1 files are named: ``<uid>-data.h5``."""


def flavell_uid(path: str | os.PathLike) -> str:
    """The uid in a format-1 file name: ``2022-01-16-01-data.h5`` -> ``2022-01-16-01``."""
    name = Path(path).name
    return name[: -len(FILE_SUFFIX)] if name.endswith(FILE_SUFFIX) else Path(path).stem


def is_flavell_file(path: str | os.PathLike) -> bool:
    """True when `path` is an HDF5 file with the ``gcamp`` and ``behavior`` groups."""
    try:
        with h5py.File(path, "r") as f:
            return has_flavell_layout(f)
    except LOW_LEVEL_ERRORS:
        return False


def has_flavell_layout(f: h5py.Group) -> bool:
    """True when an open HDF5 file holds the ``gcamp`` and ``behavior`` groups (format 1)."""
    return isinstance(f.get("gcamp"), h5py.Group) and isinstance(f.get("behavior"), h5py.Group)


def open_hdf5(path: str) -> h5py.File:
    """Open for reading; an empty, truncated or foreign file raises `FormatError`."""
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise FormatError("the file is empty (0 bytes)", path=path)
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise FormatError("no such file", path=path) from None
    except LOW_LEVEL_ERRORS as err:
        raise FormatError(f"cannot open as HDF5: truncated, damaged or not HDF5 ({err})", path=path) from None


def read_flavell(
    path: str | os.PathLike,
    *,
    behaviors: Sequence[str] = DEFAULT_BEHAVIORS,
    traces: str = "zscored",
    missing_behavior: str = "error",
    head_curvature_positive: str = "dorsal",
    head_angle_pos_is_ventral: bool | Mapping[str, bool] | None = None,
    uid: str | None = None,
    stimuli: bool = True,
    orientation: str = "auto",
) -> Recording:
    """Read one ``<uid>-data.h5`` file.

    Parameters
    ----------
    path : path
    behaviors : sequence of str
        Canonical behavior names (``velocity``, ``head_curvature``, ``pumping``,
        ``angular_velocity``, ``body_curvature``) or other 1-D keys under ``behavior/``.
    traces : {"zscored", "original", "f20", "fmean"}
        Which trace array to read (see `TRACE_KINDS`).
    missing_behavior : {"error", "mask"}
        A requested behavior absent from the file: raise `FormatError`, or keep the
        recording with that column masked (``behavior_mask`` False, listed in
        ``meta["missing_behaviors"]``).
    head_curvature_positive : {"dorsal", "ventral", "as_read"}
        Convention of the returned head curvature and angular velocity.
    head_angle_pos_is_ventral : bool or dict uid -> bool, optional
        The file's own convention; defaults to the manifest entry of the uid.
    uid : str, optional
        Defaults to the file name without ``-data.h5``.
    stimuli : bool
        A file with ``timing/stim_begin_confocal`` gets a ``stimulus:heat`` channel after
        the behaviors: 1.0 on each heat onset frame (the pulse's duration is not in the
        file: `ceneurovae.io.behavior.EVENT_STIMULUS_S`), 0.0 elsewhere.

    Returns
    -------
    Recording
        Traces (T, N) as read, behavior (T, D) in physical units, identities unknown
        (the file holds no names), events ``reversals`` and ``heat`` (0-based frames).
    """
    behaviors = check_reader_options(behaviors, traces, TRACE_KINDS, missing_behavior, head_curvature_positive)
    path = os.fspath(path)
    uid = uid or flavell_uid(path)
    with open_hdf5(path) as f, damaged_file_guard(path, "format-1 file"):
        rec = _read(
            f, path, uid, behaviors, traces, missing_behavior,
            head_curvature_positive, head_angle_pos_is_ventral, orientation,
        )
    if stimuli and "heat" in rec.events:
        heat = event_stimulus("heat", rec.events["heat"], rec.timestamps)
        rec = append_stimuli(rec, {"heat": heat}, {"heat": "timing/stim_begin_confocal"})
    return rec


def _group(f: h5py.File, name: str, path: str) -> h5py.Group:
    g = f.get(name)
    if not isinstance(g, h5py.Group):
        raise FormatError(
            f"missing group (the file has: {sorted(f.keys())}); not a format-1 <uid>-data.h5 file?",
            path=path, key=name,
        )
    return g


def _per_frame(ds, path: str, key: str) -> np.ndarray:
    arr = float_array(read_bounded(ds, path), path, key)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise FormatError(
            f"shape {arr.shape} is not one value per frame (several columns per frame); "
            "request a 1-D behavior",
            path=path, key=key,
        )
    return arr


def _read(f, path, uid, behaviors, traces, missing_behavior, target, pos_is_ventral, orientation) -> Recording:
    gcamp = _group(f, "gcamp", path)
    beh_group = _group(f, "behavior", path)
    trace_key = TRACE_KINDS[traces]
    if trace_key not in gcamp:
        raise FormatError(
            f"missing (traces={traces!r} reads gcamp/{trace_key}; gcamp holds {sorted(gcamp.keys())})",
            path=path, key=f"gcamp/{trace_key}",
        )

    # Behavior first: its length is the frame count that decides the trace orientation.
    values: dict[str, np.ndarray] = {}
    missing: list[str] = []
    lengths: dict[str, int] = {}
    for name in behaviors:
        key = FORMAT1_KEYS.get(name, name)
        if key not in beh_group:
            missing.append(name)
            continue
        values[name] = _per_frame(beh_group[key], path, f"behavior/{key}")
        lengths[f"behavior/{key}"] = values[name].size
    if not lengths and "velocity" in beh_group:
        lengths["behavior/velocity"] = _per_frame(beh_group["velocity"], path, "behavior/velocity").size
    if missing and missing_behavior == "error":
        looked = [f"behavior/{FORMAT1_KEYS.get(n, n)}" for n in missing]
        raise FormatError(
            f"recording {uid!r} lacks the requested behaviors {missing} (looked for {looked}; "
            f"behavior/ holds {sorted(beh_group.keys())}). Pass missing_behavior='mask' to keep "
            "it with those channels masked, or 'drop' to skip it",
            path=path, key=looked[0],
        )
    if not lengths:
        raise FormatError(
            f"no per-frame behavior to count frames with (behavior/ holds {sorted(beh_group.keys())})",
            path=path, key="behavior/velocity",
        )
    T = frame_count(lengths, path)

    raw = float_array(read_bounded(gcamp[trace_key], path), path, f"gcamp/{trace_key}")
    x, found = orient(raw, T, path, f"gcamp/{trace_key}", expected="time x neuron", given=orientation)
    if found != "time x neuron":
        warn(
            f"stored as {raw.shape} = (neurons, frames), the transpose of the usual h5py "
            f"(frames, neurons); T={T} from the behavior length: transposed",
            path, f"gcamp/{trace_key}",
        )

    if "timing" not in f or "timestamp_confocal" not in f["timing"]:
        raise FormatError("missing: every frame needs a timestamp (s)", path=path, key="timing/timestamp_confocal")
    ts_raw = float_array(read_bounded(f["timing/timestamp_confocal"], path), path, "timing/timestamp_confocal").reshape(-1)
    ts, cut_note = fit_timestamps(ts_raw, T, path, "timing/timestamp_confocal")

    report_nonfinite(x, path, f"gcamp/{trace_key}")
    for name, v in values.items():
        report_nonfinite(v, path, f"behavior/{FORMAT1_KEYS.get(name, name)}")

    meta: dict = {
        "format": "flavell-h5",
        "trace_kind": traces,
        "trace_key": f"gcamp/{trace_key}",
        "trace_orientation": found,
        "behavior_keys": {n: f"behavior/{FORMAT1_KEYS.get(n, n)}" for n in values},
        "missing_behaviors": missing,
    }
    if traces == "zscored":
        meta["zscored"] = _is_zscored(x)

    # Head-angle sign.
    signed = [n for n in values if n in SIGNED_BY_HEAD_ANGLE]
    flag = pos_is_ventral.get(uid) if isinstance(pos_is_ventral, Mapping) else pos_is_ventral
    origin = "given"
    if flag is None:
        flag, origin = manifest_pos_is_ventral(uid), "manifest"
    source = "unknown" if flag is None else ("ventral" if flag else "dorsal")
    factor, result = head_sign(source, target)
    if signed and source == "unknown" and target != "as_read":
        warn(
            f"recording {uid!r} is not in the Atanas & Kim 2023 manifest and no "
            f"head_angle_pos_is_ventral was given: {signed} kept as read (sign convention "
            f"unknown); pass head_angle_pos_is_ventral={{{uid!r}: True/False}} (command line: "
            f"--head-angle-pos-is-ventral {uid}=true|false) to fix it",
            path, "behavior/head_angle",
        )
    for n in signed:
        values[n] = values[n] * factor
    meta["head_curvature_positive"] = result
    meta["head_angle_pos_is_ventral"] = flag
    meta["head_angle_sign_from"] = origin if flag is not None else None

    events: dict = {}
    pairs_beyond = _read_reversals(beh_group, T, path, events, meta)
    if "timing" in f and "stim_begin_confocal" in f["timing"]:
        events["heat"] = frames_from_one_based(
            read_bounded(f["timing/stim_begin_confocal"], path), T, path, "timing/stim_begin_confocal"
        )
    if "gcamp" in f and "idx_splits" in gcamp:
        _read_splits(read_bounded(gcamp["idx_splits"], path), T, path, meta)
    if "timing" in f and "time_food_encounter" in f["timing"]:
        meta["time_food_encounter"] = float_array(read_bounded(f["timing/time_food_encounter"], path), path, "timing").tolist()

    if cut_note:
        extra = []
        if pairs_beyond:
            extra.append(f"behavior/reversal_events has {pairs_beyond} pairs past frame {T}")
        if meta.get("zscored") is False:
            extra.append("trace_array is not z-scored over the kept frames")
        warn(cut_note + (" (" + "; ".join(extra) + ")" if extra else ""), path, "timing/timestamp_confocal")
        meta["timestamps_note"] = cut_note
    elif meta.get("zscored") is False:
        warn("trace_array is not z-scored per neuron over its frames; kept as read", path, f"gcamp/{trace_key}")

    behavior, bmask = behavior_columns(values, behaviors, T)
    return Recording(
        uid=uid, traces=x, behavior=behavior, behavior_names=behaviors, behavior_mask=bmask,
        timestamps=ts, dt=time_step(ts), events=events, source=path, meta=meta,
    )


def _is_zscored(x: np.ndarray, tol: float = 0.05) -> bool:
    """True when every neuron has mean 0 and std 1 over its finite frames, within `tol`.

    The lab checks this to 1e-6; the tolerance here leaves room for a few masked frames
    and flags only traces z-scored over other frames (as in a file cut short).
    """
    with np.errstate(all="ignore"):
        mean = np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0)
        std = np.nanstd(np.where(np.isfinite(x), x, np.nan), axis=0, ddof=1)
    ok = np.isfinite(mean) & np.isfinite(std)
    return bool(ok.any() and (np.abs(mean[ok]) < tol).all() and (np.abs(std[ok] - 1) < tol).all())


def _read_reversals(g: h5py.Group, T: int, path: str, events: dict, meta: dict) -> int:
    """Fill ``events["reversals"]``; return how many stored pairs lie past the last frame."""
    pairs = None
    beyond = 0
    if "reversal_events" in g:
        pairs, layout = parse_pairs(
            read_bounded(g["reversal_events"], path), path, "behavior/reversal_events", prefer="columns"
        )
        meta["reversal_events_layout"] = layout
        beyond = int((pairs[:, 1] > T).sum())
    if "reversal_vec" in g:
        vec = _per_frame(g["reversal_vec"], path, "behavior/reversal_vec")
        if vec.size != T:
            raise FormatError(f"{vec.size} entries for {T} frames", path=path, key="behavior/reversal_vec")
        intervals = intervals_from_vector(np.nan_to_num(vec))
        events["reversals"] = intervals
        meta["reversals_from"] = "behavior/reversal_vec"
        if pairs is not None and len(pairs):
            inside = {tuple(p) for p in pairs.tolist() if p[1] <= T}
            truth = {tuple(p) for p in intervals}
            as_half_open = len(inside & truth)
            as_one_based = len({(a - 1, b) for a, b in inside} & truth)
            meta["reversal_events_agreement"] = {
                "pairs_within_frames": len(inside),
                "match_as_0based_half_open": as_half_open,
                "match_as_1based_inclusive": as_one_based,
            }
    elif pairs is not None:
        events["reversals"] = clip_intervals(pairs.tolist(), T, path, "behavior/reversal_events")
        meta["reversals_from"] = "behavior/reversal_events (read as 0-based [start, stop))"
    return beyond


def _read_splits(value, T: int, path: str, meta: dict) -> None:
    """Record the joined pieces (``meta["segments"]``, 0-based [start, stop)) when usable."""
    key = "gcamp/idx_splits"
    pairs, _ = parse_pairs(value, path, key, prefer="columns")
    meta["idx_splits_shape"] = list(np.shape(value))
    if len(pairs) and (pairs.min() < 1 or pairs.max() > T):
        warn(f"pieces {pairs.tolist()[:4]}... reach outside frames 1..{T}: ignored", path, key)
        return
    if len(pairs) > 1 and (pairs[:, 0] == pairs[:, 1]).all():
        # Seen in a real file: shape (2, T), every column [k, k]: one piece per frame.
        warn(
            f"shape {tuple(np.shape(value))} holds {len(pairs)} one-frame pieces (every column "
            "[k, k]), not the joined halves of the recording: ignored; pieces follow from the "
            "timestamps instead",
            path, key,
        )
        return
    meta["segments"] = [[int(a) - 1, int(b)] for a, b in pairs]


def write_flavell(
    dir_or_path: str | os.PathLike,
    rec: Recording,
    *,
    head_angle_pos_is_ventral: bool = False,
) -> Path:
    """Write a recording as a format-1 ``<uid>-data.h5`` file (the layout `read_flavell` reads).

    Parameters
    ----------
    dir_or_path : path
        A folder (the file is named ``<uid>-data.h5`` in it) or a file path ending in
        ``.h5``.
    rec : Recording
        Behaviors in canonical names; unobserved entries are written as NaN, and a behavior
        never observed is left out (as pumping is in some real files).
    head_angle_pos_is_ventral : bool
        Write head angle and angular velocity with positive = ventral (negating the
        recording's dorsal-positive values), as some real files are.

    A ``stimulus:heat`` channel is written as its onset frames
    (``timing/stim_begin_confocal``, in place of ``events["heat"]``); the format has no
    place for other stimulus channels (a warning says so).

    Returns
    -------
    Path of the written file. Neuron labels are not part of this format: write them beside
    it with `ceneurovae.io.write_label_file`.
    """
    target = Path(dir_or_path)
    if target.suffix.lower() not in (".h5", ".hdf5"):
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{rec.uid}{FILE_SUFFIX}"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    x = rec.traces.astype(np.float64)
    x[~rec.mask] = np.nan
    T = rec.n_frames
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("gcamp/trace_array", data=x)
        pieces = split_segments(rec.timestamps)
        f.create_dataset("gcamp/idx_splits", data=np.asarray([[a + 1, b] for a, b in pieces], dtype=np.int64).T)
        for j, name in enumerate(rec.behavior_names):
            if is_stimulus(name) or not rec.behavior_mask[:, j].any():
                continue
            v = rec.behavior[:, j].astype(np.float64)
            v[~rec.behavior_mask[:, j]] = np.nan
            if head_angle_pos_is_ventral and name in SIGNED_BY_HEAD_ANGLE:
                v = -v
            f.create_dataset(f"behavior/{FORMAT1_KEYS.get(name, name)}", data=v)
        f.require_group("behavior")
        reversals = [[int(a), int(b)] for a, b in rec.events.get("reversals", [])]
        f.create_dataset("behavior/reversal_vec", data=vector_from_intervals(reversals, T))
        f.create_dataset("behavior/reversal_events", data=np.asarray(reversals, dtype=np.int64).reshape(-1, 2).T)
        f.create_dataset("timing/timestamp_confocal", data=rec.timestamps)
        onsets = stimulus_onsets(rec)
        heat = onsets["heat"] if "heat" in onsets else rec.events.get("heat")
        if heat or "heat" in onsets:
            f.create_dataset("timing/stim_begin_confocal", data=np.asarray(heat, dtype=np.int64) + 1)
    os.replace(tmp, target)
    other = sorted(set(rec.events) - {"reversals", "heat"})
    if other:
        warn(f"format 1 has no place for events {other}: not written", target)
    lost = sorted(set(onsets) - {"heat"})
    if lost:
        warn(f"format 1 has no place for stimulus channels {lost} (only heat onsets): not written", target)
    return target
