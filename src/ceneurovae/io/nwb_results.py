"""Writing a model's predictions for one animal as an NWB file (``ceneurovae predict -o out.nwb``).

NWB holds one session, so one file holds one animal. Everything goes into one processing
module, ``processing/ceneurovae``, made of core NWB types only (no extension):

=========================  =====================  ============================================
object                     NWB type, shape        content
=========================  =====================  ============================================
``neurons``                DynamicTable, N rows   the recorded neurons: ``label`` (as read,
                                                  "" unlabeled), ``identity`` (the model's
                                                  identity, "" unknown)
``denoised``               RoiResponseSeries      denoised traces, units of the input traces
                           (T, N)                 (``rois`` -> ``neurons``)
``from_behavior``          RoiResponseSeries      predicted from behavior alone, units of the
                           (T, N)                 input (NaN: unknown identity)
``identities``             DynamicTable, K rows   every identity of the model's vocabulary
                                                  (column ``identity``)
``imputed_identities``     RoiResponseSeries      every identity predicted in this animal,
                           (T, K)                 z-scored units (``rois`` -> ``identities``)
``latents``                TimeSeries (T, Z)      posterior mean latent per frame
``provenance``             DynamicTable           ``key``/``value`` rows: package, version, and
                                                  what the caller passes (checkpoint, command,
                                                  the model's config as YAML, ...)
=========================  =====================  ============================================

Times are the recording's timestamps (written as a start time and a rate when they are
regular, as NWB recommends). A new file also gets a ``Subject`` (the animal's uid, sex and age
unknown) and the command line as ``source_script``. With `append_to`, the module is added
to a copy of that NWB file, which keeps everything it held.

pynwb is an optional dependency (``pip install 'ceneurovae[nwb]'``): `require_pynwb` says so
before any work starts.
"""

from __future__ import annotations

import datetime
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, FormatError, RecordingError
from ..version import __version__
from .nwb import RESULTS_MODULE, require_pynwb
from .validate import LOW_LEVEL_ERRORS

__all__ = ["MODULE_NAME", "AnimalPredictions", "write_predictions_nwb"]

MODULE_NAME = RESULTS_MODULE
"""The processing module that holds the predictions."""

@dataclass(frozen=True)
class AnimalPredictions:
    """What the model predicts for one animal, in plain arrays.

    Attributes
    ----------
    uid : str
        The animal.
    timestamps : (T,) float array
        Seconds.
    labels : list of str
        Each recorded neuron's label as read ("" unlabeled), (N,).
    identities : list of str
        Each recorded neuron's identity in the model's vocabulary ("" unknown), (N,).
    reconstruction : (T, N) array
        Denoised traces, units of the input traces.
    from_behavior : (T, N) array
        Predicted from behavior alone, units of the input traces (NaN: unknown identity).
    latents : (T, Z) array
        Posterior mean latent per frame.
    identity_names : list of str
        Every identity of the model's vocabulary, (K,).
    imputed : (T, K) array
        Every identity predicted in this animal, z-scored units.
    """

    uid: str
    timestamps: np.ndarray
    labels: Sequence[str]
    identities: Sequence[str]
    reconstruction: np.ndarray
    from_behavior: np.ndarray
    latents: np.ndarray
    identity_names: Sequence[str]
    imputed: np.ndarray

    def check(self) -> None:
        """Raise a `RecordingError` naming the field when the shapes do not agree."""
        T = np.shape(self.timestamps)[0] if np.ndim(self.timestamps) == 1 else -1
        N, K = len(self.labels), len(self.identity_names)
        want = {"reconstruction": (T, N), "from_behavior": (T, N), "imputed": (T, K)}
        for name, shape in want.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise RecordingError(f"animal {self.uid!r}: {name} has shape {got}, expected {shape} "
                                     f"({T} timestamps, {N} labels, {K} identity names)", key=name)
        if len(self.identities) != N:
            raise RecordingError(f"animal {self.uid!r}: {len(self.identities)} identities for {N} neurons",
                                 key="identities")
        if np.ndim(self.latents) != 2 or np.shape(self.latents)[0] != T:
            raise RecordingError(f"animal {self.uid!r}: latents has shape {np.shape(self.latents)}, "
                                 f"expected ({T}, Z)", key="latents")
        if T < 1 or not np.all(np.isfinite(self.timestamps)):
            raise RecordingError(f"animal {self.uid!r}: timestamps must be finite, one per frame", key="timestamps")


