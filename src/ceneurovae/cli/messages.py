"""How every command shows a warning (one ``warning:`` line on stderr, each text once) and
its progress (one line per step on stderr, with the time since the command started)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from ..errors import CeNeuroVAEWarning

__all__ = ["progress_printer", "reset_warnings", "show_warning"]

_shown: set[str] = set()


def show_warning(message, category=UserWarning, filename=None, lineno=None, file=None, line=None) -> None:
    """Print a warning as one ``warning: ...`` line on stderr, each distinct text once per
    command (the signature of `warnings.showwarning`, which the commands replace with it).
    Warnings that are not the package's name their category."""
    text = str(message)
    if not issubclass(category, CeNeuroVAEWarning):
        text = f"{category.__name__}: {text}"
    if text in _shown:
        return
    _shown.add(text)
    print(f"warning: {text}", file=file or sys.stderr)


def reset_warnings() -> None:
    """Forget the warnings shown (a new command starts)."""
    _shown.clear()


def progress_printer(command: str) -> Callable[[str], None]:
    """A function printing ``<command> [12 s] <step>`` lines on stderr, flushed at once (so a
    log file that is not a terminal gets whole lines, never carriage returns). Silent when
    ``CENEUROVAE_QUIET=1``."""
    start = time.perf_counter()
    quiet = os.environ.get("CENEUROVAE_QUIET") == "1"

    def say(text: str) -> None:
        if not quiet:
            print(f"{command} [{time.perf_counter() - start:.0f} s] {text}", file=sys.stderr, flush=True)
    return say
