"""The front door: ``ceneurovae.fit(datasets)`` returns a `Trained` model; ``ceneurovae.load(path)`` reads one.

::

    import ceneurovae
    trained = ceneurovae.fit(datasets)          # defaults: sensible epochs, early stopping
    trained.reconstruct(rec)                    # (T, N) denoised, in the units of rec.traces
    trained.impute(rec, hide=[3, 7])            # (T, N), neurons 3 and 7 withheld from the encoder
    trained.from_behavior(rec)                  # (T, N) predicted from behavior alone
    trained.latents(rec)                        # (T, Z)
    trained.generate(behavior, ["AVAL", "RIML"])  # (T, 2) for any behavior trajectory
    trained.save("model.pt"); trained = ceneurovae.load("model.pt")
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .checkpoint import load_checkpoint, save_checkpoint
from .config import Config, load_config
from .data import build_loaders, hidden_sets
from .distributed import is_distributed, is_main_process, world_size
from .errors import CheckpointError, ConfigError, DataError, DataWarning
from .identity import Vocabulary, canonical_label
from .inference import ridge_readout, run_recording
from .io import DEFAULT_BEHAVIORS
from .metrics import r2_score
from .model import NeuroBehaviorVAE, VAEConfig
from .model.conditional import fit_conditional
from .normalize import BehaviorScaler, zscore
from .optimizer import build_optimizer, build_scheduler
from .recording import Recording, split_segments
from .train import EpochRecord, fit_model, unwrap

__all__ = ["fit", "load", "Trained", "Calibration", "calibrate", "choose_refine_prior", "install_linear_readout",
           "select_device", "is_main_process", "DEFAULT_BEHAVIORS"]




def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``: CUDA if available, then Apple MPS, then CPU; otherwise the device named."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"device {device!r} is not a device name ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but CUDA is not available on this machine")
    return dev


REFINE_STEPS = 20
"""Default gradient steps on the posterior mean when imputing (`Trained.impute`)."""

REFINE_PRIOR = 4.0
"""Weight of the prior in those steps' objective (1 = the ELBO) where none was chosen; see
`Trained.impute` and `choose_refine_prior`."""

REFINE_PRIORS = (1.0, 2.0, 4.0, 8.0)
"""The weights `fit` tries on its validation animals (`calibrate`)."""

MIXES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Weights of the linear read-out in the imputation that `fit` tries on its validation animals."""

