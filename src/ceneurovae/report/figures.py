"""The report's figures: each function takes arrays and returns a matplotlib `Figure`.

No function loads data or runs the model (`ceneurovae.report.analysis` computes the
arrays). Figures are built on matplotlib's object interface with an Agg canvas, never
through pyplot: pyplot keeps every figure alive in global state and switching its backend
would change the user's notebook. Colors are the same in every figure: data in grey,
reconstruction blue, imputation orange, behavior-only green.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..evaluation.metrics import r2_score
from ..recording import split_segments
from .analysis import behavior_label

__all__ = [
    "require_matplotlib",
    "save_figure",
    "plot_training",
    "plot_kl_per_dimension",
    "plot_reconstruction",
    "plot_r2_by_class",
    "plot_latent_trajectories",
    "plot_latent_traversal",
    "plot_event_triggered",
    "plot_generated",
]

COLORS = {
    "data": "0.45",
    "reconstruction": "#1f77b4",
    "imputed (hidden)": "#ff7f0e",
    "behavior only": "#2ca02c",
    "train": "#1f77b4",
    "validation": "#d62728",
}
_SHADE = {"reversal": "#d62728", "feeding bout": "#2ca02c"}

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}


def require_matplotlib():
    """The matplotlib module, or a `ConfigError` saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError(
            "the report needs matplotlib, which is not installed: pip install ceneurovae[report]"
        ) from None
    return matplotlib


def _figure_function(fn):
    """Run a plotting function inside the report's style, leaving the user's rcParams alone."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        mpl = require_matplotlib()
        with mpl.rc_context(_STYLE):
            return fn(*args, **kwargs)

    return wrapper


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi: int = 150) -> None:
    """Write `fig` as a PNG."""
    fig.savefig(path, dpi=dpi, facecolor="white")


def _shade(ax, intervals: Mapping[str, Sequence[tuple[float, float]]] | None, label: bool = False) -> None:
    """Shade named time intervals (reversals, feeding bouts) behind the lines."""
    for name, spans in (intervals or {}).items():
        for i, (lo, hi) in enumerate(spans):
            ax.axvspan(lo, hi, color=_SHADE.get(name, "0.5"), alpha=0.12, lw=0,
                       label=name if label and i == 0 else None)


def _break_gaps(time: np.ndarray, *series: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert a NaN row at each gap between contiguous stretches (`split_segments`), so that
    lines are not drawn across the pause between the two halves of a recording."""
    time = np.asarray(time, dtype=np.float64)
    cut = np.array([start for start, _ in split_segments(time)[1:]], dtype=np.int64)
    if cut.size == 0:
        return (time, *series)
    out = [np.insert(time, cut, time[cut - 1] + np.median(np.diff(time)))]
    for x in series:
        x = np.asarray(x, dtype=np.float64)
        out.append(np.insert(x, cut, np.nan, axis=0))
    return tuple(out)


_MIN_SPAN = {"velocity": 0.1, "head_curvature": 0.5, "pumping": 1.0}
"""Smallest y range of a behavior panel, in its units, so a constant behavior is drawn as a
flat line rather than magnified rounding noise."""


# -- 1. training -------------------------------------------------------------------------------


def _columns(history: Sequence[Any]) -> dict[str, np.ndarray]:
    rows = [h._asdict() if hasattr(h, "_asdict") else dict(h) for h in history]
    if not rows:
        raise ConfigError("the training history is empty: nothing to plot")
    return {k: np.asarray([float(r[k]) for r in rows]) for k in rows[0]}


