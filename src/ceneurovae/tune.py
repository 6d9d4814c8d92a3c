"""Hyperparameter search with Optuna (optional extra: ``pip install ceneurovae[tune]``).

A study samples settings with TPE, trains one model per trial through `ceneurovae.fit`,
and stops unpromising trials early with a median pruner on the validation loss reported
after each epoch. The search space is declared in the run's YAML file, beside the usual
sections (``Config.from_yaml`` skips exactly this section, so the same file trains)::

    train:
      epochs: 40
    tune:
      metric: val_loss                  # val_loss | imputation | reconstruction | behavior
      space:
        train.lr: {low: 0.0005, high: 0.005, log: true}
        train.neuron_dropout: {low: 0.2, high: 0.7}
        model.latent_dim: [8, 16, 32]   # a list: choose one of these
      pruner: {startup_trials: 5, warmup_epochs: 10}

A parameter is any setting ``section.key`` whose value is a number, a bool or a string. An
integer setting with ``low``/``high`` is drawn as an integer, a float setting as a float
(``log: true`` for a log-uniform draw, ``step`` for a grid); a list, or ``{choices: [...]}``,
is a categorical choice. Without a ``space``, `DEFAULT_SPACE` is searched.

Objectives (``metric``):

- ``val_loss`` (default; minimized): the best validation loss per observed entry at KL
  weight 1, i.e. the negative ELBO (``EpochRecord.val_elbo``) over epochs. Not the training
  objective's ``val`` column, which weighs the KL by the epoch's beta: it differs between
  epochs of the warm-up and between trials that tune ``train.beta``, so it would always
  prefer the smallest beta.
- with ground truth (``truth``; simulated data): a seeded share of the animals is held out
  of training and scored by `ceneurovae.evaluate.evaluate`; ``imputation`` (mean R² of
  hidden neurons over the mean ceiling, maximized), ``reconstruction`` (R² against the
  noiseless truth, maximized) or ``behavior`` (behavior-only R², maximized). Trials are
  pruned on the validation ELBO all the same.

With a shared ``storage`` (``sqlite:///study.db`` on a shared disk, or any database URL that
SQLAlchemy reads), any number of processes on any machines work on one study: each loads it
(``load_if_exists``), asks for a trial, and writes its result back.
"""

from __future__ import annotations

import csv
import math
import os
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from . import api
from .config import SECTIONS, Config, read_yaml
from .errors import ConfigError, TrainingError
from .evaluation import evaluate

__all__ = [
    "DEFAULT_SPACE",
    "METRICS",
    "Param",
    "TuneSettings",
    "import_optuna",
    "read_tune_section",
    "parse_settings",
    "run_study",
    "best_config",
    "write_trials",
]

DEFAULT_SPACE: dict[str, Any] = {
    "train.lr": {"low": 5e-4, "high": 5e-3, "log": True},
    "train.beta": {"low": 0.1, "high": 1.0, "log": True},
    "train.neuron_dropout": {"low": 0.2, "high": 0.7},
    "model.latent_dim": [8, 16, 32],
    "model.hidden_dim": [64, 128, 256],
}
"""Searched when the ``tune:`` section declares no ``space``."""

# metric -> (direction, needs ground truth)
METRICS: dict[str, tuple[str, bool]] = {
    "val_loss": ("minimize", False),
    "imputation": ("maximize", True),
    "reconstruction": ("maximize", True),
    "behavior": ("maximize", True),
}

_SCALARS = (int, float, bool, str)