BEHAVIOR_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Factors of the prediction from behavior alone that `fit` tries on its validation animals:
across animals behavior may predict little, and a smaller prediction then scores better."""


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ConfigError(f"refine_steps must be a whole number >= 0, got {steps!r}")
    return int(steps)


def _check_scale(scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not np.isfinite(scale) or scale < 0:
        raise ConfigError(f"behavior_scale must be a number >= 0, got {scale!r}")
    return float(scale)


def _check_prior(weight) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
            or not np.isfinite(weight) or weight <= 0:
        raise ConfigError(f"refine_prior must be a positive number, got {weight!r}")
    return float(weight)


def _recordings(datasets: Mapping[str, Recording] | Sequence[Recording]) -> list[Recording]:
    recs = list(datasets.values()) if isinstance(datasets, Mapping) else list(datasets)
    if not recs:
        raise ConfigError("no recordings given")
    for r in recs:
        if not isinstance(r, Recording):
            raise ConfigError(f"expected Recording objects, got {type(r).__name__}")
    return recs


def common_vocabulary(recs: Sequence[Recording]) -> tuple[Vocabulary, list[Recording]]:
    """One vocabulary for all recordings, and the recordings re-indexed into it.

    Recordings that share a vocabulary keep it. Otherwise the vocabulary is built from the
    identity names of all recordings (canonical C. elegans names where they apply).
    """
    vocabs = {id(r.vocabulary): r.vocabulary for r in recs}
    if None not in vocabs.values():
        distinct = list({tuple(v): v for v in vocabs.values()}.values())
        if len(distinct) == 1:
            return distinct[0], list(recs)
    names_per_rec = [_identity_names(r) for r in recs]
    vocab = Vocabulary.from_names(n for names in names_per_rec for n in names)
    out = [r.replace(identity=vocab.encode(names), vocabulary=vocab) for r, names in zip(recs, names_per_rec)]
    return vocab, out


def _identity_names(rec: Recording) -> list[str]:
    if rec.vocabulary is not None:
        return rec.identity_names()
    # No vocabulary: the raw labels name the identities (canonical spelling for atlas names).
    names = []
    for lab in rec.labels:
        c = canonical_label(lab) if lab else None
        names.append("" if c is None or c.uncertain else (c.name if c.in_atlas else lab.strip()))
    return names


def _default_behaviors(recs: Sequence[Recording]) -> list[str]:
    shared = set(recs[0].behavior_names).intersection(*(r.behavior_names for r in recs[1:]))
    chosen = [b for b in DEFAULT_BEHAVIORS if b in shared]
    if chosen:
        return chosen
    names = [b for b in recs[0].behavior_names if b in shared]
    if not names:
        raise DataError("the recordings share no behavior; name the behaviors with data.behaviors", key="behavior")
    return names


class Trained:
    """A trained model with everything needed to use it on new recordings.

    Attributes
    ----------
    model : NeuroBehaviorVAE
    config : Config
    vocabulary : Vocabulary
    scaler : BehaviorScaler
    history : list of EpochRecord
    train_uids, val_uids : list of str
    refine_prior : float
        Weight of the prior in the refinement of `impute` (chosen by `fit` on its validation
        animals: `calibrate`).
    behavior_scale : float
        Factor applied to predictions from behavior alone (`from_behavior`, `generate`),
        chosen by `fit` on its validation animals (`calibrate`): 0 says that what the model
        learned of behavior did not carry over to animals it had not seen.
    linear_uids : list of str
        The animals whose data the linear read-out's moments hold (`fit`: the training and the
        validation animals).
    """

    def __init__(
        self,
        model: NeuroBehaviorVAE,
        config: Config,
        vocabulary: Vocabulary,
        scaler: BehaviorScaler,
        history: Sequence[EpochRecord] = (),
        train_uids: Sequence[str] = (),
        val_uids: Sequence[str] = (),
        refine_prior: float = REFINE_PRIOR,
        behavior_scale: float = 1.0,
        linear_uids: Sequence[str] = (),
    ):
        self.model = unwrap(model)
        self.refine_prior = _check_prior(refine_prior)
        self.behavior_scale = _check_scale(behavior_scale)
        self.calibration: Calibration | None = None  # what `fit` chose on its validation animals
        self.config = config
        self.vocabulary = vocabulary
        self.scaler = scaler
        self.history = list(history)
        self.train_uids = list(train_uids)
        self.val_uids = list(val_uids)
        self.linear_uids = list(linear_uids)

    def __repr__(self) -> str:
        c = self.model.cfg
        return (
            f"Trained({c.latent} latent Z={c.latent_dim}, {c.encoder} encoder H={c.hidden_dim}, "
            f"{len(self.vocabulary) - 1} identities, behaviors={list(self.scaler.names)}, "
            f"{len(self.history)} epochs, refine_prior={self.refine_prior:g}, linear mix={self.linear_mix:g}, "
            f"behavior_scale={self.behavior_scale:g})"
        )

    @property
    def behavior_names(self) -> list[str]:
        return list(self.scaler.names)

    @property
    def seen_uids(self) -> list[str]:
        """Every animal whose data shape this model's predictions: the training animals, and
        the animals of the linear read-out's moments when it has weight (the validation
        animals among them). Scores on them are not held-out scores."""
        extra = [u for u in self.linear_uids if u not in set(self.train_uids)] if self.linear_mix > 0 else []
        return list(self.train_uids) + extra

    @property
    def linear_mix(self) -> float:
        """Weight of the linear read-out in the imputation of hidden neurons (0: none)."""
        return 0.0 if self.model.linear is None else float(self.model.linear.mix)

    @property
    def window_T(self) -> int:
        return self.config.data.window_T

    # -- preparing inputs ------------------------------------------------------------------
    def _prepare(self, rec: Recording) -> Recording:
        """The recording with identities in the model's vocabulary; checks its behaviors."""
        if not isinstance(rec, Recording):
            raise ConfigError(f"expected a Recording, got {type(rec).__name__}")
        rec.require_behaviors(self.behavior_names, hint=f"; the model was trained on {self.behavior_names}")
        if rec.vocabulary is not None and rec.vocabulary == self.vocabulary:
            return rec
        names = _identity_names(rec)
        identity = self.vocabulary.encode(names)
        lost = sorted({n for n, i in zip(names, identity) if n and i == 0})
        if lost:
            warnings.warn(
                f"recording {rec.uid!r}: identities {lost} are not in the model's vocabulary and are "
                "treated as unknown",
                DataWarning,
                stacklevel=3,
            )
        return rec.replace(identity=identity, vocabulary=self.vocabulary)

    def _run(self, rec: Recording, **kw):
        return run_recording(self.model, rec, self.scaler, window_T=self.window_T,
                             respect_gaps=self.config.data.respect_gaps, **kw)

    @staticmethod
    def _to_units(z: np.ndarray, rec: Recording) -> np.ndarray:
        _, mean, std = zscore(rec.traces, rec.mask)
        return (z * std + mean).astype(np.float32)

    # -- the public uses -------------------------------------------------------------------
    def reconstruct(self, rec: Recording, calibrate: bool = True) -> np.ndarray:
        """Denoised activity of every neuron, (T, N), in the units of ``rec.traces``.

        Each labeled neuron starts from the decoder's shared read-out of its identity. With
        `calibrate` (the default), this animal's own deviation from that read-out is then
        estimated from the neuron's observed trace: a ridge regression of the residual on the
        decoder's context, its strength chosen per neuron by generalized cross-validation,
        so the correction shrinks to nothing unless the data support it (an empirical-Bayes
        read-out: animals differ in how strongly a neuron encodes a behavior or a state).
        Neurons of unknown identity have no shared read-out: they get the same ridge fitted
        to the trace itself.
        """
        rec = self._prepare(rec)
        out = self._run(rec, return_context=True)
        pred = out.pred.astype(np.float64)
        z, _, _ = zscore(rec.traces, rec.mask)
        unknown = rec.identity == 0
        if unknown.any():
            pred[:, unknown] = ridge_readout(out.context, z[:, unknown], rec.mask[:, unknown])
        if calibrate and (~unknown).any():
            known = np.flatnonzero(~unknown)
            resid = z[:, known] - pred[:, known]
            correction = ridge_readout(out.context, resid, rec.mask[:, known])
            pred[:, known] += np.nan_to_num(correction)
        return self._to_units(pred, rec)

    def impute(
        self, rec: Recording, hide: Sequence[int] | np.ndarray = (), refine_steps: int = REFINE_STEPS,
        refine_prior: float | None = None,
    ) -> np.ndarray:
        """Predict every neuron with the neurons at indices `hide` withheld from the encoder.

        Returns (T, N) in the units of ``rec.traces``: the hidden neurons' values are
        predicted from the other neurons and the behavior only. Neurons of unknown identity
        get NaN (nothing can predict an unidentified neuron that is not seen).

        `refine_steps`: gradient steps that improve the encoder's posterior mean for this
        recording and this set of visible neurons (its ELBO on what is visible, decoder
        fixed); 0 uses the encoder's output as it is. The encoder is one network for every
        subset of neurons, and a few steps close part of that gap: imputation 0.900 -> 0.908
        of the noise ceiling on the simulated benchmark (before the recording gain), at about 3x
        the inference time. `refine_prior`: the weight of the prior against the visible
        neurons in those steps (1 = the ELBO; default: `self.refine_prior`, the weight `fit`
        chose on its validation animals). Fitting the visible neurons of a new animal fully
        pulls its latent toward what is peculiar to them; on the simulated benchmark the
        validation animals chose 4, which took imputation 0.917 -> 0.923 of the ceiling.
        """
        rec = self._prepare(rec)
        hide = np.asarray(hide, dtype=np.int64).reshape(-1)
        if hide.size and (hide.min() < 0 or hide.max() >= rec.n_neurons):
            raise ConfigError(f"hide indices must be in [0, {rec.n_neurons}) for recording {rec.uid!r}, got {hide.tolist()}")
        out = self._run(rec, hide=hide, refine_steps=_check_steps(refine_steps),
                        refine_prior=self._prior(refine_prior))
        return self._to_units(out.pred, rec)

    def _prior(self, weight: float | None) -> float:
        return self.refine_prior if weight is None else _check_prior(weight)

    def from_behavior(self, rec: Recording) -> np.ndarray:
        """Activity predicted from behavior alone (latent at the prior mean), (T, N) in rec's
        units; NaN for unknown identities. Times `behavior_scale`: 0 when the validation
        animals showed that the model's behavior responses do not carry over to new animals
        (each neuron is then predicted by its mean)."""
        rec = self._prepare(rec)
        return self._to_units(self.behavior_scale * self._run(rec, from_prior=True).pred, rec)

    def latents(self, rec: Recording) -> np.ndarray:
        """Posterior mean latent per frame, (T, Z) (constant within a window for window latents, then stitched)."""
        return self._run(self._prepare(rec)).latent

    def impute_identities(
        self, rec: Recording, identities: Sequence[str] | None = None, hide: Sequence[int] | np.ndarray = (),
        refine_steps: int = REFINE_STEPS, refine_prior: float | None = None,
    ) -> tuple[np.ndarray, list[str]]:
        """Predict identities (default: every identity of the vocabulary) in this animal.

        Returns ``(values (T, K) in z-scored units, names (K,))``: neurons the animal did not
        record, or did not label, are predicted from what it did record and its behavior.
        `refine_steps` and `refine_prior` as in `impute`.
        """
        rec = self._prepare(rec)
        names = self.vocabulary.names if identities is None else list(identities)
        ids = self._identity_indices(names)
        out = self._run(rec, identities=ids, hide=np.asarray(hide, dtype=np.int64),
                        refine_steps=_check_steps(refine_steps), refine_prior=self._prior(refine_prior))
        return out.pred_identities, names

    def generate(
        self,
        behavior: np.ndarray,
        identities: Sequence[str | int] | None = None,
        *,
        dt: float | None = None,
        behavior_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Activity for an arbitrary behavior trajectory, latent at the prior mean, times
        `behavior_scale` (as `from_behavior`: a model whose behavior responses did not carry
        over to its validation animals shows them shrunk, or flat at 0).

        Parameters
        ----------
        behavior : (T, D) array in physical units, columns in the order of `behavior_names`
        identities : names or vocabulary indices (default: every identity)
        dt : seconds per frame (default: the model's)

        Returns
        -------
        (T, K) predicted activity in z-scored units.
        """
        behavior = np.asarray(behavior, dtype=np.float32)
        if behavior.ndim == 1 and len(self.behavior_names) == 1:
            behavior = behavior[:, None]
        if behavior.ndim != 2 or behavior.shape[1] != len(self.behavior_names):
            raise ConfigError(
                f"behavior must be (T, {len(self.behavior_names)}) with columns {self.behavior_names}, got shape {behavior.shape}"
            )
        names = self.vocabulary.names if identities is None else list(identities)
        ids = self._identity_indices(names)
        T = behavior.shape[0]
        rec = Recording(
            uid="generated", traces=np.zeros((T, 0), np.float32), behavior=behavior,
            behavior_names=self.behavior_names, behavior_mask=behavior_mask,
            dt=dt or self.model.cfg.dt, vocabulary=self.vocabulary,
        )
        return self.behavior_scale * self._run(rec, from_prior=True, identities=ids, center=False).pred_identities

    def _identity_indices(self, identities: Sequence[str | int]) -> np.ndarray:
        out = []
        for ident in identities:
            if isinstance(ident, (int, np.integer)):
                if not 0 < ident < len(self.vocabulary):
                    raise ConfigError(f"identity index {ident} is outside 1..{len(self.vocabulary) - 1}")
                out.append(int(ident))
            else:
                name = canonical_label(ident).name if canonical_label(ident).in_atlas else str(ident)
                if name not in self.vocabulary:
                    raise ConfigError(f"identity {ident!r} is not in the model's vocabulary ({len(self.vocabulary) - 1} identities)")
                out.append(self.vocabulary.index(name))
        return np.asarray(out, dtype=np.int64)

    # -- persistence -----------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        from . import __version__

        return {
            "package_version": __version__,
            "model_config": self.model.cfg.to_dict(),
            "model_state": self.model.state_dict(),
            "vocabulary": self.vocabulary.to_list(),
            "behavior_scaler": self.scaler.to_dict(),
            "config": self.config.to_dict(),
            "history": [h._asdict() for h in self.history],
            "train_uids": self.train_uids,
            "val_uids": self.val_uids,
            "refine_prior": self.refine_prior,
            "behavior_scale": self.behavior_scale,
            "linear_uids": self.linear_uids,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the model, its config, vocabulary and scaler to one checkpoint file."""
        save_checkpoint(path, self.payload())

    def to(self, device) -> Trained:
        self.model.to(select_device(device))
        return self


def _trained_from_payload(payload: dict[str, Any], device: torch.device, source: str) -> Trained:
    try:
        # Checkpoints saved before the recording gain existed hold models trained without it.
        # ... and checkpoints saved before the linear read-out existed, without it.
        saved = {"recording_gain": False, "linear_readout": False, **payload["model_config"]}
        model_cfg = VAEConfig.from_dict(saved)
        config = Config.from_dict(payload.get("config") or {"model": saved}, source=source)
        config.model = model_cfg
        vocabulary = Vocabulary(payload["vocabulary"])
        scaler = BehaviorScaler.from_dict(payload["behavior_scaler"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {source} is incomplete or inconsistent ({type(err).__name__}: {err})") from None
    model = NeuroBehaviorVAE(model_cfg)
    try:
        model.load_state_dict(payload["model_state"])
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {source}: weights do not fit the stored config ({err})") from None
    model.to(device).eval()
    history = [EpochRecord(**h) for h in payload.get("history", [])]
    try:
        refine_prior = _check_prior(payload.get("refine_prior", REFINE_PRIOR))
        behavior_scale = _check_scale(payload.get("behavior_scale", 1.0))
    except ConfigError as err:
        raise CheckpointError(f"checkpoint {source}: {err}") from None
    return Trained(model, config, vocabulary, scaler, history, payload.get("train_uids", ()), payload.get("val_uids", ()),
                   refine_prior, behavior_scale, payload.get("linear_uids", ()))


@dataclass
class Calibration:
    """What `calibrate` chose on held-out animals, and the score of every candidate.

    refine_prior : the prior's weight in `impute`'s refinement
    mix : the weight of the linear read-out in the prediction of hidden neurons (0 = the
        latent read-out alone; 0 for a model without a linear read-out)
    behavior_scale : the factor applied to predictions from behavior alone
    imputation : {(refine_prior, mix): mean R² of the hidden neurons}
    behavior_only : {scale: mean R² of every labeled neuron predicted from behavior alone}
    """

    refine_prior: float
    mix: float
    behavior_scale: float
    imputation: dict[tuple[float, float], float]
    behavior_only: dict[float, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "refine_prior": self.refine_prior, "mix": self.mix, "behavior_scale": self.behavior_scale,
            "imputation": {f"refine_prior={p:g} mix={m:g}": r for (p, m), r in self.imputation.items()},
            "behavior_only": {f"{k:g}": r for k, r in self.behavior_only.items()},
        }


def calibrate(
    trained: Trained,
    recordings: Sequence[Recording],
    priors: Sequence[float] = REFINE_PRIORS,
    mixes: Sequence[float] = MIXES,
    scales: Sequence[float] = BEHAVIOR_SCALES,
    hide_fraction: float = 0.2,
    seed: int = 0,
) -> Calibration:
    """Choose the settings of a trained model's predictions on animals it was not trained on.

    On each recording a seeded `hide_fraction` of the labeled neurons is hidden
    (`data.hidden_sets`: one draw per animal, or every labeled neuron once, a fold at a time,
    when a draw would hide fewer than 100 in all) and imputed with every refinement prior weight (`Trained.impute`) and
    every weight of the linear read-out (`mixes`: its conditional must come from moments that
    do not include these animals; `fit` installs those of its training animals first); every
    labeled neuron is predicted from behavior alone, times every factor of `scales`. The
    candidates with the highest mean R² (z-scored units, each neuron on its own frames)
    win; ties go to the first. With nothing to score, the model's current settings.
    """
    priors = [_check_prior(w) for w in priors]
    if not priors:
        raise ConfigError("calibrate needs at least one refinement prior weight")
    current_mix = trained.linear_mix
    mixes = [float(m) for m in mixes] if trained.model.linear is not None else [0.0]
    if not mixes:
        mixes = [current_mix]
    if any(not 0.0 <= m <= 1.0 for m in mixes):
        raise ConfigError(f"mixes must be in [0, 1], got {mixes}")
    imputed: dict[tuple[float, float], list[float]] = {(p, m): [] for p in priors for m in mixes}
    behavior: dict[float, list[float]] = {float(k): [] for k in scales}
    recordings = [trained._prepare(rec) for rec in recordings]
    hidden = hidden_sets([(rec.identity, rec.uid) for rec in recordings], hide_fraction, seed)
    for rec, folds in zip(recordings, hidden):
        z, _, _ = zscore(rec.traces, rec.mask)
        for hide in folds:
            lin = trained._run(rec, hide=hide, mix=1.0).pred[:, hide] if any(mixes) else 0.0
            for p in priors:
                latent = trained._run(rec, hide=hide, refine_steps=REFINE_STEPS, refine_prior=p, mix=0.0).pred[:, hide]
                for m in mixes:
                    r2 = r2_score((1 - m) * latent + m * lin, z[:, hide], rec.mask[:, hide])
                    imputed[(p, m)].extend(r2[np.isfinite(r2)].tolist())
        labeled = np.flatnonzero((rec.identity > 0) & rec.mask.any(0))
        if behavior and labeled.size:
            pred = trained._run(rec, from_prior=True).pred[:, labeled]
            for k in behavior:
                r2 = r2_score(k * pred, z[:, labeled], rec.mask[:, labeled])
                behavior[k].extend(r2[np.isfinite(r2)].tolist())
    imp = {key: float(np.mean(v)) for key, v in imputed.items() if v}
    beh = {k: float(np.mean(v)) for k, v in behavior.items() if v}
    prior, mix = max(imp, key=imp.get) if imp else (trained.refine_prior, current_mix)
    scale = max(beh, key=beh.get) if beh else trained.behavior_scale
    return Calibration(prior, mix, scale, imp, beh)


def choose_refine_prior(
    trained: Trained,
    recordings: Sequence[Recording],
    candidates: Sequence[float] = REFINE_PRIORS,
    hide_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The refinement's prior weight (`Trained.impute`) that imputes best on `recordings`
    (`calibrate` with the model's current linear read-out weight and nothing else chosen).

    Returns ``(best weight, {weight: mean R² of the hidden neurons})``; with nothing to
    score, the model's current weight and an empty dict.
    """
    cal = calibrate(trained, recordings, candidates, [trained.linear_mix], (), hide_fraction, seed)
    return cal.refine_prior, {p: r for (p, _), r in cal.imputation.items()}


def install_linear_readout(model: NeuroBehaviorVAE, recordings: Sequence[Recording], seed: int = 0,
                           hide_fraction: float = 0.2) -> dict | None:
    """Set the linear read-out's pooled moments, ridge penalty and smoothing from `recordings`
    (penalty and smoothing by leave-one-animal-out CV of imputation among them,
    `model.conditional.fit_conditional`); its weight (`LinearReadout.mix`) is left as it is.
    Returns the settings, or None for a model without a linear read-out or without labeled
    recordings."""
    if model.linear is None or not recordings:
        return None
    animals = []
    hidden = hidden_sets([(rec.identity, rec.uid) for rec in recordings], hide_fraction, seed)
    for rec, folds in zip(recordings, hidden):
        z, _, _ = zscore(rec.traces, rec.mask)
        animals.append((z.astype(np.float64), rec.mask, rec.identity, split_segments(rec.timestamps), folds))
    fitted = fit_conditional(animals, model.cfg.n_identities - 1)
    model.linear.set_moments(fitted["moments"], fitted["penalty"], fitted["sigma"])
    return {"penalty": fitted["penalty"], "sigma_frames": fitted["sigma"], "animals": len(recordings)}


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> Trained:
    """Load a model saved by `Trained.save` or a run folder's ``best.pt`` / ``last.pt``.

    Only plain data is read (weights-only loading): a file holding code is refused.
    A folder is accepted and means its ``best.pt``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "best.pt")
    dev = select_device(device)
    payload = load_checkpoint(path, map_location=dev)
    return _trained_from_payload(payload, dev, path)


def fit(
    datasets: Mapping[str, Recording] | Sequence[Recording],
    config: Config | str | os.PathLike | dict | None = None,
    val_uids: Sequence[str] | None = None,
    seed: int | None = None,
    *,
    run_dir: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    quiet: bool | None = None,
    resume: str | os.PathLike | None = None,
    on_epoch_end: Callable[[EpochRecord], None] | None = None,
) -> Trained:
    """Train a model on recordings of many animals.

    Parameters
    ----------
    datasets : dict uid -> Recording, or a list of recordings
    config : Config, a YAML path, a dict of sections, or a dict of dotted overrides
        (``{"model.latent_dim": 8}``); None for the defaults.
    val_uids : animals held out for early stopping (default: a seeded 20% of them)
    seed : overrides ``config.train.seed`` (default 0)
    run_dir : optional folder for checkpoints (best.pt, last.pt), metrics.csv, config.yaml, summary.json
    device : "auto" (CUDA, then MPS, then CPU) or a device name
    quiet : no progress bar (default: ``config.train.quiet``)
    resume : a ``last.pt`` to continue from
    on_epoch_end : called with each epoch's `EpochRecord` (e.g. to report to a tuner, or to
        stop early by raising)

    Returns
    -------
    Trained
        With its `refine_prior` (the prior's weight in `impute`'s refinement), the weight of
        the linear read-out in imputation (`linear_mix`) and `behavior_scale` chosen on the
        validation animals by `calibrate` (about 2 s per validation animal), the linear
        read-out fitted to the training animals for that choice and then to all of them
        (`install_linear_readout`). Without validation animals nothing is chosen: the latent
        read-out alone imputes and behavior predictions are not scaled.
    """
    t0 = time.perf_counter()
    cfg = load_config(config)
    if seed is not None:
        cfg.train.seed = int(seed)
    if quiet is not None:
        cfg.train.quiet = bool(quiet)
    recs = _recordings(datasets)
    vocab, recs = common_vocabulary(recs)
    behaviors = list(cfg.data.behaviors) if cfg.data.behaviors else _default_behaviors(recs)
    cfg.data.behaviors = behaviors
    cfg.model.n_identities = len(vocab)
    cfg.model.behavior_dim = len(behaviors)
    cfg.model.dt = float(np.median([r.dt for r in recs]))
    cfg.model.validate()
    dev = select_device(device)

    torch.manual_seed(cfg.train.seed)
    if is_distributed() and cfg.train.batch_size % world_size():
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} must be a multiple of the {world_size()} processes")
    loader_train, loader_val, train_uids, val_uids = build_loaders(
        recs,
        window_T=cfg.data.window_T,
        stride=cfg.data.stride,
        batch_size=cfg.train.batch_size // world_size(),
        num_workers=cfg.data.num_workers,
        val_uids=val_uids,
        val_fraction=cfg.data.val_fraction,
        seed=cfg.train.seed,
        behaviors=behaviors,
        scaler=cfg.data.scaler,
        history=cfg.model.behavior_history,
        respect_gaps=cfg.data.respect_gaps,
        pin_memory=dev.type == "cuda",
        distributed=is_distributed(),
    )
    scaler = loader_train.dataset.scaler
    model = NeuroBehaviorVAE(cfg.model).to(dev)
    step_model: torch.nn.Module = model
    if is_distributed():
        step_model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[dev.index] if dev.type == "cuda" else None,
            # log_sigma takes no part in the MSE and Huber losses
            find_unused_parameters=cfg.model.recon_loss != "gaussian",
        )
    optim = build_optimizer(model, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    sched_seq, sched_plat, cosine_done = build_scheduler(
        optim, total_epochs=cfg.train.epochs, warmup_epochs=cfg.train.warmup_epochs,
        min_lr_ratio=cfg.train.min_lr_ratio, use_plateau=cfg.train.use_plateau,
        cosine_portion=cfg.train.cosine_portion,
    )
    extra = {
        "vocabulary": vocab.to_list(),
        "behavior_scaler": scaler.to_dict(),
        "config": cfg.to_dict(),
        "train_uids": train_uids,
        "val_uids": val_uids,
    }
    if run_dir is not None and is_main_process():
        os.makedirs(run_dir, exist_ok=True)
        cfg.to_yaml(os.path.join(run_dir, "config.yaml"))
    history, _ = fit_model(
        step_model, loader_train, loader_val, cfg.train.epochs, optim, sched_seq, sched_plat, cosine_done, dev,
        config=cfg.train, run_dir=run_dir, resume=resume, checkpoint_extra=extra, on_epoch_end=on_epoch_end,
    )
    trained = Trained(model, cfg, vocab, scaler, history, train_uids, val_uids)
    held = [r for r in recs if r.uid in set(val_uids)]
    # The validation animals choose how the model predicts: the linear read-out is first fitted
    # to the training animals alone, so that it meets the validation animals as new ones ...
    if held:
        install_linear_readout(model, [r for r in recs if r.uid not in set(val_uids)], cfg.train.seed)
    cal = calibrate(trained, held)
    trained.refine_prior, trained.behavior_scale = cal.refine_prior, cal.behavior_scale
    trained.calibration = cal
    # ... then it takes every animal: the moments need no early stopping
    linear_info = install_linear_readout(model, recs, cfg.train.seed)
    if model.linear is not None:
        model.linear.set_mix(cal.mix)
        trained.linear_uids = [r.uid for r in recs]
    if run_dir is not None and is_main_process():
        best_path = os.path.join(run_dir, "best.pt")
        if os.path.exists(best_path):  # so that `load(run_dir)` predicts as this object does
            payload = load_checkpoint(best_path)
            payload["model_state"] = model.state_dict()
            payload["refine_prior"] = trained.refine_prior
            payload["behavior_scale"] = trained.behavior_scale
            payload["linear_uids"] = trained.linear_uids
            save_checkpoint(best_path, payload)
        best = min(history, key=lambda h: h.val) if history else None
        summary = {
            "epochs_run": len(history),
            "best_epoch": None if best is None else best.epoch,
            "best_val_loss": None if best is None else best.val,
            "final_train_loss": history[-1].train if history else None,
            "seconds": time.perf_counter() - t0,
            "train_uids": train_uids,
            "val_uids": val_uids,
            "n_identities": len(vocab),
            "behaviors": behaviors,
            "device": str(dev),
            "refine_prior": trained.refine_prior,
            "refine_prior_scores": {str(p): r for (p, m), r in cal.imputation.items() if m == cal.mix},
            "linear_mix": trained.linear_mix,
            "behavior_scale": trained.behavior_scale,
            "linear_readout": linear_info,
            "calibration": cal.to_dict(),
        }
        with open(os.path.join(run_dir, "summary.json"), "w") as fh:
            json.dump(summary, fh, indent=2)
    return trained
