"""Formats 2 and 3: WormWideWeb JSON files, one per recording.

Version 1 (format 2, ``<uid>.json``), flat::

    trace_array          N lists of T      z-scored ("zscored")
    trace_original       N x T or T x N    ratiometric ("original"; orientation varies)
    trace_array_F20      N lists of T      ("f20")
    velocity, head_curvature, pumping (may be null), angular_velocity, body_curvature
    reversal_events      [[start, stop], ...]   the HDF5 file's numbers
    timestamp_confocal   T seconds (absent in early files)
    avg_timestep         MINUTES per frame (checked against the timestamps)
    max_t                last fitted frame, not always T
    events               {"heat": [391]}    1-based frames -> "stimulus:heat" (every name)
    uid, dataset_type, num_neurons
    labeled              {"<1-based row>": {label, neuron_class, LR, DV, roi_id, confidence, region}}

Version 2 (format 3, ``<paper_id>_<uid>.json``), nested: ``timing{mean_timestep (s), max_t,
timestamp_confocal, event}``, ``behavior{velocity, head_angle, angular_velocity, pumping,
reversal_events}``, ``gcamp{trace_array, trace_array_original}`` (neurons x time),
``metadata{uid, paper_id, dataset_type, n_neuron}``, optional ``label`` and ``encoding``.

In both versions head curvature and angular velocity already have positive = dorsal (the
lab's exporters multiply by the manifest's sign), so no manifest lookup is done.
CePNEM results (``encoding``, ``rel_enc_str_*``...) are not read; ``meta`` says they exist.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..identity import canonical_label, neuron_class
from ..recording import Recording, is_stimulus
from .behavior import (
    DEFAULT_BEHAVIORS,
    SIGNED_BY_HEAD_ANGLE,
    V1_KEYS,
    V2_KEYS,
    append_stimuli,
    check_reader_options,
    event_stimulus,
    head_sign,
    stimulus_onsets,
)
from .labels import LabelEntry, parse_label_dict
from .validate import (
    behavior_columns,
    clip_intervals,
    damaged_file_guard,
    fit_timestamps,
    float_array,
    frame_count,
    frames_from_one_based,
    orient,
    parse_pairs,
    report_nonfinite,
    time_step,
    warn,
)

__all__ = [
    "load_json",
    "looks_like_wormwideweb",
    "wormwideweb_version",
    "wormwideweb_uid",
    "wormwideweb_labels",
    "read_wormwideweb",
    "write_wormwideweb",
]

_V1_TRACES = {"zscored": "trace_array", "original": "trace_original", "f20": "trace_array_F20"}
_V2_TRACES = {"zscored": "trace_array", "original": "trace_array_original"}


def load_json(path: str | os.PathLike):
    """Parse a JSON file; empty, truncated or non-JSON files raise `FormatError`."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise FormatError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise FormatError(f"cannot read as UTF-8 text ({err})", path=path) from None
    except json.JSONDecodeError as err:
        what = "the file is empty (0 bytes)" if size == 0 else f"truncated or not JSON ({err})"
        raise FormatError(what, path=path) from None
    except RecursionError:
        raise FormatError("JSON nested too deeply", path=path) from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts (4300)
        raise FormatError(f"a value cannot be read ({err})", path=path) from None


def wormwideweb_version(obj) -> int | None:
    """1 or 2 for a parsed WormWideWeb recording, None for anything else."""
    if not isinstance(obj, Mapping):
        return None
    if isinstance(obj.get("gcamp"), Mapping) and isinstance(obj.get("timing"), Mapping):
        return 2
    if "trace_array" in obj:
        return 1
    return None


def looks_like_wormwideweb(raw: bytes) -> bool:
    """True when a JSON file's bytes name the keys of a WormWideWeb recording (no parse).

    ``trace_array`` (version 1), or ``gcamp`` and ``timing`` (version 2): recordings are large,
    so this looks at the raw text before anything is parsed.
    """
    return (b'"gcamp"' in raw and b'"timing"' in raw) or b'"trace_array"' in raw


