"""NWB files (format 5): whole-brain recordings shared on the DANDI archive.

Neurodata Without Borders files are HDF5. This reader opens them with h5py and reads only
the small processed arrays it needs (one response series, its timestamps, the neuron names,
the behavior series and the stimulus intervals): never ``/acquisition``, where the raw
imaging volume of an Atanas & Kim 2023 file (25-27 GB) lives, so 40 files read in seconds.
pynwb is not needed to read; it is needed to write (``ceneurovae[nwb]``).

Layouts recognized without options (``../shared/DATA_FORMATS.md``, "Format 5"; paths under
``/processing``):

==========================  ==============================================================
layout                      where the traces, names, behavior and stimuli are
==========================  ==============================================================
``atanas2023`` (000776)     ``CalciumActivity/SignalCalciumImResponseSeries`` (processed;
                            ``traces="original"`` reads ``SignalRawFluor/...``),
                            ``CalciumActivity/NeuronIDs/labels``,
                            ``Behavior/<name>/<name>`` (velocity, head_curvature, ...)
``wormid`` (000541, ...)    ``CalciumActivity/SignalRawFluordNMF/dNMFCalciumImResponseSeries``
                            or ``.../SignalRawFluor/``, ``SignalDFoF/``, ``SignalFluorescence/``
                            ``SignalCalciumImResponseSeries``; names from ``NeuronIDs/labels``
                            or ``CalciumSeriesSegmentation/Aligned_neuron_coordinates/ID_labels``;
                            ``/intervals/chemical_stimuli``
``generic``                 the one ``RoiResponseSeries`` under ``/processing``, or the
                            series named by ``nwb_series``; names from ``nwb_labels`` or a
                            label column of the table the series' ``rois`` point into
==========================  ==============================================================

Rules, each checked with an error naming the file, the path inside it and the value:

- Time: the series' ``timestamps``, else ``starting_time`` and its ``rate`` attribute.
- Orientation: NWB stores (T, N). A series stored (N, T) is recognized by the length of its
  time axis (its timestamps, else the number of ``rois``), transposed, and said so.
- Names: blank, ``-`` and ``?`` labels stay unknown or uncertain; names are canonicalized
  against the atlas by `import_h5`, as for every format. Labels of another length than the
  neurons (and no ``rois`` to index them) are an error.
- Behavior: a requested behavior the file lacks follows ``missing_behavior``; a behavior
  series on other timestamps than the traces is interpolated onto them, with a warning.
- Stimuli: each ``/intervals`` table (but ``epochs`` and ``invalid_times``) becomes one
  channel ``stimulus:<name>`` per stimulus it names (its ``stimulus`` column, or the table's
  name), 1.0 while on.
- The uid is ``/general/subject/subject_id``, else the file name without ``.nwb``.

Remote files: a DANDI asset URL (``https://...``) or an ``s3://`` path is opened lazily
through remfile or fsspec (``pip install 'ceneurovae[nwb]'``), so only the small arrays
travel; ``file://`` paths take the same road, which is how it is tested.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from ..errors import ConfigError, FormatError
from ..recording import Recording, interval_channel, stimulus_name
from .behavior import SIGNED_BY_HEAD_ANGLE, append_stimuli, head_sign, manifest_pos_is_ventral
from .flavell import open_hdf5
from .labels import LabelEntry
from .validate import (
    LOW_LEVEL_ERRORS,
    ORIENTATIONS,
    behavior_columns,
    fit_timestamps,
    float_array,
    intervals_from_vector,
    read_bounded,
    report_nonfinite,
    time_step,
    warn,
)

__all__ = [
    "NWB_SUFFIX",
    "NWB_MARKS",
    "REMOTE_PREFIXES",
    "RESULTS_MODULE",
    "NwbContents",
    "describe_nwb",
    "has_nwb_layout",
    "is_remote",
    "nwb_contents",
    "nwb_uid",
    "open_nwb",
    "read_nwb",
    "require_pynwb",
    "write_nwb",
]

NWB_SUFFIX = ".nwb"
NWB_MARKS = ("acquisition", "processing", "intervals", "file_create_date", "session_start_time", "identifier")
"""Top-level keys of every NWB file: an HDF5 file with some of them but no NWB attributes is damaged."""
REMOTE_PREFIXES = ("http://", "https://", "s3://", "file://")
RESULTS_MODULE = "ceneurovae"
"""The processing module where ``predict -o out.nwb`` writes the model's results: never read as data."""
EXTRA = "pip install 'ceneurovae[nwb]'"

