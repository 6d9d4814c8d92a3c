"""`write_report`: run the analyses, draw the figures, write ``index.html`` beside them."""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import recordings_of
from ..errors import ConfigError, DataError
from ..evaluation.controls import latent_diagnostics
from ..evaluation.evaluate import verdict
from ..identity import neuron_class
from ..recording import Recording
from ..training import EpochRecord
from ..utils import plural
from ..version import __version__
from . import analysis as A
from . import figures as F
from .html import FigureEntry, evaluation_tables, render_page

__all__ = ["write_report", "read_metrics", "best_epoch"]

KL_THRESHOLD = 0.01
"""KL (nats per frame, or per window) above which a latent dimension counts as active when no
other rule is given (the report counts active dimensions as ``ceneurovae evaluate`` does:
`latent_diagnostics`, posterior-mean variance over frames)."""

ROLES = {
    "held out": "held out (never used to fit or select the model)",
    "validation": "validation (chose the early-stopping epoch and the calibration: optimistic)",
    "trained on": "trained on (in-sample)",
}
"""What each analysed animal was to the model, as the summary table says it."""




def read_metrics(path: str | os.PathLike) -> list[EpochRecord]:
    """The training history from a run folder's ``metrics.csv``."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise DataError(f"cannot read the training history: {err.strerror}", path=str(path)) from None
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            out.append(EpochRecord(**{
                f: (int(float(row[f])) if f in ("epoch", "skipped_steps") else float(row[f]))
                for f in EpochRecord._fields
            }))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"line {n} is not a training record ({type(err).__name__}: {err})", path=str(path)) from None
    return out


def best_epoch(history: Sequence[EpochRecord], train_cfg) -> int | None:
    """The epoch whose weights training kept, by the rule of `ceneurovae.train.fit_model`.

    While the KL weight still ramps up, every epoch replaces the best (their losses measure
    different objectives); afterwards only an improvement larger than ``min_delta`` does.
    """
    best, best_loss = None, math.inf
    for h in history:
        settled = train_cfg.kl_schedule in ("constant", "cyclical") or h.epoch >= train_cfg.kl_warmup_epochs
        if not settled or h.val < best_loss - train_cfg.min_delta:
            best, best_loss = h.epoch, h.val
    return best


def _as_mapping(evaluation: Any) -> Mapping[str, Any] | None:
    """An evaluation given as a mapping, a path to ``eval.json`` or an object with ``to_dict``."""
    if evaluation is None or isinstance(evaluation, Mapping):
        return evaluation
    if isinstance(evaluation, (str, os.PathLike)):
        try:
            with open(evaluation, encoding="utf-8") as fh:
                return json.load(fh)
        except OSError as err:
            raise DataError(f"cannot read the evaluation: {err.strerror}", path=str(evaluation)) from None
        except json.JSONDecodeError as err:
            raise DataError(f"the evaluation is not valid JSON ({err})", path=str(evaluation)) from None
    if hasattr(evaluation, "to_dict"):
        return evaluation.to_dict()
    raise ConfigError(f"evaluation must be a mapping, a path to eval.json or an Evaluation, got {type(evaluation).__name__}")


def _choose_animals(trained, recs: dict[str, Recording], max_animals: int, preferred: Sequence[str] = (),
                    ) -> tuple[list[Recording], dict[str, str], str]:
    """The animals to analyse, what each was to the model (`ROLES`), and a phrase saying so.

    Animals the model never used come first (those of the evaluation, `preferred`, first
    of all), then the validation animals, which chose the early-stopping epoch and the
    calibration (their scores are optimistic). Animals whose data its linear read-out holds
    (`Trained.seen_uids`) count as trained on; they are analysed only when nothing else is
    given, and the page then says that every score is in-sample.
    """
    trained_on, val = set(trained.seen_uids), set(trained.val_uids)
    unused = [u for u in recs if u not in trained_on and u not in val]
    unused = [u for u in preferred if u in unused] + [u for u in unused if u not in set(preferred)]
    held_val = [u for u in trained.val_uids if u in recs and u not in trained_on]
    chosen = (unused + held_val)[:max_animals]
    if chosen:
        roles = {u: "held out" if u in set(unused) else "validation" for u in chosen}
        n_new, n_val = sum(r == "held out" for r in roles.values()), sum(r == "validation" for r in roles.values())
        parts = ([plural(n_new, "animal the model never saw", "animals the model never saw")] if n_new else []) + (
            [plural(n_val, "validation animal") + " (optimistic: it chose the early stopping)"] if n_val else [])
        return [recs[u] for u in chosen], roles, " and ".join(parts)
    chosen = list(recs)[:max_animals]
    return ([recs[u] for u in chosen], dict.fromkeys(chosen, "trained on"),
            plural(len(chosen), "animal") + " that the model was TRAINED ON (scores are in-sample)")


def _relative(rec: Recording) -> np.ndarray:
    """The recording's timestamps in seconds from its first frame."""
    ts = np.asarray(rec.timestamps, dtype=np.float64)
    return ts - ts[0] if ts.size else ts


