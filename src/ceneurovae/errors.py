"""The package's exceptions and warnings.

Every error a user can provoke with bad input is one of these, and its message names the
file, the key and the offending value, and says what to do. Catch `CeNeuroVAEError` to
catch them all.
"""

from __future__ import annotations

__all__ = [
    "CeNeuroVAEError",
    "DataError",
    "FormatError",
    "RecordingError",
    "ConfigError",
    "CheckpointError",
    "TrainingError",
    "CeNeuroVAEWarning",
    "DataWarning",
]


class CeNeuroVAEError(Exception):
    """Base class of every error raised by ceneurovae on purpose."""


class DataError(CeNeuroVAEError, ValueError):
    """Input data that cannot be used as it is.

    Parameters
    ----------
    message : str
        What is wrong and what to do about it.
    path : str, optional
        The file (or folder) the data came from.
    key : str, optional
        The key, dataset or field inside that file.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path = None if path is None else str(path)
        self.key = key
        where = []
        if self.path is not None:
            where.append(f"file {self.path!s}")
        if key is not None:
            where.append(f"key {key!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class FormatError(DataError):
    """A file that is not in a supported format, or is damaged or truncated."""


class RecordingError(DataError):
    """Arrays that do not make a consistent `Recording` (shapes, dtypes, values)."""


class ConfigError(CeNeuroVAEError, ValueError):
    """An impossible or unknown setting, refused before any work starts."""


class CheckpointError(CeNeuroVAEError):
    """A checkpoint that cannot be loaded safely (damaged, foreign, or holding code)."""


class WriteError(CeNeuroVAEError, OSError):
    """A file could not be written (a full disk, a folder without write permission); the
    previous version of the file is left as it was."""


class TrainingError(CeNeuroVAEError, RuntimeError):
    """Training cannot go on (for example, too many consecutive non-finite losses)."""


class CeNeuroVAEWarning(UserWarning):
    """Base class of the package's warnings."""


class DataWarning(CeNeuroVAEWarning):
    """The data stays usable, but something was changed or dropped: the message says what."""