@_figure_function
def plot_training(history: Sequence[Any], best_epoch: int | None = None):
    """Loss, validation error, KL, learning rate, KL weight and time per epoch.

    Parameters
    ----------
    history : sequence of `EpochRecord` (or mappings with its fields)
    best_epoch : 0-based epoch whose weights were kept, marked on every panel
    """
    h = _columns(history)
    epoch = h["epoch"] + 1
    fig = _new_figure(12, 6)
    axes = fig.subplots(2, 3, sharex=True)
    panels = [
        (axes[0, 0], "Loss (objective minimized)", "loss (nats per observed value)", [("train", "train"), ("val", "validation")], False),
        (axes[0, 1], "Reconstruction error, held-out animals", "mean squared error (z-score²)", [("val_mse", "validation")], False),
        (axes[0, 2], "KL divergence to the prior", "KL (nats per window)", [("train_kl", "train"), ("val_kl", "validation")], False),
        (axes[1, 0], "Learning rate", "learning rate", [("lr", None)], True),
        (axes[1, 1], "KL weight β", "β", [("beta", None)], False),
        (axes[1, 2], "Time per epoch", "seconds", [("seconds", None)], False),
    ]
    for ax, title, ylabel, series, log in panels:
        for key, label in series:
            ax.plot(epoch, h[key], marker="o", ms=3, lw=1.5, color=COLORS.get(label or "", "0.2"), label=label)
        if log:
            ax.set_yscale("log")
        if best_epoch is not None:
            ax.axvline(best_epoch + 1, color="0.4", ls=":", lw=1, label="best epoch" if ax is axes[0, 0] else None)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if any(label for _, label in series):
            ax.legend(loc="best")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[1, 1].set_ylim(-0.05 * max(h["beta"].max(), 1e-3), 1.1 * max(h["beta"].max(), 1e-3))
    from matplotlib.ticker import MaxNLocator

    axes[1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


# -- 2. KL per dimension -----------------------------------------------------------------------


@_figure_function
def plot_kl_per_dimension(kl: np.ndarray, threshold: float = 0.01, unit: str = "nats per frame",
                          active: np.ndarray | None = None, rule: str = ""):
    """Bars of the held-out KL of each latent dimension, largest first, colored by activity.

    Parameters
    ----------
    kl : (Z,) mean KL per dimension
    threshold : without `active`, a dimension is *active* when its KL exceeds this (drawn
        as a dashed line)
    unit : what the KL is per (for the axis label)
    active : (Z,) bool, which dimensions are active by another rule (the report passes the
        rule of ``ceneurovae evaluate``: posterior-mean variance over frames), so that the
        figure and the evaluation count the same dimensions
    rule : the words of that rule, for the title (e.g. ``"posterior-mean variance > 0.01"``)
    """
    from matplotlib.patches import Patch

    kl = np.asarray(kl, dtype=np.float64).reshape(-1)
    order = np.argsort(-kl, kind="stable")
    by_kl = active is None
    is_active = (kl > threshold) if by_kl else np.asarray(active, dtype=bool).reshape(-1)
    if is_active.shape != kl.shape:
        raise ConfigError(f"active has {is_active.size} entries, kl {kl.size}")
    shown = is_active[order]
    floor = max(threshold / 100, 1e-6) if by_kl else max(float(kl[kl > 0].min()) / 10 if (kl > 0).any() else 1e-6, 1e-6)
    fig = _new_figure(max(5.0, 0.32 * kl.size + 2), 3.6)
    ax = fig.subplots()
    x = np.arange(kl.size)
    colors = {True: COLORS["reconstruction"], False: "0.7"}
    ax.bar(x, np.maximum(kl[order], floor), color=[colors[bool(a)] for a in shown])
    handles = [Patch(color=colors[True], label="active")] if shown.any() else []
    if not shown.all():
        handles.append(Patch(color=colors[False], label="inactive (collapsed)"))
    if by_kl:
        handles.append(ax.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:g}"))
        rule = rule or f"KL > {threshold:g}"
    ax.set_yscale("log")
    ax.set_ylim(floor, max(kl.max(), threshold if by_kl else floor) * 3)
    ax.set_xticks(x, [f"z{d}" for d in order], rotation=90 if kl.size > 24 else 0)
    ax.set_xlabel("latent dimension (sorted by KL)")
    ax.set_ylabel(f"KL ({unit})")
    ax.set_title(f"KL per latent dimension, analysed animals: {int(shown.sum())} of {kl.size} active"
                 + (f"\n(active: {rule})" if rule else ""))
    ax.legend(handles=handles, loc="upper right")
    return fig


# -- 3. reconstruction -------------------------------------------------------------------------


def _behavior_panels(axes, time, behavior, behavior_names, intervals, behavior_mask=None) -> None:
    """One panel per behavior column; frames where `behavior_mask` is False are not drawn."""
    behavior = np.asarray(behavior, dtype=np.float64)
    if behavior_mask is not None:
        behavior = np.where(np.asarray(behavior_mask, dtype=bool), behavior, np.nan)
    t, b = _break_gaps(time, behavior)
    for j, ax in enumerate(axes):
        ax.plot(t, b[:, j], color="k", lw=0.8)
        _shade(ax, intervals)
        if not np.isfinite(b[:, j]).any():
            ax.text(0.5, 0.5, "not observed", transform=ax.transAxes, ha="center", va="center", color="0.4")
            ax.set_ylabel(behavior_label(behavior_names[j]).replace(" (", "\n("), rotation=0, ha="right", va="center")
            continue
        lo, hi = np.nanmin(b[:, j]), np.nanmax(b[:, j])
        need = _MIN_SPAN.get(behavior_names[j], 1.0)
        if hi - lo < need:
            mid = (hi + lo) / 2
            ax.set_ylim(mid - need / 2, mid + need / 2)
        if behavior_names[j] == "velocity":
            ax.axhline(0, color="0.6", lw=0.6)
        ax.set_ylabel(behavior_label(behavior_names[j]).replace(" (", "\n("), rotation=0, ha="right", va="center")


@_figure_function
def plot_reconstruction(
    time: np.ndarray,
    data: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    names: Sequence[str],
    behavior: np.ndarray,
    behavior_names: Sequence[str],
    intervals: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    title: str = "",
    behavior_mask: np.ndarray | None = None,
    time_label: str = "time (s)",
):
    """Traces of chosen neurons with the model's predictions, behavior underneath.

    Parameters
    ----------
    time : (T,) seconds (the report gives seconds from the start of the recording)
    data : (T, K) observed traces (z-scored; NaN where unobserved)
    predictions : label -> (T, K), e.g. ``{"reconstruction": ..., "imputed (hidden)": ...}``
    names : (K,) neuron names
    behavior : (T, D) physical units; behavior_names : (D,)
    intervals : named spans in seconds to shade, e.g. ``{"reversal": [(12.0, 20.5)]}``
    behavior_mask : (T, D) False where a behavior is unknown (not drawn)
    time_label : label of the time axis
    """
    data = np.asarray(data)
    K, D = data.shape[1], behavior.shape[1]
    fig = _new_figure(12, 1.35 * K + 0.8 * D + 0.9)
    axes = fig.subplots(K + D, 1, sharex=True, gridspec_kw={"height_ratios": [1.6] * K + [1.0] * D})
    axes = np.atleast_1d(axes)
    t, d, *preds = _break_gaps(time, data, *predictions.values())
    for k, ax in enumerate(axes[:K]):
        _shade(ax, intervals, label=k == 0)
        ax.plot(t, d[:, k], color=COLORS["data"], lw=0.7, label="data")
        scores = []
        for (label, pred), p in zip(predictions.items(), preds, strict=True):
            ax.plot(t, p[:, k], color=COLORS.get(label), lw=1.1, alpha=0.9, label=label)
            r2 = r2_score(pred[:, k], data[:, k])[0]
            scores.append(f"{label} {r2:.2f}")
        ax.set_ylabel(f"{names[k]}\n(z-score)", rotation=0, ha="right", va="center")
        ax.set_title("R²: " + ",  ".join(scores), loc="right", fontsize=8, color="0.3")
    _behavior_panels(axes[K:], time, behavior, behavior_names, intervals, behavior_mask)
    axes[-1].set_xlabel(time_label)
    axes[-1].set_xlim(time[0], time[-1])
    axes[-1].ticklabel_format(axis="x", useOffset=False, style="plain")
    handles, labels = axes[0].get_legend_handles_labels()
    # A legend titled by the figure's title: a suptitle and an outside legend would overlap.
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), title=title or None,
               title_fontsize=10)
    return fig


