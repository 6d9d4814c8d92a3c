"""Encoder q(z | x, m, b, identity): identity read-in, temporal backbone, Gaussian posterior."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import VAEConfig
from .layers import PositionalEncoding, TemporalBackbone

__all__ = ["IdentityReadIn", "Encoder"]


class IdentityReadIn(nn.Module):
    """Per-frame summary of all observed neurons, keyed by identity.

    Each animal's neurons are scattered into the vocabulary: ``X[b, t, v]`` holds the value
    of the neuron with identity v (0 where not observed) and ``P[b, t, v]`` says whether it
    was observed. Two summaries are formed per frame:

    - a linear one, ``X @ W_value + P @ W_presence`` (B, T, H): every identity has its own
      weights, so the encoder knows *which* neuron carries which value;
    - a factor read-in (``n_factors`` = k > 0): with learned loadings ``A_v`` (k,) and noise
      variances ``psi_v`` per identity, the posterior mean of k shared factors under a
      factor-analysis model, given whichever neurons are observed in that frame::

          f = (I + sum_v P_v A_v A_v^T / psi_v)^-1  sum_v P_v A_v x_v / psi_v      (B, T, k)

      It weighs each neuron by how informative it is and renormalizes for the subset that
      is present, which a sum followed by a network does poorly when animals record
      different neurons (or neurons are hidden for imputation). Returned with the diagonal
      of the posterior covariance (how certain the estimate is).

    The order of neurons does not matter, any number is accepted, and a padded or hidden
    neuron contributes nothing. Unlabeled neurons (identity 0) share slot 0 of the linear
    summary (their mean value, and whether any was observed) and take no part in the
    factor read-in.
    """

    def __init__(self, n_identities: int, dim: int, n_factors: int = 0):
        super().__init__()
        self.value = nn.Embedding(n_identities, dim)
        self.presence = nn.Embedding(n_identities, dim)
        nn.init.normal_(self.value.weight, std=dim**-0.5)
        nn.init.normal_(self.presence.weight, std=dim**-0.5)
        self.n_factors = n_factors
        if n_factors:
            self.loading = nn.Embedding(n_identities, n_factors)
            nn.init.normal_(self.loading.weight, std=n_factors**-0.5)
            self.log_psi = nn.Embedding(n_identities, 1)
            nn.init.zeros_(self.log_psi.weight)

    @property
    def n_out(self) -> int:
        return 2 * self.n_factors

    def forward(self, x: torch.Tensor, mask: torch.Tensor, identity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x, mask: (B, T, N); identity: (B, N) -> linear (B, T, H), factors (B, T, 2k) or None."""
        B, T, N = x.shape
        V = self.value.num_embeddings
        m = mask.to(x.dtype)
        idx = identity[:, None, :].expand(B, T, N)
        X = x.new_zeros(B, T, V).scatter_add_(2, idx, x * m)
        P = x.new_zeros(B, T, V).scatter_add_(2, idx, m)
        n_unknown = P[..., :1]
        X = torch.cat([X[..., :1] / n_unknown.clamp(min=1.0), X[..., 1:]], dim=-1)
        P = torch.cat([(n_unknown > 0).to(x.dtype), P[..., 1:]], dim=-1)
        linear = X @ self.value.weight + P @ self.presence.weight
        if not self.n_factors:
            return linear, None
        k = self.n_factors
        A = self.loading.weight[1:]  # (V-1, k): identity 0 has no loading
        w = P[..., 1:] * torch.exp(-self.log_psi.weight[1:, 0])  # (B, T, V-1) precision weights
        outer = (A[:, :, None] * A[:, None, :]).reshape(V - 1, k * k)
        prec = (w @ outer).reshape(B, T, k, k) + torch.eye(k, dtype=x.dtype, device=x.device)
        rhs = (w * X[..., 1:]) @ A  # (B, T, k)
        # cholesky_ex: weights gone non-finite (a learning rate far too high) give NaN here, which
        # the training loop's guard against non-finite losses handles, instead of an exception.
        chol, info = torch.linalg.cholesky_ex(prec)
        if bool((info != 0).any()):
            chol = torch.where((info != 0)[..., None, None], torch.full_like(chol, math.nan), chol)
        f = torch.cholesky_solve(rhs[..., None], chol).squeeze(-1)
        var = torch.cholesky_inverse(chol).diagonal(dim1=-2, dim2=-1)
        return linear, torch.cat([f, torch.log(var)], dim=-1)


class Encoder(nn.Module):
    """q(z | x, m, b, identity) -> (mu, logvar).

    Read-in by identity, plus the behavior features, plus a positional encoding, then the
    temporal backbone. For a trajectory latent a linear head gives (mu_t, logvar_t) per frame,
    (B, T, Z) each; for a window latent, attention pooling over the window's real frames
    gives (mu, logvar), (B, Z) each.
    """

    def __init__(self, cfg: VAEConfig, n_behavior_features: int):
        super().__init__()
        H = cfg.hidden_dim
        self.latent = cfg.latent
        self.read_in = IdentityReadIn(cfg.n_identities, H, cfg.read_in_factors)
        self.factors_in = nn.Linear(self.read_in.n_out, H) if cfg.read_in_factors else None
        self.behavior_in = nn.Linear(n_behavior_features, H) if n_behavior_features else None
        self.positional = PositionalEncoding(H, cfg.max_len)
        self.norm = nn.LayerNorm(H)
        self.drop = nn.Dropout(cfg.dropout)
        self.backbone = TemporalBackbone(cfg.encoder, H, cfg.encoder_layers, cfg.n_heads, cfg.dropout)
        if cfg.latent == "window":
            self.pool_score = nn.Linear(H, 1)
        self.head = nn.Linear(H, 2 * cfg.latent_dim)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        identity: torch.Tensor,
        behavior_features: torch.Tensor,
        pad: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x, mask (B, T, N); identity (B, N); behavior_features (B, T, F); pad (B, T) True = padding."""
        h, factors = self.read_in(x, mask, identity)
        if self.factors_in is not None:
            h = h + self.factors_in(factors)
        if self.behavior_in is not None:
            h = h + self.behavior_in(behavior_features)
        h = self.drop(self.norm(h) + self.positional(h.shape[1]))
        h = self.backbone(h, pad)
        if self.latent == "window":
            score = self.pool_score(h).squeeze(-1)  # (B, T)
            if pad is not None:
                score = score.masked_fill(pad, float("-inf"))
            h = (torch.softmax(score, dim=1)[..., None] * h).sum(1)  # (B, H)
        mu, logvar = self.head(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)
