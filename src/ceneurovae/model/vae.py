r"""`NeuroBehaviorVAE`: the model, wired from encoder, reparameterization and decoder.

Generative model, for one window of T frames of an animal whose neurons n = 1..N carry
identities :math:`v_n` (0 = unknown) and behavior :math:`b_{1:T}`:

.. math::

    z &\sim \mathcal{N}(0, I)  \qquad z \in \mathbb{R}^{Z} \text{ (window) or } \mathbb{R}^{T \times Z} \text{ (trajectory;}
          \text{ by default a stationary AR(1) process per dimension, } z_t \mid z_{t-1} \sim \mathcal{N}(a z_{t-1}, 1 - a^2)) \\
    f_t &= \textstyle\sum_{j \ge 0} k_\tau[j]\, b_{t-j} \quad \text{for each } \tau
          \quad \text{(causal exponential filters: behavior history)} \\
    c_t &= \mathrm{MLP}([z_t, f_t, \mathrm{pe}_t]) \\
    x_{t,n} &\sim \mathcal{N}\big(w_{v_n}^\top c_t \,/\, \sqrt{s_{v_n} + e^{k_{v_n}}} + a_{v_n},\ \sigma_{v_n}^2\big)

with :math:`s_v` the variance of :math:`w_v^\top c_t` over the neuron's whole recording (the
recording gain, `VAEConfig.recording_gain`: traces are z-scored per recording; see `Decoder`).
At inference a hidden neuron's prediction is mixed with the linear conditional on the
visible neurons (`VAEConfig.linear_readout`, `model.conditional.LinearReadout`).

Inference network :math:`q(z \mid x, m, b, v) = \mathcal{N}(\mu, \mathrm{diag}\,e^{\log\sigma^2})`
reads the observed neurons by identity (`IdentityReadIn`), adds the behavior features and
runs a temporal backbone. Training maximizes the ELBO

.. math::

    \mathbb{E}_q[\log p(x_{\mathrm{obs}} \mid z, b)] - \beta\, \mathrm{KL}(q(z \mid \cdot)\,\|\,\mathcal{N}(0, I))

where the likelihood sums over observed entries only (mask m) and the KL sums over latent
dimensions (and frames, for a trajectory). Because the decoder predicts every identity of
the vocabulary, neurons that an animal did not record (or that were hidden from the
encoder) are imputed by the same read-out.

Tensor names and shapes: x, mask (B, T, N); behavior, behavior_mask (B, T, D);
identity (B, N); behavior_past (B, P, D) frames before the window; z (B, Z) or (B, T, Z).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .conditional import LinearReadout
from .config import VAEConfig
from .decoder import Decoder
from .encoder import Encoder
from .layers import BehaviorHistory

__all__ = ["NeuroBehaviorVAE", "ModelOutput"]


class ModelOutput(NamedTuple):
    """What `NeuroBehaviorVAE.forward` returns.

    pred : (B, T, N) decoder mean for each of the animal's neurons (z-scored units).
    mu, logvar : posterior parameters, (B, Z) or (B, T, Z).
    z : the latent the decoder used (a sample in training, `mu` otherwise).
    log_sigma : (B, N) learned log noise standard deviation of each neuron's identity.
    prior_ar : (Z,) AR(1) coefficients of the trajectory prior, or None for N(0, I) per frame.
    """

    pred: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor
    log_sigma: torch.Tensor
    prior_ar: torch.Tensor | None = None


class NeuroBehaviorVAE(nn.Module):
    """Behavior-conditioned VAE over identified neurons of many animals. See the module docstring.

    Parameters
    ----------
    cfg : VAEConfig

    Examples
    --------
    >>> import torch
    >>> from ceneurovae.model import VAEConfig, NeuroBehaviorVAE
    >>> model = NeuroBehaviorVAE(VAEConfig(n_identities=10, behavior_dim=3))
    >>> x = torch.randn(2, 50, 6); mask = torch.ones(2, 50, 6, dtype=torch.bool)
    >>> identity = torch.tensor([[1, 2, 3, 0, 5, 6], [4, 3, 2, 1, 0, 0]])
    >>> out = model(x, mask, torch.randn(2, 50, 3), identity)
    >>> out.pred.shape, out.mu.shape
    (torch.Size([2, 50, 6]), torch.Size([2, 50, 16]))
    """

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.history = BehaviorHistory(cfg.behavior_dim, cfg.behavior_taus, cfg.dt, cfg.behavior_history, cfg.behavior_nonlinear)
        n_feat = self.history.n_features
        self.encoder = Encoder(cfg, n_feat)
        self.decoder = Decoder(cfg, n_feat)
        # not trained by gradient descent: installed and weighed by `ceneurovae.fit` afterwards
        self.linear = LinearReadout(cfg.n_identities) if cfg.linear_readout else None
        if cfg.latent == "trajectory" and cfg.latent_prior == "ar1":
            # time constants of the prior, one per dimension, spread from 1 s to a minute at first
            init = torch.log(torch.as_tensor(np.geomspace(1.0, 60.0, cfg.latent_dim), dtype=torch.float32))
            self.prior_log_tau = nn.Parameter(init)
        else:
            self.prior_log_tau = None

    def prior_ar(self) -> torch.Tensor | None:
        """AR(1) coefficients ``a = exp(-dt / tau)`` of the trajectory prior (Z,), or None."""
        if self.prior_log_tau is None:
            return None
        return torch.exp(-self.cfg.dt / torch.exp(self.prior_log_tau)).clamp(max=0.999)

    # -- pieces ----------------------------------------------------------------------------
    def behavior_features(
        self,
        behavior: torch.Tensor,
        behavior_mask: torch.Tensor | None = None,
        behavior_past: torch.Tensor | None = None,
        behavior_past_mask: torch.Tensor | None = None,
        drop_behavior: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Behavior-history features (B, T, F); rows where `drop_behavior` is True see no behavior."""
        if behavior.shape[-1] != self.cfg.behavior_dim:
            raise ValueError(f"behavior has {behavior.shape[-1]} channels, the model expects {self.cfg.behavior_dim}")
        bm = torch.ones_like(behavior, dtype=torch.bool) if behavior_mask is None else behavior_mask
        pm = None
        if behavior_past is not None:
            pm = torch.ones_like(behavior_past, dtype=torch.bool) if behavior_past_mask is None else behavior_past_mask
        if drop_behavior is not None:
            keep = ~drop_behavior.to(torch.bool)[:, None, None]
            bm = bm & keep
            if pm is not None:
                pm = pm & keep
        return self.history(behavior, bm, behavior_past, pm)

    def encode(self, x, mask, identity, features, pad=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters (mu, logvar)."""
        return self.encoder(x, mask, identity, features, pad)

    def decode(
        self, z: torch.Tensor, features: torch.Tensor, identity: torch.Tensor, spread: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Predictions (B, T, N) for the identities `identity` ((B, N) or (N,)); `spread`: the
        recording gain's input (see `Decoder`; default: each identity's typical spread)."""
        return self.decoder(z, features, identity, spread)

    def context(self, z: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The decoder's context (B, T, H) from a latent and behavior features; read out with
        `read_out` (``decode`` = ``read_out(context(z, features), identity, spread)``)."""
        return self.decoder.context_of(z, features)

    def read_out(self, context: torch.Tensor, identity: torch.Tensor, spread: torch.Tensor | None = None,
                 raw: bool = False) -> torch.Tensor:
        """Predictions (B, T, N) of the identities `identity` from a decoder context; `raw`: before
        the recording gain (see `Decoder.read_out`)."""
        return self.decoder.read_out(context, identity, spread, raw=raw)

    def noise_log_sigma(self, identity: torch.Tensor) -> torch.Tensor:
        """Log noise level of each identity's Gaussian likelihood, shaped like `identity`."""
        return self.decoder.log_sigma(identity).squeeze(-1)

    # -- the recording gain ------------------------------------------------------------------
    @property
    def has_recording_gain(self) -> bool:
        """Whether each neuron's read-out is divided by its spread over the recording
        (`VAEConfig.recording_gain`): inference then needs a first pass over the recording."""
        return self.decoder.gain_floor is not None

    @torch.no_grad()
    def set_typical_spread(self, table: torch.Tensor) -> None:
        """Each identity's typical spread (used where a recording's own is unknown): the mean of
        a (recordings, identities) table of spreads over the recordings that have it (0 = absent);
        identities no recording has keep theirs."""
        recorded = (table > 0).sum(0)
        typical = table.sum(0) / recorded.clamp(min=1)
        spread = self.decoder.typical_spread
        spread.copy_(torch.where(recorded > 0, typical, spread))

    def prior_mean(self, batch_size: int, n_frames: int, device=None) -> torch.Tensor:
        """The prior's mean latent: zeros of shape (B, Z) or (B, T, Z)."""
        Z = self.cfg.latent_dim
        shape = (batch_size, Z) if self.cfg.latent == "window" else (batch_size, n_frames, Z)
        return torch.zeros(shape, device=device)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + eps * exp(logvar / 2), eps ~ N(0, I)."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    # -- the whole pass --------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        behavior: torch.Tensor,
        identity: torch.Tensor,
        *,
        behavior_mask: torch.Tensor | None = None,
        behavior_past: torch.Tensor | None = None,
        behavior_past_mask: torch.Tensor | None = None,
        pad: torch.Tensor | None = None,
        encoder_mask: torch.Tensor | None = None,
        drop_behavior: torch.Tensor | None = None,
        use_prior: torch.Tensor | None = None,
        sample: bool | None = None,
        spread: torch.Tensor | None = None,
    ) -> ModelOutput:
        """Encode, sample, decode.

        Parameters
        ----------
        x, mask : (B, T, N)
            Traces (z-scored) and observation mask; unobserved entries are ignored.
        behavior : (B, T, D)
            Normalized behavior.
        identity : (B, N) int
            Identity of each neuron, 0 = unknown (padded neurons: 0 with mask False).
        behavior_mask, behavior_past, behavior_past_mask, pad
            Optional: known behavior entries; behavior history before the window (B, P, D);
            padded frames (B, T), True where a frame is padding.
        encoder_mask : (B, T, N) bool, optional
            What the encoder may see (default `mask`): hide neurons to impute them.
        drop_behavior : (B,) bool, optional
            Rows whose behavior is withheld from encoder and decoder.
        use_prior : (B,) bool, optional
            Rows decoded from the prior mean instead of the posterior (behavior-only prediction).
        sample : bool, optional
            Sample z from the posterior (default: in training mode only).
        spread : (B, N), optional
            Each neuron's variance over its whole recording of the decoder's raw read-out, for
            the recording gain (`cfg.recording_gain`; default: each identity's typical spread).
        """
        feats = self.behavior_features(behavior, behavior_mask, behavior_past, behavior_past_mask, drop_behavior)
        enc_mask = mask if encoder_mask is None else encoder_mask
        mu, logvar = self.encode(x, enc_mask, identity, feats, pad)
        if sample is None:
            sample = self.training
        z = self.reparameterize(mu, logvar) if sample else mu
        if use_prior is not None:
            keep = ~use_prior.to(torch.bool).view(-1, *([1] * (z.dim() - 1)))
            z = z * keep
        pred = self.decode(z, feats, identity, spread)
        log_sigma = self.decoder.log_sigma(identity).squeeze(-1)
        return ModelOutput(pred=pred, mu=mu, logvar=logvar, z=z, log_sigma=log_sigma, prior_ar=self.prior_ar())


def unwrap(model: nn.Module) -> NeuroBehaviorVAE:
    """The NeuroBehaviorVAE inside DistributedDataParallel / torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod
    return model
