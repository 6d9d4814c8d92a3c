"""Resampling recordings to a common time step, mask-aware.

A model sees frames, not seconds: recordings taken at 0.6 s and 0.74 s per frame must be
brought to one step before they share a model. Values are interpolated linearly in time
within each contiguous piece of a recording (never across the join of two halves); a new
frame is observed only where the frames it is interpolated from are observed. Event frames
are moved to the new frame nearest in time. Stimulus channels (``stimulus:<name>``) are not
interpolated: each new frame takes the value of the old frame nearest in time, and every old
frame where a stimulus is on marks its nearest new frame, so that a one-frame pulse is
neither halved nor lost.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ConfigError
from ..recording import Recording, is_stimulus, split_segments
from .validate import time_step, warn

__all__ = ["time_step", "resample", "common_time_step", "resample_to_common"]

DEFAULT_TOLERANCE = 0.05
"""Relative difference of time steps below which recordings are left as they are."""


def _interp(ts: np.ndarray, x: np.ndarray, m: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of x (n, K) observed where m at times t; returns (values, mask)."""
    n = ts.size
    if n == 1:
        return np.repeat(x, t.size, axis=0), np.repeat(m, t.size, axis=0)
    i = np.clip(np.searchsorted(ts, t, side="right") - 1, 0, n - 2)
    w = np.clip((t - ts[i]) / (ts[i + 1] - ts[i]), 0.0, 1.0)[:, None]
    eps = 1e-9
    lo, hi = x[i], x[i + 1]
    mlo, mhi = m[i], m[i + 1]
    # A neighbor with zero weight does not need to be observed.
    observed = (mlo | (w >= 1 - eps)) & (mhi | (w <= eps))
    values = np.where(observed, (1 - w) * lo + w * hi, 0.0)
    return values, observed


def _nearest(ts: np.ndarray, x: np.ndarray, m: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """On/off channels x (n, K) at times t: the nearest old frame's value, raised to the value
    of every old frame whose nearest new frame it is (no pulse is lost); returns (values, mask)."""
    def nearest(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        j = np.clip(np.searchsorted(dst, src), 1, max(dst.size - 1, 1))
        if dst.size == 1:
            return np.zeros(src.size, dtype=np.int64)
        return np.where(src - dst[j - 1] <= dst[j] - src, j - 1, j)

    i = nearest(t, ts)
    values, observed = x[i].copy(), m[i].copy()
    k = nearest(ts, t)
    np.maximum.at(values, k, np.where(m, x, 0.0))
    return values, observed


def resample(rec: Recording, dt: float) -> Recording:
    """The recording on a regular grid of step `dt` seconds.

    Each contiguous piece (see `ceneurovae.recording.split_segments`) is resampled from its
    first timestamp on; the gap between pieces is kept. Traces and behaviors are
    interpolated linearly with their masks (a new value is observed only where both source
    frames around it are); point events move to the nearest new frame and [start, stop)
    intervals to the new frames they cover (at least one).

    Returns
    -------
    Recording
        With ``dt`` set, ``meta["resampled_from_dt"]`` and ``meta["frames_before_resample"]``.
    """
    if not (np.isfinite(dt) and dt > 0):
        raise ConfigError(f"dt must be a positive number of seconds, got {dt!r}")
    ts = rec.timestamps
    stim = [j for j, n in enumerate(rec.behavior_names) if is_stimulus(n)]
    new_t, xs, ms, bs, bms = [], [], [], [], []
    for a, b in split_segments(ts):
        seg_t = ts[a:b]
        n_new = int(np.floor((seg_t[-1] - seg_t[0]) / dt + 1e-9)) + 1
        t = seg_t[0] + dt * np.arange(n_new)
        x, m = _interp(seg_t, rec.traces[a:b].astype(np.float64), rec.mask[a:b], t)
        bv, bm = _interp(seg_t, rec.behavior[a:b].astype(np.float64), rec.behavior_mask[a:b], t)
        if stim:
            sv, sm = _nearest(seg_t, rec.behavior[a:b, stim].astype(np.float64), rec.behavior_mask[a:b, stim], t)
            bv[:, stim], bm[:, stim] = sv, sm
        new_t.append(t)
        xs.append(x)
        ms.append(m)
        bs.append(bv)
        bms.append(bm)
    t = np.concatenate(new_t)
    events = {k: _move_event(v, ts, t, dt) for k, v in rec.events.items()}
    meta = dict(rec.meta)
    meta["resampled_from_dt"] = rec.dt
    meta["frames_before_resample"] = rec.n_frames
    return rec.replace(
        traces=np.concatenate(xs).astype(np.float32), mask=np.concatenate(ms),
        behavior=np.concatenate(bs).astype(np.float32), behavior_mask=np.concatenate(bms),
        timestamps=t, dt=float(dt), events=events, meta=meta,
    )


def _move_event(value, old_t: np.ndarray, new_t: np.ndarray, dt: float):
    """Map event frames (ints, or [start, stop) pairs) from the old grid to the new one."""
    def nearest(frame: int) -> int:
        time = old_t[min(max(int(frame), 0), old_t.size - 1)]
        j = int(np.searchsorted(new_t, time))
        if j > 0 and (j == new_t.size or time - new_t[j - 1] <= new_t[j] - time):
            j -= 1
        return j

    if isinstance(value, (list, tuple)) and value and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        out = []
        for a, b in value:
            start = int(np.searchsorted(new_t, old_t[a] - dt / 2))
            stop = int(np.searchsorted(new_t, old_t[min(b, old_t.size) - 1] + dt / 2, side="right"))
            stop = max(stop, start + 1)
            if start < new_t.size:
                out.append([start, min(stop, new_t.size)])
        return out
    if isinstance(value, (list, tuple)):
        return [nearest(f) for f in value]
    if isinstance(value, (int, np.integer)):
        return nearest(value)
    return value


def common_time_step(datasets: Mapping[str, Recording]) -> float:
    """The time step of the median recording (lower median, so it is one recording's own)."""
    steps = sorted(r.dt for r in datasets.values())
    return float(steps[(len(steps) - 1) // 2])


def resample_to_common(
    datasets: Mapping[str, Recording],
    dt: float | str | None = "auto",
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Recording]:
    """Bring recordings to one time step, saying which were resampled.

    Parameters
    ----------
    datasets : dict uid -> Recording
    dt : "auto", float or None
        ``"auto"``: the step of the median recording (`common_time_step`); a number: that
        step (s); None: leave every recording as it is, but warn when their steps differ.
    tolerance : float
        Recordings whose step differs from the target by less than this fraction are left
        untouched (frame jitter is not worth an interpolation).
    """
    out = dict(datasets)
    if not out:
        return out
    if dt is None:
        steps = [r.dt for r in out.values()]
        if max(steps) > (1 + tolerance) * min(steps):
            warn(
                f"time steps differ between recordings ({min(steps):.4g} to {max(steps):.4g} s) and "
                "dt=None keeps them: a model will see frames of different durations; pass dt='auto' "
                "(command line: --dt auto)"
            )
        return out
    target = common_time_step(out) if dt == "auto" else float(dt)
    changed = []
    for uid, rec in out.items():
        if abs(rec.dt - target) > tolerance * target:
            changed.append(f"{uid} ({rec.dt:.4g} s, {rec.n_frames} frames)")
            out[uid] = resample(rec, target)
    if changed:
        warn(
            f"resampled {len(changed)} of {len(out)} recordings to the common time step {target:.4g} s "
            f"(linear, mask-aware; events moved to the nearest frame): {', '.join(changed)}"
        )
    return out
