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

from .data import WindowDataset, collate_windows
from .normalize import BehaviorScaler
from .recording import Recording
from .train import unwrap

__all__ = ["Stitched", "run_recording", "taper"]


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
    stride: int | None = None,
    batch_size: int = 64,
    respect_gaps: bool = True,
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
    """
    core = unwrap(model)
    device = next(core.parameters()).device
    was_training = core.training
    core.eval()
    window_T = min(window_T, rec.n_frames)
    stride = stride or max(1, window_T // 4)
    ds = WindowDataset([rec], window_T, stride, scaler, core.cfg.behavior_history, respect_gaps)
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

    for lo in range(0, len(ds), batch_size):
        idx = range(lo, min(lo + batch_size, len(ds)))
        batch = collate_windows([ds[k] for k in idx]).to(device)
        enc_mask = batch.mask if hide_t is None else batch.mask & ~hide_t[None, None, :]
        feats = core.behavior_features(batch.behavior, batch.behavior_mask, batch.behavior_past, batch.behavior_past_mask)
        B, Tw = batch.x.shape[:2]
        if from_prior:
            mu = core.prior_mean(B, Tw, device)
        else:
            mu, _ = core.encode(batch.x, enc_mask, batch.identity, feats, batch.pad)
        ctx = core.decoder.context_of(mu, feats)
        pred = core.decoder.read_out(ctx, batch.identity).float().cpu().numpy()
        pred_ids = core.decoder.read_out(ctx, ids_t).float().cpu().numpy() if ids_t is not None else None
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
    pred[:, rec.identity == 0] = np.nan  # no read-out for neurons of unknown identity
    return Stitched(
        pred=pred.astype(np.float32),
        pred_identities=(acc_ids / weight).astype(np.float32) if identities is not None else None,
        latent=(acc_lat / weight).astype(np.float32),
        context=(acc_ctx / weight).astype(np.float32) if return_context else None,
    )


def ridge_readout(context: np.ndarray, target: np.ndarray, mask: np.ndarray, alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)) -> np.ndarray:
    """Fit ``target ~ context`` per column by ridge regression, alpha chosen by generalized
    cross-validation, on observed frames only; return the fitted values for every frame.

    Used to reconstruct neurons of unknown identity, which have no read-out of their own:
    the decoder's context is regressed onto the neuron within its own recording.

    context : (T, H); target, mask : (T, M) -> (T, M)
    """
    T, H = context.shape
    X = np.concatenate([context, np.ones((T, 1))], axis=1).astype(np.float64)
    out = np.full(target.shape, np.nan)
    for j in range(target.shape[1]):
        rows = mask[:, j]
        if rows.sum() < 10:
            continue
        U, s, Vt = np.linalg.svd(X[rows], full_matrices=False)
        uy = U.T @ target[rows, j]
        best = None
        for a in alphas:
            d = s**2 / (s**2 + a)
            fitted = U @ (d * uy)
            resid = target[rows, j] - fitted
            gcv = (resid @ resid) / max(rows.sum() - d.sum(), 1.0) ** 2
            if best is None or gcv < best[0]:
                best = (gcv, a)
        a = best[1]
        coef = Vt.T @ ((s / (s**2 + a)) * uy)
        out[:, j] = X @ coef
    return out
