"""Small helpers shared across the package."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["jsonable"]


def jsonable(x):
    """`x` with NaN/inf as None and numpy values as Python ones, recursively (JSON has no NaN)."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x
