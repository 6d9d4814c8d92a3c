"""The numbers behind the report's figures (numpy and torch only, no plotting).

Every function takes a trained model and recordings, or plain arrays, and returns arrays;
`ceneurovae.report.figures` draws them. Values of traces are in z-scored units (each
neuron over its own recording, as the model sees them), behavior in physical units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..evaluation.controls import latent_diagnostics
from ..evaluation.metrics import r2_score
from ..identity import neuron_class
from ..normalize import zscore
from ..recording import Recording, split_segments

__all__ = [
    "BEHAVIOR_UNITS",
    "REVERSAL_CLASSES",
    "AnimalPredictions",
    "behavior_label",
    "observed_behaviors",
    "predict_animal",
    "reversal_intervals",
    "event_segments",
    "identity_table",
    "kl_by_dimension",
    "principal_components",
    "latent_traversal",
    "synthetic_behavior",
    "generate_settled",
    "pick_neurons",
    "behavior_correlated_identities",
    "class_members",
    "PREDICTION_KINDS",
]

BEHAVIOR_UNITS = {"velocity": "mm/s", "head_curvature": "rad", "pumping": "pumps/s", "angular_velocity": "rad/s"}
"""Physical units of the behaviors the package knows, for axis labels."""

REVERSAL_CLASSES = ("AVA", "RIM", "AVE", "AIB", "AVB", "RIB")
"""Neuron classes known to change activity around reversals (backward: AVA, RIM, AVE,
AIB; forward: AVB, RIB), shown in the event-triggered figure when recorded."""


def behavior_label(name: str) -> str:
    """``"head_curvature"`` -> ``"head curvature (rad)"``; unknown behaviors get no unit."""
    unit = BEHAVIOR_UNITS.get(name)
    text = name.replace("_", " ")
    return f"{text} ({unit})" if unit else text


def observed_behaviors(recordings: Sequence[Recording], names: Sequence[str]) -> list[str]:
    """The behaviors of `names` observed (mask True) in at least one frame of `recordings`.

    A channel never observed (e.g. pumping, all NaN in a file) is not a behavior of those
    animals: the model saw it as unknown, so the report neither draws it nor drives the
    model with it.
    """
    out = []
    for name in names:
        for r in recordings:
            if name in r.behavior_names and r.behavior_mask[:, r.behavior_names.index(name)].any():
                out.append(name)
                break
    return out


# -- predictions of one animal -----------------------------------------------------------------


@dataclass
class AnimalPredictions:
    """One animal's data and the model's predictions of it, all (T, N) in z-scored units.

    Attributes
    ----------
    rec : Recording
    data : observed traces, z-scored over the observed frames (NaN where unobserved)
    reconstruction : every neuron seen by the encoder
    imputed : each labeled neuron predicted while hidden from the encoder (NaN: unknown identity)
    from_behavior : latent at the prior mean, behavior alone (NaN: unknown identity)
    latents : (T, Z) posterior mean
    names : identity name of each neuron ("" when unknown)
    """

    rec: Recording
    data: np.ndarray
    reconstruction: np.ndarray
    imputed: np.ndarray
    from_behavior: np.ndarray
    latents: np.ndarray
    names: list[str]


def predict_animal(trained, rec: Recording, n_folds: int = 5, seed: int = 0) -> AnimalPredictions:
    """Reconstruct, impute and predict from behavior one recording.

    Imputation hides the labeled neurons in `n_folds` random groups, one group at a time,
    so that each neuron is predicted once without being seen (about 1/`n_folds` hidden
    at a time, within what training showed the encoder) at the cost of `n_folds` passes.
    """
    if n_folds < 1:
        raise ConfigError(f"n_folds must be >= 1, got {n_folds}")
    rec = trained.prepare(rec)
    z, mean, std = zscore(rec.traces, rec.mask)
    data = np.where(rec.mask, z, np.nan)

    def to_z(pred: np.ndarray) -> np.ndarray:
        return ((pred - mean) / std).astype(np.float32)

    labeled = rec.labeled_indices
    folds = np.random.default_rng(seed).permutation(labeled.size) % n_folds
    imputed = np.full(rec.traces.shape, np.nan, dtype=np.float32)
    for k in range(min(n_folds, labeled.size)):
        hide = labeled[folds == k]
        imputed[:, hide] = to_z(trained.impute(rec, hide=hide))[:, hide]
    return AnimalPredictions(
        rec=rec,
        data=data.astype(np.float32),
        reconstruction=to_z(trained.reconstruct(rec)),
        imputed=imputed,
        from_behavior=to_z(trained.from_behavior(rec)),
        latents=trained.latents(rec),
        names=rec.identity_names(),
    )


PREDICTION_KINDS = {"reconstruction": "reconstruction", "imputed": "imputed (hidden)", "from_behavior": "behavior only"}
"""Attribute of `AnimalPredictions` -> how the figures name it."""


def identity_table(animals: Sequence[AnimalPredictions]) -> dict[str, np.ndarray]:
    """R² of every labeled neuron of every animal, as columns of equal length.

    Returns
    -------
    dict with ``uid``, ``neuron`` (index in its recording), ``identity`` (name), ``class``,
    and one R² column per prediction kind (``reconstruction``, ``imputed``, ``from_behavior``).
    """
    rows: dict[str, list] = {"uid": [], "neuron": [], "identity": [], "class": []}
    scores: dict[str, list] = {k: [] for k in PREDICTION_KINDS}
    for a in animals:
        idx = a.rec.labeled_indices
        rows["uid"] += [a.rec.uid] * idx.size
        rows["neuron"] += idx.tolist()
        rows["identity"] += [a.names[i] for i in idx]
        rows["class"] += [neuron_class(a.names[i]) for i in idx]
        for kind in PREDICTION_KINDS:
            scores[kind].append(r2_score(getattr(a, kind)[:, idx], a.data[:, idx]))
    table = {k: np.asarray(v, dtype=object if k != "neuron" else np.int64) for k, v in rows.items()}
    for kind, parts in scores.items():
        table[kind] = np.concatenate(parts) if parts else np.zeros(0)
    return table


# -- events ------------------------------------------------------------------------------------


def reversal_intervals(rec: Recording, min_frames: int = 3) -> np.ndarray:
    """Reversals of one recording as (n, 2) [start, stop) frames.

    ``rec.events["reversals"]`` when the recording has it; otherwise runs of at least
    `min_frames` frames with negative velocity (a few frames, so that noise around zero
    speed during pauses is not counted). An empty (0, 2) array when there is no velocity.
    """
    known = rec.events.get("reversals") if rec.events else None
    if known is not None:
        out = np.asarray(known, dtype=np.int64).reshape(-1, 2)
        return out[np.argsort(out[:, 0])]
    if "velocity" not in rec.behavior_names:
        return np.zeros((0, 2), dtype=np.int64)
    col = rec.behavior_names.index("velocity")
    backward = (rec.behavior[:, col] < 0) & rec.behavior_mask[:, col]
    edges = np.diff(np.concatenate([[0], backward.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = stops - starts >= min_frames
    return np.stack([starts[keep], stops[keep]], 1).astype(np.int64)


def event_segments(values: np.ndarray, onsets: np.ndarray, before: int, after: int,
                   timestamps: np.ndarray | None = None) -> np.ndarray:
    """Stretches of `values` around each onset: (n_events, before + after, ...).

    Frame ``before`` of each stretch is the onset. Onsets whose stretch would leave the
    recording, or cross a gap in `timestamps` (the join of two halves), are dropped.
    """
    values = np.asarray(values)
    T = values.shape[0]
    segments = split_segments(timestamps) if timestamps is not None else [(0, T)]
    out = []
    for t in np.asarray(onsets, dtype=np.int64):
        lo, hi = t - before, t + after
        if any(a <= lo and hi <= b for a, b in segments):
            out.append(values[lo:hi])
    if not out:
        return np.zeros((0, before + after, *values.shape[1:]), dtype=np.float64)
    return np.stack(out).astype(np.float64)


# -- latents -----------------------------------------------------------------------------------


def kl_by_dimension(trained, recordings: Sequence[Recording], batch_size: int = 32) -> tuple[np.ndarray, str]:
    """Mean KL of the posterior to the prior per latent dimension, over `recordings`: the
    ``kl_per_dim`` of `evaluation.latent_diagnostics` (windows tile each recording, so every
    frame counts once), so that the report and ``ceneurovae evaluate`` give the same numbers.

    Returns
    -------
    kl : (Z,) nats per frame (trajectory latent) or per window (window latent)
    unit : ``"nats per frame"`` or ``"nats per window"``
    """
    if not recordings:
        raise ConfigError("kl_by_dimension needs at least one recording")
    d = latent_diagnostics(trained, recordings, batch_size=batch_size)
    return np.asarray(d["kl_per_dim"]), d["kl_unit"]


def principal_components(latents: Sequence[np.ndarray], n: int = 2) -> tuple[list[np.ndarray], np.ndarray]:
    """Project latents of several animals on the first `n` principal components of them all.

    Returns
    -------
    projections : list of (T_i, n)
    explained : (n,) fraction of the variance along each component
    """
    stacked = np.concatenate([np.asarray(x, dtype=np.float64) for x in latents])
    center = stacked.mean(0)
    _, s, vt = np.linalg.svd(stacked - center, full_matrices=False)
    n = min(n, vt.shape[0])
    var = s**2
    explained = var[:n] / max(var.sum(), 1e-12)
    basis = vt[:n].T
    if n < 2:  # one latent dimension: pad with zeros so that a plane can still be drawn
        basis = np.concatenate([basis, np.zeros((basis.shape[0], 2 - n))], 1)
        explained = np.concatenate([explained, np.zeros(2 - n)])
    return [(np.asarray(x, dtype=np.float64) - center) @ basis for x in latents], explained


@torch.no_grad()
def latent_traversal(trained, dims: Sequence[int], identities: Sequence[int], behavior: np.ndarray,
                     sweep: np.ndarray | None = None, behavior_mask: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Decode while one latent dimension moves away from the prior mean, the others held there.

    The behavior is held constant at `behavior` (D,) in physical units for a whole window
    and its history, so that only the latent changes; the decoder's output is averaged
    over the second half of the window (past the behavior filters' start-up).

    Parameters
    ----------
    dims : latent dimensions to sweep
    identities : vocabulary indices to decode
    behavior : (D,) physical units
    sweep : values of the swept dimension, in prior standard deviations (default -2..2, 9 steps)
    behavior_mask : (D,) False for a behavior given to the model as unknown (one it never saw)

    Returns
    -------
    sweep : (S,)
    change : (len(dims), K, S) decoded activity minus the decoded activity at the prior mean
        (z-scored units)
    """
    model = trained.model
    cfg = model.cfg
    sweep = np.linspace(-2.0, 2.0, 9) if sweep is None else np.asarray(sweep, dtype=np.float64)
    dims = [int(d) for d in dims]
    if any(not 0 <= d < cfg.latent_dim for d in dims):
        raise ConfigError(f"latent dimensions {dims} must be in [0, {cfg.latent_dim})")
    device = next(model.parameters()).device
    T, P, S = trained.window_T, cfg.behavior_history, sweep.size
    B = len(dims) * S + 1  # the last row: every dimension at the prior mean
    b = torch.as_tensor(trained.scaler.transform(np.asarray(behavior, dtype=np.float32)), device=device)
    known = torch.ones(b.shape[-1], dtype=torch.bool, device=device)
    if behavior_mask is not None:
        known = torch.as_tensor(np.asarray(behavior_mask, dtype=bool), device=device)
        b = torch.where(known, b, torch.zeros_like(b))
    beh = b.expand(B, T, -1).contiguous()
    past = b.expand(B, P, -1).contiguous()
    feats = model.behavior_features(beh, known.expand(B, T, -1).contiguous(), past, known.expand(B, P, -1).contiguous())
    z = model.prior_mean(B, T, device)
    for i, d in enumerate(dims):
        rows = slice(i * S, (i + 1) * S)
        values = torch.as_tensor(sweep, dtype=z.dtype, device=device)
        z[rows, ..., d] = values.view(-1, *([1] * (z.dim() - 2)))
    ids = torch.as_tensor(np.asarray(identities, dtype=np.int64), device=device)
    was_training = model.training
    model.eval()
    pred = model.decode(z, feats, ids).float()[:, T // 2:].mean(1).cpu().numpy()  # (B, K)
    model.train(was_training)
    change = pred[:-1] - pred[-1]
    return sweep, change.reshape(len(dims), S, -1).transpose(0, 2, 1)


# -- synthetic behavior ------------------------------------------------------------------------


def synthetic_behavior(names: Sequence[str], dt: float, reference: Sequence[Recording] = (),
                       observed: Sequence[str] | None = None,
                       ) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[float, float]]]:
    """A behavior trajectory with a reversal and a feeding bout, in physical units.

    Forward movement for 100 s, a 12 s reversal, forward again, and a 60 s feeding bout while moving forward. Speeds,
    head curvature and pumping rates are typical values of the `reference` recordings
    (percentiles) when given, else round numbers for C. elegans on food.

    `observed` (default: every name) lists the behaviors the model saw; the others are 0
    and must be passed to the model as unknown (mask False). Without pumping among them
    there is no feeding bout.

    Returns
    -------
    time : (T,) seconds
    behavior : (T, D) columns in the order of `names`
    intervals : {"reversal": (start_s, stop_s), "feeding bout": (start_s, stop_s)}
    """
    if dt <= 0:
        raise ConfigError(f"dt must be a positive number of seconds, got {dt}")
    ref = {}
    for name in names:
        vals = [r.behavior[r.behavior_mask[:, j], j] for r in reference
                for j in [r.behavior_names.index(name)] if name in r.behavior_names]
        ref[name] = np.concatenate(vals) if vals else np.zeros(0)

    def pct(name: str, q: float, default: float) -> float:
        v = ref.get(name, np.zeros(0))
        return float(np.percentile(v, q)) if v.size > 10 else default

    forward = max(pct("velocity", 75, 0.1), 0.02)
    backward = min(pct("velocity", 2, -0.15), -0.02)
    pump_low, pump_high = max(pct("pumping", 10, 0.0), 0.0), pct("pumping", 90, 3.0)
    duration = 300.0
    time = np.arange(int(round(duration / dt))) * dt
    intervals = {"reversal": (100.0, 112.0), "feeding bout": (180.0, 240.0)}
    observed = list(names) if observed is None else list(observed)
    if "pumping" not in observed or "pumping" not in names:
        del intervals["feeding bout"]

    def bump(lo: float, hi: float, rise: float) -> np.ndarray:
        """1 inside [lo, hi], 0 outside, with smooth (logistic) edges of about `rise` seconds."""
        return 1.0 / (1.0 + np.exp(-(time - lo) / rise * 4)) - 1.0 / (1.0 + np.exp(-(time - hi) / rise * 4))

    rev = bump(*intervals["reversal"], 1.5)
    feed = bump(*intervals["feeding bout"], 3.0) if "feeding bout" in intervals else np.zeros(time.size)
    columns = []
    for name in names:
        if name not in observed:  # unknown to the model: no value (the caller masks it)
            columns.append(np.zeros(time.size))
        elif name == "velocity":
            columns.append(forward + (backward - forward) * rev)
        elif name == "pumping":
            # Pumping pauses during the reversal, as it does in worms.
            columns.append((pump_low + (pump_high - pump_low) * feed) * (1 - rev))
        else:  # head curvature and anything else: the typical (median) value throughout
            columns.append(np.full(time.size, pct(name, 50, 0.0)))
    return time, np.stack(columns, 1).astype(np.float32), intervals


