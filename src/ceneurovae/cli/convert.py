"""``ceneurovae convert SRC... -o cohort.h5``: read any supported input, write a cohort file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_read_options, read_options, read_reporting_warnings


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SRC",
                        help="cohort .h5, folder of <uid>-data.h5, WormWideWeb .json files or folders")
    parser.add_argument("-o", "--output", required=True, metavar="COHORT.h5", help="cohort file to write")
    add_read_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io import format_summary, read_recordings, write_cohort

    datasets, vocab = read_reporting_warnings(read_recordings, args.sources, read_options(args))
    divisors = next(iter(datasets.values())).meta.get("behavior_divisor")
    write_cohort(args.output, datasets, vocab, behavior_divisor=divisors)
    print(format_summary(datasets, len(vocab)))
    print(f"wrote {Path(args.output)}")
    return 0
