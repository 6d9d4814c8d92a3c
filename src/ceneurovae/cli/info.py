"""``ceneurovae info FILE_OR_DIR``: what a file or folder holds, as a summary table."""

from __future__ import annotations

import argparse

from .options import add_read_options, read_options, read_reporting_warnings


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="FILE_OR_DIR", help="any supported file or folder")
    # Describing a file should not fail on a missing channel: show it as missing instead.
    add_read_options(parser, missing_default="mask")
    # Show each recording's own time step rather than resampling.
    parser.set_defaults(func=run, dt="none")


def run(args: argparse.Namespace) -> int:
    from ..io import describe_nwb, find_sources, format_summary, read_recordings

    for s in find_sources(args.sources):
        print(f"{s.path}: {s.format}")
        if s.format == "nwb":
            for line in describe_nwb(s.path, traces=args.traces, series=getattr(args, "nwb_series", None)):
                print(line)
    datasets, vocab = read_reporting_warnings(read_recordings, args.sources, read_options(args))
    print(format_summary(datasets, len(vocab)))
    return 0
