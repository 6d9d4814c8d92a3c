"""The evaluation: how good a trained model is on animals it never saw, beside baselines and the noise ceiling.

::

    ev = evaluate(trained, test, truth, train_datasets=train)   # dicts uid -> Recording / GroundTruth
    print(ev.table())
    ev.to_json("eval.json")

What is measured, on each held-out animal (labeled neurons only: unlabeled ones have no
identity to be scored by):

1. **Reconstruction**: every neuron visible; R² of the denoised trace against the data, and
   against the noiseless truth ``truth.signal`` when known (a model can beat the ceiling
   against the data by copying its input noise; against the truth it cannot).
2. **Imputation** (co-smoothing, as in the Neural Latents Benchmark): a seeded
   ``hide_fraction`` of each animal's labeled neurons (`choose_hidden`, the same for every
   method) is withheld; R² of their prediction from the other neurons and the behavior,
   against the data (and ``truth.predictable`` / ``truth.signal``).
3. **Behavior-only prediction** (``from_behavior``): R² per labeled neuron.
4. **Behavior decoding** from the latent: ridge, leave-one-animal-out over the held-out
   animals, penalty chosen by an inner leave-one-animal-out CV (`cross_validated_r2`), on
   each animal's latent and behavior centered over its own frames (activity z-scored per
   recording carries no per-animal offsets, so none is asked for).
5. **Latent diagnostics**: held-out KL per latent dimension, active units (variance over
   frames of the posterior mean > 0.01, Burda et al. 2016), ELBO per observed entry.
6. **Noise ceiling** (with truth): per neuron, R² of ``truth.predictable`` (behavior +
   internal parts) against the data: the best any imputation can do on average; R² of
   ``truth.signal`` against the data: the best denoiser; R² of ``truth.behavior_part``:
   the best behavior-only prediction. Each score is also reported as a fraction of its
   ceiling: mean over neurons of the method / mean of the ceiling on the same neurons
   (and the same with medians). Internal-state recovery: leave-one-animal-out linear R²
   from the latent to ``truth.internal_states``, centered per animal like the decoding.

Units and conventions. Every method predicts each neuron in its recording's z-scored units
(mean and scale over its observed frames), which is what the model does too: a neuron's
offset and gain in one recording cannot be known from other animals, so all methods get
them. R² is unchanged by mapping both prediction and target back to ``rec.traces`` units.
A prediction that is NaN (a method with nothing to say about a neuron) is scored as the
neuron's mean, R² 0, so that no method gains by abstaining on hard neurons.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import check_hide_fraction, choose_hidden
from ..errors import ConfigError, DataError, DataWarning
from ..identity import neuron_class
from ..normalize import zscore
from ..recording import Recording, vocabulary_names
from ..utils import jsonable, plural
from .baselines import AnimalData, Baseline, animal_data, default_baselines, vocabulary_identity
from .controls import as_recordings, latent_diagnostics, ratio
from .metrics import cross_validated_r2, describe, r2_score

__all__ = [
    "CEILINGS",
    "FRACTION_OF",
    "LEAK_TOLERANCE",
    "METRICS",
    "NOT_SCORED_REASON",
    "TABLE_COLUMNS",
    "Evaluation",
    "evaluate",
    "format_table",
    "verdict",
]
NOT_SCORED_REASON = (
    "no neuron whose identity the model knows: reconstruction, imputation and behavior-only prediction "
    "are scored on identified neurons, the ELBO counts their entries, and a latent that saw no identified "
    "neuron decodes the behavior the encoder is given, not the neurons"
)
"""Why an animal without a labeled neuron known to the model is not scored."""

LEAK_TOLERANCE = 1e-3
"""Largest change (z units) of an imputation allowed when the hidden neurons' own traces are scrambled."""

# metric -> (target, neurons scored): "data" or a truth attribute; "labeled" or "hidden"
METRICS = {
    "reconstruction": ("data", "labeled"),
    "reconstruction_vs_signal": ("signal", "labeled"),
    "imputation": ("data", "hidden"),
    "imputation_vs_predictable": ("predictable", "hidden"),
    "imputation_vs_signal": ("signal", "hidden"),
    "behavior_only": ("data", "labeled"),
    "behavior_only_vs_behavior_part": ("behavior_part", "labeled"),
}
# ceiling column -> truth attribute scored against the data
CEILINGS = {"signal": "signal", "predictable": "predictable", "behavior": "behavior_part"}
# which ceiling each data metric is compared with
FRACTION_OF = {"reconstruction": "signal", "imputation": "predictable", "behavior_only": "behavior"}