def _seconds(rec: Recording, intervals: np.ndarray) -> list[tuple[float, float]]:
    """[start, stop) frames -> seconds from the start of the recording."""
    ts = _relative(rec)
    return [(float(ts[a]), float(ts[min(b, rec.n_frames) - 1] + rec.dt)) for a, b in intervals]


def _neuron_indices(a: A.AnimalPredictions, neurons: Sequence[str] | None, k: int) -> tuple[list[int], list[str]]:
    """Indices of the named neurons in animal `a` (by identity or raw label), and the names not found."""
    if not neurons:
        return A.pick_neurons(a, k), []
    found, missing = [], []
    for name in neurons:
        hits = [i for i in a.rec.labeled_indices if name in (a.names[i], a.rec.labels[i])]
        if hits:
            found.append(int(hits[0]))
        else:
            missing.append(name)
    return found, missing


@dataclass
class _Context:
    """What the figure sections share: the model, the analysed animals and what was computed once."""

    trained: Any
    animals: list[A.AnimalPredictions]
    reversals: list[np.ndarray]  # per animal, (n, 2) frames
    history: list[EpochRecord]
    best: int | None
    kl: np.ndarray
    kl_unit: str
    table: dict[str, np.ndarray]
    neurons: Sequence[str] | None
    notes: list[str]
    roles: dict[str, str]  # uid -> key of ROLES
    observed: list[str]  # behaviors observed in training (the others are unknown to the model)
    active: np.ndarray | None = None  # (Z,) bool: active dimensions, by `latent_diagnostics`' rule
    active_rule: str = ""

    @property
    def known_mask(self) -> np.ndarray:
        """(D,) True for the model's behaviors that it saw in training."""
        return np.array([b in self.observed for b in self.trained.behavior_names])


# Each section returns (file stem, title, caption, figure), or a note saying why it has none.
Section = tuple[str, str, str, Any]


def _training(c: _Context) -> Section | str:
    if not c.history:
        return "No training history: the training-curve figure is skipped."
    return ("training", "Training curves",
            "Training and validation loss should fall and level off together (validation rising while training falls "
            "is overfitting); the dotted line marks the epoch whose weights were kept, while β ramps the KL in and the "
            "learning rate warms up then decays.",
            F.plot_training(c.history, c.best))


def _kl(c: _Context) -> Section | str:
    return ("kl_per_dimension", "KL per latent dimension",
            "A dimension is active when its posterior mean varies over frames (the rule of ceneurovae evaluate, so the "
            "two count the same dimensions); many inactive dimensions mean the latent is larger than needed (or β too "
            "strong), none active means the decoder ignores the latent.",
            F.plot_kl_per_dimension(c.kl, KL_THRESHOLD, c.kl_unit, active=c.active, rule=c.active_rule))


