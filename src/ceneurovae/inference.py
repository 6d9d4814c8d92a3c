"""Inference on whole recordings: overlapping windows, run in batches, stitched back together.

A recording of any length is cut into windows of the training length with a stride of a
quarter window (inside each contiguous stretch, as in training); each window's outputs
are weighted by a triangular taper (small at its edges, where a window knows least) and
averaged frame by frame.

`run_recording` is the one engine; the public methods of `ceneurovae.Trained` call it.
All values here are in model units (z-scored traces, scaled behavior).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import WindowDataset, WindowSpec, window_batches
from .model import unwrap
from .model.loss import kl_divergence, reconstruction_loss
from .normalize import BehaviorScaler
from .recording import Recording

__all__ = ["Stitched", "recording_spread", "run_recording", "spread_table", "taper"]


@dataclass
class Stitched:
    """Per-frame outputs of a whole recording (model units).

    pred : (T, N) decoder mean for the recording's own neurons (NaN for identity 0).
    pred_identities : (T, K) or None, decoder mean for requested identities.
    latent : (T, Z) posterior mean (or the prior mean when decoding from behavior alone).
    context : (T, H) or None, the decoder's context (for read-outs fitted afterwards).
    """

    pred: np.ndarray
    pred_identities: np.ndarray | None
    latent: np.ndarray
    context: np.ndarray | None


def taper(n: int) -> np.ndarray:
    """Triangular weights for a window of n real frames: ``min(t + 1, n - t)``."""
    t = np.arange(n)
    return np.minimum(t + 1, n - t).astype(np.float64)


@torch.no_grad()
def run_recording(
    model: torch.nn.Module,
    rec: Recording,
    scaler: BehaviorScaler,
    *,
    window_T: int,
    hide: np.ndarray | None = None,
    from_prior: bool = False,
    identities: np.ndarray | None = None,
    return_context: bool = False,
    center: bool = True,
    stride: int | None = None,
    batch_size: int = 64,
    respect_gaps: bool = True,
    refine_steps: int = 0,
    refine_lr: float = 0.05,
    refine_prior: float = 1.0,
    raw: bool = False,
    mix: float | None = None,
) -> Stitched:
    """Run the model over a whole recording and stitch the windows.

    Parameters
    ----------
    model : NeuroBehaviorVAE
    rec : Recording
        Its ``identity`` must already index the model's vocabulary.
    scaler : BehaviorScaler
        The training scaler (selects and scales the behaviors).
    window_T : int
        Window length used in training.
    hide : (k,) int, optional
        Neuron indices withheld from the encoder (imputation).
    from_prior : bool
        Decode from the prior mean latent: activity predicted from behavior alone.
    identities : (K,) int, optional
        Vocabulary identities to predict in addition to the recording's neurons.
    return_context : bool
        Also return the decoder's context per frame.
    center : bool
        Center each predicted trace over the recording (over the frames where the neuron
        is observed, for the recording's own neurons). Traces are z-scored per recording,
        so their mean is zero by construction; a prediction made from this animal's
        behavior would otherwise carry that animal's behavioral mean as an offset.
    refine_steps, refine_lr, refine_prior : int, float, float
        Adam steps (and their step size) on each window's posterior mean before decoding, and
        the weight of the prior in their objective (`refine_posterior`); 0 steps keeps the
        encoder's output.
    raw : bool
        For a model with a recording gain (`VAEConfig.recording_gain`), the read-out before
        it. Otherwise the gain uses this recording's spread (`recording_spread`, a first pass
        over the recording with the same visible neurons), or, from the prior or for a
        recording without labeled neurons (`Trained.generate`), each identity's typical spread.
    mix : float, optional
        For a model with a linear read-out (`VAEConfig.linear_readout`): the weight of the
        conditional on the visible neurons in the prediction of hidden neurons, instead of
        the model's own (``model.linear.mix``); 0 gives the latent read-out alone, 1 the
        conditional alone.
    """
    core = unwrap(model)
    device = next(core.parameters()).device
    was_training = core.training
    spread = spread_ids = None
    mix_t = None
    if core.linear is not None:
        mix_t = core.linear.mix if mix is None else torch.tensor(float(mix))
    linear = mix_t is not None and float(mix_t) > 0
    # The spread comes from the recording's neural data, so a prediction from behavior alone
    # (`from_prior`) keeps each identity's typical spread: nothing of the traces reaches it.
    if (core.has_recording_gain and not raw and not from_prior
            and ((rec.identity > 0) & rec.mask.any(0)).any()):
        spread, spread_ids = recording_spread(model, rec, scaler, window_T=window_T, hide=hide, identities=identities,
                                              respect_gaps=respect_gaps, batch_size=batch_size)
    core.eval()
    window_T = min(window_T, rec.n_frames)
    stride = stride or max(1, window_T // 4)
    ds = WindowSpec(window_T, stride, scaler, core.cfg.behavior_history, respect_gaps).dataset([rec])
    T, N = rec.n_frames, rec.n_neurons
    Z, H = core.cfg.latent_dim, core.cfg.hidden_dim
    K = 0 if identities is None else len(identities)
    acc_pred = np.zeros((T, N))
    acc_ids = np.zeros((T, K))
    acc_lat = np.zeros((T, Z))
    acc_ctx = np.zeros((T, H)) if return_context else None
    weight = np.zeros(T)
    ids_t = None if identities is None else torch.as_tensor(np.asarray(identities), dtype=torch.int64, device=device)
    hide_t = None
    if hide is not None and len(hide):
        hide_t = torch.zeros(N, dtype=torch.bool, device=device)
        hide_t[torch.as_tensor(np.asarray(hide), dtype=torch.int64)] = True

    for idx, batch in window_batches(ds, batch_size, device):
        enc_mask = batch.mask if hide_t is None else batch.mask & ~hide_t[None, None, :]
        feats = core.behavior_features(batch.behavior, batch.behavior_mask, batch.behavior_past, batch.behavior_past_mask)
        B, Tw = batch.x.shape[:2]
        if from_prior:
            mu = core.prior_mean(B, Tw, device)
        else:
            mu, logvar = core.encode(batch.x, enc_mask, batch.identity, feats, batch.pad)
            if refine_steps > 0:
                mu = refine_posterior(core, batch, enc_mask, feats, mu, logvar, refine_steps, refine_lr, spread,
                                      prior_weight=refine_prior)
        ctx = core.context(mu, feats)
        pred = core.read_out(ctx, batch.identity, spread, raw=raw)
        pred_ids = core.read_out(ctx, ids_t, spread_ids, raw=raw) if ids_t is not None else None
        if linear and not from_prior and not raw:
            # hidden neurons (and requested identities the window does not show): blended with
            # the conditional on the visible neurons
            w = mix_t.to(device=pred.device, dtype=pred.dtype)
            lin, lin_ids = core.linear(batch.x, enc_mask, batch.identity, ids_t, pad=batch.pad)
            hidden = core.linear.hidden(enc_mask, batch.identity)[:, None, :]
            pred = torch.where(hidden, (1 - w) * pred + w * lin, pred)
            if pred_ids is not None:
                shown = ((batch.identity[:, :, None] == ids_t[None, None, :])
                         & enc_mask.any(1)[:, :, None]).any(1)[:, None, :]  # (B, 1, K)
                pred_ids = torch.where(shown, pred_ids, (1 - w) * pred_ids + w * lin_ids)
        pred = pred.float().cpu().numpy()
        pred_ids = pred_ids.float().cpu().numpy() if pred_ids is not None else None
        lat = (mu[:, None, :].expand(B, Tw, Z) if mu.dim() == 2 else mu).float().cpu().numpy()
        ctx_np = ctx.float().cpu().numpy() if return_context else None
        for j, k in enumerate(idx):
            _, start, stop, _ = ds.windows[k]
            n = stop - start
            w = taper(n)
            weight[start:stop] += w
            acc_pred[start:stop] += w[:, None] * pred[j, :n]
            acc_lat[start:stop] += w[:, None] * lat[j, :n]
            if pred_ids is not None:
                acc_ids[start:stop] += w[:, None] * pred_ids[j, :n]
            if ctx_np is not None:
                acc_ctx[start:stop] += w[:, None] * ctx_np[j, :n]
    core.train(was_training)
    weight = weight[:, None]
    pred = acc_pred / weight
    pred_ids = acc_ids / weight if identities is not None else None
    if center:
        m = rec.mask.any(0)
        frames = np.where(rec.mask[:, m], 1.0, 0.0)
        pred[:, m] -= (pred[:, m] * frames).sum(0) / frames.sum(0)
        if pred_ids is not None:
            pred_ids -= pred_ids.mean(0)
    pred[:, rec.identity == 0] = np.nan  # no read-out for neurons of unknown identity
    return Stitched(
        pred=pred.astype(np.float32),
        pred_identities=pred_ids.astype(np.float32) if pred_ids is not None else None,
        latent=(acc_lat / weight).astype(np.float32),
        context=(acc_ctx / weight).astype(np.float32) if return_context else None,
    )


def recording_spread(
    model: torch.nn.Module,
    rec: Recording,
    scaler: BehaviorScaler,
    *,
    window_T: int,
    hide: np.ndarray | None = None,
    identities: np.ndarray | None = None,
    respect_gaps: bool = True,
    batch_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Variance over the recording of the decoder's raw read-out (before the recording gain),
    from the posterior mean with the neurons `hide` withheld: (N,) for the recording's neurons
    (over the frames each is observed; 0 for unknown identities) and (K,) for `identities`.
    Windows do not overlap (the variance needs no stitching; this pass runs once per training
    recording and epoch, and before every inference)."""
    device = next(unwrap(model).parameters()).device
    out = run_recording(model, rec, scaler, window_T=window_T, hide=hide, identities=identities, center=False,
                        stride=min(window_T, rec.n_frames), batch_size=batch_size,
                        respect_gaps=respect_gaps, raw=True)
    spread = np.zeros(rec.n_neurons)
    for j in np.flatnonzero((rec.identity > 0) & rec.mask.any(0)):
        spread[j] = out.pred[rec.mask[:, j], j].astype(np.float64).var()
    ids = None if out.pred_identities is None else torch.as_tensor(out.pred_identities.var(0), dtype=torch.float32, device=device)
    return torch.as_tensor(spread, dtype=torch.float32, device=device), ids