_CA = "processing/CalciumActivity"
# (series path, layout, trace kind) in the order they are tried.
KNOWN_SERIES = (
    (f"{_CA}/SignalCalciumImResponseSeries", "atanas2023", "processed"),
    ("processing/NeuralActivity/SignalCalciumImResponseSeries", "atanas2023", "processed"),
    (f"{_CA}/SignalRawFluor/SignalCalciumImResponseSeries", "atanas2023", "raw"),
    (f"{_CA}/SignalDFoF/SignalCalciumImResponseSeries", "wormid", "processed"),
    (f"{_CA}/SignalRawFluordNMF/dNMFCalciumImResponseSeries", "wormid", "raw"),
    (f"{_CA}/SignalRawFluor/dNMFCalciumImResponseSeries", "wormid", "raw"),
    (f"{_CA}/SignalFluorescence/SignalCalciumImResponseSeries", "wormid", "raw"),
)
KNOWN_LABELS = (
    f"{_CA}/NeuronIDs/labels",
    "processing/NeuralActivity/NeuronIDs/labels",
    f"{_CA}/CalciumSeriesSegmentation/Aligned_neuron_coordinates/ID_labels",
)
LABEL_COLUMNS = ("labels", "label", "ID_labels", "neuron", "neuron_name", "name")
"""Columns of a segmentation table (or datasets beside a series) that hold neuron names."""
BEHAVIOR_KEYS = {
    "velocity": ("velocity",),
    "head_curvature": ("head_curvature", "head_angle"),
    "pumping": ("pumping",),
    "angular_velocity": ("angular_velocity",),
    "body_curvature": ("body_curvature", "worm_curvature"),
}
"""Canonical behavior name -> the names an NWB file may give it under /processing/Behavior."""
STIMULUS_COLUMNS = ("stimulus", "stimulus_name", "stim_name", "target", "name", "type")
NOT_STIMULI = ("epochs", "invalid_times")
# The trace kinds of ReadOptions.traces, as NWB files have them.
TRACE_KINDS_NWB = {"zscored": ("processed", "raw"), "original": ("raw",)}


def is_remote(path) -> bool:
    """True for a URL (``https://``, ``s3://``, ``file://``) rather than a local path."""
    return isinstance(path, str) and path.lower().startswith(REMOTE_PREFIXES)


def has_nwb_layout(f: h5py.Group) -> bool:
    """True when an open HDF5 file is an NWB file (its root says ``NWBFile``)."""
    kind = f.attrs.get("neurodata_type")
    if isinstance(kind, bytes):
        kind = kind.decode("utf-8", "replace")
    return kind == "NWBFile" or "nwb_version" in f.attrs


