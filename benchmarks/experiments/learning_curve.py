"""Experiment (not package code): imputation against the number of training animals.

::

    python benchmarks/experiments/learning_curve.py [--sizes 16 24 32 48] [--seed 0]
                                                    [--set model.latent_dim=8 ...]

The held-out animals are always those of `benchmarks/quality.py` (sim-032 ... sim-039 of the
seed's cohort; a simulated animal does not depend on the cohort's size), so the points of
the curve differ only in what the model and the baselines were trained on: the first N
animals of sim-000 ... sim-031, then sim-040, sim-041, ... For each N the default model is
trained through ``ceneurovae.fit`` (20% of the N for early stopping, as in the benchmark) and
evaluated beside factor analysis (the baseline closest to it) and the CePNEM-like ridge (for
behavior-only prediction). Prints one row per N: fit time, imputation / ceiling of both,
their margin in R² with the benchmark's 95% interval, and behavior-only R².
Run sizes in separate processes to use more cores.
"""

from __future__ import annotations

import argparse
import time

import ceneurovae
from ceneurovae.baselines import BehaviorRidge, LowRank
from ceneurovae.data import split_animals
from ceneurovae.evaluate import evaluate
from ceneurovae.evaluation.benchmark import paired_bootstrap, parse_sets
from ceneurovae.simulate import simulate_cohort

TEST = range(32, 40)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32, 48])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    overrides = parse_sets(args.set)
    extra = max(max(args.sizes) - 32, 0)
    cohort = simulate_cohort(40 + extra, seed=args.seed)
    uids = sorted(cohort.datasets)
    test_uids = [uids[i] for i in TEST]
    pool = [u for u in uids if u not in test_uids]
    test = {u: cohort.datasets[u] for u in test_uids}
    truth = {u: cohort.truth[u] for u in test_uids}
    cfg = ceneurovae.Config().with_overrides(overrides) if overrides else ceneurovae.Config()
    rows = []
    for n in args.sizes:
        train = {u: cohort.datasets[u] for u in pool[:n]}
        _, val_uids = split_animals(list(train), cfg.data.val_fraction, args.seed)
        t = time.perf_counter()
        trained = ceneurovae.fit(train, config=overrides or None, val_uids=val_uids, seed=args.seed, quiet=True)
        fit_s = time.perf_counter() - t
        ev = evaluate(trained, test, truth, train_datasets=train, seed=args.seed,
                      baselines=[BehaviorRidge(), LowRank()])
        m = ev.summary["methods"]
        diff, lo, hi = paired_bootstrap(ev, "lowrank")
        rows.append((n, len(val_uids), fit_s,
                     m["model"]["fraction_of_ceiling"]["imputation"]["fraction_mean"],
                     m["lowrank"]["fraction_of_ceiling"]["imputation"]["fraction_mean"],
                     diff, lo, hi, m["model"]["behavior_only"]["mean"], m["cepnem"]["behavior_only"]["mean"]))
        print(f"done N={n} in {fit_s:.0f} s", flush=True)
    print(f"{'train':>5} {'val':>4} {'fit s':>6} {'model/ceil':>10} {'FA/ceil':>8} "
          f"{'margin':>7} {'95% CI':>16} {'beh-only':>8} {'CePNEM':>7}")
    for n, v, s, mf, ff, d, lo, hi, mb, cb in rows:
        print(f"{n:>5} {v:>4} {s:>6.0f} {mf:>10.3f} {ff:>8.3f} {d:>+7.3f} [{lo:+.3f}, {hi:+.3f}] {mb:>8.3f} {cb:>7.3f}")


if __name__ == "__main__":
    main()
