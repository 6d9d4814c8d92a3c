"""`Trained`: a trained model with everything needed to use it on new recordings.

Its methods take and return recordings in their own units; `inference.run_recording` does
the work in model units. `ceneurovae.fit` makes one, `ceneurovae.load` reads one.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .config import Config
from .data import WindowSpec
from .errors import CheckpointError, ConfigError, DataWarning
from .identity import Vocabulary, canonical_label
from .inference import Stitched, ridge_readout, run_recording
from .model import NeuroBehaviorVAE, VAEConfig, unwrap
from .normalize import BehaviorScaler, zscore
from .recording import Recording, is_stimulus, vocabulary_names
from .training import Checkpoint, EpochRecord, select_device

__all__ = ["Trained", "REFINE_STEPS", "REFINE_PRIOR", "check_refine_steps", "check_behavior_scale", "check_refine_prior"]


REFINE_STEPS = 20
"""Default gradient steps on the posterior mean when imputing (`Trained.impute`)."""

REFINE_PRIOR = 4.0
"""Weight of the prior in those steps' objective (1 = the ELBO) where none was chosen; see
`Trained.impute` and `choose_refine_prior`."""


def check_refine_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ConfigError(f"refine_steps must be a whole number >= 0, got {steps!r}")
    return int(steps)


def check_behavior_scale(scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not np.isfinite(scale) or scale < 0:
        raise ConfigError(f"behavior_scale must be a number >= 0, got {scale!r}")
    return float(scale)


def check_refine_prior(weight) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
            or not np.isfinite(weight) or weight <= 0:
        raise ConfigError(f"refine_prior must be a positive number, got {weight!r}")
    return float(weight)


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
        self.refine_prior = check_refine_prior(refine_prior)
        self.behavior_scale = check_behavior_scale(behavior_scale)
        self.calibration: Any = None  # a `calibration.Calibration`: what `fit` chose on its validation animals
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
    def prepare(self, rec: Recording) -> Recording:
        """The recording with identities in the model's vocabulary; checks its behaviors (a
        stimulus channel of the model the recording lacks is masked, not an error)."""
        if not isinstance(rec, Recording):
            raise ConfigError(f"expected a Recording, got {type(rec).__name__}")
        rec.require_behaviors(self.behavior_names, hint=f"; the model was trained on {self.behavior_names}")
        if rec.vocabulary is not None and rec.vocabulary == self.vocabulary:
            return rec
        names = vocabulary_names(rec)
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

    def window_spec(self, stride: int | None = None) -> WindowSpec:
        """How this model cuts recordings into windows (training length, its scaler, behavior
        history and gap handling); `stride` defaults to the training stride."""
        d = self.config.data
        return WindowSpec(d.window_T, d.stride if stride is None else stride, self.scaler,
                          self.model.cfg.behavior_history, d.respect_gaps)

    def run(self, rec: Recording, **kw) -> Stitched:
        """`inference.run_recording` of a prepared recording with this model's windows (model units)."""
        spec = self.window_spec()
        return run_recording(self.model, rec, spec.scaler, window_T=spec.window_T, respect_gaps=spec.respect_gaps, **kw)

    @staticmethod
    def to_units(z: np.ndarray, rec: Recording) -> np.ndarray:
        """Traces in model units (z-scored over the recording) back in the units of `rec.traces`."""
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
        rec = self.prepare(rec)
        out = self.run(rec, return_context=True)
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
        return self.to_units(pred, rec)

    def impute(
        self, rec: Recording, hide: Sequence[int | str] | np.ndarray = (), refine_steps: int = REFINE_STEPS,
        refine_prior: float | None = None,
    ) -> np.ndarray:
        """Predict every neuron with the neurons `hide` withheld from the encoder.

        `hide` names neurons by name (``["AVAL", "RIML"]``, any spelling the atlas knows) or
        by column index of ``rec.traces``, or both. Returns (T, N) in the units of
        ``rec.traces``: the hidden neurons' values are predicted from the other neurons and
        the behavior only. Neurons of unknown identity get NaN (nothing can predict an
        unidentified neuron that is not seen); hiding one warns.

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
        rec = self.prepare(rec)
        hide = self.neuron_indices(rec, hide)
        unknown = [int(i) for i in hide if rec.identity[i] == 0]
        if unknown:
            warnings.warn(
                f"recording {rec.uid!r}: hidden neurons {unknown} have no identity the model knows; nothing "
                "can predict them once hidden, so their columns are NaN", DataWarning, stacklevel=2)
        out = self.run(rec, hide=hide, refine_steps=check_refine_steps(refine_steps),
                        refine_prior=self._prior(refine_prior))
        return self.to_units(out.pred, rec)

    def neuron_indices(self, rec: Recording, neurons: Sequence[int | str] | np.ndarray) -> np.ndarray:
        """Column indices of `neurons` in ``rec.traces``: names (matched to the recording's
        identities, any spelling the atlas knows) or indices, or both."""
        names = vocabulary_names(rec)
        out = []
        for item in np.asarray(neurons, dtype=object).reshape(-1):
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= item < rec.n_neurons:
                    raise ConfigError(f"neuron index {item} is outside [0, {rec.n_neurons}) for recording {rec.uid!r}")
                out.append(int(item))
                continue
            if not isinstance(item, str):
                raise ConfigError(f"a neuron is a name or a column index, got {item!r}")
            c = canonical_label(item)
            wanted = c.name if c is not None and c.in_atlas else item.strip()
            hits = [i for i, n in enumerate(names) if n and n.upper() == wanted.upper()]
            if not hits:
                labeled = sorted(n for n in names if n)
                shown = ", ".join(labeled[:12]) + (f", ... ({len(labeled)})" if len(labeled) > 12 else "")
                raise ConfigError(f"recording {rec.uid!r} has no labeled neuron {item!r} (labeled: {shown or 'none'})")
            out.append(hits[0])
        return np.asarray(out, dtype=np.int64)

    def _prior(self, weight: float | None) -> float:
        return self.refine_prior if weight is None else check_refine_prior(weight)

    def from_behavior(self, rec: Recording) -> np.ndarray:
        """Activity predicted from behavior alone (latent at the prior mean), (T, N) in rec's
        units; NaN for unknown identities. Times `behavior_scale`: 0 when the validation
        animals showed that the model's behavior responses do not carry over to new animals
        (each neuron is then predicted by its mean). The recording's stimulus channels drive
        the prediction like its behaviors (a model stimulus the recording lacks is masked);
        to see a stimulus the animal did not get, add its channel
        (`ceneurovae.io.behavior.append_stimuli`) or use `generate`.

        Neurons without an identity the model knows cannot be predicted from behavior: their
        columns are NaN, and a warning says how many. `generate` predicts every identity of
        the vocabulary instead."""
        rec = self.prepare(rec)
        unknown = int((rec.identity == 0).sum())
        if unknown:
            warnings.warn(
                f"recording {rec.uid!r}: {unknown} of {rec.n_neurons} neurons have no identity the model knows; "
                "their columns are NaN (generate() predicts every identity instead)", DataWarning, stacklevel=2)
        return self.to_units(self.behavior_scale * self.run(rec, from_prior=True).pred, rec)

    def latents(self, rec: Recording) -> np.ndarray:
        """Posterior mean latent per frame, (T, Z) (constant within a window for window latents, then stitched)."""
        return self.run(self.prepare(rec)).latent

    def impute_identities(
        self, rec: Recording, identities: Sequence[str] | None = None, hide: Sequence[int] | np.ndarray = (),
        refine_steps: int = REFINE_STEPS, refine_prior: float | None = None,
    ) -> tuple[np.ndarray, list[str]]:
        """Predict identities (default: every identity of the vocabulary) in this animal.

        Returns ``(values (T, K) in z-scored units, names (K,))``: neurons the animal did not
        record, or did not label, are predicted from what it did record and its behavior.
        `refine_steps` and `refine_prior` as in `impute`.
        """
        rec = self.prepare(rec)
        names = self.vocabulary.names if identities is None else list(identities)
        ids = self._identity_indices(names)
        out = self.run(rec, identities=ids, hide=np.asarray(hide, dtype=np.int64),
                        refine_steps=check_refine_steps(refine_steps), refine_prior=self._prior(refine_prior))
        return out.pred_identities, names

    def generate(
        self,
        behavior: np.ndarray | Mapping[str, np.ndarray],
        identities: Sequence[str | int] | None = None,
        *,
        dt: float | None = None,
        behavior_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Activity for an arbitrary behavior (and stimulus) trajectory, latent at the prior
        mean, times `behavior_scale` (as `from_behavior`: a model whose behavior responses did
        not carry over to its validation animals shows them shrunk, or flat at 0).

        Parameters
        ----------
        behavior : (T, D) array in physical units, columns in the order of `behavior_names`;
            or a mapping channel name -> (T,) values, e.g.
            ``{"velocity": v, "head_curvature": h, "pumping": p, "stimulus:heat": pulses}``.
            In a mapping every behavior the model was trained on must be given; a stimulus
            channel left out is off (0.0, known), and NaN values are unknown (masked).
        identities : names or vocabulary indices (default: every identity)
        dt : seconds per frame (default: the model's)
        behavior_mask : (T, D) bool, optional, with an array `behavior`: False where unknown

        Returns
        -------
        (T, K) predicted activity in z-scored units.
        """
        if isinstance(behavior, Mapping):
            behavior = self._behavior_columns(behavior)
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
        return self.behavior_scale * self.run(rec, from_prior=True, identities=ids, center=False).pred_identities

    def _behavior_columns(self, channels: Mapping[str, np.ndarray]) -> np.ndarray:
        """(T, D) in the model's channel order from name -> (T,) values (stimuli left out: off)."""
        unknown = sorted(set(channels) - set(self.behavior_names))
        if unknown:
            raise ConfigError(f"channels {unknown} are not among the model's {self.behavior_names}")
        missing = [n for n in self.behavior_names if n not in channels and not is_stimulus(n)]
        if missing:
            raise ConfigError(f"behavior lacks {missing}; the model was trained on {self.behavior_names}")
        lengths = {n: np.asarray(v).shape for n, v in channels.items()}
        shapes = set(lengths.values())
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ConfigError(f"each channel must be one value per frame, all of one length; got shapes {lengths}")
        (T,) = next(iter(shapes))
        return np.stack([np.asarray(channels[n], dtype=np.float32) if n in channels else np.zeros(T, np.float32)
                         for n in self.behavior_names], axis=1)

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
    def checkpoint(self) -> Checkpoint:
        """Everything `load` needs, as one `Checkpoint`."""
        return Checkpoint(
            model_config=self.model.cfg.to_dict(),
            model_state=self.model.state_dict(),
            vocabulary=self.vocabulary.to_list(),
            behavior_scaler=self.scaler.to_dict(),
            config=self.config.to_dict(),
            history=[h._asdict() for h in self.history],
            train_uids=self.train_uids,
            val_uids=self.val_uids,
            refine_prior=self.refine_prior,
            behavior_scale=self.behavior_scale,
            linear_uids=self.linear_uids,
        )

    def payload(self) -> dict[str, Any]:
        """The checkpoint as the plain dict written to the file."""
        return self.checkpoint().to_payload()

    def save(self, path: str | os.PathLike) -> None:
        """Write the model, its config, vocabulary and scaler to one checkpoint file."""
        self.checkpoint().save(path)

    def to(self, device) -> Trained:
        self.model.to(select_device(device))
        return self

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, device: torch.device | str = "cpu", source: str = "checkpoint") -> Trained:
        """The model a checkpoint holds (any version's), on `device`."""
        payload = ckpt.to_payload()
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
            refine_prior = check_refine_prior(payload.get("refine_prior", REFINE_PRIOR))
            behavior_scale = check_behavior_scale(payload.get("behavior_scale", 1.0))
        except ConfigError as err:
            raise CheckpointError(f"checkpoint {source}: {err}") from None
        return cls(model, config, vocabulary, scaler, history, payload.get("train_uids", ()), payload.get("val_uids", ()),
                       refine_prior, behavior_scale, payload.get("linear_uids", ()))
