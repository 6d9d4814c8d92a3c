"""Synthetic recordings with a known answer, for the io tests (no simulator needed)."""

from __future__ import annotations

import numpy as np

from ceneurovae import Recording

BEHAVIORS = ["velocity", "head_curvature", "pumping", "angular_velocity", "body_curvature"]
LABELS = ["AVAL", "AVAR", "RMDD?", "VB2", "", "SMDDL", "RIS", "", "ASEL", "", "IL2L", ""]
CONFIDENCE = [5.0, 4.0, 3.0, 3.5, None, 1.0, 4.5, None, 2.5, None, 4.0, None]


def make_recording(uid: str = "2021-01-01-01", *, T: int = 120, N: int = 12, dt: float = 0.6,
                   seed: int = 0, behaviors=BEHAVIORS, gap: bool = True, labels=True) -> Recording:
    """A recording in two halves (one long step between them), with events and labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, N))
    x = (x - x.mean(0)) / x.std(0, ddof=1)
    scale = {"velocity": 0.06, "head_curvature": 0.5, "pumping": 1.3, "angular_velocity": 0.2,
             "body_curvature": 0.3}
    b = np.stack([rng.normal(size=T) * scale.get(n, 1.0) for n in behaviors], axis=1)
    ts = 1000.0 + np.arange(T) * dt + rng.uniform(-0.02, 0.02, size=T)
    if gap:
        ts[T // 2:] += 20 * dt
    lab = (LABELS * (N // len(LABELS) + 1))[:N] if labels else [""] * N
    conf = (CONFIDENCE * (N // len(CONFIDENCE) + 1))[:N] if labels else [None] * N
    if N > len(LABELS):  # keep names unique per animal
        lab = LABELS + [""] * (N - len(LABELS))
        conf = CONFIDENCE + [None] * (N - len(CONFIDENCE))
    return Recording(
        uid=uid, traces=x, behavior=b, behavior_names=list(behaviors), timestamps=ts,
        labels=lab, events={"reversals": [[0, 4], [10, 15], [T - 3, T]], "heat": [T // 3]},
        meta={"label_confidence": conf},
    )


def real_data_folder():
    """``shared/data/real`` beside the checkout (or beside its parent, for worktrees), else None."""
    import os
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    candidates = [os.environ.get("CENEUROVAE_REAL_DATA", ""), repo.parent / "shared/data/real",
                  repo.parent.parent / "shared/data/real"]
    for c in candidates:
        if c and Path(c).is_dir() and any(Path(c).glob("*-data.h5")):
            return Path(c)
    return None
