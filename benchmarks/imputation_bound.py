"""How much of the imputation ceiling can a model that shares parameters across animals reach?

::

    python benchmarks/imputation_bound.py [--animals 40] [--test 8] [--seed 0] [--no-variability]

The imputation ceiling of ``benchmarks/quality.py`` is the R² of each hidden neuron's true
predictable part (behavior-driven + internal states, with *this animal's* encodings) against
its data. A model trained on other animals cannot know a hidden neuron's own per-animal
deviations, so the ceiling is out of its reach; this script measures by how much, with
oracles that are each given more than any model has, on the benchmark's split (the last
`--test` animals held out, the same hidden neurons as `evaluate`):

1. ``states from visible neurons``: every neuron's true behavior part and true loadings on
   the K internal states; only the states must be inferred, from the visible neurons, by the
   optimal linear smoother (a Wiener filter with the pooled spectra of states, private parts
   and noise). Says whether inferring the states from ~70 noisy neurons limits imputation.
2. ``shared encodings, true states, best scale``: the predictable part the hidden neuron
   would have without per-animal deviations (the same cohort simulated with
   ``encoding_variability = tau_variability = loading_variability = 0``: same behavior,
   same states), scaled per neuron by least squares on its hidden data (the one thing
   borrowed from the data: a neuron's gain after z-scoring its own recording).
3. ``pooled regression on true states + shared drive``: per identity, one linear regression
   pooled over the training animals from the true (GCaMP-filtered) states and the neuron's
   shared behavior drive (row 2's behavior part) to its trace; no scale borrowed. The drive
   is in the units of the z-scored trace it came from, so it still carries part of the
   recording's gain.
4. ``pooled regression on true states + behavior features``: the same with the observed
   behavior instead of the drive: velocity, forward and reverse velocity, head curvature
   and pumping, each through causal exponential filters of 0-64 s and the GCaMP kernel
   (40 features): what a model that must learn each identity's encoding from the behavior
   it is shown could reach if it also knew the internal states exactly.

5. ``shared encodings, states inferred, best scale``: what a model that knew every shared
   encoding exactly could do: the states inferred from the visible neurons by the same
   smoother through their *shared* encodings (their per-animal deviations treated as extra
   private variance), the hidden neuron predicted from its shared encoding, then scaled per
   neuron on its hidden data as in row 2. Without that scale: row 5 as is.

6. ``pooled CePNEM-like regression on true states``: per identity, one regression pooled over
   the training animals from the true states and the simulator's four behavior channels
   (forward and reverse velocity, head curvature, pumping) through one exponential filter
   whose time constant is chosen per identity on the training animals (16 from 0.5 to 90 s),
   in fixed units: the structure of the simulator's drive, learned the way a model must.
   ``rescaled``: each prediction multiplied by sqrt(v / its variance over this recording),
   v its identity's mean over the training recordings, as the data's z-scoring rescales
   every trace by its recording's own spread (no scale borrowed from the hidden data).
   ``best scale``: scaled on the hidden data as in row 2 (what is left is the shape).

7. ``ceiling without the noise share``: this animal's own predictable part, at the gain it
   would have if the hidden neuron's noise took the mean share of its trace (the simulator's
   ``noise_fraction`` midpoint) instead of its own: what not knowing a hidden neuron's noise
   level, and so its z-score units, costs by itself.

Rows 2, 3 and 5 take the shared parts in the units of the trace simulated without
deviations, which has the same noise draw: they know the hidden neuron's noise share
through its z-score units (worth a few thousandths of the ceiling, by the spread of noise shares).

Prints R² against the data and as a fraction of the ceiling (mean over hidden neurons).

``--no-variability``: the cohort without per-animal deviations (as ``quality.py
--no-variability``); rows 2, 5 and 5' then reach the ceiling, and the pooled rows show what
learning the shared encodings from the training animals costs by itself.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ceneurovae.baselines import choose_hidden
from ceneurovae.evaluation.benchmark import (
    benchmark_cohort,
    cohort_arguments,
    filtered_behavior_features,
    filtered_states,
    no_variability,
    split_cohort,
)
from ceneurovae.metrics import r2_score
from ceneurovae.simulation import (
    BEHAVIORS,
    SimConfig,
    behavior_channels,
    causal_filter,
    exp_kernels,
    gcamp_kernel,
    simulate_cohort,
)

CEPNEM_TAUS_S = np.geomspace(0.5, 90.0, 16)  # the simulator's range of encoding time constants
RIDGE = 0.1  # pooled regressions: tens of thousands of frames per identity, barely regularized


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    return float(r2_score(pred[:, None], y[:, None])[0])


def best_scale(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    p, yc = pred - pred.mean(), y - y.mean()
    return p * (p @ yc) / (p @ p) + y.mean()


def cepnem_channels(rec, cfg: SimConfig) -> np.ndarray:
    """The simulator's four behavior channels through one causal exponential filter per tau of
    `CEPNEM_TAUS_S`, then the GCaMP kernel; centered, (n_taus, T, 4)."""
    x = behavior_channels({b: rec.behavior[:, rec.behavior_names.index(b)].astype(np.float64) for b in BEHAVIORS})
    out = []
    for tau in CEPNEM_TAUS_S:
        kernel = exp_kernels(np.array([tau / rec.dt]), int(np.ceil(6 * tau / rec.dt)) + 1, "gain")[:, 0]
        f = causal_filter(causal_filter(x.copy(), kernel), gcamp_kernel(cfg, rec.dt))
        out.append(f - f.mean(0))
    return np.stack(out)


def pooled_cepnem(train: dict, states: dict, channels: dict) -> dict[str, tuple[int, np.ndarray, float]]:
    """Per identity: the filter (index into `CEPNEM_TAUS_S`) with the least pooled squared error
    on the training animals, its regression weights on [states, channels, 1], and the mean
    variance of its prediction over the training recordings."""
    gram: dict[tuple[str, int], list] = {}
    for u, rec in train.items():
        for j, label in enumerate(rec.labels):
            if not label:
                continue
            y = rec.traces[:, j].astype(np.float64)
            for k in range(len(CEPNEM_TAUS_S)):
                x = np.concatenate([states[u], channels[u][k], np.ones((rec.n_frames, 1))], axis=1)
                acc = gram.setdefault((label, k), [0.0, 0.0, 0.0])
                acc[0], acc[1], acc[2] = acc[0] + x.T @ x, acc[1] + x.T @ y, acc[2] + y @ y
    fits: dict[str, tuple[int, np.ndarray]] = {}
    best: dict[str, float] = {}
    for (label, k), (g, b, yy) in gram.items():
        w = np.linalg.solve(g + RIDGE * np.eye(len(b)), b)
        rss = yy - 2 * w @ b + w @ g @ w
        if rss < best.get(label, np.inf):
            best[label], fits[label] = rss, (k, w)
    spread: dict[str, list[float]] = {}
    for u, rec in train.items():
        for label in rec.labels:
            if label in fits:
                spread.setdefault(label, []).append(cepnem_predict(fits[label], states[u], channels[u]).var())
    return {label: (k, w, float(np.mean(spread[label]))) for label, (k, w) in fits.items()}


def cepnem_predict(fit, states: np.ndarray, channels: np.ndarray) -> np.ndarray:
    k, w = fit[0], fit[1]
    return np.concatenate([states, channels[k], np.ones((len(states), 1))], axis=1) @ w


def smoothed_periodogram(x: np.ndarray, width: int = 7) -> np.ndarray:
    """Periodogram of each column of x (T, M), |FFT|² / T, smoothed over `width` frequency bins."""
    p = np.abs(np.fft.rfft(x - x.mean(0), axis=0)) ** 2 / len(x)
    k = np.ones(width) / width
    pad = np.concatenate([p[width:0:-1], p, p[-2:-width - 2:-1]])
    return np.stack([np.convolve(pad[:, m], k, "same")[width:-width] for m in range(p.shape[1])], axis=1)


def wiener_states(resid: np.ndarray, load: np.ndarray, private_var: np.ndarray, noise_var: np.ndarray,
                  state_psd: np.ndarray, private_psd: np.ndarray) -> np.ndarray:
    """Posterior mean of the K states given resid = load @ s + private + noise, frequency by frequency."""
    spec = np.fft.rfft(resid - resid.mean(0), axis=0)  # (F, N)
    est = np.zeros((spec.shape[0], load.shape[1]), dtype=complex)
    for f in range(spec.shape[0]):
        inv_d = 1.0 / (private_var * private_psd[f] + noise_var)  # (N,)
        lt = load.T * inv_d
        a = lt @ load + np.diag(1.0 / np.maximum(state_psd[f], 1e-12))
        est[f] = np.linalg.solve(a, lt @ spec[f])
    return np.fft.irfft(est, n=len(resid), axis=0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cohort_arguments(p)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    cohort, cfg = benchmark_cohort(args)
    shared = simulate_cohort(args.animals, seed=args.seed, config=no_variability())
    train, test, truth, _ = split_cohort(cohort, args.test, seed=args.seed)
    uids = sorted(cohort.datasets)
    states = {u: filtered_states(cohort.datasets[u], cohort.truth[u], cfg) for u in uids}
    feats = {u: filtered_behavior_features(cohort.datasets[u], cfg) for u in uids}
    channels = {u: cepnem_channels(cohort.datasets[u], cfg) for u in uids}
    cepnem = pooled_cepnem(train, states, channels)

    # Pooled spectra: states (per state), private parts (unit variance, averaged over neurons).
    state_psd = np.mean([smoothed_periodogram(states[u]) for u in uids], axis=0)
    private_psd = np.mean([(smoothed_periodogram(cohort.truth[u].private_part.astype(np.float64))
                            / cohort.truth[u].private_part.var(0)).mean(1) for u in uids], axis=0)

    # Pooled per-identity regressions on the training animals.
    def design(u: str, j: int, kind: str) -> np.ndarray:
        extra = shared.truth[u].behavior_part[:, [j]] if kind == "drive" else feats[u]
        return np.concatenate([states[u], extra, np.ones((len(extra), 1))], axis=1)

    gram: dict[tuple[str, str], list[np.ndarray]] = {}
    for u in train:
        rec = cohort.datasets[u]
        for j, label in enumerate(rec.labels):
            if not label:
                continue
            for kind in ("drive", "features"):
                x = design(u, j, kind)
                acc = gram.setdefault((kind, label), [0.0, 0.0])
                acc[0] = acc[0] + x.T @ x
                acc[1] = acc[1] + x.T @ rec.traces[:, j]

    rows = {k: [] for k in ("ceiling", "states", "shared", "drive", "features", "inferred", "inferred_scaled",
                                "cepnem", "cepnem_rescaled", "cepnem_scaled", "no_noise_share")}
    for u, rec in test.items():
        tr, sh = truth[u], shared.truth[u]
        one = np.concatenate([states[u], np.ones((rec.n_frames, 1))], axis=1)
        load = np.linalg.lstsq(one, tr.internal_part, rcond=None)[0][:-1].T  # (N, K), this animal's
        load_sh = np.linalg.lstsq(one, sh.internal_part, rcond=None)[0][:-1].T  # (N, K), shared
        hide = choose_hidden(rec.identity, u, seed=args.seed)
        vis = np.setdiff1d(np.arange(rec.n_neurons), hide)
        y = rec.traces.astype(np.float64)
        est = wiener_states(y[:, vis] - tr.behavior_part[:, vis], load[vis], tr.private_part[:, vis].var(0),
                            tr.noise[:, vis].var(0), state_psd, private_psd)
        deviation = (tr.predictable[:, vis] - sh.predictable[:, vis]).var(0)
        est_sh = wiener_states(
            y[:, vis] - sh.behavior_part[:, vis],
            load_sh[vis],
            tr.private_part[:, vis].var(0) + deviation,
            tr.noise[:, vis].var(0),
            state_psd,
            private_psd,
        )
        for j in hide:
            label = rec.labels[j]
            pred = sh.behavior_part[:, j] + est_sh @ load_sh[j]
            rows["inferred"].append(r2(pred, y[:, j]))
            rows["inferred_scaled"].append(r2(best_scale(pred, y[:, j]), y[:, j]))
            rows["ceiling"].append(r2(tr.predictable[:, j], y[:, j]))
            share = float(tr.noise[:, j].var())  # the traces are z-scored: the noise's share of the variance
            gain = np.sqrt((1 - np.mean(cfg.noise_fraction)) / (1 - share))
            rows["no_noise_share"].append(r2(tr.predictable[:, j] * gain, y[:, j]))
            rows["states"].append(r2(tr.behavior_part[:, j] + est @ load[j], y[:, j]))
            rows["shared"].append(r2(best_scale(sh.predictable[:, j].astype(np.float64), y[:, j]), y[:, j]))
            if label in cepnem:
                c = cepnem_predict(cepnem[label], states[u], channels[u])
                rows["cepnem"].append(r2(c, y[:, j]))
                rows["cepnem_rescaled"].append(r2(c * np.sqrt(cepnem[label][2] / c.var()), y[:, j]))
                rows["cepnem_scaled"].append(r2(best_scale(c, y[:, j]), y[:, j]))
            else:  # never seen in training: the identity mean, R² 0
                for key in ("cepnem", "cepnem_rescaled", "cepnem_scaled"):
                    rows[key].append(0.0)
            for kind in ("drive", "features"):
                if (kind, label) not in gram:
                    rows[kind].append(0.0)  # never seen in training: the identity mean, R² 0
                    continue
                g, b = gram[(kind, label)]
                w = np.linalg.solve(g + RIDGE * np.eye(len(b)), b)
                rows[kind].append(r2(design(u, j, kind) @ w, y[:, j]))

    ceiling = np.mean(rows["ceiling"])
    names = {
        "ceiling": "noise ceiling (this animal's own predictable part)",
        "states": "1. states from visible neurons (Wiener), true encodings",
        "shared": "2. shared encodings, true states, best scale",
        "drive": "3. pooled regression: true states + shared drive",
        "features": "4. pooled regression: true states + behavior features",
        "inferred_scaled": "5. shared encodings, states inferred, best scale",
        "inferred": "5'. the same without the scale",
        "cepnem": "6. pooled CePNEM-like regression, true states",
        "cepnem_rescaled": "6'. the same, rescaled to its identity's usual spread",
        "cepnem_scaled": "6\". the same, best scale (shape only)",
        "no_noise_share": "7. ceiling without the neuron's noise share",
    }
    print(f"{args.animals} simulated animals (seed {args.seed}{', no per-animal variability' if args.no_variability else ''}), {len(train)} train, {len(test)} held out; "
          f"{len(rows['ceiling'])} hidden neurons; {time.perf_counter() - t0:.0f} s")
    print(f"{'oracle':58s} {'R²':>7s} {'/ ceiling':>10s}")
    for key, label in names.items():
        print(f"{label:58s} {np.mean(rows[key]):7.3f} {np.mean(rows[key]) / ceiling:10.3f}")


if __name__ == "__main__":
    main()
