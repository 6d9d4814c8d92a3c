"""The simulated benchmark's protocol: its cohort, its split, its statistics and its oracles.

The scripts under ``benchmarks/`` (``quality.py``, ``imputation_bound.py``, ``speed.py``,
``readout.py`` and the experiments) score models on the same simulated cohort, split the
same way; this module is that protocol, so that they share one definition of it and a user
can run it on a model of their own:

- `cohort_arguments` adds the options that choose the cohort (``--animals``, ``--test``,
  ``--seed``, ``--no-variability``) to a command line, `benchmark_cohort` simulates the
  cohort they describe (`no_variability` is the simulator without per-animal deviations)
  and `split_cohort` holds out its last animals;
- `paired_bootstrap`: the model's margin over a baseline in imputation R², with a 95%
  interval from resampling held-out animals;
- `parse_sets`: a benchmark's ``--set section.key=value`` options as config overrides;
- `filtered_states` and `filtered_behavior_features`: regressors of a simulated recording
  as they enter its traces (through the simulator's GCaMP kernel), for the oracles of
  ``benchmarks/imputation_bound.py`` and the error analysis of
  ``benchmarks/experiments/error_parts.py``.

Timing and memory measurements are `ceneurovae.evaluation.timing`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

import numpy as np

from ..config import parse_overrides
from ..data import split_animals
from ..errors import ConfigError
from ..normalize import LAB_DIVISORS
from ..simulation import SimConfig, causal_filter, gcamp_kernel, simulate_cohort
from .baselines import behavior_features

__all__ = [
    "FEATURE_TAUS_S",
    "benchmark_cohort",
    "cohort_arguments",
    "filtered_behavior_features",
    "filtered_states",
    "no_variability",
    "paired_bootstrap",
    "parse_sets",
    "split_cohort",
]

FEATURE_TAUS_S = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Time constants (s) of `filtered_behavior_features`' exponential filters."""


def parse_sets(items: Iterable[str]) -> dict:
    """A benchmark's ``--set section.key=value`` options as dotted config overrides
    (`ceneurovae.config.parse_overrides`); a malformed one ends the program with the reason."""
    try:
        return parse_overrides(items)
    except ConfigError as err:
        sys.exit(f"--set: {err}")


def no_variability() -> SimConfig:
    """The simulator's defaults without per-animal deviations of weights, time constants and
    loadings: every neuron encodes exactly what its identity's shared encoding says."""
    return SimConfig(encoding_variability=0.0, tau_variability=0.0, loading_variability=0.0)


def cohort_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose the benchmark's cohort and split, shared by the scripts that
    score on it: ``--animals``, ``--test``, ``--seed`` and ``--no-variability``."""
    p.add_argument("--animals", type=int, default=40, help="animals to simulate (default 40)")
    p.add_argument("--test", type=int, default=8, help="held-out animals (the last ones; default 8)")
    p.add_argument("--seed", type=int, default=0, help="simulator, split and evaluation seed (default 0)")
    p.add_argument("--no-variability", action="store_true",
                   help="simulate without per-animal deviations of the encodings (a diagnostic)")


def benchmark_cohort(args: argparse.Namespace):
    """The cohort that `cohort_arguments`' options describe, and its simulator settings."""
    config = no_variability() if args.no_variability else SimConfig()
    return simulate_cohort(n_animals=args.animals, seed=args.seed, config=config), config


def split_cohort(cohort, n_test: int, val_fraction: float = 0.2, seed: int = 0):
    """The benchmark's split of a simulated cohort: the last `n_test` animals are held out.

    Returns ``train, test, truth, val_uids``: dicts uid -> Recording for the training and
    held-out animals, the held-out animals' ground truth, and the training animals that
    `ceneurovae.fit` keeps for early stopping (a seeded `val_fraction` of them).
    """
    uids = sorted(cohort.datasets)
    test_uids, train_uids = uids[-n_test:], uids[:-n_test]
    train = {u: cohort.datasets[u] for u in train_uids}
    test = {u: cohort.datasets[u] for u in test_uids}
    truth = {u: cohort.truth[u] for u in test_uids}
    _, val_uids = split_animals(train_uids, val_fraction, seed)
    return train, test, truth, val_uids


def paired_bootstrap(ev, baseline: str, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean over hidden neurons of model - baseline imputation R², and a 95% interval from
    resampling the held-out animals (neurons of one animal are not independent).

    `ev` is an `ceneurovae.evaluation.Evaluation` (what is read: ``ev.neurons``' columns
    ``uid``, ``hidden``, ``model.imputation`` and ``<baseline>.imputation``). Returns
    ``(mean difference, lower, upper)``.
    """
    nb = ev.neurons
    diff = nb["model.imputation"] - nb[f"{baseline}.imputation"]
    ok = nb["hidden"] & np.isfinite(diff)
    uids = np.unique(nb["uid"][ok])
    sums = np.array([diff[ok & (nb["uid"] == u)].sum() for u in uids])
    counts = np.array([(ok & (nb["uid"] == u)).sum() for u in uids])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(uids), size=(n_boot, len(uids)))
    boot = sums[draws].sum(1) / counts[draws].sum(1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return float(diff[ok].mean()), float(lo), float(hi)


def filtered_states(rec, truth, cfg: SimConfig) -> np.ndarray:
    """The internal states as they enter the traces (through the GCaMP kernel), centered, (T, K)."""
    s = causal_filter(truth.internal_states.astype(np.float64), gcamp_kernel(cfg, rec.dt))
    return s - s.mean(0)


def filtered_behavior_features(rec, cfg: SimConfig) -> np.ndarray:
    """The CePNEM-like baseline's features (behavior and rectified velocity through causal
    exponential filters), at 0-64 s, then through the GCaMP kernel; centered, (T, 40)."""
    div = np.array([LAB_DIVISORS[name] for name in rec.behavior_names])
    x = behavior_features(rec, rec.behavior_names, FEATURE_TAUS_S)
    x = np.nan_to_num(x / np.repeat(np.r_[div, div[0], div[0]], len(FEATURE_TAUS_S)))
    f = causal_filter(x, gcamp_kernel(cfg, rec.dt))
    return f - f.mean(0)
