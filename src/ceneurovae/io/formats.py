"""The table of file formats: one row per format, read by `detect_format` and `import_h5`.

A row (`Format`) names the format, the container it lives in (HDF5 or JSON), how to
recognize it from an open file (``detect``), how `import_h5` reads it (``read``, for files
holding recordings; ``labels``, for files lending neuron names to other recordings), and
its writer. Rows are in detection order: the first whose detector answers True wins.

Detectors look at a `FileView`: the open HDF5 file, or a JSON file's bytes (parsed only
when a detector asks for ``view.json``). Readers get the path and a `ReadRequest` and
return a `Piece`: the file's recordings (yielded one at a time), the labels it carries
and, for files that carry identities, their vocabulary.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from ..errors import FormatError
from ..identity import Vocabulary
from ..recording import Recording, is_stimulus
from .behavior import SIGNED_BY_HEAD_ANGLE, head_sign
from .cohort import has_cohort_layout, read_cohort, write_cohort
from .flavell import FILE_SUFFIX, flavell_uid, has_flavell_layout, read_flavell, write_flavell
from .labels import LabelEntry, looks_like_label_file, read_label_file, write_label_file
from .nwb import NWB_MARKS, NWB_SUFFIX, has_nwb_layout, read_nwb, write_nwb
from .wormwideweb import (
    load_json,
    looks_like_wormwideweb,
    read_wormwideweb,
    wormwideweb_labels,
    wormwideweb_uid,
    write_wormwideweb,
)

__all__ = [
    "FORMAT_TABLE",
    "FORMATS",
    "FileView",
    "Format",
    "Found",
    "Piece",
    "ReadRequest",
    "format_named",
]

Labels = dict[str, dict[int, LabelEntry]]


class FileView:
    """What a detector looks at: an open HDF5 file (``hdf5``) or a JSON file's bytes (``raw``)."""

    def __init__(self, path: str | os.PathLike, *, hdf5: h5py.File | None = None, raw: bytes | None = None):
        self.path = Path(path)
        self.hdf5 = hdf5
        self.raw = raw

    @functools.cached_property
    def json(self) -> Any:
        """The parsed JSON (parsed on first use, once)."""
        return load_json(self.path)


@dataclass(frozen=True)
class ReadRequest:
    """What `import_h5` asks of a reader (options already checked)."""

    behaviors: list[str]
    traces: str
    missing_behavior: str
    """``"error"`` or ``"mask"`` (``"drop"`` is applied by `import_h5` after reading)."""
    head_curvature_positive: str
    head_angle_pos_is_ventral: Mapping[str, bool] | None = None
    stimuli: bool = True
    """Read the file's stimuli as ``stimulus:<name>`` channels."""
    nwb_series: str | None = None
    nwb_labels: str | None = None
    orientation: str = "auto"
    """``"auto"``, ``"frames-first"`` or ``"neurons-first"``: the axes of trace arrays."""
    data_uids: frozenset[str] = frozenset()
    """Uids named by data files among the inputs: a file of another format with one of these
    uids only lends its labels."""

    def reader_options(self) -> dict:
        """Keyword arguments shared by the per-recording readers."""
        return dict(behaviors=self.behaviors, traces=self.traces, missing_behavior=self.missing_behavior,
                    head_curvature_positive=self.head_curvature_positive, orientation=self.orientation)


@dataclass
class Found:
    """One recording a file yields, with the names (identities) or labels it carries."""

    recording: Recording
    names: list[str] | None = None
    """Canonical name per neuron, for files whose recordings carry their identities."""
    labels: dict[int, LabelEntry] | None = None
    """Label entries carried beside the recording (used when no label file names it)."""


@dataclass
class Piece:
    """What `import_h5` gets from one file."""

    recordings: Iterable[Found] = ()
    vocabulary: Vocabulary | None = None
    """The identity vocabulary the file carries, if any."""
    lent_labels: Labels = field(default_factory=dict)
    """Labels for recordings read from other files (same uid)."""


@dataclass(frozen=True)
class Format:
    """One row of the format table."""

    name: str
    """Name returned by `detect_format` (`Source.format`)."""
    container: str
    """``"hdf5"`` or ``"json"``."""
    detect: Callable[[FileView], bool]
    """True when the file is in this format."""
    marks: tuple = ()
    """Top-level keys (HDF5) or byte strings (JSON) only this format's files hold: a file with
    some of them but no complete layout is damaged, not someone else's."""
    read: Callable[[Path, ReadRequest], Piece] | None = None
    """Reader of files holding recordings (None: the format holds none)."""
    labels: Callable[[Path], Labels] | None = None
    """Labels the file lends to recordings of other files (``import_h5(labels=...)``)."""
    write: Callable | None = None
    """The format's writer (its own signature; see its module)."""
    identities: bool = False
    """Recordings of this format carry their identities and vocabulary."""
    uid_from_name: Callable[[Path], str] | None = None
    """The uid a file's name gives, where the format names files by uid."""
    suffix: str | None = None
    """File names ending so are meant to be this format (else damaged)."""

    @property
    def holds_recordings(self) -> bool:
        return self.read is not None


# -- cohort HDF5 (format 4) ----------------------------------------------------------------

def _read_cohort_piece(path: Path, request: ReadRequest) -> Piece:
    recs, vocab, divisors = read_cohort(path)
    where = str(path)

    def found() -> Iterator[Found]:
        for rec in recs.values():
            rec = _select_behaviors(rec, request.behaviors, request.missing_behavior, where, request.stimuli)
            rec = _cohort_head_sign(rec, request.head_curvature_positive)
            if rec.meta.get("format", "cohort") != "cohort":
                rec.meta.setdefault("source_format", rec.meta["format"])
            rec.meta["format"] = "cohort"
            rec.meta["behavior_divisor"] = dict(divisors)
            yield Found(rec, names=[vocab[i] if i else "" for i in rec.identity])

    return Piece(recordings=found(), vocabulary=vocab)


