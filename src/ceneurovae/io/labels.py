"""Neuron labels: label files, the confidence threshold, uncertain labels, canonical names.

Labels arrive keyed by **1-based trace row** (``"1"`` .. ``"N"``), each entry holding at
least ``label`` and usually ``confidence`` (NeuroPAL confidence, 1-5). Accepted layouts:

- a label file ``{uid: {"<row>": {"label": "AVAL", "confidence": 4.0, ...}}}`` (what
  ``labels=PATH`` and a ``neuropal_labels.json`` in a folder of format-1 files hold);
- the lab's ``neuropal_label.json``: ``{"data": {uid: {"roi_to_neuron": {"<row>": {...}},
  ...}}, "metadata": {...}}`` (layout inferred from the lab's exporter);
- the ``labeled`` dict of a WormWideWeb v1 file or the ``label`` dict of a v2 file (read by
  `ceneurovae.io.wormwideweb`, then passed to `assign_labels` like the others).

`assign_labels` turns one animal's entries into canonical names: entries below the
confidence threshold are dropped, ``?`` labels become unknown or their class (never a
guessed side), names outside the atlas are reported, and a name given to two neurons of
the same animal is given to neither (with a warning naming the rows).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import FormatError
from ..identity import canonical_label, neuron_class
from ..recording import Recording
from .validate import warn

__all__ = [
    "LabelEntry",
    "LabelAssignment",
    "parse_label_dict",
    "read_label_file",
    "looks_like_label_file",
    "assign_labels",
    "write_label_file",
]

# Placeholder labels some exports use for rows without a name.
_NO_LABEL = {"", "-", "--", "missing", "unknown", "none", "nan", "null"}
_UNCERTAIN_MODES = ("unknown", "class")


@dataclass(frozen=True)
class LabelEntry:
    """One neuron's label as found in a file.

    Attributes
    ----------
    label : str
        The raw label (``"AVAL"``, ``"RMDD?"``, ``"vb2"``).
    confidence : float or None
        NeuroPAL confidence (1-5 scale) when the file gives one.
    info : dict
        Other fields of the entry (``roi_id``, ``neuron_class``, ``LR``, ``DV``, ``region``).
    """

    label: str
    confidence: float | None = None
    info: dict = field(default_factory=dict)


@dataclass
class LabelAssignment:
    """The outcome of `assign_labels` for one animal with N neurons.

    Attributes
    ----------
    raw : list of str, length N
        Raw label per neuron as found ("" for rows without an entry), including labels
        that were not trusted: the decision is in `names`.
    names : list of str, length N
        Canonical name used as identity ("" = unknown).
    confidence : (N,) float64
        Confidence per neuron, NaN where none was given.
    report : dict
        What happened: ``n_entries``, ``n_named``, ``below_confidence``, ``uncertain``,
        ``not_in_atlas``, ``duplicates``, ``placeholder`` (rows are 1-based).
    """

    raw: list[str]
    names: list[str]
    confidence: np.ndarray
    report: dict


def _confidence(value, path, key) -> float | None:
    if value is None:
        return None
    try:
        conf = float(value)
    except (TypeError, ValueError):
        raise FormatError(f"confidence must be a number, got {value!r}", path=path, key=key) from None
    return None if math.isnan(conf) else conf


def parse_label_dict(entries: Mapping, *, path=None, key: str = "labels") -> dict[int, LabelEntry]:
    """Parse ``{"<1-based row>": {"label": ..., "confidence": ...}}`` into `LabelEntry` objects.

    A value may also be a bare label string. Keys must be whole numbers; whether they fit
    the recording's neuron count is checked by `assign_labels`.

    Returns
    -------
    dict int -> LabelEntry
        Keyed by the 1-based row, as in the file.
    """
    if not isinstance(entries, Mapping):
        raise FormatError(
            f"labels must be an object keyed by 1-based trace row, got {type(entries).__name__}",
            path=path, key=key,
        )
    out: dict[int, LabelEntry] = {}
    for k, v in entries.items():
        try:
            row = int(str(k).strip())
        except ValueError:
            raise FormatError(
                f"label key {k!r} is not a trace row number (keys are 1-based rows \"1\"..\"N\")",
                path=path, key=key,
            ) from None
        if row in out:
            raise FormatError(f"trace row {row} is labeled twice (keys {k!r} and an earlier one)", path=path, key=key)
        where = f"{key}/{k}"
        if isinstance(v, str) or v is None:
            out[row] = LabelEntry("" if v is None else v)
        elif isinstance(v, Mapping):
            if "label" not in v:
                raise FormatError(
                    f"label entry has no 'label' field (fields: {sorted(map(str, v))})", path=path, key=where
                )
            label = v["label"]
            if label is not None and not isinstance(label, str):
                raise FormatError(f"label must be a string, got {label!r}", path=path, key=where)
            info = {
                str(f): val for f, val in v.items()
                if f not in ("label", "confidence") and isinstance(val, (str, int, float, bool, list, type(None)))
            }
            out[row] = LabelEntry(label or "", _confidence(v.get("confidence"), path, where), info)
        else:
            raise FormatError(
                f"label entry must be an object or a string, got {type(v).__name__}", path=path, key=where
            )
    return out


def looks_like_label_file(obj) -> bool:
    """True when a parsed JSON object has one of the label-file layouts (not a recording)."""
    if not isinstance(obj, Mapping) or not obj:
        return False
    if "trace_array" in obj or "gcamp" in obj:
        return False
    if isinstance(obj.get("data"), Mapping) and all(
        isinstance(v, Mapping) and "roi_to_neuron" in v for v in obj["data"].values()
    ):
        return True
    # {uid: {"<row>": entry}}: recognized by its rows, or by entries with a "label" field (so
    # that a damaged row key, "abc" or "-3", gets an error naming it rather than "not a label file")
    return all(isinstance(v, Mapping) for v in obj.values()) and any(
        all(str(k).strip().isdigit() for k in v)
        or any(isinstance(e, Mapping) and "label" in e for e in v.values())
        for v in obj.values() if v
    )


def read_label_file(path: str | os.PathLike) -> dict[str, dict[int, LabelEntry]]:
    """Read a label JSON file: uid -> {1-based row -> LabelEntry}.

    Accepts ``{uid: {"<row>": entry}}`` and the lab's ``{"data": {uid: {"roi_to_neuron":
    {...}}}}``. Raises `FormatError` naming the file for anything else.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except (OSError, ValueError) as err:
        raise FormatError(f"cannot read as JSON ({err})", path=path) from None
    if not looks_like_label_file(obj):
        raise FormatError(
            "not a label file: expected {uid: {\"<1-based trace row>\": {\"label\": ..., "
            "\"confidence\": ...}}} or the lab's {\"data\": {uid: {\"roi_to_neuron\": ...}}}",
            path=path,
        )
    if isinstance(obj.get("data"), Mapping) and all(
        isinstance(v, Mapping) and "roi_to_neuron" in v for v in obj["data"].values()
    ):
        return {
            str(uid): parse_label_dict(v["roi_to_neuron"], path=path, key=f"data/{uid}/roi_to_neuron")
            for uid, v in obj["data"].items()
        }
    return {str(uid): parse_label_dict(v, path=path, key=str(uid)) for uid, v in obj.items()}


