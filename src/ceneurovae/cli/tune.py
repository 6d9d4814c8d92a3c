"""``ceneurovae tune``: hyperparameter search with Optuna (``pip install ceneurovae[tune]``).

Examples::

    ceneurovae tune --config run.yaml --data cohort.h5 --trials 20
    ceneurovae tune --config run.yaml --data sim/cohort.h5 --truth sim/truth.h5 --trials 20
    # many machines, one study: the same command on each, one shared database
    ceneurovae tune --config run.yaml --trials 10 --storage sqlite:////shared/study.db --study sweep1

The search space is the ``tune:`` section of the config file (see `ceneurovae.tune`); the
best configuration is written to ``OUT/best.yaml`` (train with ``ceneurovae train --config
OUT/best.yaml``) and every trial to ``OUT/trials.csv``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

from ..errors import ConfigError
from .options import add_read_options, check_writable, read_data, with_command_line

__all__ = ["add_parser", "run"]


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file with data/model/train sections and a tune: section (the search space)")
    parser.add_argument("--trials", type=int, required=True, help="trials to run in this process")
    parser.add_argument("--storage", help="optuna storage shared by several processes or machines, e.g. sqlite:///study.db "
                        "(default: in memory)")
    parser.add_argument("--study", default="ceneurovae", help="study name in the storage (default: ceneurovae)")
    parser.add_argument("--data", nargs="+", help="recordings to read; overrides data.path")
    parser.add_argument("--out", help="folder for best.yaml and trials.csv (default: runs/tune-<date-time>)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="override settings of every trial, e.g. train.epochs=20")
    parser.add_argument("--truth", help="ground truth of simulated data (truth.h5): hold out animals and optimize an evaluate() metric")
    parser.add_argument("--metric", choices=["val_loss", "imputation", "reconstruction", "behavior"],
                        help="objective (default: the tune section's, else val_loss; imputation with --truth)")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="animals held out for scoring with --truth (default 0.2)")
    parser.add_argument("--seed", type=int, help="seed of the sampler and of the held-out animals (default: random sampler, split seed 0)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    add_read_options(parser, from_config=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import tune
    from ..config import load_config

    tune.import_optuna()  # fail before reading any data
    if args.trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {args.trials}")
    section = tune.read_tune_section(args.config)
    if args.metric:
        section = {**(section or {}), "metric": args.metric}
    elif args.truth and "metric" not in (section or {}):
        section = {**(section or {}), "metric": "imputation"}
    settings = tune.parse_settings(section)
    base = load_config(args.config)
    base = with_command_line(base, args)
    if not base.data.path:
        raise ConfigError("no data: give --data PATH (or data.path in the config)")
    needs_truth = tune.METRICS[settings.metric][1]
    if needs_truth and not args.truth:
        raise ConfigError(f"metric {settings.metric!r} is scored against ground truth: give --truth truth.h5 "
                          "(or use metric val_loss)")
    if not 0 < args.test_fraction < 1:
        raise ConfigError(f"--test-fraction must be in (0, 1), got {args.test_fraction}")
    out = args.out or os.path.join("runs", time.strftime("tune-%Y%m%d-%H%M%S"))
    check_writable(out)

    datasets = read_data(base.data.path, base.read)
    truth, test_uids = None, None
    if needs_truth:
        from ..data import split_animals
        from ..simulation import load_truth

        truth = load_truth(args.truth)
        missing = sorted(set(datasets) - set(truth))
        if missing:
            raise ConfigError(f"--truth {args.truth} has no ground truth for {missing[:5]} ({len(missing)} animals)")
        _, test_uids = split_animals(list(datasets), args.test_fraction, args.seed or 0)
    space = ", ".join(p.key for p in settings.space)
    print(f"study {args.study!r} ({args.storage or 'in memory'}): {args.trials} trials, {settings.metric} "
          f"({settings.direction}), searching {space}")
    if test_uids:
        print(f"held out for scoring: {len(test_uids)} of {len(datasets)} animals ({', '.join(test_uids)})")
    sys.stdout.flush()

    study = tune.run_study(datasets, base, settings, trials=args.trials, storage=args.storage,
                           study_name=args.study, truth=truth, test_uids=test_uids, seed=args.seed,
                           device=args.device, log=lambda line: print(line, flush=True))
    tune.write_trials(study, os.path.join(out, "trials.csv"))
    best = tune.best_config(study, base)
    path = os.path.join(out, "best.yaml")
    best.to_yaml(path)
    states = Counter(t.state.name.lower() for t in study.trials)
    print(f"\n{len(study.trials)} trials in the study ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))}); "
          f"best: trial {study.best_trial.number}, {settings.metric} {study.best_value:.4f}")
    for k, v in study.best_trial.params.items():
        print(f"  {k}: {v}")
    print(f"\n# {path}")
    sys.stdout.write(best.to_yaml())
    return 0