def _timing(timestamps: np.ndarray) -> dict[str, Any]:
    """NWB's timing arguments: a start and a rate for regular timestamps, else the timestamps."""
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size > 2:
        steps = np.unique(np.round(np.diff(ts), 9))
        if steps.size == 1 and steps[0] > 0:
            return {"starting_time": float(ts[0]), "rate": float(1.0 / np.diff(ts).mean())}
    return {"timestamps": ts}


def _table(name: str, description: str, columns: Mapping[str, tuple[str, Sequence[str]]]):
    from hdmf.common import DynamicTable, VectorData

    return DynamicTable(name=name, description=description, columns=[
        VectorData(name=key, description=doc, data=[str(v) for v in values])
        for key, (doc, values) in columns.items()
    ])


def _module_contents(pred: AnimalPredictions, provenance: Mapping[str, str], unit: str) -> list:
    """The objects of the processing module, in the order they are added."""
    from hdmf.common import DynamicTableRegion
    from pynwb import TimeSeries
    from pynwb.ophys import RoiResponseSeries

    timing = _timing(pred.timestamps)
    neurons = _table("neurons", f"the neurons recorded in animal {pred.uid}, in the order of the input traces", {
        "label": ("the neuron's label as read ('' when unlabeled)", pred.labels),
        "identity": ("the neuron's identity in the model's vocabulary ('' when unknown to the model)", pred.identities),
    })
    identities = _table("identities", "every identity of the model's vocabulary", {
        "identity": ("the identity's name", pred.identity_names),
    })

    def rows(table, description):
        return DynamicTableRegion(name="rois", data=list(range(len(table))), description=description, table=table)

    denoised = RoiResponseSeries(
        name="denoised", data=np.asarray(pred.reconstruction, dtype=np.float32), unit=unit,
        rois=rows(neurons, "every recorded neuron"),
        description="denoised traces of the recorded neurons (the model's reconstruction), in the units of the "
                    "input traces", **timing)
    # later series share the first one's timing
    shared = {"timestamps": denoised} if "timestamps" in timing else timing
    from_behavior = RoiResponseSeries(
        name="from_behavior", data=np.asarray(pred.from_behavior, dtype=np.float32), unit=unit,
        rois=rows(neurons, "every recorded neuron"),
        description="activity of the recorded neurons predicted from behavior alone (latent at the prior mean), "
                    "in the units of the input traces; NaN for neurons of unknown identity", **shared)
    imputed = RoiResponseSeries(
        name="imputed_identities", data=np.asarray(pred.imputed, dtype=np.float32), unit="z-score",
        rois=rows(identities, "every identity of the vocabulary"),
        description="every identity of the model's vocabulary predicted in this animal from what it recorded and "
                    "its behavior, in z-scored units", **shared)
    latents = TimeSeries(
        name="latents", data=np.asarray(pred.latents, dtype=np.float32), unit="a.u.",
        description="the model's posterior mean latent per frame (T, Z)", **shared)
    prov = _table("provenance", "how these predictions were made", {
        "key": ("what the row records", list(provenance)),
        "value": ("its value", [provenance[k] for k in provenance]),
    })
    return [neurons, identities, denoised, from_behavior, imputed, latents, prov]


def _provenance(provenance: Mapping[str, Any] | None) -> dict[str, str]:
    out = {"package": "ceneurovae", "version": __version__}
    for key, value in (provenance or {}).items():
        if key in out:
            continue  # the package and its version are always this one's
        out[str(key)] = "" if value is None else str(value)
    return out


def _add_module(nwbfile, pred: AnimalPredictions, provenance: dict[str, str], unit: str) -> None:
    module = nwbfile.create_processing_module(
        name=MODULE_NAME,
        description=f"predictions of ceneurovae {provenance['version']} for animal {pred.uid}"
                    + (f" by the model {provenance['checkpoint']}" if provenance.get("checkpoint") else "")
                    + "; how they were made is in the table 'provenance'",
    )
    for obj in _module_contents(pred, provenance, unit):
        module.add(obj)


