"""Time `import_h5` on a 40-animal cohort written in each supported format.

Writes a synthetic cohort (40 animals, ~1600 frames, ~140 neurons, ~88 labeled each; plain
numpy arrays, no simulator) as format 1 (<uid>-data.h5 + a label file), format 2 (WormWideWeb
v1 JSON), format 3 (WormWideWeb v2 JSON), format 4 (one cohort HDF5) and format 5 (NWB in
the Atanas & Kim 2023 layout, one file per animal), then reads each back with `import_h5`
and prints a table. Target: under 5 s for formats 1, 4 and 5.

Each NWB file declares a raw imaging volume in ``/acquisition`` the size of an Atanas file's
(25 GB, chunked and never written, so the files stay small); one more NWB file holds a volume
of ``--volume-gb`` GiB actually written to disk. The reader must never touch either: its
time and memory must not grow with the volume. Peak memory is measured in a fresh process
per format (peak resident set, so it includes Python and the package, ~300 MiB).

    python benchmarks/read_formats.py [--animals 40] [--repeats 3] [--volume-gb 4] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import h5py
import numpy as np

from ceneurovae import Recording
from ceneurovae.evaluation.timing import child_env
from ceneurovae.identity import atlas
from ceneurovae.import_data import import_h5
from ceneurovae.io import (
    write_cohort,
    write_flavell,
    write_label_file,
    write_nwb,
    write_wormwideweb,
)

VOLUME = "acquisition/CalciumImageSeries/data"
ATANAS_VOLUME = (1600, 3, 1024, 650, 6)
"""(T, channels, x, y, z) uint16 at 2 bytes: about 25 GB, the size of an Atanas & Kim NWB volume."""

BEHAVIORS = ["velocity", "head_curvature", "pumping", "angular_velocity", "body_curvature"]


def synthetic_cohort(n_animals: int, seed: int = 0) -> dict[str, Recording]:
    rng = np.random.default_rng(seed)
    names = list(atlas().names)
    recs = {}
    for k in range(n_animals):
        uid = f"2030-01-{k // 10 + 1:02d}-{k % 10 + 1:02d}"
        T = int(rng.integers(1544, 1616))
        N = int(rng.integers(120, 161))
        x = rng.normal(size=(T, N))
        x = ((x - x.mean(0)) / x.std(0, ddof=1)).astype(np.float32)  # z-scored, as trace_array is
        b = rng.normal(size=(T, len(BEHAVIORS))) * [0.06, 0.5, 1.3, 0.2, 0.3]
        ts = np.arange(T) * 0.6 + rng.uniform(-0.02, 0.02, T)
        ts[T // 2:] += 15.0  # two halves joined
        labeled = rng.choice(N, size=min(88, N), replace=False)
        labels = [""] * N
        for i, name in zip(labeled, rng.choice(names, size=labeled.size, replace=False)):
            labels[i] = str(name)
        conf = [float(rng.uniform(1, 5)) if lab else None for lab in labels]
        recs[uid] = Recording(uid=uid, traces=x, behavior=b, behavior_names=BEHAVIORS, timestamps=ts,
                              labels=labels, events={"reversals": [[10, 20], [400, 415]]},
                              meta={"label_confidence": conf})
    return recs


def write_all(recs: dict[str, Recording], root: Path) -> dict[str, Path]:
    paths = {"1": root / "format1", "2": root / "format2", "3": root / "format3", "4": root / "cohort.h5"}
    for rec in recs.values():
        write_flavell(paths["1"], rec)
        write_wormwideweb(paths["2"], rec, version=1)
        write_wormwideweb(paths["3"], rec, version=2)
    write_label_file(paths["1"] / "neuropal_labels.json", recs)
    datasets, vocab = import_h5(paths["1"], behaviors=BEHAVIORS[:3], head_angle_pos_is_ventral=dict.fromkeys(recs, False))
    write_cohort(paths["4"], datasets, vocab)
    paths["5"] = root / "format5"
    for rec in datasets.values():
        path = write_nwb(paths["5"] / f"sub-{rec.uid}.nwb", rec)
        with h5py.File(path, "a") as f:  # declared, never written: the file stays small
            f.create_dataset(VOLUME, shape=ATANAS_VOLUME, dtype="u2", chunks=(1, 1, 256, 650, 6))
    return paths


def write_big_volume(rec: Recording, root: Path, gib: float) -> Path:
    """One NWB file whose /acquisition volume holds `gib` GiB written to disk."""
    path = Path(write_nwb(root / "big" / f"sub-{rec.uid}.nwb", rec))
    frame = np.random.default_rng(0).integers(0, 4096, size=(1, 3, 256, 650, 6), dtype=np.uint16)
    n = max(1, int(gib * 2**30 // frame.nbytes))
    with h5py.File(path, "a") as f:
        ds = f.create_dataset(VOLUME, shape=(n, 3, 256, 650, 6), dtype="u2", chunks=frame.shape)
        for t in range(n):
            ds[t] = frame[0]
    return path


CHILD = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from ceneurovae import import_h5
t = time.perf_counter()
datasets, _ = import_h5(sys.argv[1], missing_behavior="mask")
print(json.dumps({"seconds": time.perf_counter() - t, "animals": len(datasets),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def in_child(path: Path) -> dict:
    """Read `path` in a fresh process: its read time and peak resident memory."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                         env=child_env(), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--animals", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--volume-gb", type=float, default=4.0, help="GiB of raw volume in the big NWB file")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="ceneurovae-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        recs = synthetic_cohort(args.animals)
        paths = write_all(recs, root)
        print(f"wrote {args.animals} animals in 5 formats in {time.perf_counter() - t0:.1f} s under {root}")
        t0 = time.perf_counter()
        big = write_big_volume(next(iter(recs.values())), root, args.volume_gb)
        print(f"wrote one NWB file with a {size_of(big) / 2**30:.1f} GiB raw volume in "
              f"{time.perf_counter() - t0:.1f} s")
        signs = dict.fromkeys(recs, False)
        rows = []
        for fmt, label in [("1", "1  <uid>-data.h5 + labels"), ("2", "2  WormWideWeb JSON v1"),
                           ("3", "3  WormWideWeb JSON v2"), ("4", "4  cohort HDF5"),
                           ("5", "5  NWB, 25 GB volume declared")]:
            times = []
            for _ in range(args.repeats):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t = time.perf_counter()
                    datasets, vocab = import_h5(paths[fmt], head_angle_pos_is_ventral=signs)
                    times.append(time.perf_counter() - t)
            assert len(datasets) == args.animals
            labeled = sum(r.n_labeled for r in datasets.values())
            child = in_child(paths[fmt])
            rows.append((label, size_of(paths[fmt]) / 2**20, times[0], min(times), child["peak_mib"], labeled,
                         len(vocab) - 1))
        child = in_child(big)
        rows.append((f"5  NWB, one file, {args.volume_gb:g} GiB volume", size_of(big) / 2**20, child["seconds"],
                     child["seconds"], child["peak_mib"], datasets[next(iter(datasets))].n_labeled, 0))
        print(f"\n{'format':34s} {'size (MiB)':>10s} {'first (s)':>10s} {'best (s)':>9s} {'peak (MiB)':>10s} "
              f"{'labeled':>8s} {'ids':>5s}")
        for label, mib, first, best, peak, labeled, ids in rows:
            print(f"{label:34s} {mib:10.1f} {first:10.2f} {best:9.2f} {peak:10.0f} {labeled:8d} {ids:5d}")
        print("(the last row is one file read once in a fresh process; peak = the process's peak resident set)")
    finally:
        if args.keep is None:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
