"""Loss pieces and KL-weight schedules: small functions that return their parts.

Reconstruction terms are summed over the observed entries of each example (frames x
neurons with mask True; identity-0 neurons have no read-out and are left out), the KL over
latent dimensions (and frames, for a trajectory latent), as in the ELBO. `elbo_loss`
combines them and returns a dict for logging; the scalar to minimize is normalized per
observed entry so that its size does not depend on the window or the cohort.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError

__all__ = [
    "reconstruction_loss",
    "kl_divergence",
    "kl_per_dimension",
    "free_bits_kl",
    "elbo_loss",
    "kl_weight",
]

_LOG_2PI = math.log(2.0 * math.pi)


def reconstruction_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    kind: str = "gaussian",
    log_sigma: torch.Tensor | None = None,
    huber_delta: float = 1.0,
) -> torch.Tensor:
    """Per-example reconstruction loss, summed over observed entries.

    Parameters
    ----------
    pred, target, mask : (B, T, N)
    kind : ``"gaussian"`` (negative log-likelihood, needs `log_sigma`), ``"mse"`` (squared
        error / 2, the Gaussian NLL at sigma = 1 up to a constant) or ``"huber"``.
    log_sigma : (B, N), optional
        Log noise standard deviation per neuron.

    Returns
    -------
    (B,) tensor
    """
    err = pred - target
    if kind == "mse":
        per = 0.5 * err.square()
    elif kind == "huber":
        per = nn.functional.huber_loss(pred, target, reduction="none", delta=huber_delta)
    elif kind == "gaussian":
        if log_sigma is None:
            raise ValueError("the gaussian reconstruction loss needs log_sigma")
        ls = log_sigma[:, None, :]
        per = 0.5 * (err * torch.exp(-ls)).square() + ls + 0.5 * _LOG_2PI
    else:
        raise ConfigError(f"unknown reconstruction loss {kind!r}; choose gaussian, mse or huber")
    # where() rather than multiply: an unobserved entry may hold anything, even inf
    return torch.where(mask, per, torch.zeros_like(per)).flatten(1).sum(1)


def kl_per_dimension(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    frame_mask: torch.Tensor | None = None,
    ar: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(q || prior) per example and latent dimension, q = N(mu, e^logvar) per dimension (and frame).

    mu, logvar: (B, Z) or (B, T, Z); frame_mask (B, T) selects real frames of a trajectory
    (padding comes last). Returns (B, Z), summed over frames for a trajectory.

    Prior: N(0, 1) independently per frame, or, with `ar` (Z,) in [0, 1), a stationary AR(1)
    process per dimension, ``z_1 ~ N(0, 1)``, ``z_t | z_{t-1} ~ N(a z_{t-1}, 1 - a^2)``,
    whose marginal is still N(0, 1) but whose draws are smooth in time. For a mean-field q::

        KL = sum_t -(1 + log s_t^2) / 2 + (m_1^2 + s_1^2) / 2
             + sum_{t>1} [ log(1 - a^2) + ((m_t - a m_{t-1})^2 + s_t^2 + a^2 s_{t-1}^2) / (1 - a^2) ] / 2

    which is the independent prior's KL when a = 0.
    """
    var = logvar.exp()
    if ar is None or mu.dim() == 2:
        kl = 0.5 * (mu.square() + var - 1.0 - logvar)
        if kl.dim() == 3:
            if frame_mask is not None:
                kl = kl * frame_mask[..., None].to(kl.dtype)
            kl = kl.sum(1)
        return kl
    real = torch.ones(mu.shape[:2], dtype=mu.dtype, device=mu.device) if frame_mask is None else frame_mask.to(mu.dtype)
    a = ar.to(mu.dtype)
    one_minus = 1.0 - a * a
    entropy = (-0.5 * (1.0 + logvar)) * real[..., None]  # (B, T, Z)
    first = 0.5 * (mu[:, 0].square() + var[:, 0])  # (B, Z)
    pair = (real[:, 1:] * real[:, :-1])[..., None]  # both frames real
    trans = 0.5 * (torch.log(one_minus) + ((mu[:, 1:] - a * mu[:, :-1]).square() + var[:, 1:] + a * a * var[:, :-1]) / one_minus)
    return entropy.sum(1) + first + (trans * pair).sum(1)


