"""Scores and the cross-validated ridge regression the evaluation is built on (numpy only).

- `r2_score`: coefficient of determination per column.
- `describe`: mean, median and quartiles of a set of per-neuron scores.
- `ridge_cv` / `ridge_cv_from_stats`: ridge regression whose penalty is chosen by
  leave-one-group-out cross-validation (groups = animals, or contiguous blocks of frames),
  computed from per-group sufficient statistics so that every fold costs one small solve.
- `cross_validated_r2`: the honest score of a linear read-out (latents -> behavior,
  latents -> internal states): leave-one-animal-out outside, penalty chosen inside.

The penalty is given per frame on standardized features: the normal equations are
``(X^T X + lam * n * P) w = X^T y`` with ``n`` the training frames and ``P`` the identity
except for the (unpenalized) intercept, so one grid of ``lam`` suits any amount of data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "LAMBDAS",
    "RidgeFit",
    "block_groups",
    "cross_validated_r2",
    "describe",
    "r2_score",
    "ridge_cv",
    "ridge_cv_from_stats",
]

LAMBDAS = np.logspace(-6, 2, 17)
"""Default grid of ridge penalties per frame (standardized features)."""


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


def describe(values) -> dict[str, float]:
    """Summary of per-neuron scores over their finite entries.

    Returns ``{"mean", "median", "q25", "q75", "n"}`` (NaN statistics when none is finite).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "q25": float("nan"), "q75": float("nan"), "n": 0}
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return {"mean": float(v.mean()), "median": float(med), "q25": float(q25), "q75": float(q75), "n": int(v.size)}


