"""Small helpers shared across the package."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO

import numpy as np

from .errors import WriteError

__all__ = ["atomic_open", "jsonable", "plural", "sync_folder"]


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 animal"``, ``"2 animals"`` (`words`: the plural, when it is not `word` + s)."""
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Write `path` whole or not at all: a temporary file beside it, flushed to disk, then
    renamed over it (and the folder flushed).

    On any error the temporary file is removed and `path` keeps its previous content. An
    `OSError` (a full disk, a read-only folder) becomes `WriteError` naming the file and
    saying so. A process killed mid-write leaves a ``.<name>.tmp-<pid>`` file (training
    removes those of its run folder when it starts).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        sync_folder(folder)
    except OSError as err:
        if isinstance(err, WriteError):
            raise
        kept = "its previous content is unchanged" if os.path.exists(path) else "nothing was written"
        raise WriteError(f"could not write {path}: {err.strerror or err}; {kept}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def sync_folder(folder: str) -> None:
    """Flush a folder's entries to disk (POSIX; a no-op where folders cannot be opened, as on
    Windows), so that a power cut after a rename keeps the new file."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def jsonable(x):
    """`x` with NaN/inf as None and numpy values as Python ones, recursively (JSON has no NaN)."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x
