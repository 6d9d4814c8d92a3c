"""The real-data benchmark: leave-one-animal-out on a folder of labeled recordings.

::

    python benchmarks/real.py DIR [--labels FILE] [--animals K] [--seed 0] [--set train.epochs=20 ...]
                              [--fractions 0.2 0.5] [--bootstrap 2000] [--json OUT.json]

    python benchmarks/real.py ../shared/data/real/neuropal --labels ../shared/data/real/neuropal/neuropal_labels.json

Works on any folder that `ceneurovae.import_h5` reads (Flavell-lab HDF5 with a label file,
WormWideWeb JSON, cohort files), so a lab can point it at its own recordings. For every
animal in turn (every leave-one-animal-out split), the model is trained through the front
door (``ceneurovae.fit`` with the package defaults, plus any ``--set`` overrides) on the
other animals, and every baseline of `ceneurovae.baselines.default_baselines` is fitted on
the same animals. The test animal's labeled neurons whose identity the training animals have
are split into seeded folds of 20% (and, as a second column, 50%); each fold is withheld in
turn and predicted from the other neurons and the behavior, so every such neuron is scored
once, with a fifth (a half) of its animal's labeled neurons withheld beside it. Each
neuron's R² is computed on its own frames, in units z-scored per recording.

Scores, per split and pooled over splits: the median R² of the withheld neurons
(imputation), of every labeled neuron predicted from behavior alone (behavior-only) and of
every labeled neuron denoised (reconstruction; the baselines predict each neuron from the
others). The headline number of a method is the mean over splits of its per-split median.
A paired bootstrap over neurons (resampled within each split) gives the 95% interval of the
model's margin over the best baseline, and one sentence says who wins.

``--animals K`` keeps the first K animals (sorted by uid): a cut for quick checks. Runs are
deterministic: the same command prints the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

import ceneurovae
from ceneurovae.baselines import animal_data, default_baselines, vocabulary_identity
from ceneurovae.config import Config
from ceneurovae.data import neuron_folds
from ceneurovae.errors import CeNeuroVAEError, DataWarning
from ceneurovae.evaluate import jsonable
from ceneurovae.metrics import describe, r2_score
from ceneurovae.normalize import zscore

SAME_FRAME = ("ridge", "ridge_neurons", "lowrank")
"""Baselines that predict a frame from the same frame only (the target's reference point)."""
IMPUTATION_TARGET = 1.2
"""The model's imputation must reach this multiple of the best same-frame baseline."""


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="folder (or file) of labeled recordings")
    p.add_argument("--labels", help="label file (JSON) for recordings that carry no labels of their own")
    p.add_argument("--animals", type=int, help="use only the first K animals (sorted by uid)")
    p.add_argument("--seed", type=int, default=0, help="training, hidden-neuron and bootstrap seed (default 0)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, e.g. train.epochs=20")
    p.add_argument("--fractions", nargs="+", type=float, default=[0.2, 0.5],
                   help="shares of labeled neurons withheld (default 0.2 0.5; the first is the headline)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--json", help="write every score to this JSON file")
    return p.parse_args(argv)


