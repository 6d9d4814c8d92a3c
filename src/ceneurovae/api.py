"""The front door: ``ceneurovae.fit(datasets)`` returns a `Trained` model; ``ceneurovae.load(path)`` reads one.

::

    import ceneurovae
    trained = ceneurovae.fit(datasets)          # defaults: sensible epochs, early stopping
    trained.reconstruct(rec)                    # (T, N) denoised, in the units of rec.traces
    trained.impute(rec, hide=[3, 7])            # (T, N), neurons 3 and 7 withheld from the encoder
    trained.from_behavior(rec)                  # (T, N) predicted from behavior alone
    trained.latents(rec)                        # (T, Z)
    trained.generate(behavior, ["AVAL", "RIML"])  # (T, 2) for any behavior trajectory
    trained.save("model.pt"); trained = ceneurovae.load("model.pt")
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .calibration import (
    BEHAVIOR_SCALES,
    MIXES,
    REFINE_PRIORS,
    Calibration,
    calibrate,
    choose_refine_prior,
    install_linear_readout,
)
from .config import Config, load_config
from .data import build_loaders, common_vocabulary, default_behaviors, recordings_of
from .errors import ConfigError, DataError
from .io import DEFAULT_BEHAVIORS
from .model import NeuroBehaviorVAE
from .recording import Recording
from .trained import REFINE_PRIOR, REFINE_STEPS, Trained
from .training import (
    Checkpoint,
    EpochRecord,
    Solver,
    build_optimizer,
    build_scheduler,
    is_distributed,
    is_main_process,
    load_checkpoint,
    select_device,
    world_size,
)
from .utils import atomic_open

__all__ = ["fit", "load", "check_resume", "Trained", "Calibration", "calibrate", "choose_refine_prior", "install_linear_readout",
           "common_vocabulary", "select_device", "is_main_process", "DEFAULT_BEHAVIORS",
           "REFINE_STEPS", "REFINE_PRIOR", "REFINE_PRIORS", "MIXES", "BEHAVIOR_SCALES"]


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> Trained:
    """Load a model saved by `Trained.save` or a run folder's ``best.pt`` / ``last.pt``.

    Only plain data is read (weights-only loading): a file holding code is refused.
    A folder is accepted and means its ``best.pt``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "best.pt")
    dev = select_device(device)
    payload = load_checkpoint(path, map_location=dev)
    return Trained.from_checkpoint(Checkpoint.from_payload(payload), dev, path)


def fit(
    datasets: Mapping[str, Recording] | Sequence[Recording],
    config: Config | str | os.PathLike | dict | None = None,
    val_uids: Sequence[str] | None = None,
    seed: int | None = None,
    *,
    run_dir: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    quiet: bool | None = None,
    resume: str | os.PathLike | None = None,
    on_epoch_end: Callable[[EpochRecord], None] | None = None,
) -> Trained:
    """Train a model on recordings of many animals.

    Parameters
    ----------
    datasets : dict uid -> Recording, or a list of recordings
    config : Config, a YAML path, a dict of sections, or a dict of dotted overrides
        (``{"model.latent_dim": 8}``); None for the defaults.
    val_uids : animals held out for early stopping (default: a seeded 20% of them)
    seed : overrides ``config.train.seed`` (default 0)
    run_dir : optional folder for checkpoints (best.pt, last.pt), metrics.csv, config.yaml, summary.json
    device : "auto" (CUDA, then MPS, then CPU) or a device name
    quiet : no progress bar (default: ``config.train.quiet``)
    resume : a ``last.pt`` to continue from
    on_epoch_end : called with each epoch's `EpochRecord` (e.g. to report to a tuner, or to
        stop early by raising)

    Returns
    -------
    Trained
        With its `refine_prior` (the prior's weight in `impute`'s refinement), the weight of
        the linear read-out in imputation (`linear_mix`) and `behavior_scale` chosen on the
        validation animals by `calibrate` (about 2 s per validation animal), the linear
        read-out fitted to the training animals for that choice and then to all of them
        (`install_linear_readout`). Without validation animals nothing is chosen: the latent
        read-out alone imputes and behavior predictions are not scaled.
    """
    t0 = time.perf_counter()
    cfg = load_config(config)
    if seed is not None:
        cfg.train.seed = int(seed)
    if quiet is not None:
        cfg.train.quiet = bool(quiet)
    recs, vocab = _cohort(datasets, cfg)
    dev = select_device(device)
    torch.manual_seed(cfg.train.seed)
    loader_train, loader_val, train_uids, val_uids = _loaders(recs, cfg, val_uids, dev)
    scaler = loader_train.dataset.scaler
    model = NeuroBehaviorVAE(cfg.model).to(dev)
    extra = {"vocabulary": vocab.to_list(), "behavior_scaler": scaler.to_dict(), "config": cfg.to_dict(),
             "train_uids": train_uids, "val_uids": val_uids}
    solver = _solver(model, cfg, dev, run_dir, extra, on_epoch_end)
    if resume is not None:  # everything is checked before anything is written
        ckpt = Checkpoint.load(resume, map_location=dev)
        check_resume(ckpt, cfg, extra, str(resume))
        solver.resume(resume, ckpt)
    if run_dir is not None and is_main_process():
        os.makedirs(run_dir, exist_ok=True)
        cfg.to_yaml(os.path.join(run_dir, "config.yaml"))
    history = solver.fit(loader_train, loader_val)
    trained = Trained(model, cfg, vocab, scaler, history, train_uids, val_uids)
    linear_info = _choose_predictions(trained, recs, val_uids, cfg.train.seed)
    if run_dir is not None and is_main_process():
        if solver.best_epoch >= 0:  # so that `load(run_dir)` predicts as this object does
            trained.checkpoint().replace(epoch=solver.best_epoch).save(os.path.join(run_dir, "best.pt"))
        _write_summary(os.path.join(run_dir, "summary.json"), trained, len(vocab), dev, linear_info,
                       time.perf_counter() - t0)
    return trained


