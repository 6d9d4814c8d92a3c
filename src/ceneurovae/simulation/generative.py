"""The neural side of the generative model: identities, encodings and the parts of each trace.

`identity_params` draws what every atlas neuron encodes (from the CePNEM table);
`simulate_animal` makes one animal: its neurons, their behavior, internal and private
parts through the GCaMP kernel, and noise. The scale of each part is fixed by the
generative model, not by the recording: `reference_covariances` computes it once per
configuration from a fixed-seed reference cohort. The equations are in the docstring of
`ceneurovae.simulation`. Timescales are in frames unless a name ends in ``_s``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from ..identity import atlas, neuron_class
from ..normalize import LAB_DIVISORS, zscore
from .behavior import BEHAVIORS, simulate_behavior
from .config import SimConfig
from .signals import causal_filter, exp_kernels, fft_size, ou, runs, smooth_ou

__all__ = ["IdentityParams", "behavior_channels", "gcamp_kernel", "identity_params",
           "reference_covariances", "simulate_animal", "stimulus_names", "stimulus_response"]

_LABELED_ANIMALS = 40  # the table's counts are over the 40 NeuroPAL animals of the paper
_TAU_MAX_S = 90.0  # encoding decay times are capped here (table maximum: 61 s); sets the pre-roll


# -- identities and encodings ------------------------------------------------------------------

@functools.cache
def _encoding_table() -> dict[str, dict[str, Any]]:
    """The CePNEM table as class -> row (see ``resources/PROVENANCE.md``)."""
    text = resources.files("ceneurovae.resources").joinpath("cepnem_encoding_table.json")
    raw = json.loads(text.read_text(encoding="utf-8"))
    keys = [k for k in raw if k not in ("class", "encoding_table")]
    return {cls: {k: raw[k][i] for k in keys} for i, cls in enumerate(raw["class"])}


@dataclass(frozen=True)
class IdentityParams:
    """Encodings of every atlas neuron (index = atlas order), shared by all animals of a cohort."""

    names: tuple[str, ...]
    weight: np.ndarray        # (A, 3) signed weights of velocity, head curvature, pumping
    rectify: np.ndarray       # (A,) response in the non-preferred velocity direction
    tau: np.ndarray           # (A,) encoding decay time, s
    fraction: np.ndarray      # (A,) behavior share of signal variance
    variability: np.ndarray   # (A,) class's across-animal variability relative to the median
    loading: np.ndarray       # (A, K) internal-state loadings
    label_prob: np.ndarray    # (A,) labeling probability per member neuron (0 outside the table)
    stimulus_gain: np.ndarray | None = None  # (A, S) response to each stimulus type (0: none); None without stimuli


def identity_params(rng: np.random.Generator, c: SimConfig) -> IdentityParams:
    """Draw the encodings of every atlas neuron from the CePNEM table (generic ones outside it)."""
    names = atlas().names
    table = _encoding_table()
    classes = [neuron_class(n) for n in names]
    members: dict[str, int] = {}
    for cls in classes:
        members[cls] = members.get(cls, 0) + 1
    a = len(names)
    strength = np.zeros((a, 3))
    sign = rng.choice([-1.0, 1.0], size=(a, 3))
    tau = np.exp(rng.normal(np.log(8.0), 0.5, a)).clip(1.0, 60.0)
    variability = np.ones(a)
    label_prob = np.zeros(a)
    # Neurons the table does not cover: weak generic encodings (total strength 0.01-0.1).
    generic = np.exp(rng.uniform(np.log(0.01), np.log(0.1), a))[:, None] * rng.dirichlet(np.ones(3), a)
    median_var = float(np.median([r["encoding_variability"] for r in table.values()
                                  if r["encoding_variability"]]))
    for i, cls in enumerate(classes):
        row = table.get(cls)
        if row is None:
            strength[i] = generic[i]
            continue
        label_prob[i] = min(1.0, row["count"] / (_LABELED_ANIMALS * members[cls]))
        s = [row["enc_strength_v"], row["enc_strength_hc"], row["enc_strength_pumping"]]
        strength[i] = generic[i] if any(v is None for v in s) else np.maximum(s, 0.0)
        slopes = [row["enc_v"], row["enc_hc"], row["enc_pumping"]]
        sign[i] = [np.sign(v) if v else sign[i, k] for k, v in enumerate(slopes)]
        if row["tau"]:
            tau[i] = row["tau"]
        if row["encoding_variability"]:
            variability[i] = np.clip(row["encoding_variability"] / median_var, 0.5, 2.0)
    total = strength.sum(1)
    weight = sign * np.sqrt(strength / np.where(total > 0, total, 1.0)[:, None])
    fraction = np.maximum(c.behavior_fraction_min,
                          c.behavior_fraction_max * total / (total + c.behavior_half_strength))
    # Left/right members of a class share a class loading, plus a small difference of their own.
    class_index = {cls: k for k, cls in enumerate(dict.fromkeys(classes))}
    class_load = rng.standard_normal((len(class_index), c.n_internal))
    loading = class_load[[class_index[cls] for cls in classes]]
    loading = loading + 0.3 * rng.standard_normal((a, c.n_internal))
    rectify = rng.uniform(0.1, 0.6, a)
    stim = _stimulus_gains(rng, label_prob, c) if c.n_stimuli else None  # drawn last: no stimuli, no draw
    return IdentityParams(names, weight, rectify, tau, fraction, variability, loading, label_prob, stim)


def _stimulus_gains(rng: np.random.Generator, label_prob: np.ndarray, c: SimConfig) -> np.ndarray:
    """(A, S) response gains: for each stimulus type, ``stimulus_responsive`` of the table's
    identities respond, |gain| uniform in (0.5, 1.5) x ``stimulus_gain``, random sign."""
    table = np.flatnonzero(label_prob > 0)
    gains = np.zeros((label_prob.size, c.n_stimuli))
    k = max(1, int(round(c.stimulus_responsive * table.size)))
    for s in range(c.n_stimuli):
        chosen = rng.choice(table, k, replace=False)
        gains[chosen, s] = rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 1.5, k) * c.stimulus_gain
    return gains


def stimulus_names(c: SimConfig) -> list[str]:
    """Names of the simulated stimulus types: ``stim1``, ``stim2``, ... (channels ``stimulus:<name>``)."""
    return [f"stim{s + 1}" for s in range(c.n_stimuli)]


def stimulus_response(channel: np.ndarray, dt: float, c: SimConfig) -> np.ndarray:
    """The response of a neuron of gain 1 to a stimulus `channel` (T,) or (T, S) at step `dt`
    s: a unit-gain exponential filter of time constant ``stimulus_tau_s`` (a pulse long
    against it saturates at 1), then the GCaMP kernel. A neuron of gain g (before its trace
    is z-scored) responds ``g * stimulus_response(...)``."""
    x = np.asarray(channel, dtype=np.float64)
    flat = x.ndim == 1
    x = x[:, None] if flat else x
    length = int(np.ceil(6 * c.stimulus_tau_s / dt)) + 1
    kernel = exp_kernels(np.array([c.stimulus_tau_s / dt]), length, "gain")[:, 0]
    out = causal_filter(causal_filter(x, kernel), gcamp_kernel(c, dt))
    return out[:, 0] if flat else out


def _choose_neurons(rng: np.random.Generator, p: IdentityParams,
                    c: SimConfig) -> tuple[np.ndarray, int]:
    """Atlas indices of one animal's neurons, labeled first; returns (indices, number labeled)."""
    efficiency = np.exp(rng.normal(0, c.labeling_spread))
    prob = np.minimum(p.label_prob * efficiency, c.max_label_probability)
    labeled = np.flatnonzero(rng.random(prob.size) < prob)
    lo, hi = c.labeled_range
    if labeled.size > hi:
        labeled = np.sort(rng.choice(labeled, hi, replace=False))
    elif labeled.size < lo:
        rest = np.setdiff1d(np.flatnonzero(prob > 0), labeled)
        extra = rng.choice(rest, min(lo - labeled.size, rest.size), replace=False,
                           p=prob[rest] / prob[rest].sum())
        labeled = np.sort(np.concatenate([labeled, extra]))
    n_lo, n_hi = c.neurons_range
    total = int(np.clip(round(rng.normal(c.neurons_median, c.neurons_sd)), n_lo, n_hi))
    total = max(total, labeled.size)
    free = np.setdiff1d(np.arange(prob.size), labeled)
    # Unidentified ROIs are more often neurons of the head classes the table covers.
    w = np.where(p.label_prob[free] > 0, 3.0, 1.0)
    unlabeled = rng.choice(free, total - labeled.size, replace=False, p=w / w.sum())
    return np.concatenate([labeled, unlabeled]), int(labeled.size)


