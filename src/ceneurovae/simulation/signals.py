"""Signal tools of the simulator: causal filters, Ornstein-Uhlenbeck processes, on/off series.

Series are (T,) or (T, M) float64 arrays on a regular grid of frames; timescales are in
frames.
"""

from __future__ import annotations

import numpy as np

__all__ = ["alternating", "causal_filter", "ema", "exp_kernels", "fft_size", "ou", "runs",
           "smooth_ou", "standardize"]


def fft_size(n: int) -> int:
    """The smallest 2**a * 3**b >= n (FFTs of such lengths are fast)."""
    best = 1 << int(np.ceil(np.log2(n)))
    p3 = 1
    while p3 < best:
        best = min(best, p3 << max(0, int(np.ceil(np.log2(n / p3)))))
        p3 *= 3
    return best


def causal_filter(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``y[t] = sum_j kernel[j] x[t - j]``, zeros before the start; x (T, M), kernel (L,) or (L, M)."""
    n, length = x.shape[0], kernel.shape[0]
    kernel = kernel[:, None] if kernel.ndim == 1 else kernel
    if length <= 32:  # short kernels: a direct sum of shifted copies beats the FFT
        y = kernel[0] * x
        for j in range(1, min(length, n)):
            y[j:] += kernel[j] * x[:-j]
        return y
    nfft = fft_size(n + length - 1)
    # FFTs along contiguous rows (channels x time) run about twice as fast.
    spec = np.fft.rfft(np.ascontiguousarray(x.T), nfft)
    spec *= np.fft.rfft(np.ascontiguousarray(kernel.T), nfft)
    return np.fft.irfft(spec, nfft)[:, :n].T


def exp_kernels(tau_frames: np.ndarray, length: int, unit: str) -> np.ndarray:
    """Exponential kernels (length, M); ``unit="gain"``: each sums to 1; ``"power"``: squares do."""
    k = np.exp(-np.arange(length)[:, None] / np.asarray(tau_frames, dtype=np.float64)[None, :])
    return k / (k.sum(0) if unit == "gain" else np.sqrt((k * k).sum(0)))


def ema(x: np.ndarray, tau_frames: float) -> np.ndarray:
    """Exponential moving average (unit gain) of a 1-D series."""
    length = max(2, int(np.ceil(6 * tau_frames)))
    return causal_filter(x[:, None], exp_kernels(np.array([tau_frames]), length, "gain"))[:, 0]


def ou(rng: np.random.Generator, n: int, tau_frames, return_kernels: bool = False):
    """Stationary unit-variance Ornstein-Uhlenbeck processes, (n, M), one per timescale (frames).

    With `return_kernels`, also the M kernels that shape white noise into them.
    """
    tau = np.atleast_1d(np.asarray(tau_frames, dtype=np.float64))
    length = int(np.ceil(6 * tau.max())) + 1
    kernels = exp_kernels(tau, length, "power")
    white = rng.standard_normal((n + length, tau.size))
    out = causal_filter(white, kernels)[length:]
    return (out, list(kernels.T)) if return_kernels else out


def smooth_ou(rng: np.random.Generator, n: int, tau_frames: np.ndarray, return_kernels: bool = False):
    """OU processes smoothed once more by an EMA of a third of their timescale: slow and smooth.

    With `return_kernels`, also, per process, the kernels that shape white noise into it.
    """
    length = int(np.ceil(2 * np.max(tau_frames)))
    rough, ou_kernels = ou(rng, n + length, tau_frames, return_kernels=True)
    smoothing = exp_kernels(np.asarray(tau_frames) / 3, length, "gain")
    out = causal_filter(rough, smoothing)[length:]
    if not return_kernels:
        return out
    return out, [(k, smoothing[:, i]) for i, k in enumerate(ou_kernels)]


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
    return [[int(a), int(b)] for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True)]