RUNTIME_SETTINGS = {"data": {"path", "num_workers"}, "train": {"quiet", "tensorboard", "compile", "amp"}}
"""Settings a resumed run may change: they do not change what is trained."""


def check_resume(ckpt: Checkpoint, cfg: Config, extra: dict, path: str = "checkpoint") -> None:
    """Refuse to resume the run of checkpoint `ckpt` (read from `path`) with other animals, identities or settings
    than it was started with (apart from `RUNTIME_SETTINGS`): the run would not be the one it
    continues, and its folder would say otherwise. Settings the checkpoint does not record
    (runs from earlier versions) are not compared."""
    problems = []
    for key in ("train_uids", "val_uids", "vocabulary"):
        saved = getattr(ckpt, key)
        if saved is not None and list(saved) != list(extra[key]):
            what = "identity vocabulary" if key == "vocabulary" else key.replace("_uids", "ing animals")
            problems.append(f"its {what} differ ({_short(saved)} in the run, {_short(extra[key])} now)")
    now = cfg.to_dict()
    for section in ("data", "model", "train"):
        saved = (ckpt.config or {}).get(section) or {}
        for key, old in saved.items():
            if key in RUNTIME_SETTINGS.get(section, ()) or key not in now[section]:
                continue
            if now[section][key] != old:
                problems.append(f"{section}.{key} = {now[section][key]!r} (the run has {old!r})")
    if problems:
        raise ConfigError(f"cannot resume {path}: " + "; ".join(problems)
                          + ". A resumed run continues with its own data and settings; start a new run to change them")


def _short(items) -> str:
    items = list(items)
    return ", ".join(map(str, items[:4])) + (f", ... ({len(items)})" if len(items) > 4 else "")


def _cohort(datasets, cfg: Config) -> tuple[list[Recording], Any]:
    """The recordings in one vocabulary; the data-dependent settings of `cfg` set from them."""
    recs = recordings_of(datasets)
    vocab, recs = common_vocabulary(recs)
    if len(vocab) < 2:
        raise DataError(
            f"no labeled neurons in the {len(recs)} recording{'s' if len(recs) != 1 else ''} "
            f"({_short(r.uid for r in recs)}): the model learns identities from named neurons. Pass "
            "--labels FILE (read.labels in a config, labels= in Python) or a folder that holds a label file"
        )
    behaviors = list(cfg.data.behaviors) if cfg.data.behaviors else default_behaviors(recs)
    cfg.data.behaviors = behaviors
    cfg.model.n_identities = len(vocab)
    cfg.model.behavior_dim = len(behaviors)
    cfg.model.dt = float(np.median([r.dt for r in recs]))
    cfg.model.validate()
    return recs, vocab


