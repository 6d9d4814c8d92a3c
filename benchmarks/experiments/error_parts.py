"""Experiment (not package code): where a trained model's imputation error lies.

::

    python benchmarks/experiments/error_parts.py MODEL.pt [--animals 40] [--test 8] [--seed 0]
                                                 [--no-variability]

For each held-out animal of `benchmarks/quality.py`'s split (same hidden neurons as
`evaluate`; pass the same ``--animals/--test/--seed/--no-variability`` the model was trained
with), the model imputes the hidden neurons (`Trained.impute`, its defaults). Each hidden
neuron's prediction ``p`` (centered) is set against the truth's two predictable parts, the
behavior part ``B`` and the internal part ``I`` (centered, z-score units)::

    p = a B + b I + r,      r orthogonal to B and I (least squares)

and its error against the predictable part ``p - B - I`` is split into

- the behavior part's scale error ``(a - 1) B`` and the internal part's ``(b - 1) I``;
- the shape residual ``r``: what is neither part at any scale. It is then regressed on the
  true internal states through the GCaMP kernel (4 features), on the 40 filtered behavior
  features of `imputation_bound.py`, and on the first 20 principal components of the
  visible neurons' private parts, and on the model's own refined latent (what `impute`
  decodes), each beside ``B`` and ``I``. The residual is slow, and
  slow regressors explain some of any slow series by chance, so each is also fitted with
  the same regressors taken from another held-out animal (the next one, cut to length):
  what a regressor explains above that control is what the residual owes to it.

Prints mean variances over hidden neurons (the traces have unit variance) beside the
model's imputation / ceiling. Measured on the default model (seed 0; each explained part
as "this animal's regressors / the control"): with per-animal variability, residual 0.045
(states 0.015 / 0.009, behavior features 0.036 / 0.024, private parts 0.027 / 0.026, the
model's latent 0.035 / 0.017), scale errors 0.009 / 0.007; without (``--no-variability``,
the model retrained on that cohort), residual 0.014 (states 0.003 / 0.002, behavior
features 0.009 / 0.006, private parts 0.007 / 0.007, the model's latent 0.008 / 0.004),
scale errors 0.004 / 0.004. No one source dominates what the model misses by itself, but
its own latent explains twice what chance does: it carries something besides the states
that reaches the hidden neurons.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ceneurovae
from ceneurovae.api import REFINE_STEPS
from ceneurovae.baselines import choose_hidden
from ceneurovae.evaluation import r2_score
from ceneurovae.evaluation.benchmark import (
    benchmark_cohort,
    cohort_arguments,
    filtered_behavior_features,
    filtered_states,
    split_cohort,
)


def explained(design: np.ndarray, y: np.ndarray) -> float:
    """Variance of `y` explained by a least-squares fit on `design` (columns centered)."""
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(y.var() - (y - design @ coef).var())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    cohort_arguments(p)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    cohort, cfg = benchmark_cohort(args)
    _, test, truth, _ = split_cohort(cohort, args.test, seed=args.seed)
    trained = ceneurovae.load(args.model)
    sources = ("states", "behavior", "private", "latent")
    rows: dict[str, list[float]] = {k: [] for k in (
        "r2", "ceiling", "a", "b", "scale_b", "scale_i", "residual",
        *[f"by_{k}" for k in sources], *[f"control_{k}" for k in sources])}
    uids = list(test)
    hidden = {u: choose_hidden(test[u].identity, u, seed=args.seed) for u in uids}
    regressors, preds = {}, {}
    for u in uids:
        rec, t = test[u], truth[u]
        # what `Trained.impute` runs, keeping the refined latent it decodes (model units)
        out = trained.run(trained.prepare(rec), hide=hidden[u], refine_steps=REFINE_STEPS,
                           refine_prior=trained.refine_prior)
        preds[u] = out.pred
        visible = np.setdiff1d(np.flatnonzero(rec.identity > 0), hidden[u])
        private = t.private_part[:, visible].astype(np.float64)
        private -= private.mean(0)
        left, sv, _ = np.linalg.svd(private, full_matrices=False)
        regressors[u] = {"states": filtered_states(rec, t, cfg), "behavior": filtered_behavior_features(rec, cfg),
                         "private": left[:, :20] * sv[:20], "latent": out.latent - out.latent.mean(0)}
    for n, uid in enumerate(uids):
        rec, t, hide = test[uid], truth[uid], hidden[uid]
        pred = preds[uid]
        other = regressors[uids[(n + 1) % len(uids)]]
        for j in hide:
            y = rec.traces[:, j].astype(np.float64)
            b = t.behavior_part[:, j].astype(np.float64)
            i = t.internal_part[:, j].astype(np.float64)
            b, i, pj = b - b.mean(), i - i.mean(), pred[:, j] - pred[:, j].mean()
            rows["r2"].append(float(r2_score(pj, y)[0]))
            rows["ceiling"].append(float(r2_score(b + i, y)[0]))
            parts = np.stack([b, i], 1)
            (a, c), *_ = np.linalg.lstsq(parts, pj, rcond=None)
            r = pj - parts @ np.array([a, c])
            rows["a"].append(a)
            rows["b"].append(c)
            rows["scale_b"].append(float(((a - 1) * b).var()))
            rows["scale_i"].append(float(((c - 1) * i).var()))
            rows["residual"].append(float(r.var()))
            for k in sources:
                rows[f"by_{k}"].append(explained(np.column_stack([parts, regressors[uid][k]]), r))
                m = min(len(r), len(other[k]))
                rows[f"control_{k}"].append(explained(np.column_stack([parts[:m], other[k][:m]]), r[:m]))
    m = {k: float(np.mean(v)) for k, v in rows.items()}
    print(f"{len(rows['r2'])} hidden neurons of {len(test)} held-out animals"
          f"{' (no per-animal variability)' if args.no_variability else ''}; {time.perf_counter() - t0:.0f} s")
    print(f"imputation / ceiling                              {m['r2'] / m['ceiling']:.4f}")
    print(f"mean squared error vs the predictable part        {m['scale_b'] + m['scale_i'] + m['residual']:.4f}")
    print(f"  behavior part scale error (coefficient a {m['a']:.3f})  {m['scale_b']:.4f}")
    print(f"  internal part scale error (coefficient b {m['b']:.3f})  {m['scale_i']:.4f}")
    print(f"  shape residual                                  {m['residual']:.4f}")
    labels = {"states": "the filtered true states (4)", "behavior": "behavior features (40)",
              "private": "visible private parts (20 PCs)", "latent": "the model's refined latent"}
    print("    explained by                       this animal's   another's (chance)")
    for k in sources:
        print(f"      {labels[k]:32s} {m[f'by_{k}']:.4f}         {m[f'control_{k}']:.4f}")


if __name__ == "__main__":
    main()