def _check_truth(truth, recs: Sequence[Recording]) -> None:
    """Refuse ground truth that does not belong to these recordings."""
    missing = [r.uid for r in recs if r.uid not in truth]
    if missing:
        raise DataError(f"no ground truth for held-out animals {missing}; truth covers {sorted(truth)[:5]}...")
    for r in recs:
        t = truth[r.uid]
        if np.shape(t.signal) != r.traces.shape:
            raise DataError(f"ground truth of {r.uid!r} is {np.shape(t.signal)}, the recording {r.traces.shape}")
        total = np.asarray(t.signal, dtype=np.float64) + np.asarray(t.noise, dtype=np.float64)
        err = np.abs(np.where(r.mask, total - r.traces, 0.0)).max() if r.traces.size else 0.0
        scale = 1.0 + float(np.abs(r.traces).max()) if r.traces.size else 1.0
        if err > 1e-3 * scale:
            raise DataError(
                f"ground truth of {r.uid!r} does not add up to its traces (signal + noise differs by up to "
                f"{err:.3g}); is it the truth of another cohort or seed?"
            )
        if np.shape(t.internal_states)[0] != r.n_frames:
            raise DataError(f"internal_states of {r.uid!r} have {np.shape(t.internal_states)[0]} frames, the recording {r.n_frames}")


