"""``ceneurovae demo``: the whole workflow on a simulated cohort, in a few minutes on a laptop.

1. simulate a cohort with known ground truth (cached, so a second demo starts at once);
2. hold out a fifth of the animals; train the default model on the rest;
3. evaluate on the held-out animals against baselines and the noise ceiling;
4. write a report (figures + HTML) into the run folder, and print where it is.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .messages import progress_printer
from .options import check_writable

__all__ = ["add_parser", "run", "cache_dir"]


def cache_dir() -> Path:
    """Where simulated cohorts are kept: ``$CENEUROVAE_CACHE`` or ``~/.cache/ceneurovae``."""
    root = os.environ.get("CENEUROVAE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ceneurovae"
    )
    return Path(root)


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="run folder (default: runs/demo-<date-time>)")
    parser.add_argument("--animals", type=int, default=40, help="animals to simulate (default: 40)")
    parser.add_argument("--frames", type=int, default=1600, help="frames per animal (default: 1600)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cohort, the split and training")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="animals held out for evaluation (default: 0.2)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="override settings, e.g. train.epochs=20")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    parser.add_argument("--no-report", action="store_true", help="skip the figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def simulated_cohort(n_animals: int, seed: int, n_frames: int):
    """The cohort (datasets, vocabulary, truth), from the cache when it was simulated before."""
    from ..io import import_h5, write_cohort
    from ..simulation import SimConfig, load_truth, save_truth, simulate_cohort

    folder = cache_dir() / f"sim-a{n_animals}-f{n_frames}-s{seed}"
    cohort_file, truth_file = folder / "cohort.h5", folder / "truth.h5"
    if cohort_file.is_file() and truth_file.is_file():
        try:
            datasets, vocabulary = import_h5(cohort_file)
            return datasets, vocabulary, load_truth(truth_file), f"cached in {folder}"
        except Exception as err:  # a damaged cache is simulated again, never trusted
            print(f"cache {folder} unreadable ({err}); simulating again")
    cohort = simulate_cohort(n_animals=n_animals, seed=seed, config=SimConfig(n_frames=n_frames))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_cohort(cohort_file, cohort.datasets, cohort.vocabulary)
        save_truth(truth_file, cohort.truth, cohort.config)
        where = f"simulated, cached in {folder}"
    except OSError as err:
        where = f"simulated (not cached: {err.strerror})"
    return cohort.datasets, cohort.vocabulary, cohort.truth, where


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..config import Config
    from ..evaluation.evaluate import evaluate

    if args.animals < 3:
        raise ConfigError(f"--animals must be at least 3 (train, validation, test), got {args.animals}")
    if not 0 < args.test_fraction < 1:
        raise ConfigError(f"--test-fraction must be in (0, 1), got {args.test_fraction}")
    cfg = Config().with_overrides(args.set) if args.set else Config()
    if args.quiet:
        cfg.train.quiet = True
    out = Path(args.out or os.path.join("runs", time.strftime("demo-%Y%m%d-%H%M%S")))
    check_writable(str(out))
    t0 = time.perf_counter()

    datasets, _, truth, where = simulated_cohort(args.animals, args.seed, args.frames)
    t_sim = time.perf_counter() - t0
    uids = sorted(datasets)
    rng = np.random.default_rng(args.seed)
    n_test = max(1, int(round(args.test_fraction * len(uids))))
    test_uids = sorted(rng.choice(uids, size=n_test, replace=False).tolist())
    train = {u: datasets[u] for u in uids if u not in test_uids}
    test = {u: datasets[u] for u in test_uids}
    print(f"cohort: {len(uids)} animals ({where}, {t_sim:.1f} s); training on {len(train)}, "
          f"{n_test} held out for evaluation")

    trained = api.fit(train, cfg, seed=args.seed, run_dir=out, device=args.device)
    t_fit = time.perf_counter() - t0 - t_sim
    n_val = len(trained.val_uids or [])
    print(f"trained in {t_fit:.0f} s ({len(trained.history)} epochs) on {len(train) - n_val} animals, "
          f"{n_val} of the {len(train)} for validation (early stopping); evaluating on {n_test} held-out animals")

    evaluation = evaluate(trained, test, {u: truth[u] for u in test_uids}, train_datasets=train, seed=args.seed)
    evaluation.to_json(out / "eval.json")
    print(evaluation.table())
    t_eval = time.perf_counter() - t0 - t_sim - t_fit

    report = None
    if not args.no_report:
        from ..report import write_report

        report = write_report(trained, test, out / "report", evaluation=evaluation, max_animals=len(test),
                              title=f"ceneurovae demo: {len(uids)} simulated animals",
                              progress=progress_printer("report"))
    total = time.perf_counter() - t0
    print(f"\ntimes: simulate {t_sim:.0f} s, train {t_fit:.0f} s, evaluate {t_eval:.0f} s, "
          f"report {total - t_sim - t_fit - t_eval:.0f} s, total {total:.0f} s")
    print(f"run folder: {out.resolve()}")
    if report:
        print(f"report:     {Path(report).resolve()}")
    return 0
