"""Evaluation metrics (the full evaluation is built on these)."""

from __future__ import annotations

import numpy as np

__all__ = ["r2_score"]


def r2_score(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Coefficient of determination per column over the frames where `mask` is True.

    ``R² = 1 - sum((target - pred)^2) / sum((target - mean(target))^2)``, so 0 is the
    column's own mean and negative values are worse than it.

    Parameters
    ----------
    pred, target : (T, N)
    mask : (T, N) bool, optional (default: every finite entry of both)

    Returns
    -------
    (N,) float; NaN for columns with fewer than 2 usable frames or no variance.
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} differ in shape")
    if pred.ndim == 1:
        pred, target = pred[:, None], target[:, None]
        mask = None if mask is None else np.asarray(mask)[:, None]
    use = np.isfinite(pred) & np.isfinite(target)
    if mask is not None:
        use &= np.asarray(mask, dtype=bool)
    n = use.sum(0)
    t = np.where(use, target, 0.0)
    mean = t.sum(0) / np.maximum(n, 1)
    ss_tot = (np.where(use, target - mean, 0.0) ** 2).sum(0)
    ss_res = (np.where(use, target - pred, 0.0) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    r2[(n < 2) | (ss_tot <= 1e-12)] = np.nan
    return r2