def _loaders(recs: list[Recording], cfg: Config, val_uids, dev: torch.device):
    """`build_loaders` with the run's settings (each of several processes takes its share of a batch)."""
    if is_distributed() and cfg.train.batch_size % world_size():
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} must be a multiple of the {world_size()} processes")
    return build_loaders(
        recs,
        window_T=cfg.data.window_T,
        stride=cfg.data.stride,
        batch_size=cfg.train.batch_size // world_size(),
        num_workers=cfg.data.num_workers,
        val_uids=val_uids,
        val_fraction=cfg.data.val_fraction,
        seed=cfg.train.seed,
        behaviors=cfg.data.behaviors,
        scaler=cfg.data.scaler,
        history=cfg.model.behavior_history,
        respect_gaps=cfg.data.respect_gaps,
        pin_memory=dev.type == "cuda",
        distributed=is_distributed(),
    )


def _solver(model: NeuroBehaviorVAE, cfg: Config, dev: torch.device, run_dir, extra: dict, on_epoch_end) -> Solver:
    """The optimizer, the schedule and the `Solver` of a run (the model wrapped for several processes)."""
    step_model: torch.nn.Module = model
    if is_distributed():
        step_model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[dev.index] if dev.type == "cuda" else None,
            # log_sigma takes no part in the MSE and Huber losses
            find_unused_parameters=cfg.model.recon_loss != "gaussian",
        )
    optim = build_optimizer(model, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    sched_seq, sched_plat, cosine_done = build_scheduler(
        optim, total_epochs=cfg.train.epochs, warmup_epochs=cfg.train.warmup_epochs,
        min_lr_ratio=cfg.train.min_lr_ratio, use_plateau=cfg.train.use_plateau,
        cosine_portion=cfg.train.cosine_portion,
    )
    return Solver(step_model, optim, sched_seq, sched_plat, cosine_done, dev, cfg.train,
                  run_dir=run_dir, checkpoint_extra=extra, on_epoch_end=on_epoch_end)


def _choose_predictions(trained: Trained, recs: list[Recording], val_uids: Sequence[str], seed: int) -> dict | None:
    """Calibrate on the validation animals (`calibrate`), then install the linear read-out's
    moments of every animal with the chosen weight; returns `install_linear_readout`'s settings."""
    model, held_out = trained.model, set(val_uids)
    held = [r for r in recs if r.uid in held_out]
    # The validation animals choose how the model predicts: the linear read-out is first fitted
    # to the training animals alone, so that it meets the validation animals as new ones ...
    if held:
        install_linear_readout(model, [r for r in recs if r.uid not in held_out], seed)
    cal = calibrate(trained, held)
    trained.refine_prior, trained.behavior_scale = cal.refine_prior, cal.behavior_scale
    trained.calibration = cal
    # ... then it takes every animal: the moments need no early stopping
    linear_info = install_linear_readout(model, recs, seed)
    if model.linear is not None:
        model.linear.set_mix(cal.mix)
        trained.linear_uids = [r.uid for r in recs]
    return linear_info


def _write_summary(path: str, trained: Trained, n_identities: int, dev: torch.device, linear_info: dict | None,
                   seconds: float) -> None:
    """The run's ``summary.json``: epochs, best validation loss, animals, what calibration chose."""
    history, cal = trained.history, trained.calibration
    best = min(history, key=lambda h: h.val) if history else None
    summary = {
        "epochs_run": len(history),
        "best_epoch": None if best is None else best.epoch,
        "best_val_loss": None if best is None else best.val,
        "final_train_loss": history[-1].train if history else None,
        "seconds": seconds,
        "train_uids": trained.train_uids,
        "val_uids": trained.val_uids,
        "n_identities": n_identities,
        "behaviors": trained.config.data.behaviors,
        "device": str(dev),
        "refine_prior": trained.refine_prior,
        "refine_prior_scores": {str(p): r for (p, m), r in cal.imputation.items() if m == cal.mix},
        "linear_mix": trained.linear_mix,
        "behavior_scale": trained.behavior_scale,
        "linear_readout": linear_info,
        "calibration": cal.to_dict(),
    }
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
