"""The shuffle control: train a model on behavior shuffled across animals.

Whatever behavior-only prediction such a model keeps on held-out animals did not come from
the relation between behavior and activity (a guard against behavior leaking through the
conditioning). It trains a model, so it sits above the front door (`ceneurovae.api.fit`),
like `ceneurovae.tune`; the evaluation below it only scores. ``ceneurovae.evaluate`` and
``ceneurovae.controls`` re-export it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .api import fit
from .errors import DataWarning
from .evaluation.baselines import vocabulary_identity
from .evaluation.controls import as_recordings, ratio, shuffle_behavior
from .evaluation.metrics import describe, r2_score
from .normalize import zscore
from .recording import Recording

__all__ = ["shuffle_control"]


def _behavior_only_r2(trained, recs: Sequence[Recording]) -> np.ndarray:
    """Behavior-only R² of every labeled neuron of `recs`, concatenated."""
    out = []
    for rec in recs:
        identity = vocabulary_identity(rec, trained.vocabulary)
        lab = np.flatnonzero(identity > 0)
        z, mean, std = zscore(rec.traces, rec.mask)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # unknown identities are simply not scored
            pred = (np.asarray(trained.from_behavior(rec), dtype=np.float64) - mean) / std
        out.append(r2_score(np.nan_to_num(pred[:, lab], nan=0.0), z[:, lab], rec.mask[:, lab]))
    return np.concatenate(out) if out else np.zeros(0)


def shuffle_control(
    train_datasets: Mapping[str, Recording] | Sequence[Recording],
    test_datasets: Mapping[str, Recording] | Sequence[Recording],
    config=None,
    seed: int = 0,
    *,
    reference=None,
    val_uids: Sequence[str] | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Train a model on behavior shuffled across animals and measure what it still predicts from behavior.

    A model whose behavior-only predictions are genuine must lose them when each training
    animal's behavior belongs to another animal (`shuffle_behavior`). Whatever behavior-only
    R² such a model keeps on the (unshuffled) test animals came from somewhere other than
    the behavior-activity relation: a leak through the conditioning, the evaluation, or
    structure shared by every animal's behavior.

    Parameters
    ----------
    train_datasets, test_datasets : the training and held-out animals
    config : the training configuration (as for `ceneurovae.fit`; use the real model's)
    seed : seed of the derangement
    reference : a `Trained` model (the real one, trained on the true behavior) or a number:
        the behavior-only R² to compare with
    val_uids : animals of `train_datasets` for early stopping (as for the real model)

    Returns
    -------
    dict with ``behavior_only`` (`describe` of the shuffled model's behavior-only R² per
    labeled test neuron), ``reference_mean`` and ``retained`` (shuffled mean / reference
    mean) when a reference is given, ``donors`` (uid -> whose behavior it got), ``seconds``.
    """
    t0 = time.perf_counter()
    test = as_recordings(test_datasets, "held-out")
    shuffled = shuffle_behavior(train_datasets, seed)
    model = fit(shuffled, config=config, val_uids=val_uids, quiet=quiet)
    r2 = _behavior_only_r2(model, test)
    result: dict[str, Any] = {
        "behavior_only": describe(r2),
        "donors": {u: r.meta["behavior_from"] for u, r in shuffled.items()},
        "epochs": len(model.history),
    }
    if reference is not None:
        ref = float(reference) if isinstance(reference, (int, float)) else describe(_behavior_only_r2(reference, test))["mean"]
        result["reference_mean"] = ref
        result["retained"] = ratio(result["behavior_only"]["mean"], ref)
    result["seconds"] = time.perf_counter() - t0
    return result
