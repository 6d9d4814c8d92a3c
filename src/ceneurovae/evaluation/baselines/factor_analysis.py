"""Factor analysis with missing data in identity space (EM), shared by `LowRank` and the
state-space model's starting point: an animal's frames grouped by their observed
identities (`frame_blocks`), the factors' posterior (`factor_posterior`), and the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...model.conditional import psd_factors
from .base import AnimalData

__all__ = ["FrameBlock", "factor_posterior", "fit_factor_analysis", "frame_blocks"]


@dataclass
class FrameBlock:
    """Frames that share one set of observed identities: x (n, D) zero elsewhere, cols (d,)."""

    x: np.ndarray
    cols: np.ndarray


def frame_blocks(animal: AnimalData, n_id: int, hide: np.ndarray | None = None) -> tuple[list[FrameBlock], list[np.ndarray]]:
    """Split an animal's frames by their pattern of observed (not hidden) labeled neurons.

    Returns the blocks and, for each, the frame indices it holds.
    """
    keep = np.setdiff1d(animal.labeled, [] if hide is None else hide)
    if keep.size == 0:
        return [], []
    cols = animal.identity[keep] - 1
    m = animal.mask[:, keep]
    x = np.zeros((len(animal.z), n_id))
    x[:, cols] = np.where(m, animal.z[:, keep], 0.0)
    if m.all():  # the usual case: every labeled neuron seen in every frame
        groups = {b"": np.arange(len(m))}
        patterns = {b"": np.ones(m.shape[1], dtype=bool)}
    else:
        groups, patterns = {}, {}
        for t, key in enumerate(np.packbits(m, axis=1)):
            k = key.tobytes()
            groups.setdefault(k, []).append(t)
            patterns.setdefault(k, m[t])
    blocks, frames = [], []
    for k, rows in groups.items():
        rows = np.asarray(rows)
        c = cols[patterns[k]]
        if c.size == 0:
            continue
        blocks.append(FrameBlock(x=x[rows][:, c], cols=c))
        frames.append(rows)
    return blocks, frames


def factor_posterior(block: FrameBlock, W, mu, psi):
    """Posterior mean of the factors (n, K) and their shared covariance (K, K), and the
    block's log-likelihood under x = W f + mu + e, e ~ N(0, diag psi)."""
    Wo, ipsi = W[block.cols], 1.0 / psi[block.cols]
    K = W.shape[1]
    M = np.eye(K) + Wo.T @ (ipsi[:, None] * Wo)
    Minv = np.linalg.inv(M)
    r = block.x - mu[block.cols]
    rw = (r * ipsi) @ Wo  # (n, K)
    E = rw @ Minv
    n, d = r.shape
    _, logdet_m = np.linalg.slogdet(M)
    quad = (r * r * ipsi).sum() - (rw * E).sum()
    ll = -0.5 * (n * (d * np.log(2 * np.pi) + logdet_m + np.log(psi[block.cols]).sum()) + quad)
    return E, Minv, ll


def fit_factor_analysis(blocks: Sequence[FrameBlock], D: int, K: int, max_iter: int = 60, tol: float = 1e-5):
    """Factor analysis x = W f + mu + e (f ~ N(0, I), e ~ N(0, diag psi)) by EM with missing data.

    Parameters
    ----------
    blocks : frames grouped by their observed variables
    D : number of variables; K : number of factors

    Returns
    -------
    W (D, K), mu (D,), psi (D,), log-likelihood per observed entry; variables never
    observed get W = 0, mu = 0, psi = 1.
    """
    K1 = K + 1
    seen = np.zeros(D, dtype=bool)
    s1, s2, cnt = np.zeros(D), np.zeros((D, D)), np.zeros((D, D))
    for b in blocks:
        seen[b.cols] = True
        s1[b.cols] += b.x.sum(0)
        s2[np.ix_(b.cols, b.cols)] += b.x.T @ b.x
        cnt[np.ix_(b.cols, b.cols)] += len(b.x)
    n_obs = np.diag(cnt)
    mu = np.where(n_obs > 0, s1 / np.maximum(n_obs, 1), 0.0)
    cov = np.where(cnt > 0, s2 / np.maximum(cnt, 1), 0.0) - np.outer(mu, mu) * (cnt > 0)
    e, u = psd_factors(cov)
    top = np.argsort(e)[::-1][:K]
    W = u[:, top] * np.sqrt(np.maximum(e[top], 1e-6))[None, :] * 0.9
    psi = np.where(seen, np.maximum(np.diag(cov) - (W**2).sum(1), 0.05), 1.0)
    W[~seen] = 0.0
    prev = -np.inf
    total_entries = sum(b.x.size for b in blocks)
    ll_per = np.nan
    for _ in range(max_iter):
        A = np.zeros((D, K1, K1))
        B = np.zeros((D, K1))
        sxx = np.zeros(D)
        ll = 0.0
        for b in blocks:
            E, Minv, llb = factor_posterior(b, W, mu, psi)
            ll += llb
            n = len(E)
            Ef = np.concatenate([E, np.ones((n, 1))], axis=1)
            sff = Ef.T @ Ef
            sff[:K, :K] += n * Minv
            A[b.cols] += sff[None]
            B[b.cols] += b.x.T @ Ef
            sxx[b.cols] += (b.x**2).sum(0)
        idx = np.flatnonzero(seen)
        L = np.linalg.solve(A[idx] + 1e-9 * np.eye(K1)[None], B[idx][:, :, None])[:, :, 0]  # (d, K1)
        W[idx], mu[idx] = L[:, :K], L[:, K]
        psi[idx] = np.maximum((sxx[idx] - (L * B[idx]).sum(1)) / n_obs[idx], 1e-3)
        ll_per = ll / max(total_entries, 1)
        if np.isfinite(prev) and abs(ll_per - prev) < tol * max(1.0, abs(prev)):
            break
        prev = ll_per
    return W, mu, psi, ll_per