def generate_settled(trained, behavior: np.ndarray, identities: Sequence[str], lead_s: float = 120.0,
                     behavior_mask: np.ndarray | None = None) -> np.ndarray:
    """`Trained.generate`, after `lead_s` seconds of the first frame's behavior that are then dropped.

    The behavior filters reach back up to a minute; without a lead-in, the first minute
    of generated activity would show them filling up rather than a response to behavior.
    `behavior_mask` (T, D) or (D,): False marks a behavior the model gets as unknown.
    """
    behavior = np.asarray(behavior, dtype=np.float32)
    lead = int(round(lead_s / trained.model.cfg.dt))
    padded = np.concatenate([np.repeat(behavior[:1], lead, axis=0), behavior])
    mask = None
    if behavior_mask is not None:
        mask = np.broadcast_to(np.asarray(behavior_mask, dtype=bool), behavior.shape)
        mask = np.concatenate([np.repeat(mask[:1], lead, axis=0), mask])
    return trained.generate(padded, list(identities), behavior_mask=mask)[lead:]


# -- choosing neurons --------------------------------------------------------------------------


def pick_neurons(a: AnimalPredictions, k: int = 4, smooth_s: float = 5.0) -> list[int]:
    """The `k` labeled neurons with the most slow variance in the data.

    Traces are z-scored, so raw variance is the same for all; the variance of the trace
    smoothed over `smooth_s` seconds is what is left after frame-to-frame noise: the
    neurons with clear slow activity, chosen from the data alone (not from the model's fit).
    """
    idx = a.rec.labeled_indices
    if idx.size == 0:
        return []
    width = max(int(round(smooth_s / a.rec.dt)), 1)
    kernel = np.ones(width) / width
    x = np.nan_to_num(a.data[:, idx])
    smooth = np.stack([np.convolve(x[:, j], kernel, mode="same") for j in range(idx.size)], 1)
    order = np.argsort(-smooth.var(0), kind="stable")
    return idx[order[:k]].tolist()


