"""Decoder p(x | z, b, identity): a context per frame, read out for any list of identities."""

from __future__ import annotations

import torch
from torch import nn

from .config import VAEConfig
from .layers import PositionalEncoding

__all__ = ["Decoder"]


class Decoder(nn.Module):
    """Predict every requested identity at every frame from the latent and the behavior.

    Context per frame (B, T, H)::

        c_t = MLP([z_t, f_t, pe_t])

    with z_t the latent (tiled over the window for a window latent), f_t the behavior-history
    features and pe_t an optional positional encoding. Read-out for identity v:

    - ``"factorized"``: ``x_hat[t, v] = c_t . w_v + a_v`` (one (H,) vector and bias per
      identity), computed for all V identities as one (B, T, H) @ (H, V) product;
    - ``"mlp"``: ``x_hat[t, v] = MLP([c_t, e_v])`` on the concatenation with an identity
      embedding, which costs a (B, T, N, H) tensor (kept for comparison).

    `log_sigma` holds the learned noise level per identity for the Gaussian likelihood.

    Recording gain (``cfg.recording_gain``): traces are z-scored over each whole recording,
    so a neuron's z-scored amplitude depends on how much that animal moved and how far its
    states drifted. The read-out above is then taken to be in fixed units, ``r[t, v]``, and
    divided by its spread over the recording::

        x_hat[t, v] = (r[t, v] - a_v) / sqrt(s_v + exp(k_v)) + a_v

    with ``s_v`` the variance of ``r[:, v]`` over the recording (computed by the caller from
    the whole recording: `ceneurovae.inference.recording_spread`; a window cannot see it) and
    ``k_v`` a learned floor per identity (the variance the read-out does not explain). Without
    a given spread, `typical_spread` (the mean over the training recordings) is used: fixed
    units at an identity's usual gain, as for a behavior trajectory with no recording.
    """

    def __init__(self, cfg: VAEConfig, n_behavior_features: int):
        super().__init__()
        H, V = cfg.hidden_dim, cfg.n_identities
        self.readout = cfg.readout
        self.positional = PositionalEncoding(H, cfg.max_len) if cfg.use_positional else None
        n_in = cfg.latent_dim + n_behavior_features + (H if self.positional is not None else 0)
        layers: list[nn.Module] = []
        for i in range(cfg.decoder_layers):
            layers += [nn.Linear(n_in if i == 0 else H, H), nn.GELU(), nn.Dropout(cfg.dropout)]
        self.context = nn.Sequential(*layers, nn.LayerNorm(H))
        if cfg.readout == "factorized":
            self.weight = nn.Embedding(V, H)
            nn.init.normal_(self.weight.weight, std=H**-0.5)
        else:
            self.embed = nn.Embedding(V, H)
            self.ctx_proj = nn.Linear(H, H)
            self.out = nn.Linear(H, 1)
        self.bias = nn.Embedding(V, 1)
        nn.init.zeros_(self.bias.weight)
        self.log_sigma = nn.Embedding(V, 1)
        nn.init.zeros_(self.log_sigma.weight)
        self.gain_floor: nn.Embedding | None = None
        if cfg.recording_gain:
            self.gain_floor = nn.Embedding(V, 1)
            nn.init.zeros_(self.gain_floor.weight)
            self.register_buffer("typical_spread", torch.ones(V))

    def context_of(self, z: torch.Tensor, behavior_features: torch.Tensor) -> torch.Tensor:
        """z (B, Z) or (B, T, Z); behavior_features (B, T, F) -> context (B, T, H)."""
        B, T, _ = behavior_features.shape
        if z.dim() == 2:
            z = z[:, None, :].expand(B, T, z.shape[-1])
        parts = [z, behavior_features]
        if self.positional is not None:
            parts.append(self.positional(T)[None].expand(B, T, -1))
        return self.context(torch.cat(parts, dim=-1))

    def read_out(
        self, context: torch.Tensor, identity: torch.Tensor, spread: torch.Tensor | None = None, raw: bool = False
    ) -> torch.Tensor:
        """context (B, T, H); identity (B, N) or (N,) -> predictions (B, T, N).

        `spread` ((B, N), or (N,) for every row): each neuron's variance over its recording of
        the raw read-out, for the recording gain (default: `typical_spread`). `raw`: the
        read-out before that gain (what the spread is computed from).
        """
        B, T, _ = context.shape
        if identity.dim() == 1:
            identity = identity[None].expand(B, -1)
        bias = self.bias(identity).squeeze(-1)[:, None, :]  # (B, 1, N)
        if self.readout == "factorized":
            w = self.weight(identity)  # (B, N, H)
            out = torch.einsum("bth,bnh->btn", context, w)
        else:
            u = self.ctx_proj(context)[:, :, None, :] + self.embed(identity)[:, None, :, :]  # (B, T, N, H)
            out = self.out(nn.functional.gelu(u)).squeeze(-1)
        if self.gain_floor is None or raw:
            return out + bias
        if spread is None:
            spread = self.typical_spread[identity]
        elif spread.dim() == 1:
            spread = spread[None].expand(B, -1)
        gain = torch.rsqrt(spread.to(out.dtype) + torch.exp(self.gain_floor(identity).squeeze(-1)))  # (B, N)
        return out * gain[:, None, :] + bias

    def forward(
        self, z: torch.Tensor, behavior_features: torch.Tensor, identity: torch.Tensor, spread: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.read_out(self.context_of(z, behavior_features), identity, spread)