# -- 4. R² by class ----------------------------------------------------------------------------


@_figure_function
def plot_r2_by_class(
    identities: Sequence[str],
    classes: Sequence[str],
    scores: Mapping[str, np.ndarray],
    clip: float = -0.5,
    per_row: int = 40,
    title: str = "",
    sort_by: str | None = None,
):
    """R² of each identity, grouped by neuron class, for several kinds of prediction.

    Parameters
    ----------
    identities, classes : (M,) one entry per identity (already averaged over animals)
    scores : label -> (M,) R² of that kind of prediction
    clip : lowest R² drawn; lower values sit on this line as downward triangles
    per_row : classes per row of panels (wide cohorts wrap onto more rows)
    sort_by : label in `scores` whose class means order the classes (default: the first)
    """
    identities = np.asarray(identities, dtype=object)
    classes = np.asarray(classes, dtype=object)
    sort_by = sort_by or next(iter(scores))
    first = np.asarray(scores[sort_by], dtype=np.float64)
    cls_names = list(dict.fromkeys(classes.tolist()))
    means = {c: np.nanmean(first[classes == c]) if np.isfinite(first[classes == c]).any() else -np.inf for c in cls_names}
    cls_names.sort(key=lambda c: -means[c])
    finite = np.concatenate([np.asarray(v, dtype=np.float64) for v in scores.values()])
    finite = finite[np.isfinite(finite)]
    # Down to the lowest score (0 at least), but never below `clip`: one very bad identity
    # must not squash the others into a thin band.
    bottom = max(clip, min(float(finite.min()) if finite.size else 0.0, 0.0)) - 0.05
    n_rows = max(1, int(np.ceil(len(cls_names) / per_row)))
    size = max(1, int(np.ceil(len(cls_names) / n_rows)))  # rows of equal length, same spacing
    fig = _new_figure(min(16, 2.5 + 0.3 * size), 3.2 * n_rows + 0.6)
    axes = np.atleast_1d(fig.subplots(n_rows, 1, sharey=True))
    width = 0.8 / max(len(scores), 1)
    for r, ax in enumerate(axes):
        chunk = cls_names[r * size:(r + 1) * size]
        for j, (label, values) in enumerate(scores.items()):
            values = np.asarray(values, dtype=np.float64)
            offset = (j - (len(scores) - 1) / 2) * width
            for x, c in enumerate(chunk):
                v = values[classes == c]
                v = v[np.isfinite(v)]
                low = v < clip
                ax.scatter(np.full((~low).sum(), x + offset), v[~low], s=14, color=COLORS.get(label),
                           label=label if x == 0 and r == 0 else None, zorder=3)
                if low.any():
                    ax.scatter(np.full(low.sum(), x + offset), np.full(low.sum(), clip), marker="v", s=18,
                               color=COLORS.get(label), zorder=3)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xticks(np.arange(len(chunk)), chunk, rotation=90)
        ax.set_xlim(-0.6, size - 0.4)
        ax.set_ylim(bottom, 1.0)
        ax.grid(axis="y", color="0.9", lw=0.6)
        ax.set_ylabel("R²")
    axes[-1].set_xlabel(f"neuron class (sorted by mean R², {sort_by}; ▼: below {clip:g})")
    fig.legend(loc="outside upper center", ncol=len(scores), title_fontsize=10,
               title=title or f"R² per identity by neuron class ({len(identities)} identities)")
    return fig


