"""The data the evaluation tests share: a small simulated cohort with ground truth and a toy
cohort with a quickly trained model, each split by animal."""

from __future__ import annotations

import ceneurovae
from ceneurovae.simulate import SimConfig, simulate_cohort
from toy import toy_cohort

FAST = {"train.epochs": 3, "model.hidden_dim": 32, "model.latent_dim": 4, "model.n_heads": 2,
        "model.behavior_history": 20, "data.window_T": 50, "data.stride": 25, "train.quiet": True}
BEHAVIORS = ["velocity", "head_curvature", "pumping"]


def simulated_split():
    """Five short simulated animals with ground truth: 3 to train on, 2 held out."""
    cohort = simulate_cohort(n_animals=5, seed=1, config=SimConfig(n_frames=300))
    uids = sorted(cohort.datasets)
    train = {u: cohort.datasets[u] for u in uids[:3]}
    test = {u: cohort.datasets[u] for u in uids[3:]}
    return cohort, train, test


def toy_split():
    """Six toy animals, a model trained on 4 of them (`FAST`), 2 held out."""
    ds, vocab = toy_cohort(n_animals=6, T=200)
    uids = sorted(ds)
    train = {u: ds[u] for u in uids[:4]}
    test = {u: ds[u] for u in uids[4:]}
    trained = ceneurovae.fit(train, config=FAST, seed=0)
    return trained, train, test, vocab