def _reconstruction(c: _Context) -> Section | str:
    a = c.animals[0]
    idx, missing = _neuron_indices(a, c.neurons, k=4)
    if missing:
        c.notes.append(f"Neurons {missing} were not found among the labeled neurons of {a.rec.uid}.")
    if not idx:
        return f"Animal {a.rec.uid} has no labeled neuron to show: the reconstruction figure is skipped."
    names = c.observed  # a behavior the model never saw is not drawn
    role = {"validation": " (validation animal)", "held out": " (never seen by the model)",
            "trained on": " (trained on)"}.get(c.roles.get(a.rec.uid, ""), "")
    title = f"Animal {a.rec.uid}{role}"
    if not c.neurons:
        title += ": the labeled neurons with the most slow activity"
    beh = a.rec.select_behaviors(names)
    fig = F.plot_reconstruction(
        _relative(a.rec), a.data[:, idx],
        {"reconstruction": a.reconstruction[:, idx], "imputed (hidden)": a.imputed[:, idx]},
        [a.names[i] for i in idx], beh.behavior, names,
        {"reversal": _seconds(a.rec, c.reversals[0])}, title=title, behavior_mask=beh.behavior_mask,
        time_label="time from the start of the recording (s)")
    return ("reconstruction", f"Reconstruction and imputation ({a.rec.uid})",
            "Grey: data; blue: reconstruction (neuron seen by the encoder); orange: imputation with the neuron hidden "
            "from the encoder; imputation close to the data means the neuron is predicted from the others and "
            "behavior, not copied. Shaded: reversals.", fig)


def _r2_by_class(c: _Context) -> Section | str:
    t = c.table
    ids = list(dict.fromkeys(t["identity"].tolist()))
    if not ids:
        return "No labeled neuron in the analysed animals: the R² figure is skipped."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an identity never scored is NaN on purpose
        per_kind = {label: np.array([np.nanmean(t[kind][t["identity"] == n].astype(np.float64)) for n in ids])
                    for kind, label in A.PREDICTION_KINDS.items()}
    fig = F.plot_r2_by_class(ids, [neuron_class(n) for n in ids], per_kind, sort_by=A.PREDICTION_KINDS["imputed"],
                             title=f"R² per identity by neuron class: {len(ids)} identities, {len(c.animals)} animals")
    return ("r2_by_class", "R² per identity by neuron class",
            "One dot per identity (R² averaged over the analysed animals that recorded it); expect reconstruction ≥ "
            "imputation ≥ behavior-only, and high behavior-only R² in the classes that behavior drives.", fig)


def _latent_trajectories(c: _Context) -> Section | str:
    shown = c.animals[:4]
    proj, explained = A.principal_components([a.latents for a in c.animals])  # one projection for all
    names = c.trained.behavior_names
    color = "velocity" if "velocity" in names else names[0]
    fig = F.plot_latent_trajectories(
        proj[:len(shown)], [a.rec.behavior[:, a.rec.behavior_names.index(color)] for a in shown],
        [a.rec.uid for a in shown], explained, A.behavior_label(color))
    return ("latent_trajectories", "Latent trajectories",
            "If the latent tracks the locomotor state, reversals (red) occupy their own region; structure not colored by "
            "velocity is latent activity that behavior does not explain (internal states).", fig)


def _latent_traversal(c: _Context) -> Section | str:
    trained = c.trained
    dims = np.argsort(-c.kl, kind="stable")[: min(4, c.kl.size)].tolist()
    all_ids = np.arange(1, len(trained.vocabulary))
    sel = [a.rec.select_behaviors(trained.behavior_names) for a in c.animals]
    typical = np.concatenate([np.where(r.behavior_mask, r.behavior, np.nan) for r in sel]).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a behavior never observed has no median
        median = np.nan_to_num(np.nanmedian(typical, 0))
    sweep, change = A.latent_traversal(trained, dims, all_ids, median, behavior_mask=c.known_mask)
    # The 24 identities that change most, ordered by their change at the end of the first sweep.
    top = np.argsort(-np.abs(change).max(axis=(0, 2)), kind="stable")[:24]
    top = top[np.argsort(-change[0, top, -1], kind="stable")]
    fig = F.plot_latent_traversal(sweep, change[:, top], [trained.vocabulary[int(all_ids[t])] for t in top], dims,
                                  kl=[float(c.kl[d]) for d in dims])
    return ("latent_traversal", "Latent traversals",
            "Each panel sweeps one of the most active latent dimensions from -2 to +2 prior SD (behavior fixed at its "
            "median); identities that change together share that latent factor, and a flat panel decodes to nothing.",
            fig)


