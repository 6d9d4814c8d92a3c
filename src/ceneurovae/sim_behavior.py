"""Behavior of simulated worms, and the signal tools the simulator is built from.

The equations are in the docstring of `ceneurovae.simulate`; `simulate_behavior` is the
behavior half of that model. Series are (T,) or (T, M) float64 arrays on a regular grid of
frames; timescales are given in frames unless a name ends in ``_s``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .simulate import SimConfig

__all__ = ["simulate_behavior"]


# -- signal tools ----------------------------------------------------------------------------

def fft_size(n: int) -> int:
    """The smallest 2**a * 3**b >= n (FFTs of such lengths are fast)."""
    best = 1 << int(np.ceil(np.log2(n)))
    p3 = 1
    while p3 < best:
        best = min(best, p3 << max(0, int(np.ceil(np.log2(n / p3)))))
        p3 *= 3
    return best


def causal_filter(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``y[t] = sum_j kernel[j] x[t - j]`` with zeros before the start; x (T, M), kernel (L,) or (L, M)."""
    n, length = x.shape[0], kernel.shape[0]
    kernel = kernel[:, None] if kernel.ndim == 1 else kernel
    if length <= 32:  # short kernels: a direct sum of shifted copies beats the FFT
        y = kernel[0] * x
        for j in range(1, min(length, n)):
            y[j:] += kernel[j] * x[:-j]
        return y
    nfft = fft_size(n + length - 1)
    # FFTs along contiguous rows (channels x time) run about twice as fast.
    spec = np.fft.rfft(np.ascontiguousarray(x.T), nfft) * np.fft.rfft(np.ascontiguousarray(kernel.T), nfft)
    return np.fft.irfft(spec, nfft)[:, :n].T


def exp_kernels(tau_frames: np.ndarray, length: int, unit: str) -> np.ndarray:
    """Exponential kernels (length, M); ``unit="gain"``: each sums to 1, ``"power"``: squares sum to 1."""
    k = np.exp(-np.arange(length)[:, None] / np.asarray(tau_frames, dtype=np.float64)[None, :])
    return k / (k.sum(0) if unit == "gain" else np.sqrt((k * k).sum(0)))


def ema(x: np.ndarray, tau_frames: float) -> np.ndarray:
    """Exponential moving average (unit gain) of a 1-D series."""
    length = max(2, int(np.ceil(6 * tau_frames)))
    return causal_filter(x[:, None], exp_kernels(np.array([tau_frames]), length, "gain"))[:, 0]


def ou(rng: np.random.Generator, n: int, tau_frames) -> np.ndarray:
    """Stationary unit-variance Ornstein-Uhlenbeck processes, (n, M), one per timescale (frames)."""
    tau = np.atleast_1d(np.asarray(tau_frames, dtype=np.float64))
    length = int(np.ceil(6 * tau.max())) + 1
    white = rng.standard_normal((n + length, tau.size))
    return causal_filter(white, exp_kernels(tau, length, "power"))[length:]


def smooth_ou(rng: np.random.Generator, n: int, tau_frames: np.ndarray) -> np.ndarray:
    """OU processes smoothed once more by an EMA of a third of their timescale: slow and smooth."""
    length = int(np.ceil(2 * np.max(tau_frames)))
    rough = ou(rng, n + length, tau_frames)
    return causal_filter(rough, exp_kernels(np.asarray(tau_frames) / 3, length, "gain"))[length:]


def standardize(x: np.ndarray) -> np.ndarray:
    """Each column to mean 0, variance 1 (columns without variance stay 0)."""
    x = x - x.mean(0)
    sd = x.std(0)
    return x / np.where(sd > 1e-12, sd, 1.0)


def alternating(rng: np.random.Generator, n: int, p_first: float, mean_on, mean_off) -> np.ndarray:
    """A 0/1 series of n frames alternating with exponential durations (frames).

    `mean_on` / `mean_off` are callables of the start frame, so that durations can depend on
    another state at the time a segment starts.
    """
    out = np.zeros(n, dtype=bool)
    i, on = 0, bool(rng.random() < p_first)
    while i < n:
        mean = mean_on(i) if on else mean_off(i)
        d = max(1, int(round(rng.exponential(mean))))
        out[i:i + d] = on
        i, on = i + d, not on
    return out


def runs(flag: np.ndarray) -> list[list[int]]:
    """Half-open [start, stop) frame ranges where a boolean series is True."""
    d = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return [[int(a), int(b)] for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


# -- behavior --------------------------------------------------------------------------------

def simulate_behavior(rng: np.random.Generator, n: int, dt: float, config: SimConfig) -> dict[str, np.ndarray]:
    """Simulate n consecutive frames of behavior (equations in the module docstring).

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
        per_min = c.reversals_per_min_roaming if roaming[min(i, n - 1)] else c.reversals_per_min_dwelling
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
    """Pumping rate in bouts (longer while dwelling), lower while roaming and during reversals; pumps/s."""
    fps = 1.0 / dt
    bout = alternating(rng, n, 0.8, lambda i: (50.0 if roaming[i] else 120.0) * fps,
                        lambda i: c.pumping_off_s * fps)
    level = c.pumping_rate + rng.normal(0, 0.3) - 0.5 * roaming + 0.35 * ou(rng, n, 15 * fps)[:, 0]
    rate = np.where(bout, level, 0.2 + 0.2 * rng.random(n))
    rate = rate * (1.0 - 0.6 * ema(reversal.astype(float), 2 * fps))
    return np.maximum(ema(rate, 2 * fps), 0.0)
