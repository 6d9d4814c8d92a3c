"""``ceneurovae simulate``: write a simulated cohort and its ground truth to a folder.

Writes ``DIR/cohort.h5`` (the cohort file, format 4) and ``DIR/truth.h5`` (ground truth,
see `ceneurovae.simulate.save_truth`), then prints a short summary. ``--formats`` adds the
other layouts real data come in, each in its own folder, so that any reader can be tried on
data with a known answer:

- ``flavell``: ``DIR/flavell/<uid>-data.h5`` (format 1) and ``DIR/flavell/neuropal_labels.json``;
- ``wormwideweb``: ``DIR/wormwideweb/<uid>.json`` (format 2, WormWideWeb JSON version 1);
- ``wormwideweb2``: ``DIR/wormwideweb2/<uid>.json`` (format 3, version 2).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", required=True, metavar="DIR",
                        help="folder to write cohort.h5 and truth.h5 into (created if missing)")
    parser.add_argument("--animals", type=int, default=40, help="number of animals (default: 40)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed; the same seed gives the same cohort (default: 0)")
    parser.add_argument("--frames", type=int, default=None,
                        help="recorded frames per animal (default: 1600, as in Atanas & Kim 2023)")
    parser.add_argument("--formats", nargs="+", default=["cohort"], choices=FORMATS,
                        help="layouts to write besides truth.h5 (default: cohort; nwb needs pynwb)")
    parser.add_argument("--stimuli", type=int, default=0, metavar="K",
                        help="K stimuli with a known response (SimConfig.n_stimuli; default: 0, none): "
                             "channels stimulus:stim1..stimK")
    parser.set_defaults(func=run)


FORMATS = ("cohort", "flavell", "wormwideweb", "wormwideweb2", "nwb")


def run(args: argparse.Namespace) -> int:
    from ..io import write_cohort, write_flavell, write_label_file, write_nwb, write_wormwideweb
    from ..io.nwb import require_pynwb
    from ..simulation import SimConfig, save_truth, simulate_cohort

    if args.animals < 1:
        raise ConfigError(f"--animals must be at least 1, got {args.animals}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {args.seed}")
    if "nwb" in args.formats:
        require_pynwb("--formats nwb")  # before any work
    settings = {} if args.frames is None else {"n_frames": args.frames}
    if args.stimuli:
        settings["n_stimuli"] = args.stimuli
    config = SimConfig.from_dict(settings)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out} exists and is not a folder; give a folder path")
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    cohort = simulate_cohort(n_animals=args.animals, seed=args.seed, config=config)
    simulated = time.perf_counter() - start
    written = []
    if "cohort" in args.formats:
        write_cohort(out / "cohort.h5", cohort.datasets, cohort.vocabulary)
        written.append(out / "cohort.h5")
    if "flavell" in args.formats:
        for rec in cohort.datasets.values():
            write_flavell(out / "flavell", rec)
        write_label_file(out / "flavell" / "neuropal_labels.json", cohort.datasets)
        written.append(out / "flavell")
    for fmt, version in (("wormwideweb", 1), ("wormwideweb2", 2)):
        if fmt in args.formats:
            (out / fmt).mkdir(exist_ok=True)
            for rec in cohort.datasets.values():
                write_wormwideweb(out / fmt / f"{rec.uid}.json", rec, version=version)
            written.append(out / fmt)
    if "nwb" in args.formats:
        for rec in cohort.datasets.values():
            write_nwb(out / "nwb" / f"sub-{rec.uid}.nwb", rec)
        written.append(out / "nwb")
    save_truth(out / "truth.h5", cohort.truth, config)
    total = time.perf_counter() - start

    recs = list(cohort.datasets.values())
    neurons = np.array([r.n_neurons for r in recs])
    labeled = np.array([r.n_labeled for r in recs])
    dts = np.array([r.dt for r in recs])
    print(f"simulated {len(recs)} animals (seed {args.seed}) in {simulated:.1f} s; "
          f"written in {total:.1f} s")
    print(f"  frames   {config.n_frames} per animal, dt {dts.mean():.3f} s "
          f"({dts.min():.3f}-{dts.max():.3f})")
    print(f"  neurons  {neurons.min()}-{neurons.max()} per animal (median {np.median(neurons):.0f})")
    print(f"  labeled  {labeled.min()}-{labeled.max()} per animal (mean {labeled.mean():.1f}), "
          f"{len(cohort.vocabulary) - 1} identities")
    for path in written:
        print(f"  data     {path}")
    print(f"  truth    {out / 'truth.h5'}")
    return 0
