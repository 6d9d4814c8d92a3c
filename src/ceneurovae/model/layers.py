"""Building blocks shared by the encoder and decoder.

- `PositionalEncoding`: sinusoidal code of the frame index within a window.
- `BehaviorHistory`: causal exponential filters of behavior at several time constants.
- `TemporalBackbone`: Transformer, bidirectional GRU or dilated convolutions over time,
  behind one interface ``(B, T, H) -> (B, T, H)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["PositionalEncoding", "BehaviorHistory", "TemporalBackbone"]


class PositionalEncoding(nn.Module):
    """Sinusoidal encoding of positions ``0..T-1``: a (T, dim) buffer sliced per call."""

    def __init__(self, dim: int, max_len: int = 4096):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / max(dim, 1)))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(position * freq)
        pe[:, 1::2] = torch.cos(position * freq[: dim // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, T: int) -> torch.Tensor:
        if T > self.pe.shape[0]:
            raise ValueError(f"window of {T} frames is longer than max_len={self.pe.shape[0]}")
        return self.pe[:T]


class BehaviorHistory(nn.Module):
    """Causal exponential filters of behavior: what a neuron could integrate over time.

    Channels filtered, per frame t: the behavior itself ``b_t`` (zero where unknown), `n_learned`
    learned point-wise nonlinear transforms ``g(b_t) = relu(W [b_t, m_t] + c)`` (so that, as
    in CePNEM, a rectified forward or reverse velocity can be integrated), and the mask
    ``m_t`` of known values. For each time constant tau, with ``a = exp(-dt / tau)``::

        f[t] = sum_{j=0}^{L-1} k[j] * u[t - j],    k[j] = a^j / sum_i a^i

    (tau = 0 gives the current frame). Filters run over the history frames before the window
    plus the window itself, so a window's first frame sees up to ``L - 1`` frames of past;
    the filtered mask tells the network how much of that past was known.

    Output: (B, T, (2 D + n_learned) K) features.
    """

    def __init__(self, behavior_dim: int, taus: tuple[float, ...], dt: float, history: int, n_learned: int = 0):
        super().__init__()
        self.behavior_dim = behavior_dim
        self.history = history
        self.point = nn.Sequential(nn.Linear(2 * behavior_dim, n_learned), nn.ReLU()) if n_learned and behavior_dim else None
        self.n_channels = (2 * behavior_dim + (n_learned if self.point is not None else 0)) if behavior_dim else 0
        L = history + 1
        j = torch.arange(L, dtype=torch.float64)
        rows = []
        for tau in taus:
            if tau <= 0:
                k = (j == 0).double()
            else:
                k = torch.exp(-j * dt / tau)
            rows.append(k / k.sum())
        # conv1d correlates, so store the kernel reversed: the last tap meets the current frame.
        kernel = torch.stack(rows).flip(-1)[:, None, :].float()  # (K, 1, L)
        self.register_buffer("kernel", kernel, persistent=False)

    @property
    def n_features(self) -> int:
        return self.n_channels * self.kernel.shape[0]

    def forward(
        self,
        behavior: torch.Tensor,
        behavior_mask: torch.Tensor,
        past: torch.Tensor | None = None,
        past_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """behavior, behavior_mask: (B, T, D); past, past_mask: (B, P, D) or None -> (B, T, F)."""
        B, T, D = behavior.shape
        if D == 0:
            return behavior.new_zeros(B, T, 0)
        L = self.history + 1
        m = behavior_mask.to(behavior.dtype)
        if past is not None and past.shape[1] > 0 and self.history > 0:
            past = past[:, -self.history :]
            pm = past_mask[:, -self.history :].to(behavior.dtype)
            values = torch.cat([past * pm, behavior * m], dim=1)
            known = torch.cat([pm, m], dim=1)
        else:
            values, known = behavior * m, m
        channels = [values, known]
        if self.point is not None:
            channels.append(self.point(torch.cat([values, known], dim=2)))
        u = torch.cat(channels, dim=2)  # (B, S, C)
        C = u.shape[2]
        pad = L - 1 - (u.shape[1] - T)
        u = nn.functional.pad(u.transpose(1, 2), (pad, 0))  # (B, C, L-1+T)
        K = self.kernel.shape[0]
        out = nn.functional.conv1d(u.reshape(B * C, 1, -1), self.kernel)  # (B*C, K, T)
        return out.reshape(B, C * K, T).transpose(1, 2)


class _ConvBlock(nn.Module):
    def __init__(self, dim: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel_size=3, dilation=dilation, padding=dilation)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.norm(h).transpose(1, 2)).transpose(1, 2)
        return h + self.drop(nn.functional.gelu(y))


class TemporalBackbone(nn.Module):
    """(B, T, H) -> (B, T, H) over time; frames where ``pad`` is True are ignored by attention.

    ``kind``: ``"transformer"`` (pre-norm encoder layers, bidirectional attention),
    ``"gru"`` (bidirectional, H/2 per direction) or ``"tcn"`` (residual dilated
    convolutions, receptive field 2^(layers+1) - 1 frames).
    """

    def __init__(self, kind: str, dim: int, layers: int, heads: int, dropout: float):
        super().__init__()
        self.kind = kind
        if kind == "transformer":
            layer = nn.TransformerEncoderLayer(
                dim, heads, dim_feedforward=2 * dim, dropout=dropout,
                activation="gelu", batch_first=True, norm_first=True,
            )
            self.net = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim)
        elif kind == "gru":
            self.net = nn.GRU(dim, dim // 2 + dim % 2, num_layers=layers, batch_first=True,
                              bidirectional=True, dropout=dropout if layers > 1 else 0.0)
            self.proj = nn.Linear(2 * (dim // 2 + dim % 2), dim)
        elif kind == "tcn":
            self.net = nn.ModuleList(_ConvBlock(dim, 2**i, dropout) for i in range(layers))
            self.norm = nn.LayerNorm(dim)
        else:  # validated by VAEConfig
            raise ValueError(kind)

    def forward(self, h: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        if self.kind == "transformer":
            # Masking padded frames as keys needs at least one real frame per row (always true).
            return self.norm(self.net(h, src_key_padding_mask=pad))
        if pad is not None:
            h = h.masked_fill(pad[..., None], 0.0)
        if self.kind == "gru":
            out, _ = self.net(h)
            return self.proj(out)
        for block in self.net:
            h = block(h)
            if pad is not None:
                h = h.masked_fill(pad[..., None], 0.0)
        return self.norm(h)