def import_optuna():
    """The optuna module, or a ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "hyperparameter search needs optuna, an optional extra: pip install 'ceneurovae[tune]' "
            "(or pip install optuna)"
        ) from None
    return optuna


@dataclass
class Param:
    """One searched setting: a range (``low``..``high``) or a list of ``choices``."""

    key: str
    kind: str  # "int", "float" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple | None = None

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)


@dataclass
class TuneSettings:
    """What a study searches and optimizes."""

    space: list[Param]
    metric: str = "val_loss"
    startup_trials: int = 5
    """Trials that run to the end before the pruner may stop any."""
    warmup_epochs: int | None = None
    """Epochs of each trial never pruned (None: the KL warm-up, ``train.kl_warmup_epochs``)."""

    @property
    def direction(self) -> str:
        return METRICS[self.metric][0]


def read_tune_section(path: str | os.PathLike | None) -> dict | None:
    """The raw ``tune:`` mapping of a YAML config file (None when the file has none)."""
    if path is None:
        return None
    d = read_yaml(path)
    section = d.get("tune") if isinstance(d, dict) else None
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{path}: the tune section must be a mapping (metric, space, pruner), got {section!r}")
    return section


def _number(value: Any, where: str) -> float:
    # YAML 1.1 reads 5e-4 (no dot) as a string
    if isinstance(value, bool):
        raise ConfigError(f"{where} = {value!r}: expected a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} = {value!r}: expected a number") from None
    if not math.isfinite(out):
        raise ConfigError(f"{where} = {value!r}: expected a finite number")
    return out


def _field_type(key: str) -> type:
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise ConfigError(f"tune.space: {key!r} is not a setting; use section.key with a section among {sorted(SECTIONS)}")
    klass = SECTIONS[section]
    names = {f.name for f in fields(klass)}
    if name not in names:
        raise ConfigError(f"tune.space: {key!r} is not a setting; known keys of {section}: {sorted(names)}")
    hint = typing.get_type_hints(klass)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if hint in _SCALARS:
        return hint
    if len(args) == 1 and args[0] in _SCALARS:  # Optional[int] and the like
        return args[0]
    raise ConfigError(f"tune.space: {key!r} holds a {hint}; only number, bool and string settings can be searched")


def _param(key: str, spec: Any) -> Param:
    kind = _field_type(key)
    where = f"tune.space.{key}"
    if isinstance(spec, (list, tuple)):
        spec = {"choices": list(spec)}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} = {spec!r}: give {{low: ..., high: ...}} (with log: true or step: ...) or a list of choices")
    unknown = sorted(set(spec) - {"low", "high", "log", "step", "choices"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; use low, high, log, step or choices")
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise ConfigError(f"{where}: give either choices or a range (low, high), not both")
        choices = spec["choices"]
        if not isinstance(choices, (list, tuple)) or not choices:
            raise ConfigError(f"{where}.choices = {choices!r}: give a non-empty list")
        for c in choices:
            if c is not None and not isinstance(c, _SCALARS):
                raise ConfigError(f"{where}.choices: {c!r} is not a number, bool or string")
        return Param(key, "categorical", choices=tuple(choices))
    if kind not in (int, float):
        raise ConfigError(f"{where}: {key} is a {kind.__name__} setting; give a list of choices")
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: a range needs both low and high (got {sorted(spec)})")
    low, high = _number(spec["low"], f"{where}.low"), _number(spec["high"], f"{where}.high")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log = {log!r}: expected true or false")
    step = None if spec.get("step") is None else _number(spec["step"], f"{where}.step")
    if not low < high:
        raise ConfigError(f"{where}: low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got {low}")
    if log and step is not None:
        raise ConfigError(f"{where}: choose log or step, not both")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}.step = {step}: must be > 0")
    if kind is int:
        for name, v in (("low", low), ("high", high), ("step", step)):
            if v is not None and v != int(v):
                raise ConfigError(f"{where}.{name} = {v}: {key} is an integer setting")
    return Param(key, kind.__name__, low=low, high=high, log=log, step=step)


def parse_settings(section: Mapping[str, Any] | None) -> TuneSettings:
    """`TuneSettings` from a ``tune:`` mapping (None: the default space and metric)."""
    section = dict(section or {})
    unknown = sorted(set(section) - {"metric", "space", "pruner"})
    if unknown:
        raise ConfigError(f"tune: unknown key(s) {unknown}; known: metric, space, pruner")
    metric = section.get("metric", "val_loss")
    if metric not in METRICS:
        raise ConfigError(f"tune.metric = {metric!r}: choose one of {sorted(METRICS)}")
    space = section.get("space")
    if space is None:
        space = DEFAULT_SPACE
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"tune.space must map settings (section.key) to ranges or choices, got {space!r}")
    pruner = section.get("pruner") or {}
    if not isinstance(pruner, dict) or set(pruner) - {"startup_trials", "warmup_epochs"}:
        raise ConfigError(f"tune.pruner = {pruner!r}: a mapping with startup_trials and/or warmup_epochs")
    for name in ("startup_trials", "warmup_epochs"):
        v = pruner.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise ConfigError(f"tune.pruner.{name} = {v!r}: must be an integer >= 0")
    return TuneSettings(
        space=[_param(k, v) for k, v in space.items()],
        metric=metric,
        startup_trials=pruner.get("startup_trials", 5),
        warmup_epochs=pruner.get("warmup_epochs"),
    )


def _score(evaluation, metric: str) -> float:
    model = evaluation.summary["methods"]["model"]
    if metric == "imputation":
        return float(model["fraction_of_ceiling"]["imputation"]["fraction_mean"])
    if metric == "reconstruction":
        return float(model["reconstruction_vs_signal"]["mean"])
    return float(model["behavior_only"]["mean"])


def run_study(
    datasets: Mapping,
    base: Config,
    settings: TuneSettings,
    *,
    trials: int,
    storage: str | None = None,
    study_name: str = "ceneurovae",
    truth: Mapping | None = None,
    test_uids: list[str] | None = None,
    seed: int | None = None,
    device: str = "auto",
    log: Callable[[str], None] = print,
):
    """Run `trials` trials of a study (created, or loaded from `storage`); returns the study.

    Parameters
    ----------
    datasets : dict uid -> Recording
    base : the configuration each trial starts from; the trial's parameters override it
    settings : search space, metric, pruner
    trials : trials to run in this process (other processes may add theirs to the same study)
    storage : optuna storage URL (None: in memory, this process only)
    study_name : the study's name in the storage
    truth : dict uid -> GroundTruth; needed by the metrics other than ``val_loss``
    test_uids : animals held out of training and scored (with truth); all of them are
        removed from the training data
    seed : seed of the sampler (None: random, so that processes sharing a study explore
        different points)
    device : where to train
    log : where one line per trial goes
    """
    optuna = import_optuna()

    direction, needs_truth = METRICS[settings.metric]
    if needs_truth and (truth is None or not test_uids):
        raise ConfigError(f"metric {settings.metric!r} needs ground truth and held-out animals (--truth)")
    if not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"trials must be a positive integer, got {trials!r}")
    test_uids = list(test_uids or [])
    held_out = set(test_uids)
    train = {u: r for u, r in datasets.items() if u not in held_out}
    test = {u: datasets[u] for u in test_uids}
    if len(train) < 2:
        raise ConfigError(f"{len(train)} animal(s) left to train on; a study needs at least 2 (training and validation)")
    warmup = settings.warmup_epochs if settings.warmup_epochs is not None else base.train.kl_warmup_epochs
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=settings.startup_trials, n_warmup_steps=warmup),
            direction=direction,
            load_if_exists=True,
        )
    except (ImportError, ValueError) as err:  # a bad URL, or a database driver that is not installed
        raise ConfigError(f"cannot open the study {study_name!r} in storage {storage!r}: {err}") from None
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"study {study_name!r} in {storage} is {study.direction.name.lower()}d, but metric "
            f"{settings.metric!r} is {direction}d; use another --study name"
        )
    sign = 1.0 if direction == "minimize" else -1.0  # reported losses follow the study's direction

    def objective(trial) -> float:
        t0 = time.perf_counter()
        params = {p.key: p.suggest(trial) for p in settings.space}
        cfg = base.with_overrides(params)
        cfg.train.quiet = True
        best = [math.inf]

        def on_epoch_end(record) -> None:
            loss = -record.val_elbo  # per observed entry, at KL weight 1
            best[0] = min(best[0], loss)
            trial.report(sign * loss, record.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {record.epoch + 1}: validation loss {loss:.4f}")

        try:
            trained = api.fit(train, cfg, device=device, quiet=True, on_epoch_end=on_epoch_end)
        except optuna.TrialPruned:
            log(f"trial {trial.number:4d}  pruned   after {time.perf_counter() - t0:6.1f} s  {_fmt(params)}")
            raise
        except TrainingError as err:
            log(f"trial {trial.number:4d}  failed   after {time.perf_counter() - t0:6.1f} s  {_fmt(params)}: {err}")
            raise
        trial.set_user_attr("epochs", len(trained.history))
        trial.set_user_attr("val_loss", best[0])
        value = best[0]
        if needs_truth:
            # the same hidden neurons in every trial, so that trials are compared on one task
            ev = evaluate(trained, test, {u: truth[u] for u in test_uids}, baselines=False, seed=seed or 0)
            value = _score(ev, settings.metric)
        if not math.isfinite(value):
            raise TrainingError(f"trial {trial.number}: the {settings.metric} objective is {value}")
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        log(f"trial {trial.number:4d}  {settings.metric} {value:.4f}  {len(trained.history):3d} epochs  "
            f"{time.perf_counter() - t0:6.1f} s  {_fmt(params)}")
        return value

    study.optimize(objective, n_trials=trials, catch=(TrainingError,))
    return study


def _fmt(params: Mapping[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def best_config(study, base: Config) -> Config:
    """The base configuration with the best finished trial's parameters."""
    optuna = import_optuna()
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise TrainingError("no trial of the study finished (all failed or were pruned); nothing to write")
    return base.with_overrides(dict(study.best_trial.params))


def write_trials(study, path: str | os.PathLike) -> None:
    """One CSV row per trial of the study: number, state, value, seconds, epochs, parameters."""
    keys = sorted({k for t in study.trials for k in t.params})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["number", "state", "value", "seconds", "epochs", *keys])
        for t in study.trials:
            seconds = t.duration.total_seconds() if t.duration is not None else np.nan
            w.writerow([t.number, t.state.name, "" if t.value is None else t.value, f"{seconds:.1f}",
                        t.user_attrs.get("epochs", ""), *(t.params.get(k, "") for k in keys)])
