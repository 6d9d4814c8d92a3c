"""`import_h5`: the seed's entry point for reading recordings."""

from __future__ import annotations

import os

from .errors import FormatError
from .identity import Vocabulary
from .io import is_cohort_file, read_cohort
from .recording import Recording

__all__ = ["import_h5"]


def import_h5(path: str | os.PathLike) -> tuple[dict[str, Recording], Vocabulary]:
    """Read recordings and their identity vocabulary.

    Parameters
    ----------
    path : path
        A cohort HDF5 file (format 4).

    Returns
    -------
    datasets : dict uid -> Recording
    labels : Vocabulary
        Identity names, index 0 = unknown; ``len(labels)`` is the model's ``n_identities``.
    """
    if not is_cohort_file(path):
        raise FormatError("not a cohort HDF5 file (format 4)", path=str(path))
    datasets, vocabulary, divisors = read_cohort(path)
    for rec in datasets.values():
        rec.meta.setdefault("behavior_divisor", divisors)
        rec.vocabulary = vocabulary
    return datasets, vocabulary
