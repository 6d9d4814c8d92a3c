"""`import_h5`: the entry point for reading recordings, in any supported format.

It detects the format of each input (`find_sources`), reads every recording
with the format's reader, applies the neuron labels, builds the identity vocabulary, and
brings the recordings to a common time step. Every choice is an explicit option, checked
before any file is opened.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, FormatError
from ..identity import Vocabulary
from ..recording import Recording
from .behavior import DEFAULT_BEHAVIORS, LAB_DIVISORS
from .detect import detect_format, find_sources
from .formats import ReadRequest, format_named
from .labels import LabelEntry, assign_labels
from .options import CHOICES, ReadOptions, valid_dt, valid_min_confidence
from .resample import resample_to_common
from .validate import damaged_file_guard, warn

__all__ = ["import_h5", "read_recordings"]

PathLike = str | os.PathLike


def import_h5(
    path: PathLike | Sequence[PathLike],
    *,
    behaviors: Sequence[str] = DEFAULT_BEHAVIORS,
    labels: PathLike | None = None,
    min_confidence: float | None = 2.5,
    uncertain: str = "unknown",
    vocabulary: str | Vocabulary = "data",
    missing_behavior: str = "error",
    head_curvature_positive: str = "dorsal",
    head_angle_pos_is_ventral: Mapping[str, bool] | None = None,
    traces: str = "zscored",
    dt: float | str | None = "auto",
    invalid_labels: str = "error",
    stimuli: bool = True,
    nwb_series: str | None = None,
    nwb_labels: str | None = None,
    orientation: str = "auto",
) -> tuple[dict[str, Recording], Vocabulary]:
    """Read recordings and their identity vocabulary from any supported input.

    Parameters
    ----------
    path : path or list of paths
        A cohort HDF5 file (format 4); a folder of ``<uid>-data.h5`` files (format 1), with
        their labels; a folder of WormWideWeb JSON files (format 2 or 3); one such file; or
        a list of any of these. Formats are recognized by content.
    behaviors : sequence of str
        Behavior channels, in order: ``velocity`` (mm/s), ``head_curvature`` (rad),
        ``pumping`` (pumps/s), ``angular_velocity`` (rad/s), ``body_curvature``, or another
        per-frame key of the files.
    labels : path, optional
        Neuron names for recordings whose files hold none: a label JSON file
        ``{uid: {"<1-based trace row>": {"label": "AVAL", "confidence": 4.0}}}``, the lab's
        ``neuropal_label.json``, or WormWideWeb JSON files (a file or a folder). Label files
        and WormWideWeb files lying among the inputs are used too; ``labels`` wins.
    min_confidence : float or None
        Labels with a NeuroPAL confidence below this are not used (None keeps all).
    uncertain : {"unknown", "class"}
        A ``?`` label (``"RMDD?"``) becomes unknown, or its class (``"RMDD"``).
    vocabulary : {"data", "atlas"} or Vocabulary
        Identities: the names found in the data (stable order: atlas order, then others
        alphabetically; a single cohort file keeps its own), the 302 atlas neurons, or a
        given vocabulary. Names outside it become unknown, with a warning.
    missing_behavior : {"error", "drop", "mask"}
        A recording lacking a requested behavior: raise `FormatError`, leave the recording
        out (with a warning naming it), or keep it with that channel masked
        (``behavior_mask`` False; values are never silently zero-filled).
    head_curvature_positive : {"dorsal", "ventral", "as_read"}
        Sign convention of head curvature and angular velocity across animals.
    head_angle_pos_is_ventral : dict uid -> bool, optional
        Per-recording sign of format-1 files (the manifest column ``θh_pos_is_ventral``);
        defaults to the Atanas & Kim 2023 manifest shipped with the package.
    traces : {"zscored", "original", "f20", "fmean"}
        Which trace array to read from formats 1-3 (``trace_array`` by default).
    dt : "auto", float or None
        Common time step: ``"auto"`` resamples recordings whose step differs by more than 5%
        from the median recording's; a number resamples to that step (s); None keeps each
        recording's own step. A warning lists every resampled recording.
    invalid_labels : {"error", "drop"}
        Label keys outside the trace rows 1..N (ROI ids, for example): raise, or load that
        recording without labels (with a warning).
    stimuli : bool
        Read the stimuli a file holds (heat pulses, chemical or optogenetic stimulus
        intervals) as conditioning channels ``stimulus:<name>`` appended to the behavior
        columns: 1.0 while the stimulus is on, 0.0 otherwise.
    orientation : {"auto", "frames-first", "neurons-first"}
        Axes of the trace arrays. ``"auto"`` tells them by the frame count (the behavior's
        or the timestamps' length) and refuses a square array, whose orientation cannot be
        told; the others say it.
    nwb_series, nwb_labels : str, optional
        NWB files only: the response series to read and the column of neuron names, as a
        path inside the file (``processing/CalciumActivity/...``) or a name; None finds them
        in the known layouts. ``ceneurovae info FILE.nwb`` lists what a file holds.

    Returns
    -------
    datasets : dict uid -> Recording
        In the order of the inputs (a folder's files in name order, a cohort's animals in
        its order). ``rec.meta`` records the format, trace kind, sign convention, label
        report and ``behavior_divisor``.
    labels : Vocabulary
        Identity names, index 0 = unknown; ``len(labels)`` is the model's ``n_identities``.

    Examples
    --------
    >>> datasets, labels = import_h5("cohort.h5")                        # doctest: +SKIP
    >>> datasets, labels = import_h5("processed_h5/", labels="neuropal_label.json",
    ...                              missing_behavior="mask")           # doctest: +SKIP
    """
    behaviors = _check_options(
        behaviors, min_confidence, uncertain, vocabulary, missing_behavior, head_curvature_positive,
        head_angle_pos_is_ventral, traces, dt, invalid_labels, labels, stimuli, nwb_series, nwb_labels,
        orientation,
    )
    sources = find_sources(path)
    request = ReadRequest(
        behaviors=behaviors, traces=traces,
        missing_behavior="error" if missing_behavior == "error" else "mask",
        head_curvature_positive=head_curvature_positive,
        head_angle_pos_is_ventral=head_angle_pos_is_ventral,
        stimuli=bool(stimuli), nwb_series=nwb_series, nwb_labels=nwb_labels, orientation=orientation,
        data_uids=frozenset(
            fmt.uid_from_name(s.path) for s in sources
            if (fmt := format_named(s.format)).uid_from_name is not None
        ),
    )

    # Label sets in priority order: the labels option, then label files among the inputs.
    label_sets: list[tuple[str, dict[str, dict[int, LabelEntry]]]] = []
    if labels is not None:
        label_sets.append((os.fspath(labels), _labels_from(labels)))
    for s in sources:
        fmt = format_named(s.format)
        if not fmt.holds_recordings and fmt.labels is not None:
            label_sets.append((str(s.path), fmt.labels(s.path)))

    datasets, names, own_labels, cohort_vocabs = _read_sources(sources, request)
    datasets = _apply_missing_behavior(datasets, missing_behavior)
    _apply_labels(datasets, names, label_sets, own_labels, min_confidence, uncertain, invalid_labels)
    vocab = _vocabulary(vocabulary, datasets, names, cohort_vocabs, sources)
    for uid, rec in list(datasets.items()):
        identity = vocab.encode(names.get(uid, [""] * rec.n_neurons))
        rec.meta.setdefault("behavior_divisor", {n: LAB_DIVISORS.get(n, 1.0) for n in rec.behavior_names})
        datasets[uid] = rec.replace(identity=identity, vocabulary=vocab)
    _report_outside_vocabulary(datasets, names, vocab)
    datasets = resample_to_common(datasets, dt)
    return datasets, vocab


def read_recordings(
    paths: PathLike | Sequence[PathLike], options: ReadOptions | None = None
) -> tuple[dict[str, Recording], Vocabulary]:
    """`import_h5` of one path or a list of paths, with the ``read`` settings `options`.

    Examples
    --------
    >>> datasets, labels = read_recordings(["a/", "b.json"], ReadOptions(dt=None))  # doctest: +SKIP
    """
    if not isinstance(paths, (str, os.PathLike)):
        paths = list(paths)
        if len(paths) == 1:
            paths = paths[0]
    return import_h5(paths, **(options or ReadOptions()).kwargs())


def _read_sources(sources, request: ReadRequest):
    """Read every recording of every source, once, with the format table's readers.

    Returns
    -------
    datasets : dict uid -> Recording, in source order
    names : dict uid -> canonical name per neuron, for recordings carrying their identities
    own_labels : dict uid -> (file, label entries) carried by the recordings' own files
    cohort_vocabs : list of the vocabularies the files carry
    """
    datasets: dict[str, Recording] = {}
    origin: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    own_labels: dict[str, tuple[str, dict[int, LabelEntry]]] = {}
    cohort_vocabs: list[Vocabulary] = []

    def add(rec: Recording, where: str) -> None:
        check_size(rec, where)
        if rec.uid in datasets:
            raise FormatError(
                f"recording {rec.uid!r} appears twice: in {origin[rec.uid]} and in {where}; "
                "give each animal once",
                path=where,
            )
        datasets[rec.uid] = rec
        origin[rec.uid] = where

    for s in sources:
        fmt = format_named(s.format)
        if not fmt.holds_recordings:
            continue
        where = str(s.path)
        with damaged_file_guard(where, f"{s.format} file"):
            piece = fmt.read(s.path, request)
            if piece.vocabulary is not None:
                cohort_vocabs.append(piece.vocabulary)
            for uid, entries in piece.lent_labels.items():
                own_labels.setdefault(uid, (where, entries))
            for found in piece.recordings:
                rec = found.recording
                if found.names is not None:
                    names[rec.uid] = found.names
                if found.labels:
                    own_labels[rec.uid] = (where, found.labels)
                add(rec, where)
    return datasets, names, own_labels, cohort_vocabs


def _one_of(name: str, value) -> None:
    """Refuse a reading option outside its `CHOICES`."""
    allowed = CHOICES[name]
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")


MIN_DT_S, MAX_DT_S = 1e-4, 3600.0
"""Time steps outside these (seconds) are timestamps in another unit, or damaged."""


def check_size(rec: Recording, where: str) -> None:
    """Refuse a recording no model can use: no neuron, fewer than 2 frames, or a time step that
    is not seconds between frames."""
    if rec.n_neurons < 1 or rec.n_frames < 2:
        raise FormatError(f"recording {rec.uid!r} has {rec.n_frames} frames and {rec.n_neurons} neurons; "
                          "a recording needs at least 2 frames and 1 neuron", path=where)
    for what, step in (("time step", rec.dt), ("median step between timestamps",
                                               float(np.median(np.diff(rec.timestamps))))):
        if not MIN_DT_S <= step <= MAX_DT_S:
            raise FormatError(f"recording {rec.uid!r} has a {what} of {step:.3g} s, outside "
                              f"[{MIN_DT_S:g}, {MAX_DT_S:g}] s: are the timestamps in seconds?", path=where)


def _check_options(behaviors, min_confidence, uncertain, vocabulary, missing_behavior, head,
                   pos_is_ventral, traces, dt, invalid_labels, labels, stimuli, nwb_series,
                   nwb_labels, orientation) -> list[str]:

    if isinstance(behaviors, str):
        behaviors = [behaviors]
    try:
        behaviors = list(behaviors)
    except TypeError:
        raise ConfigError(f"behaviors must be a list of names, got {behaviors!r}") from None
    if not behaviors or not all(isinstance(b, str) and b.strip() for b in behaviors):
        raise ConfigError(f"behaviors must be a non-empty list of names, got {behaviors!r}")
    dupes = sorted({b for b in behaviors if behaviors.count(b) > 1})
    if dupes:
        raise ConfigError(f"behaviors lists {dupes} more than once: {behaviors}")
    if not valid_min_confidence(min_confidence):
        raise ConfigError(f"min_confidence={min_confidence!r} must be a number >= 0 (NeuroPAL scale 1-5) or None")
    _one_of("uncertain", uncertain)
    if not isinstance(vocabulary, Vocabulary) and vocabulary not in CHOICES["vocabulary"]:
        raise ConfigError(f"vocabulary={vocabulary!r} is not one of 'data', 'atlas' or a Vocabulary")
    _one_of("missing_behavior", missing_behavior)
    _one_of("head_curvature_positive", head)
    if pos_is_ventral is not None and not (
        isinstance(pos_is_ventral, Mapping) and all(isinstance(v, (bool, np.bool_)) for v in pos_is_ventral.values())
    ):
        raise ConfigError(
            f"head_angle_pos_is_ventral must map uid -> True/False, got {pos_is_ventral!r}"
        )
    _one_of("traces", traces)
    if not valid_dt(dt):
        raise ConfigError(f"dt={dt!r} must be 'auto', None or a positive number of seconds")
    _one_of("invalid_labels", invalid_labels)
    _one_of("orientation", orientation)
    if not isinstance(stimuli, (bool, np.bool_)):
        raise ConfigError(f"stimuli={stimuli!r} must be True or False")
    for name, value in (("nwb_series", nwb_series), ("nwb_labels", nwb_labels)):
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise ConfigError(f"{name}={value!r} must be a path inside the NWB file, a name, or None")
    if labels is not None and not Path(labels).exists():
        raise ConfigError(f"labels={os.fspath(labels)!r}: no such file or folder")
    return behaviors


def _labels_from(path: PathLike) -> dict[str, dict[int, LabelEntry]]:
    """Label entries by uid from a label file, WormWideWeb file(s), or a folder of them."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.suffix.lower() == ".json") if p.is_dir() else [p]
    out: dict[str, dict[int, LabelEntry]] = {}
    for f in files:
        kind = detect_format(f)
        lend = format_named(kind).labels
        if lend is None:
            raise FormatError(
                f"labels= takes a label JSON file or WormWideWeb JSON files; this is a {kind} file",
                path=str(f),
            )
        for uid, entries in lend(f).items():
            out.setdefault(uid, entries)
    if not out:
        raise FormatError("labels= found no labels (no label file, no WormWideWeb file with labels)", path=str(p))
    return out


def _apply_missing_behavior(datasets: dict[str, Recording], mode: str) -> dict[str, Recording]:
    lacking = {uid: r.meta["missing_behaviors"] for uid, r in datasets.items() if r.meta.get("missing_behaviors")}
    if not lacking:
        return datasets
    listing = "; ".join(f"{uid} lacks {m}" for uid, m in lacking.items())
    if mode == "drop":
        warn(f"left out {len(lacking)} of {len(datasets)} recordings (missing_behavior='drop'): {listing}")
        kept = {uid: rec for uid, rec in datasets.items() if uid not in lacking}
        if not kept:
            raise FormatError(f"every recording lacks a requested behavior ({listing}); nothing left to read")
        return kept
    warn(f"kept {len(lacking)} recordings with the missing channels masked (missing_behavior='mask'): {listing}")
    return datasets


def _apply_labels(datasets, names, label_sets, own_labels, min_confidence, uncertain, invalid) -> None:
    """Fill ``names`` (canonical per neuron) and the raw labels of non-cohort recordings."""
    used: set[str] = set()
    for uid, rec in list(datasets.items()):
        if uid in names:  # cohort recordings carry identities already
            continue
        chosen = next(((src, sets[uid]) for src, sets in label_sets if uid in sets), None)
        if chosen is None and uid in own_labels:
            chosen = own_labels[uid]
        if chosen is None:
            names[uid] = [""] * rec.n_neurons
            rec.meta["label_source"] = None
            continue
        src, entries = chosen
        used.add(uid)
        a = assign_labels(
            entries, rec.n_neurons, min_confidence=min_confidence, uncertain=uncertain,
            invalid=invalid, path=src, key=uid, uid=uid,
        )
        names[uid] = a.names
        meta = dict(rec.meta)
        meta["label_source"] = src
        meta["label_confidence"] = [None if np.isnan(c) else float(c) for c in a.confidence]
        meta["label_report"] = a.report
        meta["label_options"] = {"min_confidence": min_confidence, "uncertain": uncertain}
        datasets[uid] = rec.replace(labels=a.raw, meta=meta)
    for src, sets in label_sets:
        unused = sorted(set(sets) - used)
        if unused:
            shown = ", ".join(unused[:8]) + (", ..." if len(unused) > 8 else "")
            warn(
                f"labels for {len(unused)} uids match no recording read (or one that carries its "
                f"own identities): {shown}",
                src,
            )


def _vocabulary(option, datasets, names, cohort_vocabs, sources) -> Vocabulary:
    if isinstance(option, Vocabulary):
        return option
    if option == "atlas":
        return Vocabulary.from_atlas()
    if len(cohort_vocabs) == 1 and all(
        (fmt := format_named(s.format)).identities or not fmt.holds_recordings for s in sources
    ):
        return cohort_vocabs[0]
    found = {n for uid in datasets for n in names.get(uid, ())}
    for v in cohort_vocabs:
        found.update(v.names)
    return Vocabulary.from_names(found)


def _report_outside_vocabulary(datasets, names, vocab: Vocabulary) -> None:
    outside: dict[str, int] = {}
    for uid in datasets:
        for n in names.get(uid, ()):
            if n and n not in vocab:
                outside[n] = outside.get(n, 0) + 1
    if outside:
        shown = ", ".join(f"{n} ({k})" for n, k in sorted(outside.items())[:12])
        warn(f"{len(outside)} names are not in the vocabulary and count as unknown: {shown}")