# -- one animal ------------------------------------------------------------------------------

def _animal_encodings(rng, p: IdentityParams, idx: np.ndarray, c: SimConfig):
    """This animal's weights (N, 3), rectification (N,), tau (N,) s and loadings (N, K)."""
    n = idx.size
    w = p.weight[idx]
    norm = np.linalg.norm(w, axis=1, keepdims=True)
    spread = c.encoding_variability * p.variability[idx, None] * norm
    w = w + spread * rng.standard_normal((n, 3)) / np.sqrt(3)
    tau = np.clip(p.tau[idx] * np.exp(rng.normal(0, c.tau_variability, n)), 0.5, _TAU_MAX_S)
    load = p.loading[idx]
    norm = np.linalg.norm(load, axis=1, keepdims=True)
    load = load + c.loading_variability * norm * rng.standard_normal(load.shape) / np.sqrt(load.shape[1])
    return w, p.rectify[idx], tau, load


_REF_TAUS_S = np.geomspace(0.2, 150.0, 40)  # grid of encoding time constants for the reference
_REF_ANIMALS, _REF_FRAMES = 24, 4000


def behavior_channels(beh: dict[str, np.ndarray]) -> np.ndarray:
    """(T, 4): forward and reverse velocity, head curvature, pumping, divided by the lab's constants."""
    v = beh["velocity"] / LAB_DIVISORS["velocity"]
    return np.stack([np.maximum(v, 0), np.minimum(v, 0),
                     beh["head_curvature"] / LAB_DIVISORS["head_curvature"],
                     beh["pumping"] / LAB_DIVISORS["pumping"]], axis=1)