def wormwideweb_uid(obj: Mapping, path: str | os.PathLike) -> str:
    """The uid of a parsed WormWideWeb file (from its content, else its file name)."""
    if wormwideweb_version(obj) == 2:
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
        return str(meta.get("uid") or Path(path).stem.rsplit("_", 1)[-1])
    return str(obj.get("uid") or Path(path).stem)


def wormwideweb_labels(obj: Mapping, path: str | os.PathLike) -> dict[int, LabelEntry] | None:
    """The label entries of a parsed WormWideWeb file (``labeled`` or ``label``), or None."""
    key = "label" if wormwideweb_version(obj) == 2 else "labeled"
    lab = obj.get(key)
    return parse_label_dict(lab, path=os.fspath(path), key=key) if lab else None


def read_wormwideweb(
    path: str | os.PathLike,
    *,
    behaviors: Sequence[str] = DEFAULT_BEHAVIORS,
    traces: str = "zscored",
    missing_behavior: str = "error",
    head_curvature_positive: str = "dorsal",
    content: Mapping | None = None,
    stimuli: bool = True,
    orientation: str = "auto",
) -> tuple[Recording, dict[int, LabelEntry] | None]:
    """Read one WormWideWeb JSON file (version 1 or 2).

    Parameters
    ----------
    path : path
    behaviors, traces, missing_behavior, head_curvature_positive :
        As in `ceneurovae.io.read_flavell` (``traces="fmean"`` does not exist in JSON files,
        and version 2 has no ``"f20"``).
    content : dict, optional
        The already parsed file, to avoid parsing twice.
    stimuli : bool
        Every event the file's ``events`` (version 1) or ``timing/event`` (version 2) object
        names (``heat``) becomes a channel ``stimulus:<name>`` after the behaviors: 1.0 on
        each onset frame (the files hold no duration: `ceneurovae.io.behavior.EVENT_STIMULUS_S`).

    Returns
    -------
    recording : Recording
        Identities unknown; apply the labels with `ceneurovae.io.assign_labels`.
    labels : dict int -> LabelEntry or None
        The file's label entries keyed by 1-based trace row, None when it has none.
    """
    behaviors = check_reader_options(
        behaviors, traces, ("zscored", "original", "f20"), missing_behavior, head_curvature_positive
    )
    path = os.fspath(path)
    obj = load_json(path) if content is None else content
    version = wormwideweb_version(obj)
    if version is None:
        found = sorted(map(str, obj))[:12] if isinstance(obj, Mapping) else type(obj).__name__
        raise FormatError(
            f"not a WormWideWeb recording: no 'trace_array' (version 1) nor 'gcamp' and "
            f"'timing' objects (version 2); found {found}",
            path=path,
        )
    with damaged_file_guard(path, f"WormWideWeb v{version} file"):
        rec, entries = _read(obj, version, path, behaviors, traces, missing_behavior, head_curvature_positive,
                             orientation)
    stimuli_found = [n for n in rec.events if n != "reversals"]  # the events object's names
    if stimuli and stimuli_found:
        key = "events" if version == 1 else "timing/event"
        channels = {n: event_stimulus(n, rec.events[n], rec.timestamps) for n in stimuli_found}
        rec = append_stimuli(rec, channels, {n: f"{key}/{n}" for n in stimuli_found})
    return rec, entries


def _section(obj: Mapping, name: str, path: str) -> Mapping:
    sec = obj.get(name)
    if not isinstance(sec, Mapping):
        raise FormatError(f"missing or not an object (found {type(sec).__name__})", path=path, key=name)
    return sec