@dataclass
class _Animal:
    """What the evaluation keeps of one held-out animal while scoring it."""

    rec: Recording
    identity: np.ndarray  # (N,) in the model's vocabulary
    hidden: np.ndarray  # (k,) neuron indices
    z: np.ndarray  # (T, N) data, z units
    mean: np.ndarray  # (N,)
    std: np.ndarray  # (N,)
    names: list[str]  # identity name of each neuron ("" for unknown)

    def to_z(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std


@dataclass
class Evaluation:
    """The result of `evaluate`.

    Attributes
    ----------
    neurons : dict column -> (R,) array
        The per-neuron table, one row per labeled neuron of each held-out animal:
        ``uid``, ``neuron`` (index in the recording), ``identity`` (name), ``class``
        (`neuron_class`), ``hidden`` (bool), then ``<method>.<metric>`` R² columns (methods:
        ``model`` and each baseline's key; metrics: `METRICS`; NaN where a metric does not
        apply, e.g. imputation of a visible neuron) and ``ceiling.<name>`` (`CEILINGS`).
    summary : dict
        Everything else: animals used, hidden neurons, per-method statistics
        (`metrics.describe`: mean, median, quartiles, n) of each metric, fractions of the
        ceiling, decoding and internal-state R², latent diagnostics, baseline settings.
    hidden : dict uid -> list of hidden neuron indices
    """

    neurons: dict[str, np.ndarray]
    summary: dict[str, Any]
    hidden: dict[str, list[int]] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """Method keys in table order (model first, then the baselines)."""
        return list(self.summary["methods"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (NaN as null)."""
        neurons = {k: [jsonable(x) for x in np.asarray(v).tolist()] for k, v in self.neurons.items()}
        return jsonable({"summary": self.summary, "hidden": self.hidden, "neurons": neurons})

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The evaluation as JSON text; written to `path` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            tmp = f"{os.fspath(path)}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        return text

    def table(self) -> str:
        """A printable table: one row per method (model, baselines, ceiling)."""
        return format_table(self.summary)


def evaluate(
    trained,
    datasets: Mapping[str, Recording] | Sequence[Recording],
    truth: Mapping[str, Any] | None = None,
    *,
    train_datasets: Mapping[str, Recording] | Sequence[Recording] | None = None,
    hide_fraction: float = 0.2,
    seed: int = 0,
    baselines: bool | Sequence[Baseline] = True,
    allow_seen: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate a trained model on held-out animals, beside baselines and the noise ceiling.

    See the module docstring for what each score is.

    Parameters
    ----------
    trained : ceneurovae.Trained
        Or any predictor with ``vocabulary``, ``behavior_names`` and the methods
        ``reconstruct``, ``impute``, ``from_behavior`` and ``latents`` of `Trained` (the
        latent diagnostics need a `Trained`'s ``model`` and are skipped without one).
    datasets : the held-out animals (dict uid -> Recording, or a list)
    truth : dict uid -> ground truth (``signal``, ``predictable``, ``behavior_part``,
        ``noise``, ``internal_states``), e.g. ``simulate_cohort(...).truth``; optional
    train_datasets : the animals the model was trained on: the baselines are fitted on them
    hide_fraction : share of each held-out animal's labeled neurons hidden for imputation
    seed : seed of the hidden-neuron choice (and of the ELBO's posterior samples)
    baselines : True for the default baselines (`baselines.default_baselines`), False for
        none, or a list of `Baseline` objects
    allow_seen : evaluate animals the model was trained on (refused by default: their
        scores would measure memory, not generalization)
    progress : called with a line of text before each step (each animal, each baseline)

    Returns
    -------
    Evaluation

    Raises
    ------
    ConfigError, DataError
        Bad settings; training animals among the held-out ones; truth that does not belong
        to the recordings.
    """
    t0 = time.perf_counter()
    hide_fraction = check_hide_fraction(hide_fraction)
    recs = as_recordings(datasets, "held-out")
    uids = [r.uid for r in recs]
    seen = sorted(set(uids) & set(getattr(trained, "seen_uids", getattr(trained, "train_uids", ()))))
    if seen and not allow_seen:
        raise DataError(
            f"animals {seen} were used to train the model (its weights, or the moments of its linear "
            "read-out, which hold the validation animals too); evaluate on animals it never saw "
            "(or pass allow_seen=True to score them anyway)"
        )
    if baselines is True:
        methods: list[Baseline] = default_baselines()
    elif baselines is False or baselines is None:
        methods = []
    else:
        methods = list(baselines)
    train_recs: list[Recording] = []
    if methods:
        if train_datasets is None:
            raise ConfigError("the baselines are fitted on the training animals: pass train_datasets=..., or baselines=False")
        train_recs = as_recordings(train_datasets, "training")
        both = sorted(set(uids) & {r.uid for r in train_recs})
        if both:
            raise DataError(f"animals {both} are both held out and in train_datasets; the split must be by animal")
    if truth is not None:
        _check_truth(truth, recs)

    vocab = trained.vocabulary
    behaviors = list(trained.behavior_names)
    not_scored = [r.uid for r in recs if not (vocabulary_identity(r, vocab) > 0).any()]
    if not_scored:
        if len(not_scored) == len(recs):
            raise DataError(
                f"nothing can be scored on {', '.join(not_scored)}: {NOT_SCORED_REASON}. Evaluate on animals "
                "with labeled neurons (give their labels, e.g. --labels)"
            )
        warnings.warn(f"animals {not_scored} are not scored: {NOT_SCORED_REASON}", DataWarning, stacklevel=2)
        recs = [r for r in recs if r.uid not in set(not_scored)]
        uids = [r.uid for r in recs]
    animals = []
    for rec in recs:
        identity = vocabulary_identity(rec, vocab)
        z, mean, std = zscore(rec.traces, rec.mask)
        hidden = choose_hidden(identity, rec.uid, hide_fraction, seed)
        names = [vocab[v] if v > 0 else "" for v in identity]
        animals.append(_Animal(rec, identity, hidden, z.astype(np.float64), mean, std, names))

    # -- predictions of every method, in z units ---------------------------------------------
    unknown = {a.rec.uid: sorted({n for n, v in zip(vocabulary_names(a.rec), a.identity) if n and v == 0})
               for a in animals}
    unknown = {u: names for u, names in unknown.items() if names}
    if unknown:
        warnings.warn(
            f"labeled neurons whose identity the model never learned are not scored (nor hidden): "
            f"{sum(map(len, unknown.values()))} in {plural(len(unknown), 'animal')}, e.g. {next(iter(unknown.items()))}",
            DataWarning, stacklevel=2,
        )
    say = progress or (lambda text: None)
    predictions: dict[str, list[dict[str, np.ndarray | None]]] = {"model": []}
    timings = {}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # said once above
        for k, a in enumerate(animals):
            say(f"model: animal {k + 1}/{len(animals)} ({a.rec.uid})")
            predictions["model"].append({
                "reconstruction": a.to_z(trained.reconstruct(a.rec)),
                "imputation": a.to_z(trained.impute(a.rec, hide=a.hidden)),
                "behavior_only": a.to_z(trained.from_behavior(a.rec)),
                "latents": np.asarray(trained.latents(a.rec), dtype=np.float64),
            })
        leaks = {"model": max((_leak(a, predictions["model"][i]["imputation"],
                                     a.to_z(trained.impute(_scrambled(a, seed), hide=a.hidden)))
                               for i, a in enumerate(animals)), default=0.0)}
    timings["model"] = time.perf_counter() - t
    baseline_info = {}
    if methods:
        t = time.perf_counter()
        train_data = [animal_data(r, vocab, behaviors) for r in train_recs]
        test_data: list[AnimalData] = [animal_data(a.rec, vocab, behaviors) for a in animals]
        timings["features"] = time.perf_counter() - t
        for k, b in enumerate(methods):
            say(f"baseline {k + 1}/{len(methods)}: {b.label}")
            t = time.perf_counter()
            b.fit(train_data, vocab, hide_fraction=hide_fraction, seed=seed)
            predictions[b.key] = [
                {
                    "reconstruction": b.reconstruct(d),
                    "imputation": b.impute(d, a.hidden),
                    "behavior_only": b.from_behavior(d),
                    "latents": b.latents(d),
                }
                for a, d in zip(animals, test_data)
            ]
            leaks[b.key] = max((_leak(a, predictions[b.key][i]["imputation"],
                                      b.impute(_scrambled_data(d, a, seed), a.hidden))
                                for i, (a, d) in enumerate(zip(animals, test_data))), default=0.0)
            timings[b.key] = time.perf_counter() - t
            baseline_info[b.key] = {"label": b.label, **b.describe()}
    leaking = sorted(m for m, v in leaks.items() if not v <= LEAK_TOLERANCE)
    if leaking:
        warnings.warn(f"the imputations of {leaking} change when the hidden neurons' own traces are scrambled: "
                      "they look at what they should predict, and their imputation scores are not valid",
                      DataWarning, stacklevel=2)

    neurons = _score_neurons(animals, predictions, truth)
    summary: dict[str, Any] = {
        "animals": {"test": uids, "train": [r.uid for r in train_recs]},
        "hide_fraction": float(hide_fraction),
        "seed": int(seed),
        "n_labeled": int(len(neurons["uid"])),
        "n_hidden": int(neurons["hidden"].sum()),
        "unknown_to_model": unknown,
        "not_scored": {u: NOT_SCORED_REASON for u in not_scored},
        "leak_check": {"max_change": leaks, "tolerance": LEAK_TOLERANCE, "leaking": leaking},
        "truth": truth is not None,
        "behaviors": behaviors,
        "labels": {"model": "model", **{k: v["label"] for k, v in baseline_info.items()}, "ceiling": "noise ceiling"},
        "methods": {},
        "baselines": baseline_info,
    }
    for m, preds in predictions.items():
        summary["methods"][m] = _summarize_method(m, neurons, preds, animals, truth, behaviors)
    if truth is not None:
        summary["methods"]["ceiling"] = _summarize_ceiling(neurons)
    summary["verdict"] = verdict(summary)
    if hasattr(trained, "model"):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            summary["latent"] = latent_diagnostics(trained, [a.rec for a in animals], seed=seed)
        timings["latent_diagnostics"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    summary["seconds"] = timings
    hidden = {a.rec.uid: a.hidden.tolist() for a in animals}
    return Evaluation(neurons=neurons, summary=summary, hidden=hidden)


def _scrambled(a: _Animal, seed: int) -> Recording:
    """The recording with each hidden neuron's observed values permuted in time.

    Mean and spread over the observed frames stay the same (so do the z-scores of every
    other neuron); only the time course that an honest imputation must not see is destroyed.
    """
    rng = np.random.default_rng([int(seed), 104729])
    x = a.rec.traces.copy()
    for n in a.hidden:
        rows = np.flatnonzero(a.rec.mask[:, n])
        x[rows, n] = x[rng.permutation(rows), n]
    return a.rec.replace(traces=x)


def _scrambled_data(d: AnimalData, a: _Animal, seed: int) -> AnimalData:
    z, _, _ = zscore(_scrambled(a, seed).traces, a.rec.mask)
    return AnimalData(uid=d.uid, z=z.astype(np.float64), mask=d.mask, identity=d.identity,
                      features=d.features, segments=d.segments)


def _leak(a: _Animal, pred: np.ndarray | None, pred_scrambled: np.ndarray | None) -> float:
    """Largest change (z units) of a hidden neuron's imputation when its own trace is scrambled."""
    if pred is None or pred_scrambled is None or a.hidden.size == 0:
        return 0.0
    p = np.nan_to_num(np.asarray(pred, dtype=np.float64)[:, a.hidden], nan=0.0)
    q = np.nan_to_num(np.asarray(pred_scrambled, dtype=np.float64)[:, a.hidden], nan=0.0)
    return float(np.abs(p - q).max())


def _score_neurons(animals, predictions, truth) -> dict[str, np.ndarray]:
    """The per-neuron table (see `Evaluation.neurons`)."""
    cols: dict[str, list] = {k: [] for k in ("uid", "neuron", "identity", "class", "hidden")}
    scores: dict[str, list] = {}

    def put(name, values):
        scores.setdefault(name, []).append(values)

    for i, a in enumerate(animals):
        lab = np.flatnonzero(a.identity > 0)
        names = a.names
        is_hidden = np.isin(lab, a.hidden)
        cols["uid"] += [a.rec.uid] * lab.size
        cols["neuron"] += lab.tolist()
        cols["identity"] += [names[n] for n in lab]
        cols["class"] += [neuron_class(names[n]) if names[n] else "" for n in lab]
        cols["hidden"] += is_hidden.tolist()
        targets = {"data": a.z}
        if truth is not None:
            t = truth[a.rec.uid]
            for attr in ("signal", "predictable", "behavior_part"):
                targets[attr] = a.to_z(getattr(t, attr))
            for cname, attr in CEILINGS.items():
                put(f"ceiling.{cname}", r2_score(targets[attr][:, lab], a.z[:, lab], a.rec.mask[:, lab]))
        for m, preds in predictions.items():
            p = preds[i]
            for metric, (target, which) in METRICS.items():
                kind = metric.split("_vs_")[0]
                if p.get(kind) is None or target not in targets:
                    continue
                pred = np.nan_to_num(p[kind][:, lab], nan=0.0)  # NaN: nothing to say = the mean
                r2 = r2_score(pred, targets[target][:, lab], a.rec.mask[:, lab])
                if which == "hidden":
                    r2 = np.where(is_hidden, r2, np.nan)
                put(f"{m}.{metric}", r2)
    table = {k: np.asarray(v) for k, v in cols.items()}
    table["hidden"] = table["hidden"].astype(bool)
    for k, parts in scores.items():
        table[k] = np.concatenate(parts) if parts else np.zeros(0)
    return table



def _summarize_method(m, neurons, preds, animals, truth, behaviors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in METRICS:
        col = f"{m}.{metric}"
        if col in neurons:
            out[metric] = describe(neurons[col])
    if truth is not None:
        fractions = {}
        for metric, cname in FRACTION_OF.items():
            col = f"{m}.{metric}"
            if col not in neurons:
                continue
            vals, ceil = neurons[col], neurons[f"ceiling.{cname}"]
            ok = np.isfinite(vals) & np.isfinite(ceil)
            mv, cv = describe(vals[ok]), describe(ceil[ok])
            fractions[metric] = {
                "method_mean": mv["mean"], "ceiling_mean": cv["mean"], "fraction_mean": ratio(mv["mean"], cv["mean"]),
                "method_median": mv["median"], "ceiling_median": cv["median"],
                "fraction_median": ratio(mv["median"], cv["median"]), "n": mv["n"],
            }
        out["fraction_of_ceiling"] = fractions
    latents = [p["latents"] for p in preds]
    if all(x is not None for x in latents):
        uids = [a.rec.uid for a in animals]
        sel = [a.rec.select_behaviors(behaviors) for a in animals]
        # per-animal means are not identifiable from per-recording z-scored activity: centered
        r2 = cross_validated_r2(latents, [r.behavior for r in sel], [r.behavior_mask for r in sel], center=True)
        out["decoding"] = {
            **{name: _nanmean(r2[:, d]) for d, name in enumerate(behaviors)},
            "per_animal": {u: dict(zip(behaviors, row.tolist())) for u, row in zip(uids, r2)},
            "cv": "leave-one-animal-out" if len(animals) > 1 else "contiguous blocks",
        }
        if truth is not None:
            r2s = cross_validated_r2(latents, [np.asarray(truth[u].internal_states) for u in uids], center=True)
            per_state = [_nanmean(r2s[:, k]) for k in range(r2s.shape[1])]
            out["internal_states"] = {
                "mean": _nanmean(np.asarray(per_state)), "per_state": per_state,
                "per_animal": {u: row.tolist() for u, row in zip(uids, r2s)},
            }
    return out


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def _summarize_ceiling(neurons) -> dict[str, Any]:
    """The ceiling as if it were a method: what the truth itself scores."""
    hidden = neurons["hidden"]
    imput = np.where(hidden, neurons["ceiling.predictable"], np.nan)
    return {
        "reconstruction": describe(neurons["ceiling.signal"]),
        "reconstruction_vs_signal": describe(np.where(np.isfinite(neurons["ceiling.signal"]), 1.0, np.nan)),
        "imputation": describe(imput),
        "behavior_only": describe(neurons["ceiling.behavior"]),
        "predictable_all_labeled": describe(neurons["ceiling.predictable"]),
        "fraction_of_ceiling": {k: {"fraction_mean": 1.0, "fraction_median": 1.0} for k in FRACTION_OF},
    }


# -- the verdict and the table ---------------------------------------------------------------

def verdict(summary: dict[str, Any]) -> list[str]:
    """Plain sentences that say how the model compares with the baselines: for imputation
    and for prediction from behavior alone, which is better by mean R² over the same
    neurons, and by how much. Empty without baselines."""
    methods = summary.get("methods", {})
    labels = summary.get("labels", {})
    out = []
    for metric, task in (("imputation", "imputes the hidden neurons"),
                         ("behavior_only", "predicts activity from behavior alone")):
        model = _get(methods, "model", metric, "mean")
        others = {m: _get(s, metric, "mean") for m, s in methods.items() if m not in ("model", "ceiling")}
        others = {m: v for m, v in others.items() if isinstance(v, float) and np.isfinite(v)}
        if not isinstance(model, float) or not np.isfinite(model) or not others:
            continue
        best = max(others, key=others.get)
        name = labels.get(best, best)
        if abs(others[best] - model) < 0.005:  # a tie at the printed precision is no win
            out.append(f"The model {task} no better than the baseline {name}: R² {_r2(model)} against "
                       f"{_r2(others[best])} (mean over neurons).")
        elif others[best] > model:
            out.append(f"The baseline {name} {task} better than the model: R² {_r2(others[best])} against "
                       f"{_r2(model)} (mean over neurons).")
        else:
            out.append(f"The model {task} better than every baseline: R² {_r2(model)}, the best baseline "
                       f"({name}) {_r2(others[best])} (mean over neurons).")
    return out


def _r2(x: float) -> str:
    """3 decimals, never "-0.000"."""
    return f"{0.0 if abs(x) < 5e-4 else x:.3f}"


# -- the table -------------------------------------------------------------------------------

def _get(d: dict, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


TABLE_COLUMNS = [
    # header, path into a method's summary, needs truth, what it is
    ("recon", ("reconstruction", "mean"), False,
     "reconstruction of the observed neurons vs the data"),
    ("recon*", ("reconstruction_vs_signal", "mean"), True,
     "reconstruction vs the noiseless truth"),
    ("impute", ("imputation", "mean"), False,
     "hidden neurons vs the data, predicted from the other neurons and behavior"),
    ("behavior", ("behavior_only", "mean"), False,
     "activity predicted from behavior alone vs the data"),
    ("velocity", ("decoding", "velocity"), False,
     "cross-validated R² of velocity decoded by ridge from the latent (model) or factors (low-rank)"),
    ("states", ("internal_states", "mean"), True,
     "cross-validated R² of the internal states decoded from the same"),
    ("impute/ceil", ("fraction_of_ceiling", "imputation", "fraction_mean"), True,
     "mean imputation R² / mean R² of the truth's predictable part on the same neurons"),
]
"""The columns of the evaluation table, the same in the terminal (`format_table`) and in the
report: header, path into a method's summary, whether it needs ground truth, what it is.
Every R² is the mean over neurons."""




def format_table(summary: dict[str, Any]) -> str:
    """The text table of an evaluation summary (see `Evaluation.table`)."""
    truth = summary.get("truth", False)
    cols = [c for c in TABLE_COLUMNS if truth or not c[2]]
    labels = summary.get("labels", {})
    test, train = summary["animals"]["test"], summary["animals"]["train"]
    lines = [
        f"held-out animals: {len(test)} ({_short(test)}); baselines fitted on {plural(len(train), 'training animal')}"
        + ("" if train else " (no baselines)"),
        f"hidden for imputation: {summary['n_hidden']} of {summary['n_labeled']} labeled neurons "
        f"(hide_fraction {summary['hide_fraction']:g}, seed {summary['seed']}); R² = mean over neurons",
        "",
    ]
    lines += [*(summary.get("verdict") or verdict(summary)), ""] if summary.get("methods") else []
    width = max([len(labels.get(m, m)) for m in summary["methods"]] + [6]) + 2
    lines.append("method".ljust(width) + "".join(f"{h:>12}" for h, *_ in cols))
    for m, s in summary["methods"].items():
        cells = []
        for _, path, *_ in cols:
            v = _get(s, *path)
            if isinstance(v, (int, float)) and np.isfinite(v):
                cells.append(f"{0.0 if abs(v) < 5e-4 else v:>12.3f}")  # no "-0.000"
            else:
                cells.append(f"{'-':>12}")
        lines.append(labels.get(m, m).ljust(width) + "".join(cells))
    lines.append("")
    lines += [f"{h}: {what}" for h, _, _, what in cols]
    lat = summary.get("latent")
    if lat:
        kl = ", ".join(f"{v:.2f}" for v in lat["kl_per_dim"])
        elbo = lat.get("elbo_per_entry")
        elbo_text = (f"; held-out ELBO {elbo:.3f} nats per observed entry ({lat['likelihood']})"
                     if isinstance(elbo, (int, float)) and np.isfinite(elbo) else "")
        lines.append(
            f"latent: {lat['active_units']} of {lat['latent_dim']} dimensions active "
            f"(posterior-mean variance > {lat['active_threshold']:g}){elbo_text}; "
            f"KL per dimension ({lat['kl_unit']}): {kl}"
        )
    leak = summary.get("leak_check")
    if leak and leak["leaking"]:
        lines.append(f"WARNING: the imputations of {', '.join(leak['leaking'])} depend on the hidden neurons' own "
                     "traces (they change when those are scrambled): their imputation scores are not valid")
    elif leak and summary.get("n_hidden", 0) > 0:
        lines.append("leak check: scrambling the hidden neurons' own traces leaves every method's imputation unchanged")
    skipped = summary.get("not_scored") or {}
    if skipped:
        lines.append(f"not scored: {', '.join(skipped)} ({NOT_SCORED_REASON})")
    sc = summary.get("shuffle_control")
    if sc:
        lines.append(
            f"shuffle control: a model trained on behavior shuffled across animals predicts from behavior "
            f"alone with R² {sc['behavior_only']['mean']:.3f} (the real model: {_fmt(sc.get('reference_mean'))}; "
            f"retained {_fmt(sc.get('retained'))})"
        )
    return "\n".join(lines)


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, (int, float)) and np.isfinite(x) else "-"


def _short(uids: Sequence[str]) -> str:
    return ", ".join(uids) if len(uids) <= 4 else f"{uids[0]}, {uids[1]}, ..., {uids[-1]}"