def _optional(module: str):
    """An optional package, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


@contextlib.contextmanager
def open_nwb(path) -> Iterator[h5py.File]:
    """Open a local NWB file, or a remote one lazily (only the bytes read travel)."""
    if not is_remote(path):
        with open_hdf5(os.fspath(path)) as f:
            yield f
        return
    url = str(path)
    handle = None
    remfile = _optional("remfile")
    if url.lower().startswith(("http://", "https://")) and remfile is not None:
        handle = remfile.File(url)
    else:
        fsspec = _optional("fsspec")
        if fsspec is None:
            raise FormatError(f"reading a remote file needs fsspec or remfile: {EXTRA}", path=url)
        try:
            handle = fsspec.open(url, "rb", block_size=2**20, cache_type="blockcache").open()
        except (ImportError, ValueError) as err:
            raise FormatError(f"cannot open the URL with fsspec ({err}); {EXTRA}", path=url) from None
        except OSError as err:
            raise FormatError(f"cannot open the URL ({err})", path=url) from None
    try:
        try:
            f = h5py.File(handle, "r")
        except LOW_LEVEL_ERRORS as err:
            raise FormatError(f"cannot open as HDF5: truncated, damaged or not HDF5 ({err})", path=url) from None
        with f:
            yield f
    finally:
        handle.close()


def nwb_uid(f: h5py.File, path) -> str:
    """``/general/subject/subject_id``, else the file name without ``.nwb``."""
    ds = f.get("general/subject/subject_id")
    if isinstance(ds, h5py.Dataset) and ds.shape == ():
        value = _text(ds[()])
        if value.strip():
            return value.strip()
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    return name[: -len(NWB_SUFFIX)] if name.lower().endswith(NWB_SUFFIX) else name


# -- what a file holds ------------------------------------------------------------------------

@dataclass
class Series:
    """A 2-D time series under /processing that could hold traces."""

    path: str
    shape: tuple
    neurodata_type: str
    layout: str = "generic"
    kind: str = "processed"


@dataclass
class NwbContents:
    """What an NWB file holds that the reader can use (what ``ceneurovae info`` lists)."""

    series: list[Series] = field(default_factory=list)
    labels: list[tuple[str, int]] = field(default_factory=list)
    """(path, length) of datasets that can hold neuron names."""
    behaviors: list[tuple[str, str, int]] = field(default_factory=list)
    """(canonical name, path, length) of the behavior series found."""
    intervals: list[tuple[str, int]] = field(default_factory=list)
    """(path, rows) of the interval tables (stimuli)."""
    namespaces: list[str] = field(default_factory=list)
    """Extension namespaces the file caches (besides core and hdmf)."""

    def lines(self, chosen: str | None = None) -> list[str]:
        """Human-readable listing, marking the series the reader takes by default."""
        out = ["  response series (pick one with --nwb-series PATH):"]
        for s in self.series:
            mark = "  <- read by default" if s.path == chosen else ""
            out.append(f"    /{s.path}  {s.neurodata_type} {tuple(s.shape)}  [{s.layout}, {s.kind}]{mark}")
        if not self.series:
            out.append("    none")
        out.append("  neuron names (pick with --nwb-labels PATH):")
        out += [f"    /{p}  ({n} entries)" for p, n in self.labels] or ["    none"]
        out.append("  behavior series:")
        out += [f"    {name}: /{p}  ({n} values)" for name, p, n in self.behaviors] or ["    none"]
        out.append("  interval tables (read as stimuli):")
        out += [f"    /{p}  ({n} rows)" for p, n in self.intervals] or ["    none"]
        if self.namespaces:
            out.append("  extensions: " + ", ".join(self.namespaces))
        return out


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _type_of(obj) -> str:
    return _text(obj.attrs.get("neurodata_type", ""))


def _series_data(obj) -> h5py.Dataset | None:
    """The data dataset of a TimeSeries group, or None."""
    if isinstance(obj, h5py.Group):
        data = obj.get("data")
        if isinstance(data, h5py.Dataset):
            return data
    return None


def nwb_contents(f: h5py.File) -> NwbContents:
    """List what the file holds under /processing and /intervals (never /acquisition)."""
    found = NwbContents()
    known = {p: (layout, kind) for p, layout, kind in KNOWN_SERIES}
    processing = f.get("processing")
    if isinstance(processing, h5py.Group):
        def visit(name: str, obj) -> None:
            if name.split("/", 1)[0] == RESULTS_MODULE:
                return
            full = f"processing/{name}"
            data = _series_data(obj)
            if data is not None and data.ndim == 2 and min(data.shape) > 1:
                layout, kind = known.get(full, ("generic", "processed"))
                found.series.append(Series(full, tuple(data.shape), _type_of(obj) or "?", layout, kind))
            elif isinstance(obj, h5py.Dataset) and obj.ndim == 1 and name.rsplit("/", 1)[-1] in LABEL_COLUMNS \
                    and obj.dtype.kind in "SOU":
                found.labels.append((full, int(obj.shape[0])))
        processing.visititems(visit)
        behavior = processing.get("Behavior")
        if isinstance(behavior, h5py.Group):
            for name in sorted(behavior):
                ds, where = _behavior_series(behavior, name)
                if ds is not None:
                    found.behaviors.append((_canonical_behavior(name), ds.name.lstrip("/"), int(ds.shape[0])))
    order = {p: i for i, (p, _, _) in enumerate(KNOWN_SERIES)}
    found.series.sort(key=lambda s: (order.get(s.path, len(order)), s.path))
    intervals = f.get("intervals")
    if isinstance(intervals, h5py.Group):
        for name in sorted(intervals):
            g = intervals[name]
            if name not in NOT_STIMULI and isinstance(g, h5py.Group) and "start_time" in g:
                found.intervals.append((f"intervals/{name}", int(g["start_time"].shape[0])))
    specs = f.get("specifications")
    if isinstance(specs, h5py.Group):
        found.namespaces = sorted(n for n in specs if n not in ("core", "hdmf-common", "hdmf-experimental"))
    return found


def _canonical_behavior(name: str) -> str:
    return next((c for c, keys in BEHAVIOR_KEYS.items() if name in keys), name)


def _behavior_series(group: h5py.Group, name: str) -> tuple[h5py.Dataset | None, str]:
    """``Behavior/<name>/<name>/data`` (a container holding a series) or ``Behavior/<name>/data``."""
    obj = group.get(name)
    data = _series_data(obj)
    if data is not None:
        return data, name
    if isinstance(obj, h5py.Group):
        inner = obj.get(name)
        data = _series_data(inner)
        if data is None and len(obj) == 1:
            only = next(iter(obj))
            data, name = _series_data(obj[only]), f"{name}/{only}"
            return data, name
        if data is not None:
            return data, f"{name}/{name}"
    return None, name


def describe_nwb(path, *, traces: str = "zscored", series: str | None = None) -> list[str]:
    """What an NWB file holds, as the lines ``ceneurovae info`` prints, marking the series read."""
    with open_nwb(path) as f:
        contents = nwb_contents(f)
        try:
            chosen = _choose_series(f, contents, str(path), traces, series).path
        except FormatError:
            chosen = None
    return contents.lines(chosen)


# -- reading ---------------------------------------------------------------------------------

def read_nwb(
    path,
    *,
    behaviors,
    traces: str = "zscored",
    missing_behavior: str = "error",
    head_curvature_positive: str = "dorsal",
    head_angle_pos_is_ventral=None,
    stimuli: bool = True,
    series: str | None = None,
    labels: str | None = None,
    orientation: str = "auto",
) -> tuple[Recording, dict[int, LabelEntry]]:
    """Read one NWB file: its recording and the neuron names it carries (1-based rows).

    Parameters are those of `import_h5` (``series`` and ``labels`` are its ``nwb_series``
    and ``nwb_labels``; ``head_angle_pos_is_ventral`` maps uid -> the file's head-angle
    sign, defaulting to the Atanas & Kim 2023 manifest). See the module docstring.
    """
    where = str(path)
    with open_nwb(path) as f:
        try:
            return _read(f, where, list(behaviors), traces, missing_behavior, head_curvature_positive,
                         head_angle_pos_is_ventral, stimuli, series, labels, orientation)
        except LOW_LEVEL_ERRORS as err:
            if isinstance(err, FormatError):
                raise
            raise FormatError(f"damaged or unreadable NWB file ({type(err).__name__}: {err})", path=where) from None


def _read(f, where, behaviors, traces, missing_behavior, target, pos_is_ventral, stimuli, series_option,
          labels_option, orientation):
    contents = nwb_contents(f)
    chosen = _choose_series(f, contents, where, traces, series_option)
    group = f[chosen.path]
    data = group["data"]
    key = f"/{chosen.path}/data"
    if data.ndim != 2:
        raise FormatError(f"traces must be 2-D (frames, neurons), got shape {data.shape}", path=where, key=key)
    if data.dtype.kind not in "fiu":
        raise FormatError(f"traces must be numbers, got dtype {data.dtype}", path=where, key=key)

    rois = _rois(f, group, where, chosen.path)
    ts, ts_key = _timestamps(group, where, chosen.path)
    rows, cols = data.shape
    n_time = ts.size if ts is not None else None
    if orientation != "auto":
        orientation = ORIENTATIONS[orientation]
        if n_time is not None and (rows if orientation == "time x neuron" else cols) != n_time:
            raise FormatError(f"orientation reads {data.shape} as {orientation}, but there are {n_time} "
                              f"timestamps ({ts_key})", path=where, key=key)
    elif n_time is not None and rows == cols == n_time:
        raise FormatError(
            f"shape {data.shape}: as many neurons as frames, so the orientation cannot be told from the "
            "timestamps; pass orientation='frames-first' (NWB's convention) or 'neurons-first' "
            "(command line: --orientation)", path=where, key=key)
    elif n_time is not None:
        if rows == n_time:
            orientation = "time x neuron"
        elif cols == n_time:
            orientation = "neuron x time"
        else:
            raise FormatError(
                f"{n_time} timestamps ({ts_key}) match neither axis of the traces {data.shape}",
                path=where, key=key,
            )
    elif rois is not None and cols != rois.size and rows == rois.size:
        orientation = "neuron x time"
    else:
        orientation = "time x neuron"  # the NWB convention, with nothing saying otherwise
    x = float_array(read_bounded(data, where, key), where, key)
    if orientation == "neuron x time":
        x = x.T
        warn(f"stored as {data.shape} = (neurons, frames), the transpose of NWB's (frames, neurons): "
             "transposed", where, key)
    T, N = x.shape
    if ts is None:
        ts = _start_rate(group, where, chosen.path, T)
    else:
        ts, note = fit_timestamps(ts, T, where, ts_key)
    if T < 2:
        raise FormatError(f"{T} frame: a recording needs at least 2 frames", path=where, key=key)
    if rois is not None and rois.size != N:
        raise FormatError(f"{rois.size} rois for {N} neurons of the traces {data.shape}", path=where,
                          key=f"/{chosen.path}/rois")
    uid = nwb_uid(f, where)
    names, label_key = _labels(f, contents, group, chosen.path, rois, N, where, labels_option)
    values, missing, behavior_keys = _behavior(f, contents, behaviors, ts, where)
    if missing and missing_behavior == "error":
        have = [name for name, _, _ in contents.behaviors]
        raise FormatError(
            f"recording {uid!r} lacks the requested behaviors {missing} (/processing/Behavior holds "
            f"{have or 'nothing'}). Pass missing_behavior='mask' to keep it with those channels masked, "
            "or 'drop' to skip it",
            path=where, key="/processing/Behavior",
        )

    report_nonfinite(x, where, key)
    meta: dict = {
        "format": "nwb",
        "nwb_layout": chosen.layout,
        "trace_kind": chosen.kind,
        "trace_key": key,
        "trace_orientation": orientation,
        "label_key": label_key,
        "behavior_keys": behavior_keys,
        "missing_behaviors": missing,
    }
    for attr in ("identifier", "session_description", "session_start_time"):
        ds = f.get(attr)
        if isinstance(ds, h5py.Dataset) and ds.shape == ():
            meta[f"nwb_{attr}"] = _text(ds[()])

    # Head-angle sign: the Atanas & Kim manifest knows the recordings of the 2023 paper.
    signed = [n for n in values if n in SIGNED_BY_HEAD_ANGLE]
    flag = (pos_is_ventral or {}).get(uid)
    if flag is None:
        date_id = re.search(r"\d{4}-\d{2}-\d{2}-\d{2}", uid)
        flag = manifest_pos_is_ventral(date_id.group(0)) if date_id else None
    source = "unknown" if flag is None else ("ventral" if flag else "dorsal")
    factor, result = head_sign(source, target)
    if signed and source == "unknown" and target != "as_read":
        warn(f"recording {uid!r} is not in the Atanas & Kim 2023 manifest and no head_angle_pos_is_ventral "
             f"was given: {signed} kept as read (sign convention unknown); pass head_angle_pos_is_ventral="
             f"{{{uid!r}: True/False}} (command line: --head-angle-pos-is-ventral {uid}=true|false)",
             where, "/processing/Behavior")
    for n in signed:
        values[n] = values[n] * factor
    meta["head_curvature_positive"] = result

    events: dict = {}
    reversals = next((p for n, p, _ in contents.behaviors if n == "reversal_events"), None)
    if reversals is not None:
        rev = float_array(read_bounded(f[reversals], where, "/" + reversals), where, "/" + reversals).reshape(-1)
        if rev.size == T:
            events["reversals"] = intervals_from_vector(np.nan_to_num(rev))
        else:
            warn(f"{rev.size} values for {T} frames: reversal events not read", where, "/" + reversals)

    behavior, bmask = behavior_columns(values, behaviors, T)
    rec = Recording(
        uid=uid, traces=x, behavior=behavior, behavior_names=behaviors, behavior_mask=bmask,
        timestamps=ts, dt=time_step(ts), events=events, source=where, meta=meta,
    )
    if stimuli:
        channels, found = _stimuli(f, contents, ts, where)
        rec = append_stimuli(rec, channels)
        rec.meta["stimuli"] = found  # intervals keep their durations: say where each came from
    entries = {i + 1: LabelEntry(name) for i, name in enumerate(names) if name.strip()}
    return rec, entries


def _choose_series(f, contents: NwbContents, where: str, traces: str, option: str | None) -> Series:
    listing = "; ".join(f"/{s.path} {tuple(s.shape)}" for s in contents.series) or "none"
    if option is not None:
        wanted = option.strip().strip("/")
        if wanted.endswith("/data"):
            wanted = wanted[: -len("/data")]
        if "/" in wanted:
            hits = [s for s in contents.series if s.path == wanted]
            if not hits and _series_data(f.get(wanted)) is not None:
                data = f[wanted]["data"]
                hits = [Series(wanted, tuple(data.shape), _type_of(f[wanted]) or "?")]
        else:
            hits = [s for s in contents.series if s.path.rsplit("/", 1)[-1] == wanted]
        if len(hits) != 1:
            what = "no 2-D response series" if not hits else f"{len(hits)} series"
            raise FormatError(
                f"nwb_series={option!r} names {what} (series found: {listing})",
                path=where, key=option,
            )
        return hits[0]
    if traces not in TRACE_KINDS_NWB:
        raise FormatError(
            f"traces={traces!r}: NWB files hold processed or raw series only; use traces='zscored' "
            f"(processed, else raw) or 'original' (raw), or name one with nwb_series (found: {listing})",
            path=where, key="traces",
        )
    for kind in TRACE_KINDS_NWB[traces]:
        known = [s for s in contents.series if s.layout != "generic" and s.kind == kind]
        if known:
            return known[0]
    generic = [s for s in contents.series if s.layout == "generic"]
    roi = [s for s in generic if s.neurodata_type == "RoiResponseSeries"] or generic
    if len(roi) == 1:
        return roi[0]
    if not roi:
        extension = f"; the file uses the extensions {contents.namespaces}" if contents.namespaces else ""
        raise FormatError(
            "no response series: no 2-D time series under /processing (the traces of a recording)"
            f"{extension}; name one with nwb_series (--nwb-series PATH) if it lies elsewhere",
            path=where, key="/processing",
        )
    raise FormatError(
        f"{len(roi)} response series and none in a known layout: choose one with nwb_series "
        f"(--nwb-series PATH); found: {listing}",
        path=where, key="/processing",
    )


def _rois(f, group: h5py.Group, where: str, series: str) -> np.ndarray | None:
    ds = group.get("rois")
    if not isinstance(ds, h5py.Dataset):
        return None
    rois = np.asarray(read_bounded(ds, where, f"/{series}/rois")).reshape(-1)
    if rois.dtype.kind not in "iu":
        raise FormatError(f"rois must be row indices, got dtype {rois.dtype}", path=where, key=f"/{series}/rois")
    return rois.astype(np.int64)


def _rois_table(f, group: h5py.Group) -> h5py.Group | None:
    ds = group.get("rois")
    ref = ds.attrs.get("table") if isinstance(ds, h5py.Dataset) else None
    if isinstance(ref, h5py.Reference) and ref:
        target = f[ref]
        return target if isinstance(target, h5py.Group) else None
    return None


def _timestamps(group: h5py.Group, where: str, series: str) -> tuple[np.ndarray | None, str]:
    key = f"/{series}/timestamps"
    ds = group.get("timestamps")
    if not isinstance(ds, h5py.Dataset):
        return None, key
    ts = float_array(read_bounded(ds, where, key), where, key)
    if ts.ndim != 1:
        raise FormatError(f"timestamps must be 1-D, got shape {ts.shape}", path=where, key=key)
    return ts, key


def _start_rate(group: h5py.Group, where: str, series: str, n: int) -> np.ndarray:
    key = f"/{series}/starting_time"
    ds = group.get("starting_time")
    if not isinstance(ds, h5py.Dataset):
        raise FormatError("neither timestamps nor starting_time: every frame needs a time", path=where, key=key)
    rate = ds.attrs.get("rate")
    start = float(np.asarray(ds[()], dtype=np.float64))
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise FormatError(f"the rate attribute is {rate!r}, not a number of frames per second",
                          path=where, key=key) from None
    if not (np.isfinite(rate) and rate > 0 and np.isfinite(start)):
        raise FormatError(f"starting_time {start!r} with rate {rate!r}: need a finite start and a positive rate",
                          path=where, key=key)
    return start + np.arange(n, dtype=np.float64) / rate


def _decode_names(values, where: str, key: str) -> list[str]:
    out = []
    for i, v in enumerate(np.asarray(values).reshape(-1)):
        if isinstance(v, bytes):
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError(f"entry {i} is not UTF-8 text ({v[:40]!r})", path=where, key=key) from None
        out.append(str(v).strip())
    return out


def _ragged(ds: h5py.Dataset, where: str, key: str) -> list[str] | None:
    """A ragged column (``<name>_index`` beside it): each row's strings, joined."""
    index = ds.parent.get(ds.name.rsplit("/", 1)[-1] + "_index")
    if not isinstance(index, h5py.Dataset):
        return None
    flat = _decode_names(read_bounded(ds, where, key), where, key)
    ends = np.asarray(read_bounded(index, where, key + "_index"), dtype=np.int64).reshape(-1)
    starts = np.concatenate([[0], ends[:-1]])
    rows = [flat[a:b] for a, b in zip(starts, ends)]
    return ["".join(r) if all(len(s) <= 1 for s in r) else next((s for s in r if s), "") for r in rows]