def _read(obj, version, path, behaviors, traces, missing_behavior, target, orientation):
    if version == 1:
        beh_sec, beh_prefix, keys = obj, "", V1_KEYS
        timing, trace_sec, trace_prefix = obj, obj, ""
        trace_keys = _V1_TRACES
        uid = wormwideweb_uid(obj, path)
        ts_key, event_key = "timestamp_confocal", "events"
        n_declared = obj.get("num_neurons")
    else:
        beh_sec, beh_prefix, keys = _section(obj, "behavior", path), "behavior/", V2_KEYS
        timing = _section(obj, "timing", path)
        trace_sec, trace_prefix = _section(obj, "gcamp", path), "gcamp/"
        trace_keys = _V2_TRACES
        meta_sec = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
        uid = wormwideweb_uid(obj, path)
        ts_key, event_key = "timestamp_confocal", "event"
        n_declared = meta_sec.get("n_neuron")
    tprefix = "" if version == 1 else "timing/"

    if traces not in trace_keys:
        raise FormatError(
            f"traces={traces!r} is not available in WormWideWeb v{version} files "
            f"(available: {sorted(trace_keys)})",
            path=path, key=trace_prefix + "trace_array",
        )
    trace_key = trace_keys[traces]
    if trace_key not in trace_sec:
        raise FormatError(
            f"missing (traces={traces!r}); found keys {sorted(map(str, trace_sec))[:15]}",
            path=path, key=trace_prefix + trace_key,
        )

    values: dict[str, np.ndarray] = {}
    missing: list[str] = []
    lengths: dict[str, int] = {}
    for name in behaviors:
        key = keys.get(name, name)
        if beh_sec.get(key) is None:
            missing.append(name)
            continue
        arr = float_array(beh_sec[key], path, beh_prefix + key)
        if arr.ndim != 1:
            raise FormatError(f"shape {arr.shape} is not one value per frame", path=path, key=beh_prefix + key)
        values[name] = arr
        lengths[beh_prefix + key] = arr.size
    if missing and missing_behavior == "error":
        looked = [beh_prefix + keys.get(n, n) for n in missing]
        raise FormatError(
            f"recording {uid!r} lacks the requested behaviors {missing} (looked for {looked}). "
            "Pass missing_behavior='mask' to keep it with those channels masked, or 'drop' to skip it",
            path=path, key=looked[0],
        )
    if not lengths and beh_sec.get(keys["velocity"]) is not None:
        lengths[beh_prefix + keys["velocity"]] = float_array(beh_sec[keys["velocity"]], path, "velocity").size
    if not lengths:
        raise FormatError("no behavior array to count frames with", path=path, key=beh_prefix + "velocity")
    T = frame_count(lengths, path)

    raw = float_array(trace_sec[trace_key], path, trace_prefix + trace_key)
    x, found = orient(raw, T, path, trace_prefix + trace_key, expected="neuron x time", given=orientation)
    if found != "neuron x time":
        warn(
            f"stored as {raw.shape} = (frames, neurons), the transpose of the documented neurons x "
            f"time; T={T} from the behavior length: transposed",
            path, trace_prefix + trace_key,
        )
    N = x.shape[1]
    if n_declared is not None and n_declared != N:
        warn(
            f"the file declares {n_declared} neurons but its traces have {N}: using {N}",
            path, trace_prefix + trace_key,
        )

    meta: dict = {
        "format": f"wormwideweb-v{version}",
        "trace_kind": traces,
        "trace_key": trace_prefix + trace_key,
        "trace_orientation": found,
        "behavior_keys": {n: beh_prefix + keys.get(n, n) for n in values},
        "missing_behaviors": missing,
    }
    if version == 1:
        meta["dataset_type"] = obj.get("dataset_type")
        meta["max_t"] = obj.get("max_t")
        meta["has_encoding"] = "rel_enc_str_v" in obj or "neuron_categorization" in obj
    else:
        meta["dataset_type"] = meta_sec.get("dataset_type")
        meta["paper_id"] = meta_sec.get("paper_id")
        meta["max_t"] = timing.get("max_t")
        meta["has_encoding"] = "encoding" in obj
        if timing.get("max_t") is not None and timing["max_t"] != T:
            warn(f"max_t is {timing['max_t']} but the arrays have {T} frames: using {T}", path, "timing/max_t")

    ts, dt = _timing(timing, version, T, path, tprefix, ts_key, meta)

    report_nonfinite(x, path, trace_prefix + trace_key)
    for name, v in values.items():
        report_nonfinite(v, path, beh_prefix + keys.get(name, name))

    factor, result = head_sign("dorsal", target)
    for n in values:
        if n in SIGNED_BY_HEAD_ANGLE:
            values[n] = values[n] * factor
    meta["head_curvature_positive"] = result

    events: dict = {}
    rev_key = "reversal_events"
    if beh_sec.get(rev_key) is not None:
        pairs, layout = parse_pairs(beh_sec[rev_key], path, beh_prefix + rev_key)
        meta["reversal_events_layout"] = layout
        events["reversals"] = clip_intervals(pairs.tolist(), T, path, beh_prefix + rev_key)
    ev = timing.get(event_key)
    if isinstance(ev, Mapping):
        for name, frames in ev.items():
            events[str(name)] = frames_from_one_based(frames, T, path, f"{tprefix}{event_key}/{name}")
    elif ev is not None:
        raise FormatError(
            f"expected an object of event frames, got {type(ev).__name__}", path=path, key=tprefix + event_key
        )

    entries = wormwideweb_labels(obj, path)

    behavior, bmask = behavior_columns(values, behaviors, T)
    rec = Recording(
        uid=uid, traces=x, behavior=behavior, behavior_names=behaviors, behavior_mask=bmask,
        timestamps=ts, dt=dt, events=events, source=path, meta=meta,
    )
    return rec, entries


