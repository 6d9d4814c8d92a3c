r"""The linear read-out: hidden neurons predicted from the visible neurons of the same frame.

Animals record different subsets of identities, so a linear predictor shared by all
animals is written in terms of pooled second moments. Over the training animals, the
second moment of every pair of identities (traces z-scored per recording) is averaged over
the frames of the animals that recorded both, and the whole matrix is projected onto the
positive semi-definite ones (`pooled_moments`): ``M[u, v]``. For the neurons S that the
encoder sees in a window, a hidden neuron n is predicted by the ridge-regularized Gaussian
conditional

.. math::

    \ell_n(t) = M_{n, S}\,(M_{S, S} + \lambda I)^{-1}\, x_S(t),

smoothed in time by a Gaussian of ``sigma`` frames. This is the pooled ridge regression on
the other neurons (`ceneurovae.baselines.NeuronOnlyRidge`), the linear predictor that beat
the latent model on real animals. The model predicts a hidden neuron by

.. math::

    \hat x_n = (1 - \mathrm{mix})\, r_n + \mathrm{mix}\, \ell_n

with :math:`r_n` the latent read-out of the decoder. Training is not affected: ``fit`` installs
the moments afterwards (`ceneurovae.api.install_linear_readout`) and chooses ``mix`` on its
validation animals (`ceneurovae.api.calibrate`; the moments of the training animals only, so
that the validation animals are new to both parts). ``lambda`` and ``sigma`` are chosen by
leave-one-animal-out cross-validation of imputation among the animals (`choose_penalty`).
Visible neurons (reconstruction) and predictions from behavior alone use the latent read-out
only.

This module also holds the numpy pieces shared with the ridge baselines: moments from
per-frame variables, the conditional predictions for a list of penalties, the penalty's
cross-validation and the smoothing in time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

__all__ = [
    "LAMBDAS",
    "SIGMAS",
    "LinearReadout",
    "as_moments",
    "choose_penalty",
    "conditional_predictions",
    "fit_conditional",
    "identity_variables",
    "moment_sums",
    "pooled_moments",
    "psd",
    "psd_factors",
    "smooth_time",
]

LAMBDAS = tuple(float(x) for x in np.logspace(-4, 2, 13))
"""Ridge penalties tried by the cross-validation (moments are in z units: 1 on the diagonal)."""
SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
"""Widths (frames) of the Gaussian smoothing in time tried by the cross-validation."""


# -- numpy: moments and the conditional ------------------------------------------------------

def identity_variables(z: np.ndarray, mask: np.ndarray, identity: np.ndarray, n_id: int) -> tuple[np.ndarray, np.ndarray]:
    """A recording's labeled neurons scattered into identity space: values (T, n_id) (0 where
    not observed) and their mask; identity v goes to column v - 1."""
    T = z.shape[0]
    x = np.zeros((T, n_id))
    m = np.zeros((T, n_id), dtype=bool)
    lab = np.flatnonzero(np.asarray(identity) > 0)
    cols = np.asarray(identity)[lab] - 1
    x[:, cols] = np.where(mask[:, lab], z[:, lab], 0.0)
    m[:, cols] = mask[:, lab]
    return x, m


def moment_sums(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of products of every pair of variables over the frames both are observed, and
    the count of those frames: ((P, P), (P, P)) from x, m (T, P)."""
    xm = np.where(m, x, 0.0)
    mf = m.astype(np.float64)
    return xm.T @ xm, mf.T @ mf


