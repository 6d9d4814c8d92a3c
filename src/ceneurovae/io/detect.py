"""Which format a file is in, and which files of a folder can be read.

Formats, by what is inside (never by file name alone):

==================  ==========================================================
``"cohort"``        HDF5 with ``data/`` and ``label_name`` (format 4)
``"flavell"``       HDF5 with ``gcamp/`` and ``behavior/`` (format 1)
``"wormwideweb"``   JSON with ``trace_array`` (v1, format 2) or ``gcamp`` and
                    ``timing`` objects (v2, format 3)
``"labels"``        JSON label file keyed by uid, then 1-based trace row
``"nwb"``           NWB file (HDF5 whose root is an ``NWBFile``; format 5), local
                    or a URL (``https://``, ``s3://``, ``file://``) read lazily
==================  ==========================================================

A folder is read one level deep, and one more into ``sub-*`` folders (a DANDI dandiset
keeps each subject's NWB files in ``sub-<id>/``). Empty, truncated or undecodable files raise
`FormatError`, and so do files holding some of our keys without a complete layout (a
damaged recording must not leave a quietly smaller cohort). Well-formed files holding none
of our keys are someone else's: skipped with a `DataWarning` naming them. A folder with
nothing readable raises `FormatError` listing what it holds.

The formats, their detectors and their order come from `ceneurovae.io.formats.FORMAT_TABLE`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py

from ..errors import FormatError
from .flavell import open_hdf5
from .formats import FORMAT_TABLE, FORMATS, FileView, format_named
from .nwb import NWB_SUFFIX, has_nwb_layout, is_remote, open_nwb
from .validate import damaged_file_guard, warn

__all__ = ["FORMATS", "Source", "detect_format", "find_sources"]

_CANDIDATE_SUFFIXES = {".h5", ".hdf5", ".hdf", ".json", NWB_SUFFIX}
# Keys of our formats: a file holding some of them but not a complete layout is damaged data,
# an error, where a file holding none of them is someone else's file, skipped.
_HDF5_KEYS = {k for f in FORMAT_TABLE if f.container == "hdf5" for k in f.marks}
_JSON_KEYS = tuple(k for f in FORMAT_TABLE if f.container == "json" for k in f.marks)


def _first_match(container: str, view: FileView) -> str | None:
    """The first format of the table, in `container`, whose detector recognizes `view`."""
    return next((f.name for f in FORMAT_TABLE if f.container == container and f.detect(view)), None)


@dataclass(frozen=True)
class Source:
    """A readable file and its format (one of `FORMATS`)."""

    path: Path | str
    """The file (a URL stays a string)."""
    format: str


class _ForeignLayout(FormatError):
    """A well-formed file in a layout the package does not read."""


def detect_format(path: str | os.PathLike) -> str:
    """The format of one file (see the module docstring).

    Raises
    ------
    FormatError
        For a missing, empty, truncated or unrecognizable file, naming what was found.
    """
    p = Path(path)
    if not p.exists():
        raise FormatError("no such file or folder", path=str(p))
    if p.is_dir():
        raise FormatError("is a folder; detect_format takes a file (find_sources reads folders)", path=str(p))
    if p.stat().st_size == 0:
        raise FormatError("the file is empty (0 bytes)", path=str(p))
    with open(p, "rb") as fh:
        head = fh.read(8)
    if h5py.is_hdf5(str(p)) or head.startswith(b"\x89HDF"):
        with open_hdf5(str(p)) as f, damaged_file_guard(str(p), "HDF5 file"):
            keys = sorted(f.keys())
            found = _first_match("hdf5", FileView(p, hdf5=f))
            if found is not None:
                return found
        expected = ("gcamp/ and behavior/ (a <uid>-data.h5 file), data/ and label_name (a cohort file) "
                    "or an NWB file (root attribute neurodata_type NWBFile)")
        named = any(f.suffix and p.name.endswith(f.suffix) for f in FORMAT_TABLE if f.container == "hdf5")
        if named or set(keys) & _HDF5_KEYS:
            # Some of our keys, or a format-1 name: a damaged data file, not a foreign one.
            raise FormatError(f"incomplete or damaged: top-level keys {keys}; expected {expected}", path=str(p))
        raise _ForeignLayout(f"HDF5 file in no supported layout: top-level keys {keys}; expected {expected}", path=str(p))
    if head.lstrip()[:1] in (b"{", b"["):
        with open(p, "rb") as fh:
            text = fh.read()
        # Detectors look at the bytes first and parse only when they must: recordings are large.
        view = FileView(p, raw=text)
        kind = _first_match("json", view)
        if kind is not None:
            return kind
        obj = view.json
        found = sorted(map(str, obj))[:10] if isinstance(obj, dict) else type(obj).__name__
        expected = (
            "expected a WormWideWeb recording (trace_array, or gcamp and timing) or a label file "
            "{uid: {\"<row>\": {\"label\": ...}}}"
        )
        if any(k in text for k in _JSON_KEYS):
            raise FormatError(f"incomplete or damaged (found {found}); {expected}", path=str(p))
        raise _ForeignLayout(f"JSON file in no supported layout (found {found}); {expected}", path=str(p))
    raise FormatError(f"neither HDF5 nor JSON (starts with {head!r})", path=str(p))


def find_sources(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Source]:
    """The readable files of a file, a folder, or a list of them, in a stable order.

    Files keep the order given; a folder's files are taken in name order.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise FormatError("no input path given")
    sources: list[Source] = []
    for item in paths:
        if is_remote(item):
            sources.append(Source(str(item), _remote_format(str(item))))
            continue
        p = Path(item)
        if not p.exists():
            raise FormatError("no such file or folder", path=str(p))
        if p.is_dir():
            sources.extend(_scan_folder(p))
        else:
            sources.append(Source(p, detect_format(p)))
    seen: set[Path] = set()
    unique = []
    for s in sources:
        key = s.path if isinstance(s.path, str) else s.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return unique


def _remote_format(url: str) -> str:
    """The format of a remote file: only NWB files are read remotely."""
    with open_nwb(url) as f:
        if not has_nwb_layout(f):
            raise FormatError(f"a remote file is read only when it is an NWB file; top-level keys {sorted(f)}",
                              path=url)
    return "nwb"


def _scan_folder(folder: Path) -> list[Source]:
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    # A dandiset: each subject's files in sub-<id>/.
    entries += sorted(e for d in entries if d.is_dir() and d.name.startswith("sub-")
                      for e in d.iterdir() if not e.name.startswith(".") and e.is_file())
    found, skipped = [], []
    for e in entries:
        if not e.is_file() or e.suffix.lower() not in _CANDIDATE_SUFFIXES:
            continue
        try:
            found.append(Source(e, detect_format(e)))
        except _ForeignLayout as err:
            skipped.append(f"{e.name} ({err})")
    if skipped:
        warn(f"skipped {len(skipped)} files in no supported layout: " + "; ".join(skipped), folder)
    if not any(format_named(s.format).holds_recordings for s in found):
        listing = [e.name + ("/" if e.is_dir() else "") for e in entries]
        shown = ", ".join(listing[:10]) + (f", ... ({len(listing)} entries)" if len(listing) > 10 else "")
        what = "only label files" if found else "no recognizable file"
        raise FormatError(
            f"folder holds {what}: found [{shown or 'nothing'}]; expected <uid>-data.h5 files "
            "(format 1), WormWideWeb .json files (formats 2, 3), a cohort .h5 file (format 4) "
            "or NWB files (format 5)",
            path=str(folder),
        )
    return found
