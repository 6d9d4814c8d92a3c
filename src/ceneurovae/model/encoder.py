"""Encoder q(z | x, m, b, identity): identity read-in, temporal backbone, Gaussian posterior."""

from __future__ import annotations

import torch
from torch import nn

from .config import VAEConfig
from .layers import PositionalEncoding, TemporalBackbone

__all__ = ["IdentityReadIn", "Encoder"]


class IdentityReadIn(nn.Module):
    """Per-frame summary of all observed neurons, keyed by identity.

    Each animal's neurons are scattered into the vocabulary: ``X[b, t, v]`` holds the value
    of the neuron with identity v (0 where not observed) and ``P[b, t, v]`` says whether it
    was observed. The frame's summary is::

        u[b, t] = X[b, t] @ W_value + P[b, t] @ W_presence        (B, T, H)

    so every identity has its own weights (the encoder knows *which* neuron carries which
    value), the order of neurons does not matter, any number of neurons is accepted, and
    a padded or hidden neuron contributes nothing. Unlabeled neurons (identity 0) share
    slot 0: their mean value, and whether any was observed.
    """

    def __init__(self, n_identities: int, dim: int):
        super().__init__()
        self.value = nn.Embedding(n_identities, dim)
        self.presence = nn.Embedding(n_identities, dim)
        nn.init.normal_(self.value.weight, std=dim**-0.5)
        nn.init.normal_(self.presence.weight, std=dim**-0.5)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """x, mask: (B, T, N); identity: (B, N) -> (B, T, H)."""
        B, T, N = x.shape
        V = self.value.num_embeddings
        m = mask.to(x.dtype)
        idx = identity[:, None, :].expand(B, T, N)
        X = x.new_zeros(B, T, V).scatter_add_(2, idx, x * m)
        P = x.new_zeros(B, T, V).scatter_add_(2, idx, m)
        n_unknown = P[..., :1]
        X = torch.cat([X[..., :1] / n_unknown.clamp(min=1.0), X[..., 1:]], dim=-1)
        P = torch.cat([(n_unknown > 0).to(x.dtype), P[..., 1:]], dim=-1)
        return X @ self.value.weight + P @ self.presence.weight


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
        self.read_in = IdentityReadIn(cfg.n_identities, H)
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
        h = self.read_in(x, mask, identity)
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