def block_groups(n: int, n_blocks: int = 5) -> np.ndarray:
    """Group label of each of `n` frames: `n_blocks` contiguous blocks of nearly equal size.

    Contiguous blocks (not random frames) keep the autocorrelation of neural and behavioral
    time series from leaking between training and test frames.
    """
    n_blocks = max(1, min(int(n_blocks), n))
    return np.minimum(np.arange(n) * n_blocks // max(n, 1), n_blocks - 1)


class RidgeFit(NamedTuple):
    """A fitted ridge regression ``y = x @ coef + intercept``.

    coef : (F, K); intercept : (K,); lam : (K,) penalty chosen per target column;
    cv_sse : (K,) cross-validated sum of squared errors at that penalty (NaN when no CV was possible).
    """

    coef: np.ndarray
    intercept: np.ndarray
    lam: np.ndarray
    cv_sse: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(T, F) -> (T, K)."""
        return np.asarray(x, dtype=np.float64) @ self.coef + self.intercept


def ridge_cv_from_stats(
    gram: np.ndarray,
    xty: np.ndarray,
    yty: np.ndarray,
    lambdas: Sequence[float] = LAMBDAS,
    *,
    fixed: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge with an intercept from per-group sufficient statistics, penalty by leave-one-group-out CV.

    The last feature must be the constant 1 (the intercept, left unpenalized), so
    ``gram[g, -1, -1]`` is the number of frames of group ``g``.

    Parameters
    ----------
    gram : (G, F1, F1)
        ``X_g^T X_g`` of each group's rows, intercept column last.
    xty : (G, F1, K)
        ``X_g^T Y_g``.
    yty : (G, K)
        ``sum(Y_g ** 2)`` per column.
    lambdas : penalties per frame to try.
    fixed : float, optional
        Use this penalty and skip the cross-validation.

    Returns
    -------
    w : (F1, K) weights fitted on all groups at the chosen penalty (intercept last).
    lam : (K,) chosen penalty of each column.
    cv_sse : (K,) leave-one-group-out squared error at that penalty (NaN with fewer than 2 groups).
    """
    gram = np.asarray(gram, dtype=np.float64)
    xty = np.asarray(xty, dtype=np.float64)
    yty = np.asarray(yty, dtype=np.float64)
    G, F1, _ = gram.shape
    K = xty.shape[2]
    pen = np.ones(F1)
    pen[-1] = 0.0
    g_all, b_all = gram.sum(0), xty.sum(0)
    n_all = g_all[-1, -1]
    lambdas = np.asarray(lambdas if fixed is None else [fixed], dtype=np.float64)
    cv_sse = np.full(K, np.nan)
    if fixed is None and G >= 2:
        g_out = g_all[None] - gram  # (G, F1, F1): every group but g
        b_out = b_all[None] - xty
        n_out = n_all - gram[:, -1, -1]  # (G,)
        # (L, G, F1, F1): one system per penalty and left-out group
        A = g_out[None] + (lambdas[:, None, None, None] * n_out[None, :, None, None]) * np.diag(pen)[None, None]
        A = A + 1e-10 * np.eye(F1) * (1.0 + n_out[None, :, None, None])  # keeps a group-less fold solvable
        w = np.linalg.solve(A, np.broadcast_to(b_out[None], (len(lambdas), G, F1, K)))  # (L, G, F1, K)
        # held-out squared error of group g: y'y - 2 w'X'y + w'X'X w, all from the statistics
        sse = (
            yty[None]
            - 2.0 * np.einsum("lgfk,gfk->lgk", w, xty)
            + np.einsum("lgfk,gfe,lgek->lgk", w, gram, w)
        ).sum(1)  # (L, K)
        best = np.argmin(sse, axis=0)
        lam = lambdas[best]
        cv_sse = sse[best, np.arange(K)]
    elif fixed is None:
        lam = np.full(K, np.median(lambdas))
    else:
        lam = np.full(K, float(fixed))
    w = np.empty((F1, K))
    for value in np.unique(lam):
        cols = lam == value
        A = g_all + value * n_all * np.diag(pen) + 1e-10 * np.eye(F1) * (1.0 + n_all)
        w[:, cols] = np.linalg.solve(A, b_all[:, cols])
    return w, lam, cv_sse


def _standardizer(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(0)
    std = x.std(0)
    return mean, np.where(std > 1e-12, std, 1.0)


def ridge_cv(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    mask: np.ndarray | None = None,
    lambdas: Sequence[float] = LAMBDAS,
) -> RidgeFit:
    """Ridge regression of each column of `y` on `x` (plus an intercept), penalty by
    leave-one-group-out cross-validation over `groups`.

    Features are standardized over the rows (the penalty is then scale-free); the
    returned coefficients are in the original units.

    Parameters
    ----------
    x : (n, F)
    y : (n, K)
    groups : (n,) labels of the CV groups (animals, or `block_groups` of one animal)
    mask : (n, K) bool, optional: rows to use for each column (default all)

    Returns
    -------
    RidgeFit
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    groups = np.asarray(groups)
    mean, std = _standardizer(x)
    xs = np.concatenate([(x - mean) / std, np.ones((len(x), 1))], axis=1)
    labels = np.unique(groups)
    K = y.shape[1]
    masks = [None] if mask is None else [np.asarray(mask, dtype=bool)[:, k] for k in range(K)]
    shared = mask is None or all((m == masks[0]).all() for m in masks)
    col_sets = [np.arange(K)] if shared else [np.array([k]) for k in range(K)]
    F1 = xs.shape[1]
    w = np.zeros((F1, K))
    lam = np.full(K, np.nan)
    cv = np.full(K, np.nan)
    for cols in col_sets:
        rows = np.ones(len(x), dtype=bool) if masks[0] is None else masks[cols[0]]
        yc = np.where(rows[:, None], y[:, cols], 0.0)
        present = [g for g in labels if (rows & (groups == g)).any()]
        if not present:
            continue
        gram = np.stack([xs[rows & (groups == g)].T @ xs[rows & (groups == g)] for g in present])
        xty = np.stack([xs[rows & (groups == g)].T @ yc[rows & (groups == g)] for g in present])
        yty = np.stack([(yc[rows & (groups == g)] ** 2).sum(0) for g in present])
        w[:, cols], lam[cols], cv[cols] = ridge_cv_from_stats(gram, xty, yty, lambdas)
    coef = w[:-1] / std[:, None]
    intercept = w[-1] - mean @ coef
    return RidgeFit(coef=coef, intercept=intercept, lam=lam, cv_sse=cv)


def cross_validated_r2(
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    masks: Sequence[np.ndarray] | None = None,
    lambdas: Sequence[float] = LAMBDAS,
    n_blocks: int = 5,
    center: bool = False,
) -> np.ndarray:
    """Out-of-sample R² of a linear read-out ``y ~ x``, one row per animal.

    With two or more animals: leave one animal out, fit on the others (penalty chosen by
    leave-one-animal-out CV among them, or by contiguous blocks when only one remains),
    predict the left-out animal and score it on its own frames. With one animal: the same
    with `n_blocks` contiguous blocks of its frames in place of animals. No frame of the
    animal being scored is ever used to fit its read-out or to choose its penalty.

    With `center` (and two or more animals), each animal's features and targets first lose
    their own means (targets over their known frames): the read-out then explains every
    animal's time course around its mean, and is not asked for per-animal offsets, which
    activity z-scored per recording cannot reveal. R² per animal is around the animal's
    own mean either way.

    Parameters
    ----------
    xs : per animal (T_a, F) features (e.g. latents)
    ys : per animal (T_a, K) targets (e.g. behavior, internal states)
    masks : per animal (T_a, K) bool, optional: frames where each target is known

    Returns
    -------
    (A, K) R² of each animal (row) and target (column); NaN where a target has no variance.
    """
    xs = [np.asarray(x, dtype=np.float64) for x in xs]
    ys = [np.asarray(y, dtype=np.float64).reshape(len(y), -1) for y in ys]
    if masks is None:
        masks = [np.ones(y.shape, dtype=bool) for y in ys]
    masks = [np.asarray(m, dtype=bool).reshape(y.shape) for m, y in zip(masks, ys)]
    if center and len(xs) > 1:
        xs = [x - x.mean(0) for x in xs]
        ys = [y - np.where(m, y, 0.0).sum(0) / np.maximum(m.sum(0), 1) for y, m in zip(ys, masks)]
    if len(xs) == 1:
        # one animal: its contiguous blocks play the animals' part
        g = block_groups(len(xs[0]), n_blocks)
        pred = np.full(ys[0].shape, np.nan)
        for b in np.unique(g):
            train = g != b
            fit = ridge_cv(xs[0][train], ys[0][train], block_groups(int(train.sum()), n_blocks - 1), masks[0][train], lambdas)
            pred[g == b] = fit.predict(xs[0][g == b])
        return r2_score(pred, ys[0], masks[0])[None, :]
    out = np.full((len(xs), ys[0].shape[1]), np.nan)
    for a in range(len(xs)):
        others = [i for i in range(len(xs)) if i != a]
        x = np.concatenate([xs[i] for i in others])
        y = np.concatenate([ys[i] for i in others])
        m = np.concatenate([masks[i] for i in others])
        if len(others) >= 2:
            groups = np.concatenate([np.full(len(xs[i]), i) for i in others])
        else:
            groups = block_groups(len(x), n_blocks)
        fit = ridge_cv(x, y, groups, m, lambdas)
        out[a] = r2_score(fit.predict(xs[a]), ys[a], masks[a])
    return out
