"""How every command shows a warning: one ``warning:`` line on stderr, each text once."""

from __future__ import annotations

import sys

from ..errors import CeNeuroVAEWarning

__all__ = ["reset_warnings", "show_warning"]

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
