"""Controls and diagnostics of a trained model: the latent's health and the shuffled behavior.

- `latent_diagnostics`: KL per latent dimension, active units and ELBO on held-out data.
- `shuffle_behavior`: every animal gets another animal's behavior, the data of the shuffle
  control (`ceneurovae.shuffle_control`, which trains a model on it: it sits above the
  front door, as training is no part of the evaluation).
- `as_recordings`, `ratio`: small helpers of the evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..data import window_batches
from ..errors import ConfigError, DataError
from ..model.loss import elbo_loss
from ..recording import Recording

__all__ = ["ACTIVE_THRESHOLD", "as_recordings", "latent_diagnostics", "ratio", "shuffle_behavior"]

ACTIVE_THRESHOLD = 0.01
"""A latent dimension is active when its posterior mean varies over frames more than this."""


def as_recordings(datasets, what: str) -> list[Recording]:
    """A non-empty list of recordings with distinct uids, from a dict or a sequence."""
    recs = list(datasets.values()) if isinstance(datasets, Mapping) else list(datasets)
    if not recs:
        raise ConfigError(f"no {what} recordings given")
    for r in recs:
        if not isinstance(r, Recording):
            raise ConfigError(f"{what} recordings must be Recording objects, got {type(r).__name__}")
    uids = [r.uid for r in recs]
    if len(set(uids)) != len(uids):
        raise DataError(f"{what} recordings repeat uids: {sorted({u for u in uids if uids.count(u) > 1})}")
    return recs


def ratio(num: float, den: float) -> float:
    """num / den, NaN unless both are finite and den > 0."""
    return float(num / den) if np.isfinite(num) and np.isfinite(den) and den > 0 else float("nan")


# -- latent diagnostics ----------------------------------------------------------------------

def latent_diagnostics(trained, recordings: Sequence[Recording], *, seed: int = 0,
                       threshold: float = ACTIVE_THRESHOLD, batch_size: int = 32) -> dict[str, Any]:
    """KL per latent dimension, active units and ELBO on held-out recordings.

    The recordings are cut into windows of the training length that tile them (stride =
    window length; the last window is flush with the end). For each window the posterior
    ``q(z | x, b)`` is computed with every neuron visible, one latent sample is drawn
    (seeded; the global random state is left untouched), and

    - ``kl_per_dim`` (Z,): KL(q || prior) per dimension, averaged per frame (trajectory
      latent) or per window (window latent), nats;
    - ``posterior_mean_variance`` (Z,): variance over frames (windows) of the posterior
      mean; ``active_units``: how many exceed `threshold` (Burda et al. 2016);
    - ``elbo_per_entry``: -(reconstruction NLL + KL) / observed labeled entries, nats
      (``likelihood`` says which reconstruction loss; only ``gaussian`` is a likelihood);
      NaN when the recordings have no labeled entry.
    """
    model = trained.model
    cfg = model.cfg
    prepared = [trained.prepare(r) for r in recordings]
    ds = trained.window_spec(stride=trained.window_T).dataset(prepared)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    Z = cfg.latent_dim
    recon = kl = n_obs = 0.0
    kl_dims = np.zeros(Z)
    mus = []
    n_units = 0
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(int(seed))
        for _, batch in window_batches(ds, batch_size, device):
            out = model(batch.x, batch.mask, batch.behavior, batch.identity, **batch.model_inputs(), sample=True)
            stats = elbo_loss(out, batch.x, batch.mask, batch.identity, beta=1.0, kind=cfg.recon_loss,
                              huber_delta=cfg.huber_delta, pad=batch.pad)
            recon += float(stats["recon"])
            kl += float(stats["kl"])
            n_obs += float(stats["n_obs"])
            kl_dims += stats["kl_dims"].double().cpu().numpy()
            if out.mu.dim() == 3:
                real = ~batch.pad
                mus.append(out.mu[real].double().cpu().numpy())
                n_units += int(real.sum())
            else:
                mus.append(out.mu.double().cpu().numpy())
                n_units += out.mu.shape[0]
    model.train(was_training)
    mu = np.concatenate(mus) if mus else np.zeros((0, Z))
    var = mu.var(0) if len(mu) > 1 else np.zeros(Z)
    # No labeled entry (an animal without a neuron the model knows): no ELBO to give.
    def per_entry(x: float) -> float:
        return x / n_obs if n_obs > 0 else float("nan")

    return {
        "latent_dim": int(Z),
        "latent": cfg.latent,
        "kl_unit": "nats per frame" if cfg.latent == "trajectory" else "nats per window",
        "kl_per_dim": (kl_dims / max(n_units, 1)).tolist(),
        "posterior_mean_variance": var.tolist(),
        "active_units": int((var > threshold).sum()),
        "active_threshold": float(threshold),
        "elbo_per_entry": per_entry(-(recon + kl)),
        "recon_per_entry": per_entry(recon),
        "kl_per_entry": per_entry(kl),
        "likelihood": cfg.recon_loss,
        "windows": len(ds),
    }


# -- shuffled behavior ------------------------------------------------------------------------

def shuffle_behavior(datasets: Mapping[str, Recording] | Sequence[Recording], seed: int = 0) -> dict[str, Recording]:
    """Give every animal another animal's behavior (a seeded derangement).

    Each recording keeps its neurons and gets the behavior (and behavior mask) of a different
    animal, cut to its length or padded with unknown values (``behavior_mask`` False). The
    donor's uid is kept in ``meta["behavior_from"]``.

    Returns
    -------
    dict uid -> Recording, in the order given
    """
    recs = as_recordings(datasets, "training")
    if len(recs) < 2:
        raise ConfigError("shuffling behavior across animals needs at least 2 animals")
    names = recs[0].behavior_names
    for r in recs:
        if sorted(r.behavior_names) != sorted(names):
            raise DataError(f"recording {r.uid!r} has behaviors {r.behavior_names}, others {names}; they must match to be shuffled")
    rng = np.random.default_rng(int(seed))
    while True:  # rejection sampling: a uniform derangement (about e tries)
        perm = rng.permutation(len(recs))
        if (perm != np.arange(len(recs))).all():
            break
    out = {}
    for rec, j in zip(recs, perm):
        donor = recs[int(j)].select_behaviors(rec.behavior_names)
        T, D = rec.n_frames, len(rec.behavior_names)
        b = np.zeros((T, D), dtype=np.float32)
        m = np.zeros((T, D), dtype=bool)
        n = min(T, donor.n_frames)
        b[:n], m[:n] = donor.behavior[:n], donor.behavior_mask[:n]
        out[rec.uid] = rec.replace(behavior=b, behavior_mask=m, meta={**rec.meta, "behavior_from": donor.uid})
    return out
