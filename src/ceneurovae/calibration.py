"""Choosing how a trained model predicts, on animals it was not trained on.

`calibrate` scores, on held-out animals, the refinement's prior weight, the weight of the
linear read-out and the scale of predictions from behavior alone; `install_linear_readout`
fits the linear read-out's pooled moments. `ceneurovae.fit` runs both after training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import hidden_sets
from .errors import ConfigError
from .evaluation.metrics import r2_score
from .model import NeuroBehaviorVAE
from .model.conditional import fit_conditional
from .normalize import zscore
from .recording import Recording, split_segments
from .trained import REFINE_STEPS, Trained, check_refine_prior

__all__ = ["Calibration", "calibrate", "choose_refine_prior", "install_linear_readout",
           "REFINE_PRIORS", "MIXES", "BEHAVIOR_SCALES"]


REFINE_PRIORS = (1.0, 2.0, 4.0, 8.0)
"""The weights `fit` tries on its validation animals (`calibrate`)."""

MIXES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Weights of the linear read-out in the imputation that `fit` tries on its validation animals."""

BEHAVIOR_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Factors of the prediction from behavior alone that `fit` tries on its validation animals:
across animals behavior may predict little, and a smaller prediction then scores better."""


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
    priors = [check_refine_prior(w) for w in priors]
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
    recordings = [trained.prepare(rec) for rec in recordings]
    hidden = hidden_sets([(rec.identity, rec.uid) for rec in recordings], hide_fraction, seed)
    for rec, folds in zip(recordings, hidden):
        z, _, _ = zscore(rec.traces, rec.mask)
        for hide in folds:
            lin = trained.run(rec, hide=hide, mix=1.0).pred[:, hide] if any(mixes) else 0.0
            for p in priors:
                latent = trained.run(rec, hide=hide, refine_steps=REFINE_STEPS, refine_prior=p, mix=0.0).pred[:, hide]
                for m in mixes:
                    r2 = r2_score((1 - m) * latent + m * lin, z[:, hide], rec.mask[:, hide])
                    imputed[(p, m)].extend(r2[np.isfinite(r2)].tolist())
        labeled = np.flatnonzero((rec.identity > 0) & rec.mask.any(0))
        if behavior and labeled.size:
            pred = trained.run(rec, from_prior=True).pred[:, labeled]
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
