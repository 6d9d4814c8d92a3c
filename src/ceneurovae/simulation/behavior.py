"""The behavior generator: velocity, head curvature and pumping of one animal.

The equations are in the docstring of `ceneurovae.simulation`.
"""

from __future__ import annotations

import numpy as np

from ..io import DEFAULT_BEHAVIORS as BEHAVIORS
from .config import SimConfig
from .signals import alternating, causal_filter, ema, ou, standardize

__all__ = ["BEHAVIORS", "simulate_behavior"]

# BEHAVIORS: the behavior columns of simulated recordings, in physical units
# (velocity mm/s, head curvature rad, pumping pumps/s): the package's default behaviors.


def simulate_behavior(rng: np.random.Generator, n: int, dt: float,
                      config: SimConfig) -> dict[str, np.ndarray]:
    """Simulate n consecutive frames of behavior (equations in `ceneurovae.simulation`).

    Returns
    -------
    dict of (n,) arrays
        ``velocity`` (mm/s), ``head_curvature`` (rad), ``pumping`` (pumps/s),
        ``reversal`` (bool) and ``roaming`` (bool).
    """
    c = config
    fps = 1.0 / dt
    # Per-animal temperament: real animals differ in how fast they move and how often they reverse.
    speed_gain = np.exp(rng.normal(0, 0.2))
    rate_gain = np.exp(rng.normal(0, 0.3))
    p_roam = c.roaming_s / (c.roaming_s + c.dwelling_s)
    roaming = alternating(rng, n, p_roam, lambda i: c.roaming_s * fps, lambda i: c.dwelling_s * fps)

    reversal, amplitude = _reversals(rng, n, dt, roaming, rate_gain, c)
    level = np.where(roaming, c.speed_roaming, c.speed_dwelling) * speed_gain
    level = ema(level, 10 * fps)
    # Speed fluctuates in proportion to its level: a dwelling worm creeps steadily.
    wobble = c.speed_fluctuation * level / max(c.speed_roaming, 1e-9) * ou(rng, n, 5 * fps)[:, 0]
    speed = np.maximum(level + wobble, 0.0)
    # After a reversal the worm turns and only slowly regains speed.
    idx = np.arange(n)
    since = idx - np.maximum.accumulate(np.where(reversal, idx, -10**9))
    recovery = 1.0 - np.exp(-since * dt / 2.0)
    raw = np.where(reversal, -amplitude, speed * recovery)
    velocity = ema(raw, 0.5 * fps) + rng.normal(0, 0.006, n)

    head = _head_curvature(rng, n, dt, velocity, c)
    pumping = _pumping(rng, n, dt, roaming, reversal, c)
    return {"velocity": velocity, "head_curvature": head, "pumping": pumping,
            "reversal": reversal, "roaming": roaming}


def _reversals(rng, n, dt, roaming, rate_gain, c: SimConfig):
    """Reversal indicator (n,) bool and the backward speed (n,) of the reversal each frame is in."""
    reversal = np.zeros(n, dtype=bool)
    amplitude = np.zeros(n)
    i = 0
    while True:
        roam = roaming[min(i, n - 1)]
        per_min = c.reversals_per_min_roaming if roam else c.reversals_per_min_dwelling
        rate = max(per_min * rate_gain, 1e-9) / 60.0  # per second
        # At least 2 s of forward movement between reversals.
        start = i + int(round((2.0 + rng.exponential(1.0 / rate)) / dt))
        if start >= n:
            return reversal, amplitude
        length = max(2, int(round(c.reversal_s * np.exp(rng.normal(0, 0.4)) / dt)))
        reversal[start:start + length] = True
        amplitude[start:start + length] = min(c.reversal_speed * np.exp(rng.normal(0, 0.35)), 0.28)
        i = start + length


def _head_curvature(rng, n, dt, velocity, c: SimConfig) -> np.ndarray:
    """Head swings (a damped AR(2) oscillator) larger when moving, a slow bias, and noise; rad."""
    omega = 2 * np.pi * dt / c.head_swing_period_s
    r = 0.55  # damping per frame: swings are irregular, as in the real head angle
    j = np.arange(int(np.ceil(10 / -np.log(r))))
    impulse = r**j * np.sin((j + 1) * omega) / np.sin(omega)
    swing = causal_filter(rng.standard_normal((n + j.size, 1)), impulse)[j.size:, 0]
    amp = 0.7 + 0.6 * np.minimum(np.abs(velocity) / 0.1, 1.0)
    swing = standardize((amp * swing)[:, None])[:, 0]
    bias = ou(rng, n, 20 / dt)[:, 0]
    mix = np.sqrt(0.88) * swing + 0.3 * bias + 0.2 * rng.standard_normal(n)
    return c.head_curvature_std * np.exp(rng.normal(0, 0.08)) * mix


def _pumping(rng, n, dt, roaming, reversal, c: SimConfig) -> np.ndarray:
    """Pumping in bouts (longer while dwelling), lower while roaming and in reversals; pumps/s."""
    fps = 1.0 / dt
    bout = alternating(rng, n, 0.8, lambda i: (50.0 if roaming[i] else 120.0) * fps,
                        lambda i: c.pumping_off_s * fps)
    level = c.pumping_rate + rng.normal(0, 0.3) - 0.5 * roaming + 0.35 * ou(rng, n, 15 * fps)[:, 0]
    rate = np.where(bout, level, 0.2 + 0.2 * rng.random(n))
    rate = rate * (1.0 - 0.6 * ema(reversal.astype(float), 2 * fps))
    return np.maximum(ema(rate, 2 * fps), 0.0)