def assign_labels(
    entries: Mapping[int, LabelEntry],
    n_neurons: int,
    *,
    min_confidence: float | None = 2.5,
    uncertain: str = "unknown",
    invalid: str = "error",
    path=None,
    key: str = "labels",
    uid: str = "",
) -> LabelAssignment:
    """Decide the canonical name of each neuron of one animal from its label entries.

    Parameters
    ----------
    entries : dict int -> LabelEntry
        Keyed by 1-based trace row.
    n_neurons : int
        N, the number of trace rows of the recording.
    min_confidence : float or None
        Entries with a confidence below this are not used (None: keep all). Entries
        without a confidence are kept.
    uncertain : {"unknown", "class"}
        What a ``?`` label becomes: unknown, or the lab class (``"RMDD?"`` -> ``"RMDD"``).
    invalid : {"error", "drop"}
        Keys outside 1..N (for example ROI ids instead of trace rows): raise `FormatError`,
        or drop every label of this animal with a `DataWarning`.
    path, key, uid :
        Named in errors and warnings.
    """
    raw = [""] * n_neurons
    names = [""] * n_neurons
    conf = np.full(n_neurons, np.nan)
    report: dict = {
        "n_entries": len(entries), "n_named": 0, "below_confidence": [], "uncertain": [],
        "not_in_atlas": [], "duplicates": {}, "placeholder": [],
    }
    outside = sorted(r for r in entries if not 1 <= r <= n_neurons)
    if outside:
        shown = ", ".join(map(str, outside[:8])) + (", ..." if len(outside) > 8 else "")
        hint = (
            "key 0 suggests 0-based keys" if 0 in outside
            else "a row number is never negative" if min(outside) < 0
            else "they look like ROI ids rather than trace rows"
        )
        message = (
            f"recording {uid!r}: {len(outside)} label keys ({shown}) lie outside the trace rows "
            f"1..{n_neurons} ({hint}); they cannot be matched to traces"
        )
        if invalid == "error":
            raise FormatError(
                message + ". Give labels keyed by 1-based trace row (labels=PATH), or pass "
                "invalid_labels='drop' to load this recording without labels",
                path=path, key=key,
            )
        warn(message + ": every label of this recording dropped (invalid_labels='drop')", path, key)
        report["dropped"] = f"keys outside 1..{n_neurons}: {outside}"
        return LabelAssignment(raw, names, conf, report)

    rows_of: dict[str, list[int]] = defaultdict(list)
    for row, entry in sorted(entries.items()):
        i = row - 1
        raw[i] = entry.label
        if entry.confidence is not None:
            conf[i] = entry.confidence
        if entry.label.strip().lower() in _NO_LABEL:
            report["placeholder"].append(row)
            continue
        if min_confidence is not None and entry.confidence is not None and entry.confidence < min_confidence:
            report["below_confidence"].append(row)
            continue
        c = canonical_label(entry.label)
        if c.uncertain:
            report["uncertain"].append(row)
            if uncertain == "unknown":
                continue
            name = neuron_class(c.name)
        else:
            name = c.name
            if not c.in_atlas:
                report["not_in_atlas"].append(name)
        rows_of[name].append(row)

    for name, rows in rows_of.items():
        if len(rows) > 1:
            report["duplicates"][name] = rows
            continue
        names[rows[0] - 1] = name
    report["n_named"] = sum(1 for n in names if n)
    report["not_in_atlas"] = sorted(set(report["not_in_atlas"]))
    if report["duplicates"]:
        listing = "; ".join(f"{n} on rows {r}" for n, r in report["duplicates"].items())
        warn(
            f"recording {uid!r}: the same name is given to several neurons ({listing}); "
            "those neurons are left unknown (a neuron occurs once per animal)",
            path, key,
        )
    if report["not_in_atlas"]:
        warn(
            f"recording {uid!r}: names not in the atlas of 302 neurons: {report['not_in_atlas']} "
            "(kept as given; with vocabulary='atlas' they become unknown)",
            path, key,
        )
    return LabelAssignment(raw, names, conf, report)


def write_label_file(path: str | os.PathLike, datasets: Mapping[str, Recording]) -> None:
    """Write the raw labels of recordings as a label file (``{uid: {"<row>": entry}}``).

    Confidences come from ``rec.meta["label_confidence"]`` where present. Format-1 HDF5
    files hold no names; this is how their labels travel beside them.
    """
    out = {}
    for uid, rec in datasets.items():
        confidence = rec.meta.get("label_confidence")
        rows = {}
        for i, label in enumerate(rec.labels):
            if not label:
                continue
            entry: dict = {"label": label}
            if confidence is not None and i < len(confidence) and confidence[i] is not None:
                c = float(confidence[i])
                if not math.isnan(c):
                    entry["confidence"] = c
            rows[str(i + 1)] = entry
        out[str(uid)] = rows
    with open(os.fspath(path), "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1)