def _timing(timing, version, T, path, tprefix, ts_key, meta) -> tuple[np.ndarray, float]:
    """Timestamps (s) and time step (s); checks the declared step against the timestamps."""
    declared_key = "avg_timestep" if version == 1 else "mean_timestep"
    declared = timing.get(declared_key)
    if declared is not None:
        declared = float(declared)
        if not np.isfinite(declared) or declared <= 0:
            raise FormatError(f"must be a positive number, got {declared!r}", path=path, key=tprefix + declared_key)
    # (check) v1's avg_timestep is documented both as minutes per frame and as frames per
    # minute, v2's mean_timestep as seconds: test each reading against the timestamps.
    readings = (
        {"minutes per frame": 60.0 * declared, "seconds per frame": declared, "frames per minute": 60.0 / declared}
        if declared is not None and version == 1
        else {"seconds per frame": declared} if declared is not None else {}
    )
    if timing.get(ts_key) is not None:
        ts_raw = float_array(timing[ts_key], path, tprefix + ts_key).reshape(-1)
        ts, note = fit_timestamps(ts_raw, T, path, tprefix + ts_key)
        if note:
            warn(note, path, tprefix + ts_key)
            meta["timestamps_note"] = note
        dt = time_step(ts)
        if readings:
            unit, value = min(readings.items(), key=lambda kv: abs(kv[1] - dt))
            if abs(value - dt) <= 0.1 * dt:
                meta["declared_timestep_unit"] = unit
            else:
                meta["declared_timestep_unit"] = "inconsistent with the timestamps"
                warn(
                    f"{declared} matches no reading of the timestamps' step {dt:.4g} s "
                    f"({', '.join(f'{u}: {v:.4g} s' for u, v in readings.items())}); using the timestamps",
                    path, tprefix + declared_key,
                )
        return ts, dt
    if declared is None:
        raise FormatError(
            f"neither timestamps nor {declared_key!r}: the time step is unknown", path=path, key=tprefix + ts_key
        )
    dt = readings["minutes per frame"] if version == 1 else declared
    meta["declared_timestep_unit"] = ("minutes per frame" if version == 1 else "seconds per frame") + " (assumed)"
    meta["timestamps_note"] = f"no timestamps in the file: arange(T) x {dt:.4g} s from {declared_key}"
    return np.arange(T) * dt, dt