def kl_divergence(
    mu: torch.Tensor, logvar: torch.Tensor, frame_mask: torch.Tensor | None = None, ar: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-example KL divergence to the prior, summed over latent dims (and frames): (B,).

    With the independent N(0, I) prior this is ``-0.5 * sum(1 + logvar - mu^2 - exp(logvar))``,
    the seed's definition; see `kl_per_dimension` for the AR(1) prior.
    """
    return kl_per_dimension(mu, logvar, frame_mask, ar).sum(-1)


def free_bits_kl(kl_dims: torch.Tensor, free_bits: float, n_frames: torch.Tensor | None = None) -> torch.Tensor:
    """KL with a floor per latent dimension ("free bits", Kingma et al. 2016).

    Each dimension's batch-mean KL below `free_bits` nats (per frame, for trajectories) is
    not penalized, so the optimizer has no reason to switch dimensions off entirely.

    kl_dims: (B, Z); n_frames: (B,) real frames per example for trajectories. Returns (B,).
    """
    if free_bits <= 0:
        return kl_dims.sum(-1)
    scale = 1.0 if n_frames is None else n_frames.to(kl_dims.dtype)[:, None]
    per_frame = kl_dims / scale
    floor = per_frame.mean(0, keepdim=True) < free_bits  # (1, Z): dims under the floor
    # Under the floor the penalty is constant (no gradient); above it, the usual KL.
    clamped = torch.where(floor, torch.full_like(per_frame, free_bits), per_frame)
    return (clamped * scale).sum(-1)


def elbo_loss(
    out,
    target: torch.Tensor,
    mask: torch.Tensor,
    identity: torch.Tensor,
    *,
    beta: float = 1.0,
    kind: str = "gaussian",
    huber_delta: float = 1.0,
    free_bits: float = 0.0,
    pad: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The training objective and its parts.

    Parameters
    ----------
    out : ModelOutput
    target, mask : (B, T, N)
    identity : (B, N); neurons with identity 0 have no read-out and are not reconstructed.
    beta : KL weight. free_bits : nats per latent dimension (and frame) left unpenalized.
    pad : (B, T) padded frames, excluded from a trajectory's KL.

    Returns
    -------
    dict with ``loss`` (to minimize: (recon + beta * KL) per observed entry), ``recon``
    and ``kl`` (sums over the batch), ``n_obs`` (observed entries), ``elbo`` (sum over the
    batch of -(recon + KL), at beta = 1 and without free bits) and ``kl_dims`` (Z,).
    """
    # The loss is computed in float32 even when the forward pass ran under autocast.
    out = type(out)(*(None if t is None else t.float() for t in out))
    recon_mask = mask & (identity > 0)[:, None, :]
    recon = reconstruction_loss(out.pred, target, recon_mask, kind, out.log_sigma, huber_delta)
    frame_mask = None if pad is None else ~pad
    kl_dims = kl_per_dimension(out.mu, out.logvar, frame_mask, out.prior_ar)
    kl = kl_dims.sum(-1)
    n_frames = None
    if out.mu.dim() == 3:
        n_frames = frame_mask.sum(1) if frame_mask is not None else torch.full_like(kl, out.mu.shape[1])
    kl_train = free_bits_kl(kl_dims, free_bits, n_frames)
    n_obs = recon_mask.sum()
    loss = (recon.sum() + beta * kl_train.sum()) / n_obs.clamp(min=1)
    return {
        "loss": loss,
        "recon": recon.sum(),
        "kl": kl.sum(),
        "elbo": -(recon.sum() + kl.sum()),
        "n_obs": n_obs,
        "kl_dims": kl_dims.sum(0),
        "sq_err": torch.where(recon_mask, (out.pred - target).square(), torch.zeros_like(target)).sum(),
    }


def kl_weight(
    epoch: int,
    schedule: str = "linear",
    *,
    warmup_epochs: int = 10,
    beta_max: float = 1.0,
    beta_min: float = 0.0,
    step_epochs: int = 10,
    cycle_epochs: int = 20,
    ramp_fraction: float = 0.5,
) -> float:
    """KL weight beta at `epoch` (0-based): a pure function, so resuming gives the same values.

    - ``"constant"``: `beta_max` throughout.
    - ``"linear"``: from `beta_min` at epoch 0 up to `beta_max` at `warmup_epochs`, then flat.
    - ``"step"``: `beta_min` until `step_epochs`, then `beta_max`.
    - ``"cyclical"`` (Fu et al. 2019): repeated cycles of `cycle_epochs`; in each, a linear
      ramp over the first `ramp_fraction` of the cycle, then `beta_max`.
    """
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    if schedule == "constant":
        return float(beta_max)
    if schedule == "linear":
        if warmup_epochs <= 0:
            return float(beta_max)
        frac = min(epoch / warmup_epochs, 1.0)
        return float(beta_min + (beta_max - beta_min) * frac)
    if schedule == "step":
        return float(beta_min if epoch < step_epochs else beta_max)
    if schedule == "cyclical":
        if cycle_epochs <= 0:
            raise ConfigError(f"cycle_epochs must be > 0, got {cycle_epochs}")
        pos = (epoch % cycle_epochs) / cycle_epochs
        ramp = max(ramp_fraction, 1e-9)
        return float(beta_min + (beta_max - beta_min) * min(pos / ramp, 1.0))
    raise ConfigError(f"unknown KL schedule {schedule!r}; choose constant, linear, step or cyclical")