def as_moments(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Pooled moments from summed `moment_sums`: 0 for pairs never observed together."""
    return np.where(count > 0, total / np.maximum(count, 1.0), 0.0)


def psd_factors(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric matrix with negative eigenvalues clipped to 0.

    Moments of pairs pooled over different animals need not be positive semi-definite;
    clipping makes every ridge system on them well posed for a penalty > 0.
    """
    e, u = np.linalg.eigh((c + c.T) / 2)
    return np.maximum(e, 0.0), u


def psd(c: np.ndarray) -> np.ndarray:
    """The nearest positive semi-definite matrix by clipping eigenvalues (`psd_factors`)."""
    e, u = psd_factors(c)
    return (u * e) @ u.T


def conditional_predictions(moments: np.ndarray, x: np.ndarray, visible: np.ndarray, targets: np.ndarray,
                            lambdas: Sequence[float]) -> Iterator[np.ndarray]:
    """Ridge predictions of the variables `targets` from the variables `visible` of every
    frame, ``x_V (M_VV + lam I)^-1 M_Vt``, one (T, len(targets)) array per penalty."""
    e, u = psd_factors(moments[np.ix_(visible, visible)])
    proj = x[:, visible] @ u  # (T, r)
    cross = moments[np.ix_(targets, visible)] @ u  # (H, r)
    for lam in lambdas:
        yield (proj / (e + lam)) @ cross.T


def smooth_time(x: np.ndarray, segments: Sequence[tuple[int, int]], sigma: float) -> np.ndarray:
    """Gaussian smoothing along time (sd `sigma` frames) inside each segment, edges renormalized.

    A frame-by-frame linear predictor passes the noise of the visible neurons into every
    prediction; smoothing it trades that against blur, with the width chosen by CV.

    x : (T, M) -> (T, M)
    """
    if sigma <= 0:
        return x
    half = int(np.ceil(4 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    out = np.empty_like(x, dtype=np.float64)
    for a, b in segments:
        seg, n = x[a:b], b - a
        acc = np.zeros(seg.shape)
        weight = np.zeros(n)
        for j, k in enumerate(kernel):
            shift = j - half
            lo, hi = max(0, -shift), min(n, n - shift)
            if lo >= hi:
                continue
            acc[lo:hi] += k * seg[lo + shift:hi + shift]
            weight[lo:hi] += k
        out[a:b] = acc / weight[:, None]
    return out


def pooled_moments(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The moments the conditional uses: `as_moments`, projected onto the positive
    semi-definite matrices (`psd`).

    Pairs of variables come from different animals (or none: 0), so the pooled matrix need
    not be a covariance. Projecting the whole matrix at once, rather than each sub-matrix a
    prediction uses, lets every pair borrow from the structure of all the others: on the
    real dev set this raised the median imputation R² of the pooled ridge from 0.237 to
    0.264 (mean over its four leave-one-animal-out splits).
    """
    return psd(as_moments(total, count))


def choose_penalty(sums: Sequence[tuple[np.ndarray, np.ndarray]], tasks: Sequence, lambdas: Sequence[float] = LAMBDAS,
                   sigmas: Sequence[float] = SIGMAS) -> tuple[float, float, np.ndarray]:
    """Ridge penalty and smoothing width of the conditional, by leave-one-animal-out CV.

    Parameters
    ----------
    sums : per animal, its `moment_sums` (total, count)
    tasks : per animal, a list of imputation tasks ``(x, visible, targets, y, y_mask, segments)``:
        its variables (T, P), the visible and hidden variable columns, the hidden neurons'
        values (T, H) with their mask, and its contiguous segments (e.g. one per fold of its
        neurons; an empty list: nothing to score). Each animal's hidden neurons are
        predicted from the `pooled_moments` of the other animals.

    Returns
    -------
    lam, sigma, and the summed squared error of every (lambda, sigma)
    """
    total = sum(s[0] for s in sums)
    count = sum(s[1] for s in sums)
    sse = np.zeros((len(lambdas), len(sigmas)))
    for (s, c), animal_tasks in zip(sums, tasks):
        if not animal_tasks:
            continue
        moments = pooled_moments(total - s, count - c)
        for x, visible, targets, y, y_mask, segments in animal_tasks:
            for i, pred in enumerate(conditional_predictions(moments, x, visible, targets, lambdas)):
                for j, sigma in enumerate(sigmas):
                    err = np.where(y_mask, smooth_time(pred, segments, sigma) - y, 0.0)
                    sse[i, j] += (err**2).sum()
    i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)
    return float(lambdas[i]), float(sigmas[j]), sse


def fit_conditional(animals: Sequence[tuple], n_id: int) -> dict:
    """Everything the model's linear read-out needs, from the training animals.

    Parameters
    ----------
    animals : per training animal ``(z, mask, identity, segments, folds)``: traces z-scored
        per recording (T, N), mask, identity (N,) in the model's vocabulary (0 = unknown),
        contiguous segments, and the sets of neurons hidden in turn in its CV tasks.
    n_id : identities of the vocabulary, the unknown one excluded

    Returns
    -------
    dict with ``moments`` (n_id, n_id) pooled over all animals, ``penalty``, ``sigma``
    (chosen by `choose_penalty`; 1 and 0 with fewer than 2 animals) and ``cv_sse``.
    """
    sums, tasks = [], []
    for z, mask, identity, segments, folds in animals:
        x, m = identity_variables(z, mask, identity, n_id)
        sums.append(moment_sums(x, m))
        identity = np.asarray(identity)
        labeled = np.flatnonzero(identity > 0)
        tasks.append([(x, identity[np.setdiff1d(labeled, h)] - 1, identity[h] - 1, z[:, h], mask[:, h], segments)
                      for h in folds if len(h)])
    total = sum(s[0] for s in sums)
    count = sum(s[1] for s in sums)
    if len(animals) < 2:
        return {"moments": pooled_moments(total, count), "penalty": 1.0, "sigma": 0.0, "cv_sse": None}
    penalty, sigma, sse = choose_penalty(sums, tasks)
    return {"moments": pooled_moments(total, count), "penalty": penalty, "sigma": sigma, "cv_sse": sse}


# -- torch: the read-out inside the model ----------------------------------------------------

class LinearReadout(nn.Module):
    """The conditional of hidden neurons given the visible ones (module docstring).

    Nothing here is trained by gradient descent; every value is a buffer saved with the
    model. ``moments`` (V, V): the pooled second moments of the training animals in identity
    space (row and column 0, the unknown identity, are 0); ``penalty`` (lambda); ``sigma``
    (frames); ``mix``: the weight of the conditional in the prediction of a hidden neuron,
    ``(1 - mix) * latent read-out + mix * conditional``. All zero until `set_moments` and
    `set_mix`: the model is then the plain VAE.
    """

    def __init__(self, n_identities: int):
        super().__init__()
        V = n_identities
        self.register_buffer("moments", torch.zeros(V, V))
        self.register_buffer("penalty", torch.ones(()))
        self.register_buffer("sigma", torch.zeros(()))
        self.register_buffer("mix", torch.zeros(()))

    def set_moments(self, moments: np.ndarray, penalty: float, sigma: float) -> None:
        """Install the pooled moments (V-1, V-1) over identities 1..V-1 and the chosen settings."""
        V = self.moments.shape[0]
        full = torch.zeros(V, V, dtype=self.moments.dtype, device=self.moments.device)
        full[1:, 1:] = torch.as_tensor(moments, dtype=self.moments.dtype)
        self.moments.copy_(full)
        self.penalty.fill_(float(penalty))
        self.sigma.fill_(float(sigma))

    def set_mix(self, mix: float) -> None:
        if not 0.0 <= float(mix) <= 1.0:
            raise ValueError(f"mix must be in [0, 1], got {mix!r}")
        self.mix.fill_(float(mix))

    @staticmethod
    def hidden(visible: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """(B, N) True for labeled neurons the encoder does not see in the window."""
        return (identity > 0) & ~visible.any(1)

    @torch.no_grad()
    def forward(
        self,
        x: torch.Tensor,
        visible: torch.Tensor,
        identity: torch.Tensor,
        targets: torch.Tensor | None = None,
        pad: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The conditional (B, T, N) for the window's hidden neurons (0 elsewhere) and (B, T, K)
        for the identities `targets`.

        x : (B, T, N) z-scored traces; visible : (B, T, N) bool, the entries the encoder sees;
        identity : (B, N); targets : (K,); pad : (B, T) True for padded frames.
        """
        B, T, N = x.shape
        dt = torch.float64  # small systems (N x N per window), solved in double precision
        M = self.moments.to(dt)
        known = identity > 0
        vis = visible.any(1) & known  # (B, N): neurons the encoder sees in this window
        Mnn = M[identity[:, :, None], identity[:, None, :]]
        visf = vis.to(dt)
        eye = torch.eye(N, dtype=dt, device=x.device)
        lam = self.penalty.to(dt)
        K = Mnn * visf[:, :, None] * visf[:, None, :] + eye * torch.where(vis, lam, torch.ones_like(lam))[:, None, :]
        xs = (x.to(dt) * visible.to(dt) * visf[:, None, :]).transpose(1, 2)  # (B, N, T)
        u = torch.linalg.solve(K, xs)  # hidden and padded neurons have identity rows: no part
        hidden = self.hidden(visible, identity).to(dt)
        pred = ((Mnn * visf[:, None, :]) @ u * hidden[:, :, None]).transpose(1, 2)
        pred_t = None
        if targets is not None:
            tg = targets.to(identity.device)
            Mt = M[tg[None, :, None], identity[:, None, :]]
            pred_t = self._smooth(((Mt * visf[:, None, :]) @ u).transpose(1, 2), pad).to(x.dtype)
        return self._smooth(pred, pad).to(x.dtype), pred_t

    def _smooth(self, y: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """Gaussian smoothing over the window's real frames (edges renormalized)."""
        sigma = float(self.sigma)
        if sigma <= 0:
            return y
        B, T, C = y.shape
        half = int(np.ceil(4 * sigma))
        k = torch.exp(-0.5 * (torch.arange(-half, half + 1, dtype=y.dtype, device=y.device) / sigma) ** 2)
        w = torch.ones(B, T, 1, dtype=y.dtype, device=y.device) if pad is None else (~pad).to(y.dtype)[..., None]
        both = torch.cat([y * w, w], dim=2).transpose(1, 2).reshape(B * (C + 1), 1, T)
        out = nn.functional.conv1d(both, k.view(1, 1, -1), padding=half).reshape(B, C + 1, T).transpose(1, 2)
        return out[..., :C] / out[..., C:].clamp(min=1e-6)
