"""The summary table printed by ``ceneurovae convert`` and ``ceneurovae info``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..recording import Recording

__all__ = ["summary_rows", "format_summary"]

_COLUMNS = ("animal", "format", "frames", "neurons", "labeled", "behaviors", "dt (s)")


def summary_rows(datasets: Mapping[str, Recording]) -> list[dict]:
    """One dict per recording: animal, format, frames, neurons, labeled, behaviors, dt (s).

    A behavior never observed in a recording is shown as ``name(missing)``.
    """
    rows = []
    for uid, rec in datasets.items():
        behaviors = [
            n if rec.behavior_mask[:, j].any() else f"{n}(missing)" for j, n in enumerate(rec.behavior_names)
        ]
        rows.append({
            "animal": uid,
            "format": str(rec.meta.get("format", "")),
            "frames": rec.n_frames,
            "neurons": rec.n_neurons,
            "labeled": rec.n_labeled,
            "behaviors": ",".join(behaviors),
            "dt (s)": f"{rec.dt:.3f}",
        })
    return rows


def format_summary(datasets: Mapping[str, Recording], vocabulary_size: int | None = None) -> str:
    """A plain-text table of `summary_rows` with a totals line.

    Parameters
    ----------
    datasets : dict uid -> Recording
    vocabulary_size : int, optional
        Identities in the vocabulary (including unknown), shown in the totals line.
    """
    rows = summary_rows(datasets)
    table = [list(_COLUMNS)] + [[str(r[c]) for c in _COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    numeric = {"frames", "neurons", "labeled", "dt (s)"}

    def fmt(line):
        return "  ".join(
            cell.rjust(w) if _COLUMNS[i] in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))
        ).rstrip()

    out = [fmt(table[0]), "  ".join("-" * w for w in widths)]
    out += [fmt(line) for line in table[1:]]
    if rows:
        recs = list(datasets.values())
        frames = sum(r.n_frames for r in recs)
        neurons = [r.n_neurons for r in recs]
        labeled = [r.n_labeled for r in recs]
        dts = sorted({round(r.dt, 3) for r in recs})
        total = (
            f"{len(recs)} animals, {frames} frames, neurons {min(neurons)}-{max(neurons)} "
            f"(median {int(np.median(neurons))}), labeled {min(labeled)}-{max(labeled)}, "
            f"time step {'/'.join(f'{d:g}' for d in dts)} s"
        )
        if vocabulary_size is not None:
            total += f", {vocabulary_size - 1} identities + unknown"
        out.append(total)
    return "\n".join(out)