def spread_table(model: torch.nn.Module, dataset: WindowDataset) -> torch.Tensor:
    """`recording_spread` of every recording of a training dataset, all neurons visible, as a
    (recordings, identities) table (0 where a recording lacks the identity)."""
    core = unwrap(model)
    device = next(core.parameters()).device
    table = torch.zeros(len(dataset.recordings), core.cfg.n_identities, device=device)
    for i, rec in enumerate(dataset.recordings):
        spread, _ = recording_spread(model, rec, dataset.scaler, window_T=dataset.window_T,
                                     respect_gaps=dataset.respect_gaps)
        known = torch.as_tensor(rec.identity > 0, device=device)
        table[i, torch.as_tensor(rec.identity, device=device)[known]] = spread[known]
    return table


def refine_posterior(core, batch, enc_mask, feats, mu, logvar, steps: int, lr: float,
                     spread: torch.Tensor | None = None, prior_weight: float = 1.0) -> torch.Tensor:
    """Improve the encoder's posterior mean for this window by gradient steps on its ELBO.

    The encoder is amortized: one network for every subset of neurons. Here the posterior
    mean alone is moved (its variance kept) to lower the reconstruction loss of the entries
    the encoder saw plus `prior_weight` times the KL to the prior, with the decoder fixed
    (1: the ELBO; more keeps the latent closer to the prior, as a likelihood tempered by that
    factor would).
    """
    obs = enc_mask & (batch.identity > 0)[:, None, :]
    log_sigma = core.noise_log_sigma(batch.identity)
    frame_mask = ~batch.pad
    lv = logvar.detach()
    prior_ar = core.prior_ar()
    m = mu.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([m], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            pred = core.decoder(m, feats, batch.identity, spread)
            loss = (reconstruction_loss(pred, batch.x, obs, core.cfg.recon_loss, log_sigma, core.cfg.huber_delta)
                    + prior_weight * kl_divergence(m, lv, frame_mask, prior_ar)).sum()
            (grad,) = torch.autograd.grad(loss, [m])
            m.grad = grad
            opt.step()
    return m.detach()


def ridge_readout(
    context: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    alphas: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 1e4, 1e5),
    min_frames: int = 10,
) -> np.ndarray:
    """Ridge regression of each target column on the context (plus an intercept), with its
    own alpha chosen by generalized cross-validation, on observed frames only; returns the
    fitted values for every frame (NaN for columns with fewer than `min_frames` observed).

    With ``target`` the data, this reads out neurons that have no read-out of their own
    (unknown identity); with ``target`` the residual of the shared read-out, it estimates
    this animal's deviation from the identity's shared read-out, shrunk toward none.

    context : (T, H); target, mask : (T, M) -> (T, M)
    """
    T = context.shape[0]
    X = np.concatenate([context, np.ones((T, 1))], axis=1).astype(np.float64)
    target = np.asarray(target, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    out = np.full(target.shape, np.nan)
    alphas = np.asarray(alphas, dtype=np.float64)
    full = mask.all(0)
    groups = [np.flatnonzero(full)] + [np.array([j]) for j in np.flatnonzero(~full)]
    for cols in groups:
        if cols.size == 0:
            continue
        rows = mask[:, cols[0]]
        n = int(rows.sum())
        if n < min_frames:
            continue
        U, s, Vt = np.linalg.svd(X[rows], full_matrices=False)
        y = target[rows][:, cols]  # (n, m)
        uy = U.T @ y  # (r, m)
        shrink = s[None, :] ** 2 / (s[None, :] ** 2 + alphas[:, None])  # (A, r)
        # residual sum of squares for each alpha and column, without forming fitted values
        yy = (y * y).sum(0)  # (m,)
        rss = yy[None, :] - ((2 * shrink - shrink**2)[:, :, None] * uy[None] ** 2).sum(1)  # (A, m)
        dof = shrink.sum(1)  # (A,)
        gcv = rss / np.maximum(n - dof, 1.0)[:, None] ** 2
        best = np.argmin(gcv, axis=0)  # (m,)
        for a in np.unique(best):
            pick = best == a
            # ridge weights: V diag(s / (s^2 + alpha)) U^T y
            w = Vt.T @ ((s / (s**2 + alphas[a]))[:, None] * uy[:, pick])  # (H+1, m')
            out[:, cols[pick]] = X @ w
    return out