# -- 5. latent trajectories --------------------------------------------------------------------


@_figure_function
def plot_latent_trajectories(
    projections: Sequence[np.ndarray],
    colors: Sequence[np.ndarray],
    titles: Sequence[str],
    explained: np.ndarray,
    color_label: str = "velocity (mm/s)",
):
    """Latent trajectories on their first two principal components, colored by a behavior.

    Parameters
    ----------
    projections : per animal (T, 2)
    colors : per animal (T,) the behavior to color by (velocity: diverging around 0)
    titles : per animal panel title
    explained : (2,) fraction of latent variance on each component
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize, TwoSlopeNorm

    n = len(projections)
    fig = _new_figure(max(3.4 * n + 1.2, 6.5), 4.1 if n < 3 else 3.8)
    axes = np.atleast_1d(fig.subplots(1, n, sharex=True, sharey=True))
    allc = np.concatenate([np.asarray(c, dtype=np.float64) for c in colors])
    lo, hi = np.nanpercentile(allc, [1, 99])
    if lo < 0 < hi:  # velocity-like: forward and backward on either side of white
        norm = TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi)
        cmap = "RdYlBu"  # yellow, not white, at zero: slow frames stay visible on white
    else:
        norm, cmap = Normalize(lo, hi), "viridis"
    for ax, p, c, title in zip(axes, projections, colors, titles, strict=True):
        p = np.asarray(p)
        seg = np.stack([p[:-1], p[1:]], 1)
        lc = LineCollection(seg, cmap=cmap, norm=norm, lw=1.0, alpha=0.85)
        lc.set_array(np.asarray(c)[1:])
        ax.add_collection(lc)
        ax.set_title(title)
        ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f}% of variance)")
    allp = np.concatenate([np.asarray(p) for p in projections])
    pad = 0.05 * (allp.max(0) - allp.min(0) + 1e-9)
    axes[0].set_xlim(allp[:, 0].min() - pad[0], allp[:, 0].max() + pad[0])
    axes[0].set_ylim(allp[:, 1].min() - pad[1], allp[:, 1].max() + pad[1])
    axes[0].set_ylabel(f"PC2 ({100 * explained[1]:.0f}% of variance)")
    fig.colorbar(lc, ax=axes.tolist(), label=color_label, shrink=0.85)
    fig.suptitle("Latent trajectories (posterior means)" + (" " if n >= 3 else "\n")
                 + "on the first two principal components")
    return fig


# -- 6. latent traversals ----------------------------------------------------------------------


@_figure_function
def plot_latent_traversal(sweep: np.ndarray, change: np.ndarray, names: Sequence[str], dims: Sequence[int],
                          kl: Sequence[float] | None = None):
    """Heatmaps of the decoded change of each identity while one latent dimension is swept.

    Parameters
    ----------
    sweep : (S,) values of the swept dimension (prior standard deviations)
    change : (len(dims), K, S) decoded activity minus that at the prior mean (z-score)
    names : (K,) identity names; dims : swept dimensions; kl : their KL, for the titles
    """
    change = np.asarray(change)
    n, K, S = change.shape
    vmax = max(float(np.nanmax(np.abs(change))), 1e-6)
    fig = _new_figure(2.3 * n + 2.2, 0.17 * K + 1.6)
    axes = np.atleast_1d(fig.subplots(1, n, sharey=True))
    for i, ax in enumerate(axes):
        im = ax.imshow(change[i], aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ticks = np.arange(S)[:: max(1, (S - 1) // 4)]
        ax.set_xticks(ticks, [f"{sweep[t]:+g}" if sweep[t] else "0" for t in ticks])
        ax.set_xlabel(f"z{dims[i]} (prior SD)")
        ax.set_title(f"z{dims[i]}" + (f"  (KL {kl[i]:.2g})" if kl is not None else ""))
    axes[0].set_yticks(np.arange(K), list(names), fontsize=7 if K > 20 else 8)
    axes[0].set_ylabel("identity")
    fig.colorbar(im, ax=axes.tolist(), label="change in decoded activity (z-score)", shrink=0.9)
    fig.suptitle("Latent traversals: one dimension swept, the others at the prior mean, behavior held constant")
    return fig


# -- 7. event-triggered averages ---------------------------------------------------------------


@_figure_function
def plot_event_triggered(
    lags: np.ndarray,
    panels: Mapping[str, Mapping[str, np.ndarray]],
    ylabels: Mapping[str, str] | None = None,
    event: str = "reversal onset",
    ncols: int = 3,
    title: str = "",
):
    """Mean ± s.e.m. of data and predictions around events, one panel per neuron class.

    Parameters
    ----------
    lags : (L,) seconds from the event
    panels : panel title -> {label -> (n_events, L) segments}; labels ``"data"`` and the
        prediction kinds get the report's colors
    ylabels : panel title -> y axis label (default ``"z-score"``)
    """
    titles = list(panels)
    ncols = min(ncols, len(titles))
    nrows = int(np.ceil(len(titles) / ncols))
    fig = _new_figure(3.9 * ncols, 2.7 * nrows + 0.6)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    seen: dict[str, Any] = {}
    for ax, name in zip(axes, titles, strict=False):
        counts = []
        for label, seg in panels[name].items():
            seg = np.asarray(seg, dtype=np.float64)
            if seg.shape[0] == 0:
                continue
            m = np.nanmean(seg, 0)
            n = np.isfinite(seg).sum(0)
            sem = np.nanstd(seg, 0) / np.sqrt(np.maximum(n, 1))
            color = COLORS.get(label, "k")
            (line,) = ax.plot(lags, m, color=color, lw=1.8 if label == "data" else 1.4, label=label)
            ax.fill_between(lags, m - sem, m + sem, color=color, alpha=0.2, lw=0)
            seen.setdefault(label, line)
            counts.append(seg.shape[0])
        ax.axvline(0, color="k", ls=":", lw=0.8)
        ax.set_title(f"{name}  (n = {max(counts) if counts else 0})")
        ax.set_ylabel((ylabels or {}).get(name, "z-score"))
    for ax in axes[len(titles):]:
        ax.set_visible(False)
    for ax in axes[max(0, len(titles) - ncols):len(titles)]:
        ax.set_xlabel(f"time from {event} (s)")
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.legend(list(seen.values()), list(seen), loc="outside upper center", ncol=len(seen),
               title=title or None, title_fontsize=10)
    return fig


# -- 8. generated activity ---------------------------------------------------------------------


@_figure_function
def plot_generated(
    time: np.ndarray,
    activity: np.ndarray,
    names: Sequence[str],
    behavior: np.ndarray,
    behavior_names: Sequence[str],
    intervals: Mapping[str, tuple[float, float]] | None = None,
    notes: Sequence[str] | None = None,
    title: str = "Activity generated from behavior alone (latent at the prior mean)",
):
    """Activity generated for a synthetic behavior trajectory, behavior underneath.

    Parameters
    ----------
    time : (T,) seconds
    activity : (T, K) generated activity (z-score); names : (K,)
    behavior : (T, D) physical units; behavior_names : (D,)
    intervals : name -> (start, stop) seconds, shaded and named on the top panel
    notes : (K,) optional text shown beside each name (why it was chosen)
    title : the figure's title
    """
    activity = np.asarray(activity)
    K, D = activity.shape[1], behavior.shape[1]
    spans = {k: [v] for k, v in (intervals or {}).items()}
    fig = _new_figure(11, 0.95 * K + 0.8 * D + 1.0)
    axes = np.atleast_1d(fig.subplots(K + D, 1, sharex=True))
    for k, ax in enumerate(axes[:K]):
        _shade(ax, spans, label=k == 0)
        ax.plot(time, activity[:, k], color=COLORS["behavior only"], lw=1.3)
        label = names[k] if not notes else f"{names[k]}\n{notes[k]}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    _behavior_panels(axes[K:], time, behavior, behavior_names, spans)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(time[0], time[-1])
    fig.supylabel("generated activity (z-score)", fontsize=9)
    if spans:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper right", ncol=len(spans))
    fig.suptitle(title)
    return fig
