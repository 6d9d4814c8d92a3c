"""Reading options shared by every command that reads recordings: the ``read`` settings (`ReadOptions`).

Each option is built from a field of `ceneurovae.io.ReadOptions`: its name (``--min-confidence``
for ``min_confidence``), its default, its allowed values (`ceneurovae.io.options.CHOICES`) and
its help text (the field's docstring).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings

from ..errors import ConfigError, DataWarning
from ..io import ReadOptions, read_recordings
from ..io.options import CHOICES
from ..settings import field_docs
from .messages import show_warning

# Fields of ReadOptions offered on the command line, with what argparse needs beyond the field.
_ARGPARSE = {
    "labels": dict(metavar="PATH"),
    "behaviors": dict(nargs="+", metavar="NAME"),
    "min_confidence": dict(type=float),
    "uncertain": {},
    "vocabulary": {},
    "missing_behavior": {},
    "head_curvature_positive": {},
    "head_angle_pos_is_ventral": dict(nargs="+", metavar="UID=BOOL",
                                      help_suffix=" On the command line: UID=true or UID=false, one per recording."),
    "traces": {},
    "dt": dict(help_suffix=" On the command line: 'auto', 'none' or seconds."),
    "invalid_labels": {},
    "orientation": {},
    "stimuli": dict(action=argparse.BooleanOptionalAction),
    "nwb_series": dict(metavar="PATH"),
    "nwb_labels": dict(metavar="PATH"),
}


def add_read_options(parser: argparse.ArgumentParser, *, missing_default: str = "error",
                     from_config: bool = False) -> None:
    """Add the `ReadOptions` fields to a command's parser, as ``--<name-with-dashes>``.

    `from_config`: the command takes its reading settings from a configuration (its ``read``
    section), and only the options given on the command line change them.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(ReadOptions)}
    defaults["behaviors"] = list(defaults["behaviors"])
    defaults["missing_behavior"] = missing_default
    docs = field_docs(ReadOptions)
    group = parser.add_argument_group("reading recordings (the config's read section)" if from_config
                                      else "reading recordings")
    for name, extra in _ARGPARSE.items():
        extra = dict(extra)
        help_text = (docs[name] + extra.pop("help_suffix", "")).replace("%", "%%")
        if from_config:
            help_text += f" (default: read.{name} of the config)"
        elif defaults[name] is not None:
            help_text += " (default: %(default)s)"
        if name in CHOICES:
            extra["choices"] = list(CHOICES[name])
        default = argparse.SUPPRESS if from_config else defaults[name]
        group.add_argument("--" + name.replace("_", "-"), default=default, help=help_text, **extra)


def read_options(args: argparse.Namespace, base: ReadOptions | None = None) -> ReadOptions:
    """The `ReadOptions` of parsed options: `base` (default: the defaults) changed by the options given."""
    given = {name: getattr(args, name) for name in _ARGPARSE if hasattr(args, name)}
    if "dt" in given and isinstance(given["dt"], str):
        text = given["dt"].lower()
        if text in ("auto", "none"):
            given["dt"] = "auto" if text == "auto" else None
        else:
            try:
                given["dt"] = float(given["dt"])
            except ValueError:
                raise ConfigError(f"--dt {given['dt']!r} must be 'auto', 'none' or a number of seconds") from None
    if "behaviors" in given:
        given["behaviors"] = tuple(given["behaviors"])
    if "head_angle_pos_is_ventral" in given and given["head_angle_pos_is_ventral"] is not None:
        given["head_angle_pos_is_ventral"] = _uid_flags(given["head_angle_pos_is_ventral"])
    return dataclasses.replace(base or ReadOptions(), **given)


def _uid_flags(items) -> dict[str, bool]:
    """``["2023-01-09-15=true", ...]`` as ``{"2023-01-09-15": True, ...}``."""
    flags = {}
    for item in items:
        uid, sep, value = str(item).rpartition("=")
        if not sep or not uid or value.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise ConfigError(f"--head-angle-pos-is-ventral {item!r} must be UID=true or UID=false")
        flags[uid] = value.lower() in ("true", "yes", "1")
    return flags


def read_data(paths, options: ReadOptions) -> dict:
    """The recordings of one or several paths (`read_recordings`), each data warning printed
    as one ``warning:`` line."""
    datasets, _ = read_reporting_warnings(read_recordings, paths, options)
    return datasets


def read_reporting_warnings(func, *args, **kwargs):
    """Call `func`, showing every `DataWarning` it raises (each as one ``warning:`` line,
    `messages.show_warning`), once the call is over, even where the same text was raised
    for several files."""
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as log:
            warnings.simplefilter("always", DataWarning)
            try:
                return func(*args, **kwargs)
            finally:
                caught = list(log)
    finally:
        for w in caught:  # outside the recording context: showing a warning must not record it again
            show_warning(w.message, w.category, w.filename, w.lineno)


def with_command_line(cfg, args: argparse.Namespace):
    """A run's configuration changed by the command line: ``--set`` overrides, ``--data``
    paths and the reading options given (`add_read_options` with ``from_config=True``)."""
    if args.set:
        cfg = cfg.with_overrides(args.set)
    if args.data:
        cfg.data.path = list(args.data)
    cfg.read = read_options(args, cfg.read)
    return cfg


def check_writable(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, ".write-test")
        with open(probe, "w") as fh:
            fh.write("")
        os.remove(probe)
    except OSError as err:
        raise ConfigError(f"output folder {folder} cannot be written ({err.strerror})") from None


RUN_FILES = ("best.pt", "last.pt", "metrics.csv", "summary.json")
"""What a run folder holds that a new run would overwrite (a lone ``config.yaml`` is a run
stopped before its first epoch, and is replaced)."""


def new_run_folder(folder: str, overwrite: bool = False) -> None:
    """Make sure a new run can be written in `folder` without losing one: a folder holding a
    run is refused, or with `overwrite` moved aside to ``<folder>.replaced-<date-time>``."""
    found = [name for name in RUN_FILES if os.path.exists(os.path.join(folder, name))]
    if found and int(os.environ.get("RANK", "0")) == 0:  # under torchrun, the first process decides
        if not overwrite:
            raise ConfigError(
                f"--out {folder} already holds a run ({', '.join(found)}); give another --out, continue it with "
                f"--resume {folder}, or pass --overwrite to move it aside first"
            )
        aside = f"{os.path.normpath(folder)}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            os.replace(folder, aside)
        except OSError as err:
            raise ConfigError(f"--overwrite: cannot move the run in {folder} aside to {aside} ({err.strerror})") from None
        print(f"moved the run that was in {folder} to {aside}", file=sys.stderr)
    check_writable(folder)