def write_wormwideweb(
    path: str | os.PathLike,
    rec: Recording,
    version: int = 1,
    *,
    paper_id: str = "ceneurovae",
    dataset_type: Sequence[str] | None = None,
) -> Path:
    """Write a recording as a WormWideWeb JSON file (format 2 for version 1, 3 for version 2).

    Parameters
    ----------
    path : path
        A folder (the file is named ``<uid>.json`` for version 1, ``<paper_id>_<uid>.json``
        for version 2) or a file path ending in ``.json``.
    rec : Recording
        Unobserved entries are written as NaN (as the lab's exporter allows); a behavior never
        observed is written as null (pumping) or left out. Stimulus channels are written as
        their onset frames in the events object (``stimulus:heat`` -> ``{"heat": [...]}``, in
        place of ``events["heat"]``).
    version : {1, 2}
    paper_id, dataset_type :
        Stored in the file's metadata.

    Returns
    -------
    Path of the written file.
    """
    if version not in (1, 2):
        raise FormatError(f"version must be 1 or 2, got {version!r}", path=os.fspath(path))
    target = Path(path)
    if target.suffix.lower() != ".json":
        target.mkdir(parents=True, exist_ok=True)
        target = target / (f"{rec.uid}.json" if version == 1 else f"{paper_id}_{rec.uid}.json")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    x = rec.traces.astype(np.float64)
    x[~rec.mask] = np.nan
    trace_rows = x.T.tolist()
    keys = V1_KEYS if version == 1 else V2_KEYS
    behavior: dict = {}
    for j, name in enumerate(rec.behavior_names):
        key = keys.get(name, name)
        if is_stimulus(name):
            continue
        if not rec.behavior_mask[:, j].any():
            behavior[key] = None
            continue
        v = rec.behavior[:, j].astype(np.float64)
        v[~rec.behavior_mask[:, j]] = np.nan
        behavior[key] = v.tolist()
    reversals = [[int(a), int(b)] for a, b in rec.events.get("reversals", [])]
    events = {k: [int(f) + 1 for f in v] for k, v in rec.events.items() if k != "reversals"}
    events.update({k: [f + 1 for f in v] for k, v in stimulus_onsets(rec).items()})
    labels = _label_dict(rec)
    kinds = list(dataset_type) if dataset_type is not None else list(rec.meta.get("dataset_type") or ["baseline"])
    if version == 1:
        obj = {
            "uid": rec.uid, "dataset_type": kinds, "num_neurons": rec.n_neurons, "max_t": rec.n_frames,
            "avg_timestep": rec.dt / 60.0, "timestamp_confocal": rec.timestamps.tolist(),
            "trace_array": trace_rows, **behavior, "reversal_events": reversals, "events": events,
            "labeled": labels,
        }
    else:
        behavior["reversal_events"] = reversals
        obj = {
            "metadata": {"uid": rec.uid, "paper_id": paper_id, "dataset_type": kinds, "n_neuron": rec.n_neurons},
            "timing": {"mean_timestep": rec.dt, "max_t": rec.n_frames,
                       "timestamp_confocal": rec.timestamps.tolist(), "event": events},
            "behavior": behavior,
            "gcamp": {"trace_array": trace_rows},
        }
        if labels:
            obj["label"] = labels
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(obj, fh)
    return target


def _label_dict(rec: Recording) -> dict:
    confidence = rec.meta.get("label_confidence")
    out = {}
    for i, label in enumerate(rec.labels):
        if not label:
            continue
        name = canonical_label(label).name
        entry = {"label": label, "neuron_class": neuron_class(name) if name else "", "roi_id": i + 1}
        if confidence is not None and i < len(confidence) and confidence[i] is not None and np.isfinite(confidence[i]):
            entry["confidence"] = float(confidence[i])
        out[str(i + 1)] = entry
    return out
