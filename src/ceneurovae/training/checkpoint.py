"""Checkpoints: written atomically, read without ever executing code from the file.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts:

- ``format``, ``package_version``
- ``model_config`` (VAEConfig as a dict) and ``model_state`` (weights)
- ``vocabulary`` (identity names, index 0 = unknown) and ``behavior_scaler``
- ``config`` (the whole run configuration, when known)
- for resuming: ``epoch``, ``optimizer``, ``scheduler_seq``, ``scheduler_plat``, ``history``,
  ``best`` (best validation loss and its epoch), ``bad_epochs``

Writing goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target, and the folder is flushed too, so a run killed at any moment leaves either the
old or the new file, never a partial one (the temporary file of a killed write is removed
when the next run starts in that folder). Reading uses ``torch.load(weights_only=True)``, which refuses pickled code.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import CheckpointError
from ..utils import atomic_open
from ..version import __version__

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "ceneurovae-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write `payload` to `path` whole or not at all (`utils.atomic_open`: a full disk is a
    `WriteError` that leaves the previous checkpoint as it was)."""
    payload = {"format": CHECKPOINT_FORMAT, **payload}
    with atomic_open(path, "wb") as fh:
        torch.save(payload, fh)


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


@dataclass
class Checkpoint:
    """Everything a checkpoint file holds, assembled in this one place.

    The model and what it needs to meet new recordings come first; the training state that
    a resumed run continues from comes last and is None in a checkpoint of a finished model
    (`ceneurovae.Trained.save`). Fields left None are not written, so files keep the keys
    listed in this module's docstring and files of earlier versions load (missing keys read
    as None).
    """

    model_config: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    package_version: str = __version__
    vocabulary: list[str] | None = None
    behavior_scaler: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    train_uids: list[str] | None = None
    val_uids: list[str] | None = None
    refine_prior: float | None = None
    behavior_scale: float | None = None
    linear_uids: list[str] | None = None
    # -- training state, for resuming -------------------------------------------------------
    train_config: dict[str, Any] | None = None
    epoch: int | None = None
    optimizer: dict[str, Any] | None = None
    scheduler_seq: dict[str, Any] | None = None
    scheduler_plat: dict[str, Any] | None = None
    best: dict[str, Any] | None = None
    bad_epochs: int | None = None
    spreads: tuple | None = None
    finished: bool | None = None
    other: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not name (a caller's ``checkpoint_extra``), written as they are."""

    # keys written even when None: the schedulers (a run may have none) and the spreads
    _ALWAYS = ("scheduler_seq", "scheduler_plat", "spreads")

    def to_payload(self) -> dict[str, Any]:
        """The plain dict written to the file."""
        training = self.optimizer is not None
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "other" and (value is not None or (training and f.name in self._ALWAYS)):
                out[f.name] = value
        return {**self.other, **out}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Checkpoint:
        """From a file's dict (the file's ``format`` key is checked on reading and not kept)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"other"}
        other = {k: v for k, v in payload.items() if k not in names and k != "format"}
        return cls(**{k: v for k, v in payload.items() if k in names}, other=other)

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (`save_checkpoint`)."""
        save_checkpoint(path, self.to_payload())

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
        """Read safely (`load_checkpoint`)."""
        return cls.from_payload(load_checkpoint(path, map_location))

    def replace(self, **changes) -> Checkpoint:
        return dataclasses.replace(self, **changes)