@functools.lru_cache(maxsize=4)
def reference_covariances(c: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Covariances of the four behavior channels after each reference encoding filter.

    The scale of a neuron's response must not depend on how much one animal happened to
    move in one recording (a real neuron does not rescale itself to the recording), so the
    channels are normalized by fixed constants: their covariance over a reference cohort
    (`_REF_ANIMALS` animals of `_REF_FRAMES` frames from a fixed seed, at the config's
    time step), for each time constant of `_REF_TAUS_S`.

    Returns
    -------
    raw : (n_taus, 4, 4)  covariance of ``k_tau * x``
    gcamp : (n_taus, 4, 4)  covariance of ``g * k_tau * x``
    """
    dt = c.dt
    e_len = int(np.ceil(6 * _TAU_MAX_S / dt))
    g = gcamp_kernel(c, dt)
    kernels = exp_kernels(_REF_TAUS_S / dt, e_len, "gain")  # (L, n_taus)
    n_taus = _REF_TAUS_S.size
    raw = np.zeros((n_taus, 4, 4))
    gc = np.zeros((n_taus, 4, 4))
    seeds = np.random.SeedSequence(20_231_116).spawn(_REF_ANIMALS)  # fixed: the same reference always
    for seed in seeds:
        x = behavior_channels(simulate_behavior(np.random.default_rng(seed), _REF_FRAMES + e_len, dt, c))
        filtered = np.stack([causal_filter(np.repeat(x[:, [j]], n_taus, 1), kernels) for j in range(4)], 2)
        filtered = filtered[e_len:]  # (T, n_taus, 4), past the filters' start-up
        through_g = causal_filter(filtered.reshape(len(filtered), -1), g).reshape(filtered.shape)[g.size:]
        for out, f in ((raw, filtered), (gc, through_g)):
            f = f - f.mean(0)
            out += np.einsum("tki,tkj->kij", f, f) / len(f)
    return raw / _REF_ANIMALS, gc / _REF_ANIMALS


_STIMULUS_FIELDS = ("n_stimuli", "stimulated_fraction", "stimulus_pulses", "stimulus_duration_s",
                    "stimulus_responsive", "stimulus_gain", "stimulus_tau_s")


def _without_stimuli(c: SimConfig) -> SimConfig:
    """`c` with the stimulus settings at their defaults: the reference behavior does not
    depend on them, so configurations that differ only there share one cached reference."""
    defaults = {f.name: f.default for f in dataclasses.fields(SimConfig) if f.name in _STIMULUS_FIELDS}
    return c if all(getattr(c, k) == v for k, v in defaults.items()) else dataclasses.replace(c, **defaults)


def _at_tau(table: np.ndarray, tau_s: np.ndarray) -> np.ndarray:
    """Interpolate a (n_taus, 4, 4) table at each tau (log scale) -> (N, 4, 4)."""
    x = np.log(np.clip(tau_s, _REF_TAUS_S[0], _REF_TAUS_S[-1]))
    grid = np.log(_REF_TAUS_S)
    i = np.clip(np.searchsorted(grid, x) - 1, 0, grid.size - 2)
    t = ((x - grid[i]) / (grid[i + 1] - grid[i]))[:, None, None]
    return (1 - t) * table[i] + t * table[i + 1]


def _behavior_drive(x: np.ndarray, w: np.ndarray, rectify: np.ndarray, tau_s: np.ndarray,
                    dt: float, length: int, c: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Each neuron's encoding of behavior, CePNEM-like, (T, N), and the std of its GCaMP-filtered
    version over the reference cohort, (N,).

    `x` is (T, 4) from `behavior_channels`. Every channel is filtered with the neuron's
    exponential kernel and divided by that filtered channel's standard deviation over the
    reference cohort before the weights apply, so that a weight's square is that behavior's
    share of the behavior part whatever its timescale (slow pumping would otherwise swamp
    fast reversals), with a scale that is the same in every animal.
    """
    raw, gc = (_at_tau(t, tau_s) for t in reference_covariances(_without_stimuli(c)))
    forward = w[:, 0] >= 0
    a = np.stack([np.where(forward, 1.0, rectify), np.where(forward, rectify, 1.0)], 1)  # (N, 2)
    s_v = np.sqrt(np.einsum("ni,nij,nj->n", a, raw[:, :2, :2], a))
    s_h, s_p = np.sqrt(raw[:, 2, 2]), np.sqrt(raw[:, 3, 3])
    coef = np.stack([w[:, 0] * a[:, 0] / s_v, w[:, 0] * a[:, 1] / s_v, w[:, 1] / s_h, w[:, 2] / s_p], 1)  # (N, 4)
    ref_std = np.sqrt(np.einsum("ni,nij,nj->n", coef, gc, coef))
    n_frames = x.shape[0]
    nfft = fft_size(n_frames + length - 1)
    kernel = np.fft.rfft(np.ascontiguousarray(exp_kernels(tau_s / dt, length, "gain").T), nfft)  # (N, F)
    spectra = np.fft.rfft(np.ascontiguousarray(x.T), nfft)  # (4, F)
    mixed = coef @ spectra  # (N, F): the filters are linear, so mix the channels first
    return np.fft.irfft(mixed * kernel, nfft)[:, :n_frames].T, ref_std


def _filter_variance(kernels: list[np.ndarray]) -> float:
    """Variance of unit white noise passed through the kernels in turn."""
    h = kernels[0]
    for k in kernels[1:]:
        h = np.convolve(h, k)
    return float((h * h).sum())


@dataclass(frozen=True)
class _Grid:
    """One animal's time grid: the recorded frames among the continuous ones, and the pre-roll.

    Behavior is simulated on ``burn + n_cont`` frames; the neural parts on the last ``span``
    of them (``g_len - 1`` frames of GCaMP history before the first recorded frame).
    """

    dt: float
    half: int            # frames in the first half
    kept: np.ndarray     # recorded frames, indices into the n_cont continuous frames
    burn: int            # frames before the first continuous one (encoding and GCaMP history)
    g_len: int           # length of the GCaMP kernel, frames
    e_len: int           # length of the encoding kernels, frames

    @classmethod
    def make(cls, c: SimConfig, dt: float) -> _Grid:
        half = c.n_frames // 2
        n_gap = int(round(c.gap_s / dt))
        kept = np.concatenate([np.arange(half), np.arange(half + n_gap, c.n_frames + n_gap)])
        g_len = int(np.ceil(8 * c.gcamp_decay_s / dt))
        e_len = int(np.ceil(6 * _TAU_MAX_S / dt))
        return cls(dt, half, kept, e_len + g_len - 1, g_len, e_len)

    @property
    def span(self) -> int:
        return int(self.kept[-1]) + self.g_len


def gcamp_kernel(c: SimConfig, dt: float) -> np.ndarray:
    """The GCaMP kernel (rise ``gcamp_rise_s``, decay ``gcamp_decay_s``) at time step dt, unit gain."""
    t = np.arange(int(np.ceil(8 * c.gcamp_decay_s / dt))) * dt
    k = np.exp(-t / c.gcamp_decay_s) - np.exp(-t / c.gcamp_rise_s)
    return k / k.sum()


def _neural_parts(rng: np.random.Generator, grid: _Grid, drive: np.ndarray, drive_std: np.ndarray,
                  load: np.ndarray, f_beh: np.ndarray, c: SimConfig) -> tuple[list[np.ndarray], np.ndarray]:
    """Behavior, internal and private parts at the recorded frames, (T, N) each; states (T, K).

    `drive` is the behavior drive over the last ``grid.span`` frames and `drive_std` the
    standard deviation of its GCaMP-filtered version over the reference cohort. Each part
    goes through the GCaMP kernel, is divided by its standard deviation under the
    generative model (fixed constants, not this recording's: so that a neuron's scale does
    not depend on what one animal happened to do), then weighted by the square root of its
    variance fraction.
    """
    fps = 1.0 / grid.dt
    gcamp = gcamp_kernel(c, grid.dt)
    at_frames = grid.g_len - 1 + grid.kept

    def recorded(series: np.ndarray) -> np.ndarray:
        return causal_filter(series, gcamp)[at_frames]

    scales = np.geomspace(*c.internal_timescales_s, c.n_internal) * fps
    states, state_kernels = smooth_ou(rng, grid.span, scales, return_kernels=True)
    private_scales = rng.uniform(*c.private_timescales_s, load.shape[0]) * fps
    private, private_kernels = ou(rng, grid.span, private_scales, return_kernels=True)
    state_var = np.array([_filter_variance([*k, gcamp]) for k in state_kernels])  # (K,)
    internal_std = np.sqrt((load * load) @ state_var)  # states are independent
    private_std = np.sqrt([_filter_variance([k, gcamp]) for k in private_kernels])
    f_int = 1.0 - c.private_fraction - f_beh
    parts = [
        np.sqrt(f_beh) * recorded(drive) / drive_std,
        # Filters commute with the loadings: filter the K states, not the N mixtures.
        np.sqrt(f_int) * (recorded(states) @ load.T) / internal_std,
        np.sqrt(c.private_fraction) * recorded(private) / private_std,
    ]
    unit_states = states[at_frames] / np.sqrt([_filter_variance(k) for k in state_kernels])
    return parts, unit_states


def _zscore_parts(parts: list[np.ndarray], noise: np.ndarray):
    """Z-score the trace (sum of parts and noise) and map every part with the same affine map.

    Returns the z-scored traces, the four mapped parts (float32, noise last) and the
    per-neuron standard deviation used.
    """
    traces, _, sd = zscore(sum(parts) + noise, np.ones(noise.shape, dtype=bool))
    mapped = [((part - part.mean(0)) / sd).astype(np.float32) for part in [*parts, noise]]
    return traces, mapped, sd


def _stimuli(seed_seq: np.random.SeedSequence, grid: _Grid, p: IdentityParams, idx: np.ndarray,
             c: SimConfig) -> dict | None:
    """This animal's stimuli, from a fourth stream of its seed (None without stimuli).

    Returns ``channels`` (T, S) at the recorded frames (None for an animal not stimulated),
    ``onsets`` (per type, recorded frames), ``gain`` (N, S) before z-scoring and
    ``response`` (T, N): every neuron's response at the recorded frames.
    """
    if not c.n_stimuli:
        return None
    rng = np.random.default_rng(seed_seq.spawn(1)[0])
    if rng.random() >= c.stimulated_fraction:
        return {"channels": None}
    n_cont = int(grid.kept[-1]) + 1
    on = np.zeros((grid.g_len - 1 + n_cont, c.n_stimuli))  # the neural parts' span: GCaMP history first
    width = max(1, int(round(c.stimulus_duration_s / grid.dt)))
    onsets = []
    for s in range(c.n_stimuli):
        slots = np.array_split(np.arange(grid.kept.size), c.stimulus_pulses)
        frames = sorted(int(sl[rng.integers(0, max(1, int(0.6 * sl.size)))]) for sl in slots if sl.size)
        onsets.append(frames)
        for f in frames:
            start = grid.g_len - 1 + int(grid.kept[f])
            on[start:start + width, s] = 1.0
    at_frames = grid.g_len - 1 + grid.kept
    gain = p.stimulus_gain[idx]
    response = stimulus_response(on, grid.dt, c)[at_frames] @ gain.T
    return {"channels": on[at_frames].astype(np.float32), "onsets": onsets, "gain": gain, "response": response}


def simulate_animal(k: int, seed_seq: np.random.SeedSequence, p: IdentityParams, c: SimConfig):
    """One animal (uid ``sim-<k>``): keyword arguments of its `Recording` and its `GroundTruth`."""
    # Separate streams, so that changing one setting (say, the neuron count) leaves the
    # other draws (say, the behavior) as they were.
    rng, behavior_rng, activity_rng = (np.random.default_rng(s) for s in seed_seq.spawn(3))
    grid = _Grid.make(c, c.dt * (1 + rng.uniform(-c.dt_spread, c.dt_spread)))
    idx, n_labeled = _choose_neurons(rng, p, c)
    w, rectify, tau, load = _animal_encodings(rng, p, idx, c)
    order = rng.permutation(idx.size)  # ROI order has nothing to do with identity

    beh = simulate_behavior(behavior_rng, grid.burn + int(grid.kept[-1]) + 1, grid.dt, c)
    drive, drive_std = _behavior_drive(behavior_channels(beh), w, rectify, tau, grid.dt, grid.e_len, c)
    drive = drive[-grid.span:]
    beh = {key: val[grid.burn + grid.kept] for key, val in beh.items()}

    parts, states = _neural_parts(activity_rng, grid, drive, drive_std, load, p.fraction[idx], c)
    stim = _stimuli(seed_seq, grid, p, idx, c)  # None unless n_stimuli > 0 (its own stream)
    if stim is not None and stim["channels"] is not None:
        parts[0] = parts[0] + stim["response"]  # the behavior part holds what the conditioning inputs drive
    signal = sum(parts)
    q = activity_rng.uniform(*c.noise_fraction, idx.size)  # noise share of each trace's variance
    sigma = np.sqrt(q / (1 - q)) * signal.std(0)
    noise = activity_rng.standard_normal(signal.shape) * sigma
    traces, parts, sd = _zscore_parts(parts, noise)

    names = [p.names[i] for i in idx[order]]
    timestamps = grid.kept * grid.dt + rng.normal(0, 0.005 * grid.dt, grid.kept.size)
    timestamps -= timestamps[0]
    behavior = np.stack([beh[b] for b in BEHAVIORS], axis=1)
    bmask = np.ones(behavior.shape, dtype=bool)
    if rng.random() < c.pumping_missing_fraction:
        bmask[:, BEHAVIORS.index("pumping")] = False
    rev, half = beh["reversal"], grid.half  # a reversal across the join counts in each half
    reversals = runs(rev[:half]) + [[a + half, b + half] for a, b in runs(rev[half:])]

    uid = f"sim-{k:03d}"
    meta = {"simulated": True, "animal": k, "roaming_fraction": float(beh["roaming"].mean())}
    names_b = list(BEHAVIORS)
    if stim is not None:
        meta["stimulus"] = {"stimulated": stim["channels"] is not None}
        if stim["channels"] is not None:
            behavior = np.concatenate([behavior, stim["channels"]], axis=1)
            bmask = np.concatenate([bmask, np.ones(stim["channels"].shape, dtype=bool)], axis=1)
            names_b += [f"stimulus:{n}" for n in stimulus_names(c)]
            gain = (stim["gain"] / sd[:, None])[order]  # in units of rec.traces
            meta["stimulus"].update({
                name: {"onsets": stim["onsets"][s], "duration_s": c.stimulus_duration_s, "tau_s": c.stimulus_tau_s,
                       "neurons": np.flatnonzero(gain[:, s]).tolist(),
                       "gain": gain[np.flatnonzero(gain[:, s]), s].astype(float).tolist()}
                for s, name in enumerate(stimulus_names(c))
            })
    rec = dict(
        uid=uid, traces=traces[:, order], behavior=behavior, behavior_names=names_b,
        behavior_mask=bmask, labels=[nm if i < n_labeled else "" for nm, i in zip(names, order, strict=True)],
        timestamps=timestamps, dt=float(np.median(np.diff(timestamps[:half]))),
        events={"reversals": reversals}, source="simulator", meta=meta,
    )
    b, i, r, e = (part[:, order] for part in parts)
    truth = dict(
        uid=uid, behavior_part=b, internal_part=i, private_part=r, noise=e,
        noise_std=(sigma / sd)[order].astype(np.float32), internal_states=states.astype(np.float32),
        true_labels=names, tau=tau[order].astype(np.float32), encoding=w[order].astype(np.float32),
    )
    return rec, truth