def _labels(f, contents: NwbContents, group, series: str, rois, N: int, where: str, option: str | None):
    """Neuron names per trace column, and where they came from (None: the file names none)."""
    table = _rois_table(f, group)
    candidates: list[str] = []
    if option is not None:
        wanted = option.strip().strip("/")
        if "/" in wanted:
            candidates = [wanted]
        else:
            candidates = [p for p, _ in contents.labels if p.rsplit("/", 1)[-1] == wanted]
            if table is not None and wanted in table:
                candidates.append(table[wanted].name.lstrip("/"))
        if len(candidates) != 1 or not isinstance(f.get(candidates[0]), h5py.Dataset):
            shown = ", ".join("/" + p for p, _ in contents.labels) or "none"
            raise FormatError(f"nwb_labels={option!r} names {len(candidates)} name columns (found: {shown})",
                              path=where, key=option)
    else:
        candidates = [p for p in KNOWN_LABELS if isinstance(f.get(p), h5py.Dataset)]
        if table is not None:
            candidates += [table[c].name.lstrip("/") for c in LABEL_COLUMNS
                           if isinstance(table.get(c), h5py.Dataset)]
        if isinstance(group.parent.get("neuron"), h5py.Dataset):  # ActivityTraces/{activity, neuron}
            candidates.append(group.parent["neuron"].name.lstrip("/"))
    if not candidates:
        if contents.labels:
            warn("no neuron names in a known place; the recording is read unlabeled. Name columns "
                 f"found: {[p for p, _ in contents.labels]}; choose one with nwb_labels (--nwb-labels PATH)",
                 where, "/processing")
        return [""] * N, None
    path = candidates[0]
    key = "/" + path
    ds = f[path]
    if ds.dtype.kind not in "SOU":
        raise FormatError(f"neuron names must be text, got dtype {ds.dtype}", path=where, key=key)
    names = _ragged(ds, where, key) or _decode_names(read_bounded(ds, where, key), where, key)
    if len(names) != N:
        if rois is not None and rois.size == N and rois.size and 0 <= rois.min() and rois.max() < len(names):
            names = [names[i] for i in rois]
        else:
            raise FormatError(
                f"{len(names)} neuron names for the {N} neurons of /{series} (and no rois to match "
                "them); the names must be one per trace column",
                path=where, key=key,
            )
    return names, key


