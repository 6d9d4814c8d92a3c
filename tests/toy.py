"""A small cohort with a known structure, for tests that must not depend on the simulator.

Each animal records a random subset of V identities; activity = identity loadings x
two shared slow latent states + identity weights x filtered velocity + noise.
"""

from __future__ import annotations

import numpy as np

from ceneurovae import Recording, Vocabulary


def _smooth(rng, T, tau):
    a = np.exp(-1.0 / tau)
    x = np.zeros(T)
    e = rng.normal(size=T) * np.sqrt(1 - a * a)
    for t in range(1, T):
        x[t] = a * x[t - 1] + e[t]
    return x


def toy_cohort(n_animals=6, T=300, V=20, n_per_animal=14, n_unlabeled=3, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    vocab = Vocabulary([f"N{i:02d}" for i in range(1, V + 1)])
    load = rng.normal(size=(V + 1, 2))
    wv = rng.normal(size=V + 1)
    datasets = {}
    for a in range(n_animals):
        ids = np.sort(rng.choice(np.arange(1, V + 1), size=n_per_animal, replace=False))
        states = np.stack([_smooth(rng, T, 20), _smooth(rng, T, 50)], 1)
        vel = 0.06 * _smooth(rng, T, 10)
        head = 0.5 * np.sin(np.arange(T) / 3.0) + 0.1 * rng.normal(size=T)
        pump = np.clip(1.3 * _smooth(rng, T, 30) + 1.5, 0, None)
        drive = np.convolve(vel / 0.06, np.exp(-np.arange(20) / 5.0) / 3.0)[:T]
        sig = states @ load[ids].T + np.outer(drive, wv[ids])
        unl = states @ rng.normal(size=(2, n_unlabeled))
        x = np.concatenate([sig, unl], 1) + noise * rng.normal(size=(T, n_per_animal + n_unlabeled))
        identity = np.concatenate([ids, np.zeros(n_unlabeled, dtype=int)])
        datasets[f"toy-{a:02d}"] = Recording(
            uid=f"toy-{a:02d}", traces=(x - x.mean(0)) / x.std(0),
            behavior=np.stack([vel, head, pump], 1),
            behavior_names=["velocity", "head_curvature", "pumping"],
            identity=identity, labels=[vocab[i] if i else "" for i in identity],
            timestamps=np.arange(T) * 0.6, source="toy",
        )
    return datasets, vocab