def _select_behaviors(rec: Recording, behaviors: list[str], mode: str, where: str, stimuli: bool = True) -> Recording:
    """A cohort recording with exactly the requested behavior columns (missing ones masked),
    then, with `stimuli`, the stimulus channels it holds (a column the file masks on every
    frame of this recording is one it does not hold: `write_cohort` writes the cohort's
    stimulus channels for every recording)."""
    held = [n for j, n in enumerate(rec.behavior_names)
            if is_stimulus(n) and n not in behaviors and rec.behavior_mask[:, j].any()]
    behaviors = list(behaviors) + (held if stimuli else [])
    missing = [b for b in behaviors if b not in rec.behavior_names and not is_stimulus(b)]
    if missing and mode == "error":
        raise FormatError(
            f"recording {rec.uid!r} lacks the requested behaviors {missing} (it has "
            f"{rec.behavior_names}). Pass missing_behavior='mask' or 'drop'",
            path=where, key=f"data/{rec.uid}/B",
        )
    selected = rec.select_behaviors(behaviors, missing="mask")
    return selected.replace(meta={**rec.meta, "missing_behaviors": missing})


def _cohort_head_sign(rec: Recording, target: str) -> Recording:
    """Cohort files hold the convention their writer recorded (dorsal when unrecorded)."""
    source = rec.meta.get("head_curvature_positive") or "dorsal"
    factor, result = head_sign(source, target)
    cols = [j for j, n in enumerate(rec.behavior_names) if n in SIGNED_BY_HEAD_ANGLE]
    if factor == 1.0 or not cols:
        rec.meta["head_curvature_positive"] = result
        return rec
    behavior = rec.behavior.copy()
    behavior[:, cols] *= factor
    return rec.replace(behavior=behavior, meta={**rec.meta, "head_curvature_positive": result})


# -- <uid>-data.h5 (format 1) --------------------------------------------------------------

def _read_flavell_piece(path: Path, request: ReadRequest) -> Piece:
    rec = read_flavell(path, head_angle_pos_is_ventral=request.head_angle_pos_is_ventral,
                       stimuli=request.stimuli, **request.reader_options())
    return Piece(recordings=[Found(rec)])


# -- WormWideWeb JSON (formats 2 and 3) ----------------------------------------------------

def _read_wormwideweb_piece(path: Path, request: ReadRequest) -> Piece:
    obj = load_json(path)
    uid = wormwideweb_uid(obj, path)
    if uid in request.data_uids:
        # A data file carries the recording; this file only lends its labels.
        entries = wormwideweb_labels(obj, path)
        return Piece(lent_labels={uid: entries} if entries else {})
    rec, entries = read_wormwideweb(path, content=obj, stimuli=request.stimuli, **request.reader_options())
    return Piece(recordings=[Found(rec, labels=entries)])


# -- NWB (format 5) ------------------------------------------------------------------------

def _read_nwb_piece(path, request: ReadRequest) -> Piece:
    rec, entries = read_nwb(
        path, behaviors=request.behaviors, traces=request.traces,
        missing_behavior=request.missing_behavior, head_curvature_positive=request.head_curvature_positive,
        head_angle_pos_is_ventral=request.head_angle_pos_is_ventral, stimuli=request.stimuli,
        series=request.nwb_series, labels=request.nwb_labels, orientation=request.orientation,
    )
    return Piece(recordings=[Found(rec, labels=entries)])


def _wormwideweb_labels(path: Path) -> Labels:
    obj = load_json(path)
    entries = wormwideweb_labels(obj, path)
    return {wormwideweb_uid(obj, path): entries} if entries else {}


FORMAT_TABLE: tuple[Format, ...] = (
    Format(
        name="nwb", container="hdf5",
        detect=lambda view: has_nwb_layout(view.hdf5),
        marks=NWB_MARKS, read=_read_nwb_piece, write=write_nwb, suffix=NWB_SUFFIX,
    ),
    Format(
        name="cohort", container="hdf5",
        detect=lambda view: has_cohort_layout(view.hdf5),
        marks=("data", "label_name", "B_norm_divisor"),
        read=_read_cohort_piece, write=write_cohort, identities=True,
    ),
    Format(
        name="flavell", container="hdf5",
        detect=lambda view: has_flavell_layout(view.hdf5),
        marks=("gcamp", "behavior", "timing"),
        read=_read_flavell_piece, write=write_flavell, uid_from_name=flavell_uid, suffix=FILE_SUFFIX,
    ),
    Format(
        name="wormwideweb", container="json",
        detect=lambda view: looks_like_wormwideweb(view.raw),
        marks=(b'"velocity"', b'"timestamp_confocal"', b'"gcamp"', b'"timing"', b'"trace_',
               b'"head_curvature"', b'"reversal_events"'),
        read=_read_wormwideweb_piece, labels=_wormwideweb_labels, write=write_wormwideweb,
    ),
    Format(
        name="labels", container="json",
        detect=lambda view: looks_like_label_file(view.json),
        marks=(b'"label"', b'"roi_to_neuron"'),
        labels=read_label_file, write=write_label_file,
    ),
)
"""The supported formats, in detection order."""

FORMATS = tuple(f.name for f in FORMAT_TABLE)
"""Names of the supported formats, in detection order."""

_BY_NAME = {f.name: f for f in FORMAT_TABLE}


def format_named(name: str) -> Format:
    """The row of the format called `name` (one of `FORMATS`)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise FormatError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None
