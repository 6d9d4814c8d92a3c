"""Reading options shared by ``convert`` and ``info``: the ``read`` settings (`ReadOptions`).

Each option is built from a field of `ceneurovae.io.ReadOptions`: its name (``--min-confidence``
for ``min_confidence``), its default, its allowed values (`ceneurovae.io.options.CHOICES`) and
its help text (the field's docstring).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings

from ..errors import ConfigError, DataWarning
from ..io import ReadOptions
from ..io.options import CHOICES
from ..settings import field_docs

# Fields of ReadOptions offered on the command line, with what argparse needs beyond the
# field (no option sets head_angle_pos_is_ventral: it is a mapping per recording).
_ARGPARSE = {
    "labels": dict(metavar="PATH"),
    "behaviors": dict(nargs="+", metavar="NAME"),
    "min_confidence": dict(type=float),
    "uncertain": {},
    "vocabulary": {},
    "missing_behavior": {},
    "head_curvature_positive": {},
    "traces": {},
    "dt": dict(help_suffix=" On the command line: 'auto', 'none' or seconds."),
    "invalid_labels": {},
}


def add_read_options(parser: argparse.ArgumentParser, *, missing_default: str = "error") -> None:
    """Add the `ReadOptions` fields to a command's parser, as ``--<name-with-dashes>``."""
    defaults = {f.name: f.default for f in dataclasses.fields(ReadOptions)}
    defaults["behaviors"] = list(defaults["behaviors"])
    defaults["missing_behavior"] = missing_default
    docs = field_docs(ReadOptions)
    for name, extra in _ARGPARSE.items():
        extra = dict(extra)
        help_text = (docs[name] + extra.pop("help_suffix", "")).replace("%", "%%")
        if defaults[name] is not None:
            help_text += " (default: %(default)s)"
        if name in CHOICES:
            extra["choices"] = list(CHOICES[name])
        parser.add_argument("--" + name.replace("_", "-"), default=defaults[name], help=help_text, **extra)


def read_options(args: argparse.Namespace) -> ReadOptions:
    """The `ReadOptions` of parsed options."""
    if args.dt.lower() == "auto":
        dt = "auto"
    elif args.dt.lower() == "none":
        dt = None
    else:
        try:
            dt = float(args.dt)
        except ValueError:
            raise ConfigError(f"--dt {args.dt!r} must be 'auto', 'none' or a number of seconds") from None
    return ReadOptions(
        behaviors=tuple(args.behaviors), labels=args.labels, min_confidence=args.min_confidence,
        uncertain=args.uncertain, vocabulary=args.vocabulary, missing_behavior=args.missing_behavior,
        head_curvature_positive=args.head_curvature_positive, traces=args.traces, dt=dt,
        invalid_labels=args.invalid_labels,
    )


def read_kwargs(args: argparse.Namespace) -> dict:
    """`import_h5` keyword arguments from parsed options (``read_options(args).kwargs()``)."""
    return read_options(args).kwargs()


def read_reporting_warnings(func, *args, **kwargs):
    """Call `func`, printing each `DataWarning` as one ``warning:`` line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            return func(*args, **kwargs)
        finally:
            for w in caught:
                if issubclass(w.category, DataWarning):
                    print(f"warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)