def _reversal_triggered(c: _Context) -> Section | str:
    animals, reversals = c.animals, c.reversals
    if not all("velocity" in a.rec.behavior_names for a in animals):
        return "No velocity: the reversal-triggered figure is skipped."
    if sum(len(r) for r in reversals) == 0:
        return "No reversal in the analysed animals: the reversal-triggered figure is skipped."
    # One time grid for all animals: their frame periods differ by a few percent at most.
    dt = float(np.median([a.rec.dt for a in animals]))
    before, after = int(round(20 / dt)), int(round(40 / dt))
    lags = (np.arange(before + after) - before) * dt
    members = A.class_members(animals, A.REVERSAL_CLASSES)
    chosen_by = "known reversal neurons"
    if not members:
        named = A.behavior_correlated_identities(animals, "velocity", k=4)
        members = {n: [(k, int(i)) for k, a in enumerate(animals) for i in a.rec.labeled_indices if a.names[i] == n]
                   for n, _ in named}
        chosen_by = "the identities most correlated with velocity"

    def segments(k: int, values: np.ndarray) -> np.ndarray:
        return A.event_segments(values, reversals[k][:, 0], before, after, animals[k].rec.timestamps)

    velocity = np.concatenate([segments(k, a.rec.behavior[:, a.rec.behavior_names.index("velocity")])
                               for k, a in enumerate(animals)])
    if velocity.shape[0] == 0:
        return "No reversal far enough from the recording's edges: the reversal-triggered figure is skipped."
    panels: dict[str, dict[str, np.ndarray]] = {"velocity": {"data": velocity}}
    for name, pairs in list(members.items())[:5]:
        panels[name] = {label: np.concatenate([segments(k, getattr(animals[k], attr)[:, i]) for k, i in pairs])
                        for attr, label in [("data", "data"), *A.PREDICTION_KINDS.items()]}
    fig = F.plot_event_triggered(lags, panels, {"velocity": A.behavior_label("velocity")},
                                 title=f"Mean ± s.e.m. around {velocity.shape[0]} reversal onsets ({len(animals)} "
                                       f"animals), {chosen_by}; n = traces (events × neurons)")
    return ("reversal_triggered", "Responses around reversal onsets",
            "Observed (grey) and predicted mean activity around reversal onsets: a behavior-only prediction (green) that "
            "follows the data means the model learned the response from behavior; what only the reconstruction "
            "recovers is activity behavior does not explain.", fig)


def _generated(c: _Context) -> Section | str:
    trained = c.trained
    names = trained.behavior_names
    time_s, behavior, spans = A.synthetic_behavior(names, trained.model.cfg.dt, [a.rec for a in c.animals],
                                                   observed=c.observed)
    # Neurons are chosen by the behaviors that change in the synthetic trajectory: a neuron
    # chosen for a behavior held constant would seem to respond to what does not happen.
    varying = [b for j, b in enumerate(names) if b in c.observed and np.ptp(behavior[:, j]) > 0]
    picked, why = [], []
    for b in varying:
        for name, r in A.behavior_correlated_identities(c.animals, b, k=2, exclude=picked):
            picked.append(name)
            why.append(f"r = {r:+.2f} with {b.replace('_', ' ')}")
    if not picked:
        return "No identity could be related to behavior: the generated-activity figure is skipped."
    known = c.known_mask
    activity = A.generate_settled(trained, behavior, picked, behavior_mask=known)
    shown = [j for j, b in enumerate(names) if known[j]]
    fig = F.plot_generated(time_s, activity, picked, behavior[:, shown], [names[j] for j in shown], spans, why)
    constant = [b.replace("_", " ") for b in c.observed if b not in varying]
    unknown = [b.replace("_", " ") for b in names if b not in c.observed]
    events = "forward, a 12 s reversal, forward" + (", a feeding bout" if "feeding bout" in spans else "")
    caption = (f"Activity the model generates for a made-up behavior: {events} (shaded); the identities shown are "
               f"the two most correlated in the data with each behavior that changes here ({', '.join(varying)})"
               + (f"; {', '.join(constant)} stays at its median" if constant else "")
               + (f"; {', '.join(unknown)}, never observed in training, is given to the model as unknown"
                  if unknown else "") + ".")
    return ("generated", "Activity generated for a synthetic behavior", caption, fig)