def _behavior(f, contents: NwbContents, behaviors, ts: np.ndarray, where: str):
    values: dict[str, np.ndarray] = {}
    missing: list[str] = []
    keys: dict[str, str] = {}
    found = {name: p for name, p, _ in contents.behaviors}
    for name in behaviors:
        if name not in found:
            missing.append(name)
            continue
        path = found[name]
        key = f"/{path}"
        data = f[path]
        v = float_array(read_bounded(data, where, key), where, key)
        if v.ndim == 2 and 1 in v.shape:
            v = v.reshape(-1)
        if v.ndim != 1:
            raise FormatError(f"shape {v.shape} is not one value per frame", path=where, key=key)
        if v.size != ts.size:
            own = _own_times(data.parent, where, path, v.size)
            if own is None:
                raise FormatError(
                    f"{v.size} values for {ts.size} frames of the traces, and no timestamps of its "
                    "own to align them by",
                    path=where, key=key,
                )
            ok = np.isfinite(v)
            inside = (ts >= own[0]) & (ts <= own[-1])
            aligned = np.full(ts.size, np.nan)
            aligned[inside] = np.interp(ts[inside], own[ok], v[ok]) if ok.sum() > 1 else np.nan
            warn(f"{v.size} values on their own timestamps, interpolated onto the {ts.size} frames of the "
                 f"traces ({int((~inside).sum())} frames outside its time range are masked)", where, key)
            v = aligned
        report_nonfinite(v, where, key)
        values[name] = v
        keys[name] = key
    return values, missing, keys