def behavior_correlated_identities(animals: Sequence[AnimalPredictions], behavior: str, k: int = 2,
                                   exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
    """Identities whose data correlate most with `behavior` across animals: [(name, r)].

    The correlation of each identity is the mean over the animals that recorded it.
    """
    per: dict[str, list[float]] = {}
    for a in animals:
        if behavior not in a.rec.behavior_names:
            continue
        j = a.rec.behavior_names.index(behavior)
        b = a.rec.behavior[:, j].astype(np.float64)
        for i in a.rec.labeled_indices:
            use = a.rec.mask[:, i] & a.rec.behavior_mask[:, j]
            if use.sum() < 10 or b[use].std() < 1e-12:
                continue
            per.setdefault(a.names[i], []).append(float(np.corrcoef(a.data[use, i], b[use])[0, 1]))
    scored = sorted(((n, float(np.mean(v))) for n, v in per.items() if n not in exclude),
                    key=lambda nv: -abs(nv[1]))
    return scored[:k]


def class_members(animals: Sequence[AnimalPredictions], classes: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """For each class in `classes`, the (animal, neuron index) pairs of its recorded members."""
    out: dict[str, list[tuple[int, int]]] = {}
    for c in classes:
        pairs = [(k, int(i)) for k, a in enumerate(animals) for i in a.rec.labeled_indices
                 if neuron_class(a.names[i]) == c]
        if pairs:
            out[c] = pairs
    return out