SECTIONS = (_training, _kl, _reconstruction, _r2_by_class, _latent_trajectories, _latent_traversal,
            _reversal_triggered, _generated)
"""The figures, in the order of the page."""


def write_report(
    trained,
    datasets: Mapping[str, Recording] | Sequence[Recording],
    out_dir: str | os.PathLike,
    *,
    history: Sequence[EpochRecord] | None = None,
    evaluation: Any = None,
    neurons: Sequence[str] | None = None,
    max_animals: int = 6,
    title: str | None = None,
    n_folds: int = 5,
    dpi: int = 150,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Write the figures of a trained model and one HTML page that shows them.

    Parameters
    ----------
    trained : Trained
    datasets : dict uid -> Recording, or a list. The animals the model never used are
        analysed (those the evaluation scored first), then its validation animals
        (``trained.val_uids``; the page says their scores are optimistic); if every animal
        given was used in training, they are analysed and the page warns that scores are
        in-sample. Behaviors never observed in the training animals among them (e.g.
        pumping missing in every frame) are not drawn, generated or listed.
    out_dir : folder for ``index.html`` and the PNGs (created if missing)
    history : training history (default ``trained.history``; a run's full history is in
        its ``metrics.csv``, see `read_metrics`)
    evaluation : an evaluation (mapping, path to ``eval.json``, or object with ``to_dict``)
        whose summary is shown; None skips that section
    neurons : names of the neurons to show in the reconstruction figure (default: the
        labeled neurons with the most slow variance in the first animal)
    max_animals : at most this many animals are analysed
    title : page title
    n_folds : imputation hides the labeled neurons in this many groups, one at a time
    dpi : resolution of the PNGs
    progress : called with a line of text before each step (each animal, each figure)

    Returns
    -------
    str : path of ``index.html``

    Examples
    --------
    >>> trained = ceneurovae.load("runs/first")                    # doctest: +SKIP
    >>> write_report(trained, datasets, "runs/first/report")       # doctest: +SKIP
    'runs/first/report/index.html'
    """
    F.require_matplotlib()
    if not isinstance(max_animals, int) or max_animals < 1:
        raise ConfigError(f"max_animals must be a positive integer, got {max_animals!r}")
    evaluation = _as_mapping(evaluation)
    started = time.perf_counter()
    recs = {r.uid: r for r in recordings_of(datasets)}
    summary = evaluation.get("summary") if isinstance(evaluation, Mapping) else None
    summary = summary if isinstance(summary, Mapping) else {}
    ev_animals = summary.get("animals") if isinstance(summary.get("animals"), Mapping) else {}
    ev_test = [u for u in (ev_animals.get("test") or []) if isinstance(u, str)]
    chosen, roles, animal_kind = _choose_animals(trained, recs, max_animals, preferred=ev_test)
    os.makedirs(out_dir, exist_ok=True)
    history = list(trained.history if history is None else history)
    notes: list[str] = []
    if "trained on" in roles.values():
        notes.append("None of the recordings given were held out from training: every score on this page is in-sample.")
    validation = [u for u, r in roles.items() if r == "validation"]
    if validation:
        notes.append(f"{plural(len(validation), 'animal')} analysed here ({', '.join(validation)}) "
                     f"{'is a validation animal' if len(validation) == 1 else 'are validation animals'}: "
                     "it chose the early-stopping epoch and the calibration, so its scores are optimistic. Animals the "
                     "model never saw give an unbiased score.")
    # Behaviors never observed in training are unknown to the model: never drawn, generated or
    # listed as behaviors (the training animals tell, when given; else the animals given).
    reference = [recs[u] for u in trained.train_uids if u in recs] or list(recs.values())
    observed = A.observed_behaviors(reference, trained.behavior_names)
    unobserved = [b for b in trained.behavior_names if b not in observed]
    if unobserved:
        where = "the training animals" if any(u in recs for u in trained.train_uids) else "the animals given"
        notes.append(f"{', '.join(A.behavior_label(b) for b in unobserved)}: never observed in {where} (missing in "
                     "every frame). The model saw it as unknown; it is not drawn, not used to generate activity, "
                     "and not counted among the behaviors.")
    say = progress or (lambda text: None)
    animals = []
    for k, r in enumerate(chosen):
        say(f"predicting animal {k + 1}/{len(chosen)} ({r.uid}, {n_folds} folds of hidden neurons)")
        animals.append(A.predict_animal(trained, r, n_folds=n_folds, seed=k))
    diag = latent_diagnostics(trained, [a.rec for a in animals])
    active = np.asarray(diag["posterior_mean_variance"]) > diag["active_threshold"]
    c = _Context(
        trained=trained, animals=animals, reversals=[A.reversal_intervals(a.rec) for a in animals],
        history=history, best=best_epoch(history, trained.config.train) if history else None,
        kl=np.asarray(diag["kl_per_dim"]), kl_unit=diag["kl_unit"], table=A.identity_table(animals),
        neurons=neurons, notes=notes, roles=roles, observed=observed, active=active,
        active_rule=f"posterior-mean variance over frames > {diag['active_threshold']:g}, as in ceneurovae evaluate",
    )
    entries: list[FigureEntry] = []
    for k, section in enumerate(SECTIONS):
        say(f"figure {k + 1}/{len(SECTIONS)}")
        made = section(c)
        if isinstance(made, str):
            notes.append(made)
            continue
        stem, fig_title, caption, fig = made
        F.save_figure(fig, os.path.join(out_dir, f"{stem}.png"), dpi=dpi)
        entries.append(FigureEntry(file=f"{stem}.png", title=fig_title, caption=caption, anchor=stem))

    header, rows = _summary_rows(c.table, animals, c.reversals, roles)
    if evaluation is None:
        eval_html = ('<p class="note">No evaluation (eval.json) in the run folder: the comparison with baselines and '
                     "the ceiling is not shown.</p>")
        words = ["Not compared with baselines: no evaluation (eval.json) in the run folder; run ceneurovae evaluate."]
    else:
        eval_html = evaluation_tables(evaluation)
        words = list(summary.get("verdict") or verdict(dict(summary))) or [
            "Not compared with baselines: the evaluation fitted none (give ceneurovae evaluate the training "
            "animals, --train-data)."]
        analysed = [a.rec.uid for a in animals]
        if ev_test and sorted(ev_test) != sorted(analysed):
            notes.append(f"The evaluation covers {plural(len(ev_test), 'animal')} ({_short(ev_test)}); the figures and "
                         f"the R² table below cover {plural(len(analysed), 'animal')} ({_short(analysed)}).")
    page = render_page(
        title=title or "ceneurovae report",
        subtitle=f"Analysed: {animal_kind}; written {time.strftime('%Y-%m-%d %H:%M')} in "
                 f"{time.perf_counter() - started:.0f} s",
        model_rows=_model_rows(trained, history, c.best, observed),
        summary_header=header,
        summary_rows=rows,
        summary_note=(f"R² of the {plural(len(animals), 'analysed animal')}: the MEDIAN over the labeled neurons of "
                      "each animal (the evaluation's table gives means). Reconstruction: every neuron seen by the "
                      "encoder, with the per-animal read-out correction fitted to its trace; imputed: each neuron "
                      f"hidden from the encoder ({n_folds} groups, one at a time); behavior only: latent at the prior "
                      "mean."),
        evaluation_html=eval_html,
        figures=entries,
        notes=notes,
        config_yaml=trained.config.to_yaml(),
        verdict=words,
    )
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return path


def _short(uids: Sequence[str]) -> str:
    return ", ".join(uids) if len(uids) <= 4 else f"{uids[0]}, {uids[1]}, ..., {uids[-1]}"


def _summary_rows(table: dict[str, np.ndarray], animals: list[A.AnimalPredictions], reversals: list[np.ndarray],
                  roles: Mapping[str, str]):
    kinds = list(A.PREDICTION_KINDS)
    header = ["animal", "role", "minutes", "neurons", "labeled", "reversals",
              *[f"median R² {A.PREDICTION_KINDS[k]}" for k in kinds]]
    rows = []

    def med(values: np.ndarray) -> float:
        v = values[np.isfinite(values)]
        return float(np.median(v)) if v.size else float("nan")

    for a, rev in zip(animals, reversals, strict=True):
        sel = table["uid"] == a.rec.uid
        rows.append([a.rec.uid, ROLES.get(roles.get(a.rec.uid, ""), ""), f"{a.rec.n_frames * a.rec.dt / 60:.1f}",
                     a.rec.n_neurons, a.rec.n_labeled, len(rev),
                     *[med(table[k][sel].astype(np.float64)) for k in kinds]])
    if len(animals) > 1:
        rows.append(["all (median over all their neurons)", "", f"{sum(a.rec.n_frames * a.rec.dt for a in animals) / 60:.1f}",
                     sum(a.rec.n_neurons for a in animals), sum(a.rec.n_labeled for a in animals),
                     sum(len(r) for r in reversals), *[med(table[k].astype(np.float64)) for k in kinds]])
    return header, rows


def _model_rows(trained, history: Sequence[EpochRecord], best: int | None, observed: Sequence[str]) -> list[list[Any]]:
    cfg, m = trained.config, trained.model.cfg
    best_rec = next((h for h in history if h.epoch == best), None)
    data = cfg.data.path
    unknown = [b for b in trained.behavior_names if b not in observed]
    return [
        ["model", f"{m.latent} latent, Z = {m.latent_dim}; {m.encoder} encoder ({m.encoder_layers} layers), "
                  f"H = {m.hidden_dim}; {m.readout} read-out; {m.recon_loss} likelihood"],
        ["identities", len(trained.vocabulary) - 1],
        ["behaviors", ", ".join(A.behavior_label(b) for b in observed) or "none observed"],
        *([["never observed (unknown to the model)", ", ".join(A.behavior_label(b) for b in unknown)]] if unknown else []),
        ["windows", f"{cfg.data.window_T} frames ({cfg.data.window_T * m.dt:.0f} s), stride {cfg.data.stride}"],
        ["epochs run", f"{len(history)} of at most {cfg.train.epochs}"],
        ["best epoch", "–" if best is None else best + 1],
        ["best validation loss", "–" if best_rec is None else round(best_rec.val, 4)],
        ["training time", f"{sum(h.seconds for h in history) / 60:.1f} min" if history else "–"],
        ["animals", f"{plural(len(trained.train_uids), 'animal')} trained on, {len(trained.val_uids)} for validation "
                    "(validation animals chose the early-stopping epoch and the calibration)"],
        ["imputation", f"{1 - trained.linear_mix:g} x latent read-out + {trained.linear_mix:g} x linear conditional "
                       "on the visible neurons (weight chosen on the validation animals)"],
        ["behavior-only scale", f"{trained.behavior_scale:g} (chosen on the validation animals)"],
        ["data", ", ".join(data) if data else "(given in memory)"],
        ["ceneurovae", __version__],
    ]
