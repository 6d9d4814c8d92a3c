"""Checkpoints: written atomically, read without ever executing code from the file.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts:

- ``format``, ``package_version``
- ``model_config`` (VAEConfig as a dict) and ``model_state`` (weights)
- ``vocabulary`` (identity names, index 0 = unknown) and ``behavior_scaler``
- ``config`` (the whole run configuration, when known)
- for resuming: ``epoch``, ``optimizer``, ``scheduler_seq``, ``scheduler_plat``, ``history``,
  ``best`` (best validation loss and its epoch), ``bad_epochs``

Writing goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target, so a run killed at any moment leaves either the old or the new file, never a
partial one. Reading uses ``torch.load(weights_only=True)``, which refuses pickled code.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from typing import Any

import torch

from .errors import CheckpointError

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "ceneurovae-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write `payload` to `path` atomically (temporary file, fsync, rename)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    payload = {"format": CHECKPOINT_FORMAT, **payload}
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely onto `map_location` (CPU by default, whatever device saved it).

    Raises
    ------
    CheckpointError
        If the file is missing, damaged, not a ceneurovae checkpoint, or holds anything but
        plain data (a pickle that would run code is refused, never executed).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with warnings.catch_warnings():
            # A plain (non-zip) pickle makes torch warn about its protocol before we refuse it
            # below with our own message; the warning would only add noise to that error.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint {path} holds objects other than plain data and was refused without "
            f"running them ({str(err).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, AttributeError) as err:
        raise CheckpointError(f"checkpoint {path} is damaged or not a checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a ceneurovae checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r})")
    for key in ("model_config", "model_state"):
        if key not in payload:
            raise CheckpointError(f"checkpoint {path} lacks {key!r}")
    return payload