def load(path: str, labels: str | None, animals: int | None) -> dict:
    """The recordings, sorted by uid; reading warnings are printed once each, short."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        datasets, _ = ceneurovae.import_h5(path, labels=labels)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    uids = sorted(datasets)
    if animals is not None:
        uids = uids[:animals]
    labeled = [u for u in uids if (datasets[u].identity > 0).any()]
    if len(labeled) < 2:
        sys.exit(f"{path}: {len(labeled)} animals with labeled neurons; leave-one-animal-out needs at least 2")
    return {u: datasets[u] for u in labeled}


def r2_of(pred: np.ndarray | None, z: np.ndarray, mask: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """R² of each column `cols` on its observed frames (NaN predictions count as the mean)."""
    if pred is None:
        return None
    return r2_score(np.nan_to_num(np.asarray(pred, dtype=np.float64)[:, cols]), z[:, cols], mask[:, cols])


def score_split(trained, train, test, fractions, seed: int) -> tuple[dict, dict]:
    """Per-neuron R² of the model and every baseline on one test animal.

    Returns ({fraction: {method: {metric: (n,) array}}}, {method: label}); the n neurons
    are the test animal's labeled neurons whose identity the training animals have.
    """
    vocab, behaviors = trained.vocabulary, trained.behavior_names
    identity = vocabulary_identity(test, vocab)
    rec = test.replace(identity=identity, vocabulary=vocab)
    z, mean, std = zscore(rec.traces, rec.mask)
    cols = np.flatnonzero(identity > 0)
    folds = {f: neuron_folds(identity, rec.uid, f, seed) for f in fractions}

    def to_z(x):
        return (np.asarray(x, dtype=np.float64) - mean) / std

    out = {f: {} for f in fractions}
    labels = {"model": "model"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        recon = r2_of(to_z(trained.reconstruct(rec)), z, rec.mask, cols)
        bonly = r2_of(to_z(trained.from_behavior(rec)), z, rec.mask, cols)
        for f in fractions:
            pred = np.full(z.shape, np.nan)
            for fold in folds[f]:
                pred[:, fold] = to_z(trained.impute(rec, hide=fold))[:, fold]
            out[f]["model"] = {"imputation": r2_of(pred, z, rec.mask, cols), "behavior_only": bonly,
                               "reconstruction": recon}
    train_data = [animal_data(r, vocab, behaviors) for r in train]
    data = animal_data(rec, vocab, behaviors)
    for f in fractions:
        for b in default_baselines():
            b.fit(train_data, vocab, hide_fraction=f, seed=seed)
            labels[b.key] = b.label
            pred = np.full(z.shape, np.nan)
            for fold in folds[f]:
                pred[:, fold] = b.impute(data, fold)[:, fold]
            out[f][b.key] = {"imputation": r2_of(pred, data.z, data.mask, cols)}
            for metric, p in (("behavior_only", b.from_behavior(data)), ("reconstruction", b.reconstruct(data))):
                if p is not None:
                    out[f][b.key][metric] = r2_of(p, data.z, data.mask, cols)
    return out, labels


def median(x) -> float:
    """Median over the finite entries (NaN when there are none)."""
    return describe(x)["median"]


def split_mean(per_split: list[dict], method: str, metric: str) -> float:
    """Mean over splits of the per-split median (NaN when a split lacks the score)."""
    vals = [median(s[method][metric]) if metric in s.get(method, {}) else np.nan for s in per_split]
    return float(np.mean(vals))


def pooled(per_split: list[dict], method: str, metric: str) -> float:
    parts = [s[method][metric] for s in per_split if metric in s.get(method, {})]
    return median(np.concatenate(parts)) if parts else float("nan")


def bootstrap_margin(per_split: list[dict], a: str, b: str, n_boot: int, seed: int) -> tuple[float, float, float]:
    """Mean over splits of median(a) - median(b) on the withheld neurons, and its 95% interval
    from a paired bootstrap over neurons (resampled within each split).

    Not `ceneurovae.evaluation.benchmark.paired_bootstrap`, which resamples held-out animals
    and compares means: here each split has one test animal, and the score is a median."""
    rng = np.random.default_rng([seed, 2718])
    pairs = []
    for s in per_split:
        x, y = s[a]["imputation"], s[b]["imputation"]
        ok = np.isfinite(x) & np.isfinite(y)
        pairs.append((x[ok], y[ok]))
    point = float(np.mean([np.median(x) - np.median(y) for x, y in pairs]))
    stats = np.zeros(n_boot)
    for i in range(n_boot):
        diffs = []
        for x, y in pairs:
            idx = rng.integers(0, len(x), len(x))
            diffs.append(np.median(x[idx]) - np.median(y[idx]))
        stats[i] = np.mean(diffs)
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return point, float(lo), float(hi)


def run(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    datasets = load(args.data, args.labels, args.animals)
    config = Config().with_overrides(args.set)
    uids = list(datasets)
    results: dict[float, list[dict]] = {f: [] for f in args.fractions}
    labels: dict[str, str] = {}
    splits = []
    for test_uid in uids:
        train = [datasets[u] for u in uids if u != test_uid]
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trained = ceneurovae.fit(train, config=Config.from_dict(config.to_dict()), seed=args.seed, quiet=True)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        scores, labels = score_split(trained, train, datasets[test_uid], args.fractions, args.seed)
        for f in args.fractions:
            results[f].append(scores[f])
        n_scored = len(scores[args.fractions[0]]["model"]["imputation"])
        splits.append({"test": test_uid, "train": [r.uid for r in train], "fit_seconds": fit_s,
                       "score_seconds": time.perf_counter() - t, "epochs": len(trained.history),
                       "n_scored": n_scored, "refine_prior": trained.refine_prior,
                       "linear_mix": trained.linear_mix, "behavior_scale": trained.behavior_scale})
        print(f"split {len(splits)}/{len(uids)}: test {test_uid}, {n_scored} neurons scored, fit {fit_s:.0f} s "
              f"({len(trained.history)} epochs, linear mix {trained.linear_mix:g}, behavior scale "
              f"{trained.behavior_scale:g}), scoring {splits[-1]['score_seconds']:.0f} s",
              file=sys.stderr, flush=True)
    return {"args": vars(args), "splits": splits, "labels": labels, "results": results,
            "seconds": time.perf_counter() - t0}


def report(out: dict, n_boot: int, seed: int) -> tuple[str, dict]:
    """The printed tables and the verdict."""
    fractions = list(out["results"])
    head = out["results"][fractions[0]]
    methods = list(head[0])
    labels = out["labels"]
    uids = [s["test"] for s in out["splits"]]
    width = max(len(labels.get(m, m)) for m in methods) + 2
    lines = [f"real-data benchmark: {len(uids)} animals, leave-one-animal-out, seed {out['args']['seed']}"
             + (f", overrides {' '.join(out['args']['set'])}" if out["args"]["set"] else ""),
             "median R² of the withheld neurons (imputation: each test animal's labeled neurons whose identity the "
             f"training animals have, withheld {fractions[0]:.0%} at a time, every one once)",
             ""]
    short = [u[-8:] for u in uids]
    lines.append("method".ljust(width) + "".join(f"{s:>10}" for s in short) + f"{'mean':>8}{'pooled':>8}")
    for m in methods:
        cells = "".join(f"{median(s[m]['imputation']):>10.3f}" for s in head)
        lines.append(labels.get(m, m).ljust(width) + cells
                     + f"{split_mean(head, m, 'imputation'):>8.3f}{pooled(head, m, 'imputation'):>8.3f}")
    lines += ["", "mean over splits of the median R² (pooled median in brackets)", ""]
    cols = [(f"impute {f:.0%}", f, "imputation") for f in fractions]
    cols += [("behavior-only", fractions[0], "behavior_only"), ("reconstruct", fractions[0], "reconstruction")]
    lines.append("method".ljust(width) + "".join(f"{c[0]:>18}" for c in cols))
    summary: dict[str, dict] = {}
    for m in methods:
        cells = ""
        summary[m] = {}
        for name, f, metric in cols:
            res = out["results"][f]
            if metric not in res[0].get(m, {}):
                cells += f"{'-':>18}"
                continue
            v, p = split_mean(res, m, metric), pooled(res, m, metric)
            summary[m][name] = {"mean_of_splits": v, "pooled": p,
                                "per_split": [median(s[m][metric]) for s in res]}
            cells += f"{v:>10.3f} ({p:.3f})"
        lines.append(labels.get(m, m).ljust(width) + cells)

    # the verdict
    base = [m for m in methods if m != "model"]
    imp = {m: split_mean(head, m, "imputation") for m in methods}
    best = max(base, key=lambda m: imp[m])
    same = [m for m in base if m in SAME_FRAME]
    best_same = max(same, key=lambda m: imp[m]) if same else best
    ratio = imp["model"] / imp[best_same] if imp[best_same] > 0 else float("nan")
    point, lo, hi = bootstrap_margin(head, "model", best, n_boot, seed)
    bonly = {m: split_mean(head, m, "behavior_only") for m in methods if "behavior_only" in head[0][m]}
    beat_all = all(imp["model"] > imp[m] for m in base) and lo > 0
    lines += [
        "",
        f"imputation: model {imp['model']:.3f}; best same-frame baseline {labels.get(best_same, best_same)} "
        f"{imp[best_same]:.3f}: {ratio:.2f}x (target >= {IMPUTATION_TARGET:g}x)",
        f"margin over the best baseline, {labels.get(best, best)}: {point:+.3f} in median R² "
        f"(95% paired bootstrap over neurons [{lo:+.3f}, {hi:+.3f}], {n_boot} resamples)",
        f"behavior-only: model {bonly.get('model', float('nan')):.3f}, "
        f"CePNEM-like ridge {bonly.get('cepnem', float('nan')):.3f}",
    ]
    if beat_all:
        verdict = (f"The model wins: it imputes withheld neurons better than every baseline "
                   f"({point:+.3f} over {labels.get(best, best)}, interval above 0).")
    elif imp["model"] > imp[best]:
        verdict = (f"No clear winner: the model is ahead of {labels.get(best, best)} by {point:+.3f}, "
                   f"but the interval [{lo:+.3f}, {hi:+.3f}] includes 0.")
    else:
        verdict = (f"The baseline wins: {labels.get(best, best)} imputes withheld neurons better than the "
                   f"model ({-point:.3f} higher median R², mean over splits).")
    lines += [verdict, f"({out['seconds']:.0f} s)"]
    verdict_d = {"best_baseline": best, "best_same_frame": best_same, "ratio_to_same_frame": ratio,
                 "margin": point, "margin_ci": [lo, hi], "model_wins": beat_all, "sentence": verdict,
                 "behavior_only": bonly}
    return "\n".join(lines), {"summary": summary, "verdict": verdict_d}


def main(argv=None) -> int:
    args = parse(argv)
    try:
        out = run(args)
    except CeNeuroVAEError as err:
        sys.exit(f"error: {err}")
    text, extra = report(out, args.bootstrap, args.seed)
    print(text)
    if args.json:
        per = {str(f): [{m: {k: v.tolist() for k, v in cols.items()} for m, cols in s.items()} for s in res]
               for f, res in out["results"].items()}
        payload = {"args": out["args"], "splits": out["splits"], "labels": out["labels"], "per_neuron": per,
                   "seconds": out["seconds"], **extra}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(jsonable(payload), fh, indent=1)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("CENEUROVAE_QUIET", "1")
    raise SystemExit(main())