def _new_file(pred: AnimalPredictions, provenance: dict[str, str], session_start_time):
    from pynwb import NWBFile
    from pynwb.file import Subject

    start = session_start_time or datetime.datetime.now().astimezone()
    extra = {}
    if provenance.get("command"):
        extra["source_script"] = provenance["command"]
        extra["source_script_file_name"] = "ceneurovae"
    return NWBFile(
        session_description=f"predictions of the ceneurovae model for animal {pred.uid}",
        identifier=str(uuid.uuid4()),
        session_start_time=start,
        experiment_description="A behavior-conditioned VAE's predictions for one recorded animal: denoised traces, "
                               "activity predicted from behavior alone, every identity of its vocabulary, latents.",
        keywords=["ceneurovae", "whole-brain imaging", "model predictions"],
        subject=Subject(subject_id=pred.uid, sex="U", age="P0D/",
                        description="the recorded animal; sex and age are not known to ceneurovae"),
        **extra,
    )


def write_predictions_nwb(
    path: str | os.PathLike,
    pred: AnimalPredictions,
    provenance: Mapping[str, Any] | None = None,
    *,
    append_to: str | os.PathLike | None = None,
    unit: str = "a.u.",
    session_start_time: datetime.datetime | None = None,
) -> None:
    """Write one animal's predictions as an NWB file at `path` (written whole, then renamed).

    Parameters
    ----------
    path : path
        The NWB file to write (replaced if it exists).
    pred : AnimalPredictions
        The arrays.
    provenance : mapping, optional
        Rows of the ``provenance`` table (values written as text), e.g. ``checkpoint``,
        ``command``, ``config`` (YAML). ``package`` and ``version`` are always added. A
        ``command`` is also the new file's ``source_script``.
    append_to : path, optional
        An NWB file: `path` becomes a copy of it with the module added (it must not already
        hold one). The input file is not changed.
    unit : str
        The unit of the input traces (NWB's ``unit`` of ``denoised`` and ``from_behavior``).
    session_start_time : datetime, optional
        A new file's session start (default: now; the predictions carry the recording's
        timestamps, in seconds from its own start).

    Raises
    ------
    ConfigError
        pynwb is not installed, or `path` cannot be written, or is `append_to` itself.
    FormatError
        `append_to` is not a readable NWB file, or already holds ``processing/ceneurovae``.
    RecordingError
        The arrays' shapes do not agree.
    """
    pynwb = require_pynwb()
    pred.check()
    prov = _provenance(provenance)
    path = os.fspath(path)
    if append_to is not None and os.path.exists(path) and os.path.samefile(path, append_to):
        raise ConfigError(f"the output {path} is the NWB file to append to; give another output path")
    root, ext = os.path.splitext(path)
    tmp = f"{root}.partial{ext or '.nwb'}"  # pynwb warns about a file whose name does not end in .nwb
    try:
        if append_to is None:
            nwbfile = _new_file(pred, prov, session_start_time)
            _add_module(nwbfile, pred, prov, unit)
            with pynwb.NWBHDF5IO(tmp, "w") as io:
                io.write(nwbfile)
        else:
            _append(pynwb, os.fspath(append_to), tmp, pred, prov, unit)
        os.replace(tmp, path)
    except OSError as err:
        raise ConfigError(f"cannot write {path} ({err.strerror or err})") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _append(pynwb, source: str, tmp: str, pred: AnimalPredictions, prov: dict[str, str], unit: str) -> None:
    if not os.path.isfile(source):
        raise FormatError("the NWB file to append to does not exist", path=source)
    shutil.copyfile(source, tmp)
    io = None
    try:
        io = pynwb.NWBHDF5IO(tmp, "a")
        nwbfile = io.read()
    except LOW_LEVEL_ERRORS as err:
        if io is not None:
            io.close()
        raise FormatError(f"not a readable NWB file ({type(err).__name__}: {err})", path=source) from None
    with io:
        if MODULE_NAME in nwbfile.processing:
            raise FormatError(f"already holds predictions (processing/{MODULE_NAME}); append to the original "
                              "recording instead", path=source, key=f"processing/{MODULE_NAME}")
        _add_module(nwbfile, pred, prov, unit)
        io.write(nwbfile)
