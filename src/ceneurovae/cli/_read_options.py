"""Reading options shared by ``convert`` and ``info``: the options of `import_h5`."""

from __future__ import annotations

import argparse
import sys
import warnings

from ..errors import ConfigError, DataWarning
from ..io.behavior import DEFAULT_BEHAVIORS, HEAD_TARGETS
from ..io.flavell import TRACE_KINDS


def add_read_options(parser: argparse.ArgumentParser, *, missing_default: str = "error") -> None:
    """Add the `import_h5` options to a command's parser."""
    parser.add_argument("--labels", metavar="PATH", help="label JSON file or WormWideWeb JSON file/folder")
    parser.add_argument("--behaviors", nargs="+", default=list(DEFAULT_BEHAVIORS), metavar="NAME",
                        help="behavior channels, in order (default: %(default)s)")
    parser.add_argument("--min-confidence", type=float, default=2.5,
                        help="minimum NeuroPAL label confidence (default: %(default)s)")
    parser.add_argument("--uncertain", choices=["unknown", "class"], default="unknown",
                        help="what a '?' label becomes (default: %(default)s)")
    parser.add_argument("--vocabulary", choices=["data", "atlas"], default="data",
                        help="identities from the data or the whole atlas (default: %(default)s)")
    parser.add_argument("--missing-behavior", choices=["error", "drop", "mask"], default=missing_default,
                        help="a recording lacking a behavior (default: %(default)s)")
    parser.add_argument("--head-curvature-positive", choices=list(HEAD_TARGETS), default="dorsal",
                        help="sign convention of head curvature (default: %(default)s)")
    parser.add_argument("--traces", choices=list(TRACE_KINDS), default="zscored",
                        help="which trace array to read (default: %(default)s)")
    parser.add_argument("--dt", default="auto",
                        help="common time step: 'auto', 'none' or seconds (default: %(default)s)")
    parser.add_argument("--invalid-labels", choices=["error", "drop"], default="error",
                        help="label keys outside the trace rows (default: %(default)s)")


def read_options(args: argparse.Namespace) -> dict:
    """`import_h5` keyword arguments from parsed options."""
    if args.dt.lower() == "auto":
        dt = "auto"
    elif args.dt.lower() == "none":
        dt = None
    else:
        try:
            dt = float(args.dt)
        except ValueError:
            raise ConfigError(f"--dt {args.dt!r} must be 'auto', 'none' or a number of seconds") from None
    return dict(
        behaviors=args.behaviors, labels=args.labels, min_confidence=args.min_confidence,
        uncertain=args.uncertain, vocabulary=args.vocabulary, missing_behavior=args.missing_behavior,
        head_curvature_positive=args.head_curvature_positive, traces=args.traces, dt=dt,
        invalid_labels=args.invalid_labels,
    )


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