def _own_times(group: h5py.Group, where: str, path: str, n: int) -> np.ndarray | None:
    series = path.rsplit("/", 1)[0]
    ts, key = _timestamps(group, where, series)
    if ts is not None:
        fitted, _ = fit_timestamps(ts, n, where, key)
        return fitted
    if isinstance(group.get("starting_time"), h5py.Dataset):
        return _start_rate(group, where, series, n)
    return None


def _stimuli(f, contents: NwbContents, ts: np.ndarray, where: str):
    """One channel per stimulus named by the interval tables; and, for ``meta["stimuli"]``,
    where each came from and how many intervals it has."""
    channels: dict[str, np.ndarray] = {}
    read: dict[str, dict] = {}
    for path, _ in contents.intervals:
        g = f[path]
        key = f"/{path}"
        start = float_array(read_bounded(g["start_time"], where, key + "/start_time"), where, key + "/start_time")
        if "stop_time" not in g:
            raise FormatError("an interval table needs stop_time beside start_time", path=where, key=key)
        stop = float_array(read_bounded(g["stop_time"], where, key + "/stop_time"), where, key + "/stop_time")
        if start.shape != stop.shape or start.ndim != 1:
            raise FormatError(f"start_time {start.shape} and stop_time {stop.shape} differ", path=where, key=key)
        bad = ~(np.isfinite(start) & np.isfinite(stop) & (stop >= start))
        if bad.any():
            i = int(np.argmax(bad))
            raise FormatError(f"row {i}: interval [{start[i]!r}, {stop[i]!r}] s is not a finite interval",
                              path=where, key=key)
        column = next((c for c in STIMULUS_COLUMNS if isinstance(g.get(c), h5py.Dataset)
                       and g[c].dtype.kind in "SOU" and g[c].shape == start.shape), None)
        table = path.rsplit("/", 1)[-1]
        labels = (_decode_names(read_bounded(g[column], where, f"{key}/{column}"), where, f"{key}/{column}")
                  if column else [table] * start.size)
        for name in dict.fromkeys(labels):
            rows = [i for i, lab in enumerate(labels) if lab == name]
            channel = stimulus_name(name or table)
            on = interval_channel(ts, [(start[i], stop[i]) for i in rows])
            channels[channel] = np.maximum(channels.get(channel, 0.0), on)
            entry = read.setdefault(channel, {"from": [], "intervals": 0})
            entry["from"].append(key)
            entry["intervals"] += len(rows)
        outside = int(((stop < ts[0]) | (start > ts[-1])).sum())
        if outside:
            warn(f"{outside} of {start.size} intervals lie outside the recording "
                 f"({ts[0]:.6g}..{ts[-1]:.6g} s)", where, key)
    return channels, read



