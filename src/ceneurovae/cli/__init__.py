"""The ``ceneurovae`` command line: one module per sub-command in this folder.

Each module defines ``add_parser(subparsers)`` that registers its arguments and sets
``func`` (called with the parsed arguments, returns an exit code). Modules are imported
only when their command runs, so ``ceneurovae --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import warnings

from ..errors import CeNeuroVAEError
from ..version import __version__
from .messages import reset_warnings, show_warning

__all__ = ["main"]

# command name -> (module under ceneurovae.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "Simulate a cohort, train, evaluate held-out animals and write a report"),
    "train": ("train", "Train a model on recordings, into a run folder"),
    "predict": ("predict", "Export latents, reconstructions and imputed identities of recordings (HDF5 or NWB)"),
    "simulate": ("simulate", "Simulate a cohort of recordings with ground truth"),
    "convert": ("convert", "Read recordings in any supported format and write a cohort file"),
    "info": ("info", "Print a summary table of any supported file or folder"),
    "report": ("report", "Write figures and an HTML report for a run"),
    "evaluate": ("evaluate", "Score a model on held-out animals beside baselines (and the noise ceiling)"),
    "tune": ("tune", "Search hyperparameters with Optuna; several processes can share one study"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ceneurovae",
        description="Behavior-conditioned VAE for whole-brain recordings of identified neurons.",
    )
    parser.add_argument("--version", action="version", version=f"ceneurovae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _parser()
        if not argv:
            parser.print_help()
            return 0
        parser.parse_args(argv)  # prints usage and exits for unknown commands / --help
        return 0
    name = argv[0]
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"ceneurovae {name}", description=COMMANDS[name][1])
    module.add_parser(parser)
    args = parser.parse_args(argv[1:])
    args.command_line = ["ceneurovae", *argv]  # as given, for the provenance a command records
    try:
        with warnings.catch_warnings():
            # one style for every command: each warning one "warning:" line, once
            warnings.showwarning = show_warning
            reset_warnings()
            return int(args.func(args) or 0)
    except CeNeuroVAEError as err:
        print(f"ceneurovae {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ceneurovae {name}: interrupted", file=sys.stderr)
        return 130


def run_captured(argv: list[str]) -> tuple[int, str, str]:
    """Run a command in this process; its exit code, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()