# -- writing ---------------------------------------------------------------------------------

LAYOUTS = ("atanas2023", "wormid", "generic")
"""Layouts `write_nwb` writes (the paths `read_nwb` reads without options)."""


def require_pynwb(purpose: str = "writing NWB"):
    """The pynwb module, or a `ConfigError` saying which extra to install (``purpose`` says
    what needs it)."""
    pynwb = _optional("pynwb")
    if pynwb is None:
        raise ConfigError(f"{purpose} needs pynwb: {EXTRA}")
    return pynwb


def write_nwb(path, rec: Recording, *, layout: str = "atanas2023", raw_traces: np.ndarray | None = None,
              session_start_time=None, identifier: str | None = None) -> str:
    """Write one recording as an NWB file in one of the `LAYOUTS` (needs pynwb).

    Parameters
    ----------
    path : path
        The file to write (``.nwb``); a folder gets ``<uid>.nwb`` in it.
    rec : Recording
        Traces as the processed series; behaviors (not the stimulus channels) as
        ``/processing/Behavior`` series; stimulus channels as ``/intervals`` rows
        (``atanas2023``: one table per stimulus; ``wormid``: ``chemical_stimuli`` with a
        ``stimulus`` column); neuron names as ``NeuronIDs/labels`` (``generic``: a ``neuron_name`` column of the ROI table):
        the identity names with a vocabulary, else the raw labels.
        Unobserved entries (and behaviors never observed) are written as NaN.
    layout : {"atanas2023", "wormid", "generic"}
        ``wormid`` stores time as ``starting_time`` and ``rate`` and no timestamps; the
        others store the timestamps.
    raw_traces : (T, N) array, optional
        Written as the raw-fluorescence series (``atanas2023``: ``SignalRawFluor``).

    Returns
    -------
    The path written.
    """
    if layout not in LAYOUTS:
        raise FormatError(f"layout={layout!r} is not one of {', '.join(map(repr, LAYOUTS))}")
    pynwb = require_pynwb()
    from hdmf.common import DynamicTable, VectorData
    from pynwb.behavior import BehavioralTimeSeries
    from pynwb.file import Subject
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    target = Path(path)
    if target.suffix.lower() != NWB_SUFFIX:
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{rec.uid}{NWB_SUFFIX}"
    start = session_start_time or datetime(2000, 1, 1, tzinfo=timezone.utc)
    nwb = pynwb.NWBFile(
        session_description=f"recording {rec.uid} written by ceneurovae",
        identifier=identifier or f"ceneurovae-{rec.uid}", session_start_time=start,
        # A Recording holds no species, sex or age: "U" and "at least 0 days" say so (nwbinspector
        # needs sex and age; it wants a C. elegans subject to be XX or XO, which we do not know).
        subject=Subject(subject_id=rec.uid, sex="U", age="P0D/"),
    )
    device = nwb.create_device(name="microscope")
    channel = OpticalChannel(name="GCaMP", description="calcium indicator", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(
        name="CalciumImVol", optical_channel=channel, description="whole-brain volume", device=device,
        excitation_lambda=488.0, indicator="GCaMP", location="head",
    )
    calcium = nwb.create_processing_module("CalciumActivity", "whole-brain calcium activity")
    segmentation = ImageSegmentation(name="CalciumSeriesSegmentation")
    calcium.add(segmentation)
    rois = segmentation.create_plane_segmentation(
        name="Aligned_neuron_coordinates", description="one row per neuron", imaging_plane=plane,
    )
    # Identities when the recording has them (labels below a confidence threshold are not
    # identities, and NWB keeps no confidence); otherwise the labels as they are.
    names = rec.identity_names() if rec.vocabulary is not None else list(rec.labels)
    if layout == "generic":
        rois.add_column("neuron_name", "NeuroPAL name of each neuron ('' = unidentified)")
    for i in range(rec.n_neurons):
        row = {"voxel_mask": [(0, 0, i, 1.0)]}
        if layout == "generic":
            row["neuron_name"] = names[i]
        rois.add_roi(**row)
    region = rois.create_roi_table_region(description="every neuron", region=list(range(rec.n_neurons)))
    traces = np.where(rec.mask, rec.traces, np.nan).astype(np.float64)
    timing = (dict(starting_time=float(rec.timestamps[0]), rate=1.0 / rec.dt) if layout == "wormid"
              else dict(timestamps=rec.timestamps))

    def series(name: str, data: np.ndarray, where) -> RoiResponseSeries:
        s = RoiResponseSeries(name=name, data=data, rois=region, unit="a.u.", **timing)
        where.add(s) if hasattr(where, "add") else where.add_roi_response_series(s)
        return s

    if layout == "atanas2023":
        series("SignalCalciumImResponseSeries", traces, calcium)
        if raw_traces is not None:
            series("SignalCalciumImResponseSeries", np.asarray(raw_traces, dtype=np.float64),
                   _added(calcium, Fluorescence(name="SignalRawFluor")))
    elif layout == "wormid":
        series("dNMFCalciumImResponseSeries", traces, _added(calcium, Fluorescence(name="SignalRawFluordNMF")))
    else:
        ophys = calcium
        series("RoiResponseSeries", traces, _added(ophys, Fluorescence(name="Fluorescence")))
    if layout != "generic":
        calcium.add(DynamicTable(name="NeuronIDs", description="NeuroPAL name of each neuron",
                                 columns=[VectorData(name="labels", description="'' = unidentified",
                                                     data=list(names))]))

    behavior = nwb.create_processing_module("Behavior", "behavior on the frames of the traces")
    for j, name in enumerate(rec.behavior_names):
        if name.startswith("stimulus:"):
            continue
        values = np.where(rec.behavior_mask[:, j], rec.behavior[:, j], np.nan).astype(np.float64)
        container = BehavioralTimeSeries(name=name)
        container.create_timeseries(name=name, data=values, unit="a.u.", **timing)
        behavior.add(container)
    reversals = rec.events.get("reversals") if rec.events else None
    if reversals:
        vec = np.zeros(rec.n_frames)
        for a, b in reversals:
            vec[int(a):int(b)] = 1.0
        container = BehavioralTimeSeries(name="reversal_events")
        container.create_timeseries(name="reversal_events", data=vec, unit="n.a.", **timing)
        behavior.add(container)
    _write_stimuli(nwb, rec, layout)
    target.parent.mkdir(parents=True, exist_ok=True)
    with pynwb.NWBHDF5IO(str(target), "w") as io:
        io.write(nwb)
    return str(target)


def _added(module, container):
    module.add(container)
    return container


def _write_stimuli(nwb, rec: Recording, layout: str) -> None:
    from pynwb.epoch import TimeIntervals

    rows = []
    for j, name in enumerate(rec.behavior_names):
        if not name.startswith("stimulus:"):
            continue
        on = (rec.behavior[:, j] > 0) & rec.behavior_mask[:, j]
        for a, b in intervals_from_vector(on):
            stop = rec.timestamps[b] if b < rec.n_frames else rec.timestamps[-1] + rec.dt
            rows.append((name[len("stimulus:"):], float(rec.timestamps[a]), float(stop)))
    if not rows:
        return
    if layout == "wormid":
        table = TimeIntervals(name="chemical_stimuli", description="stimulus intervals")
        table.add_column("stimulus", "the stimulus delivered")
        for stim, a, b in rows:
            table.add_row(start_time=a, stop_time=b, stimulus=stim)
        nwb.add_time_intervals(table)
        return
    for stim in dict.fromkeys(r[0] for r in rows):
        table = TimeIntervals(name=stim, description=f"{stim} stimulus intervals")
        for s, a, b in rows:
            if s == stim:
                table.add_row(start_time=a, stop_time=b)
        nwb.add_time_intervals(table)
