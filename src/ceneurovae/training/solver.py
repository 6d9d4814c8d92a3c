"""Training: the `Solver` (one optimizer step, one epoch, the validation loss, the whole run and
its resumable state) and ``run_step``, the forward pass and loss shared by training and validation.

``fit_model`` keeps the seed's signature and return value ``(list_loss, list_lr)``;
``list_loss[e]`` is an `EpochRecord` whose first two fields are the training and
validation loss of epoch ``e`` and whose other fields hold the rest of the history
(reconstruction, KL, ELBO, KL weight, learning rate, time, skipped steps).

Reproducibility: every random draw of epoch ``e`` (batch order, augmentation, dropout,
latent samples) comes from generators seeded with ``(seed, e)``, so two runs with the same
seed give the same losses on CPU, and a run resumed from its last checkpoint ends where an
uninterrupted one would.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data import Batch, WindowDataset
from ..errors import CheckpointError, ConfigError, TrainingError
from ..inference import spread_table
from ..model import unwrap
from ..model.loss import elbo_loss, kl_weight
from ..utils import atomic_open
from .checkpoint import Checkpoint
from .config import TrainConfig
from .distributed import is_main_process

__all__ = ["Solver", "EpochRecord", "fit_model", "run_step", "evaluate_loss", "augmentation", "SPREAD_EVERY"]


SPREAD_EVERY = 2
"""Epochs between two computations of the recordings' spreads for the recording gain (at the
epochs divisible by it, and at the first epoch of a run or a resumed run): each costs an
inference pass over every training and validation recording (about 0.7 s on 2 CPU cores for
the 38 recordings of the benchmark, a fifth of an epoch). Checkpoints keep the spreads in use,
so a resumed run goes on with them as an uninterrupted one would."""


class EpochRecord(NamedTuple):
    """One epoch of history. ``record[0]``/``record[1]``: training/validation loss."""

    train: float
    val: float
    epoch: int
    train_recon: float
    val_recon: float
    train_kl: float
    val_kl: float
    val_mse: float
    val_elbo: float
    beta: float
    lr: float
    seconds: float
    skipped_steps: int


def augmentation(batch: Batch, cfg: TrainConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Random training-time masks: hidden neurons, withheld behavior, prior-decoded rows."""
    B, N = batch.identity.shape
    dev = batch.x.device
    frac = torch.rand(B, 1, device=dev, generator=gen) * cfg.neuron_dropout
    hide = (torch.rand(B, N, device=dev, generator=gen) < frac) & (batch.identity > 0)
    return {
        "encoder_mask": batch.mask & ~hide[:, None, :],
        "drop_behavior": torch.rand(B, device=dev, generator=gen) < cfg.behavior_dropout,
        "use_prior": torch.rand(B, device=dev, generator=gen) < cfg.prior_dropout,
    }


def run_step(
    model: nn.Module,
    batch: Batch,
    cfg: TrainConfig,
    beta: float,
    gen: torch.Generator | None = None,
    spread: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Forward pass and loss of one batch; augmented when a generator is given (training).

    `spread`: the (recordings, identities) table of `inference.spread_table` for the batch's
    dataset, for a model with a recording gain (None: each identity's typical spread).
    Returns the dict of `elbo_loss` (``loss`` to minimize, sums for logging).
    """
    core = unwrap(model)
    extra = augmentation(batch, cfg, gen) if gen is not None else {"sample": False}
    if spread is not None:
        extra["spread"] = torch.gather(spread[batch.animal], 1, batch.identity)
    out = model(batch.x, batch.mask, batch.behavior, batch.identity, **batch.model_inputs(), **extra)
    return elbo_loss(
        out,
        batch.x,
        batch.mask,
        batch.identity,
        beta=beta,
        kind=core.cfg.recon_loss,
        huber_delta=core.cfg.huber_delta,
        free_bits=cfg.free_bits if gen is not None else 0.0,
        pad=batch.pad,
    )


class _Totals:
    """Epoch sums kept on the device, read once per epoch (no per-step host sync).

    Steps whose loss is not finite are left out of the sums.
    """

    def __init__(self, device):
        self.t = torch.zeros(6, device=device, dtype=torch.float64)  # loss*n, recon, kl, n_obs, sq_err, windows

    def add(self, stats: dict[str, torch.Tensor], n_windows: int, finite: torch.Tensor | None = None) -> None:
        n = stats["n_obs"].double()
        parts = torch.stack([
            stats["loss"].detach().double() * n,
            stats["recon"].detach().double(),
            stats["kl"].detach().double(),
            n,
            stats["sq_err"].detach().double(),
            torch.ones_like(n) * n_windows,
        ])
        if finite is not None:
            parts = torch.where(finite, parts, torch.zeros_like(parts))
        self.t += parts

    def read(self) -> dict[str, float]:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(self.t)
        loss, recon, kl, n, sq, w = self.t.tolist()
        n, w = max(n, 1.0), max(w, 1.0)
        return {"loss": loss / n, "recon": recon / n, "kl": kl / w, "mse": sq / n, "elbo": -(recon + kl) / n}


class _BadSteps:
    """Counts steps with a non-finite loss, and the longest run of them, on the device.

    On CPU the count is read at every step for free and a bad step is skipped at once; on
    CUDA it is read every `check_every` steps (the GradScaler skips the bad updates on the
    device meanwhile), so the loop never waits for the GPU at each step.
    """

    def __init__(self, device: torch.device, limit: int, check_every: int = 50):
        self.limit, self.check_every = limit, check_every
        self.on_device = device.type == "cuda"
        self.count = torch.zeros((), dtype=torch.int64, device=device)
        self.run = torch.zeros((), dtype=torch.int64, device=device)
        self.worst = torch.zeros((), dtype=torch.int64, device=device)

    def update(self, finite: torch.Tensor) -> None:
        bad = (~finite).long()
        self.count += bad
        self.run = (self.run + bad) * bad
        self.worst = torch.maximum(self.worst, self.run)

    def check(self, epoch: int, lr: float) -> None:
        worst = int(self.worst)
        if worst >= self.limit:
            raise TrainingError(_bad_steps_message(worst, epoch, lr))


@torch.no_grad()
def evaluate_loss(model: nn.Module, loader: DataLoader, cfg: TrainConfig, device,
                  spread: torch.Tensor | None = None) -> dict[str, float]:
    """Validation loss: the negative ELBO per observed entry (KL weight 1, no free bits), with
    no augmentation and the latent at the posterior mean, so that epochs compare whatever the
    KL schedule did during training."""
    was_training = model.training
    model.eval()
    totals = _Totals(device)
    for batch in loader:
        batch = batch.to(device, non_blocking=True)
        totals.add(run_step(model, batch, cfg, 1.0, spread=spread), len(batch))
    model.train(was_training)
    return totals.read()


def _autocast(device: torch.device, enabled: bool):
    if device.type == "cuda" and enabled:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast(device.type, enabled=False)


class Solver:
    """Trains a model: one optimizer step (`step`), one epoch (`train_epoch`), the validation
    loss (`validate`), the whole run (`fit`), and its state for resuming (`state_dict`,
    `load_state_dict`, `resume`).

    Parameters
    ----------
    model : NeuroBehaviorVAE (possibly wrapped in DistributedDataParallel), already on `device`
    optim, scheduler_seq, scheduler_plat, cosine_done : from `build_optimizer` / `build_scheduler`
    device : where batches go
    config : TrainConfig (KL schedule, augmentation, clipping, early stopping, seed)
    n_epoch : number of epochs (default ``config.epochs``)
    run_dir : write ``last.pt`` every epoch, ``best.pt`` at each improvement, and ``metrics.csv``
    checkpoint_extra : plain data stored in each checkpoint (vocabulary, scaler, full config)
    on_epoch_end : called with each epoch's `EpochRecord`
    """

    def __init__(
        self,
        model: nn.Module,
        optim: torch.optim.Optimizer,
        scheduler_seq=None,
        scheduler_plat=None,
        cosine_done: int | None = None,
        device: str | torch.device = "cpu",
        config: TrainConfig | None = None,
        *,
        n_epoch: int | None = None,
        run_dir: str | os.PathLike | None = None,
        checkpoint_extra: dict[str, Any] | None = None,
        on_epoch_end: Callable[[EpochRecord], None] | None = None,
    ):
        self.cfg = config or TrainConfig()
        self.n_epoch = self.cfg.epochs if n_epoch is None else n_epoch
        if not isinstance(self.n_epoch, int) or self.n_epoch < 1:
            raise ConfigError(f"n_epoch must be a positive integer, got {self.n_epoch!r}")
        self.model = model
        self.core = unwrap(model)
        self.optim = optim
        self.scheduler_seq, self.scheduler_plat = scheduler_seq, scheduler_plat
        self.cosine_done = self.n_epoch if cosine_done is None else cosine_done
        self.device = torch.device(device)
        self.run_dir = run_dir
        self.extra = dict(checkpoint_extra or {})
        self.on_epoch_end = on_epoch_end
        self.main = is_main_process()
        self.quiet = self.cfg.quiet or os.environ.get("CENEUROVAE_QUIET") == "1"
        self.step_model = torch.compile(model) if self.cfg.compile else model
        # On CUDA the scaler is also what skips non-finite updates without a host sync.
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.device.type == "cuda")
        # the state a resumed run continues from
        self.history: list[EpochRecord] = []
        self.best_loss, self.best_epoch, self.bad_epochs, self.start_epoch = math.inf, -1, 0, 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.spread_train = self.spread_val = None  # the recording gain's spreads (None: the model has none)

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The training state (`Checkpoint`'s resume fields, without ``epoch`` and ``finished``)."""
        spreads = None
        if self.spread_train is not None:
            spreads = tuple(None if t is None else t.detach().cpu() for t in (self.spread_train, self.spread_val))
        return {
            "train_config": self.cfg.to_dict(),
            "optimizer": self.optim.state_dict(),
            "scheduler_seq": None if self.scheduler_seq is None else self.scheduler_seq.state_dict(),
            "scheduler_plat": None if self.scheduler_plat is None else self.scheduler_plat.state_dict(),
            "history": [h._asdict() for h in self.history],
            "best": {"loss": self.best_loss, "epoch": self.best_epoch},
            "bad_epochs": self.bad_epochs,
            "spreads": spreads,
        }

    def load_state_dict(self, ckpt: Checkpoint, source: str = "checkpoint") -> None:
        """Continue from a checkpoint: weights, optimizer, schedulers, history, epoch, spreads."""
        try:
            self.core.load_state_dict(ckpt.model_state)
        except RuntimeError as err:
            hint = ""
            if "decoder.gain_floor.weight" in self.core.state_dict() and "decoder.gain_floor.weight" not in ckpt.model_state:
                hint = "; the run was started before model.recording_gain existed: set it to false in the run's config to resume it"
            raise CheckpointError(f"resume {source}: the saved weights do not fit this model ({err}){hint}") from None
        self.optim.load_state_dict(ckpt.optimizer)
        if self.scheduler_seq is not None and ckpt.scheduler_seq is not None:
            self.scheduler_seq.load_state_dict(ckpt.scheduler_seq)
        if self.scheduler_plat is not None and ckpt.scheduler_plat is not None:
            self.scheduler_plat.load_state_dict(ckpt.scheduler_plat)
        self.history = [EpochRecord(**h) for h in ckpt.history]
        best = ckpt.best or {}
        self.best_loss, self.best_epoch = best.get("loss", math.inf), best.get("epoch", -1)
        self.bad_epochs = ckpt.bad_epochs or 0
        self.start_epoch = self.n_epoch if ckpt.finished else ckpt.epoch + 1
        if ckpt.spreads is not None:  # the spreads the interrupted run was using, so it goes on exactly
            self.spread_train, self.spread_val = (None if t is None else t.to(self.device) for t in ckpt.spreads)

    def resume(self, path: str | os.PathLike, checkpoint: Checkpoint | None = None) -> None:
        """`load_state_dict` from a ``last.pt`` (`checkpoint`: that file, already read), and the
        best weights so far from the run's ``best.pt``."""
        self.load_state_dict(checkpoint or Checkpoint.load(path, map_location=self.device), str(path))
        if self.run_dir is not None and os.path.isfile(os.path.join(self.run_dir, "best.pt")):
            self.best_state = Checkpoint.load(os.path.join(self.run_dir, "best.pt")).model_state

    def checkpoint(self, epoch: int, **fields) -> Checkpoint:
        """The checkpoint of the model and run at the end of `epoch`."""
        return Checkpoint.from_payload({
            **self.extra,
            "model_config": self.core.cfg.to_dict(),
            "model_state": self.core.state_dict(),
            "epoch": epoch,
            **self.state_dict(),
            **fields,
        })

    # -- steps ---------------------------------------------------------------------------------
    def step(self, batch: Batch, beta: float, gen: torch.Generator, bad: _BadSteps, epoch: int, lr: float):
        """One optimizer step on `batch`; returns its loss statistics and whether the loss was
        finite, or None when the step was skipped (non-finite loss or gradients, on CPU)."""
        cfg, optim, scaler = self.cfg, self.optim, self.scaler
        with _autocast(self.device, cfg.amp):
            stats = run_step(self.step_model, batch, cfg, beta, gen, self.spread_train)
        finite = torch.isfinite(stats["loss"])
        bad.update(finite)
        optim.zero_grad(set_to_none=True)
        if not bad.on_device and not finite:
            bad.check(epoch, lr)
            return None
        scaler.scale(stats["loss"]).backward()
        if cfg.grad_clip > 0 or not bad.on_device:
            scaler.unscale_(optim)
            gnorm = nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip or math.inf)
            if not bad.on_device and not torch.isfinite(gnorm):  # a finite loss with non-finite gradients
                bad.update(torch.tensor(False))
                optim.zero_grad(set_to_none=True)
                bad.check(epoch, lr)
                return None
        scaler.step(optim)  # with CUDA, a step whose gradients are not finite is skipped on the device
        scaler.update()
        return stats, finite

    def train_epoch(self, loader: DataLoader, epoch: int, beta: float, lr: float) -> tuple[dict[str, float], int]:
        """One pass over the training windows; returns the epoch's statistics and the skipped steps."""
        torch.manual_seed(self.cfg.seed * 7919 + epoch)
        gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed * 104729 + epoch)
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        self.model.train()
        totals = _Totals(self.device)
        bad = _BadSteps(self.device, self.cfg.max_bad_steps)
        every = bad.check_every if bad.on_device else 10
        show = not self.quiet and self.main
        # The bar only on a terminal: a log file would get its carriage returns (the epoch line below is whole).
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{self.n_epoch}", leave=False,
                   disable=not show or not sys.stderr.isatty(), dynamic_ncols=True)
        for i, batch in enumerate(bar):
            batch = batch.to(self.device, non_blocking=True)
            done = self.step(batch, beta, gen, bad, epoch, lr)
            if done is None:
                continue
            stats, finite = done
            totals.add(stats, len(batch), finite)
            if (i + 1) % every == 0:
                if bad.on_device:
                    bad.check(epoch, lr)
                if show:
                    bar.set_postfix(loss=f"{stats['loss'].item():.3f}", kl=f"{stats['kl'].item() / len(batch):.1f}", lr=f"{lr:.1e}")
        bar.close()
        bad.check(epoch, lr)
        skipped = int(bad.count)
        if skipped == len(loader):
            raise TrainingError(_bad_steps_message(skipped, epoch, lr))
        return totals.read(), skipped

    def validate(self, loader: DataLoader) -> dict[str, float]:
        """The validation loss (`evaluate_loss`) with the validation recordings' spreads."""
        return evaluate_loss(self.model, loader, self.cfg, self.device, self.spread_val)

    def refresh_spreads(self, loader_train: DataLoader, loader_val: DataLoader | None) -> None:
        """For a model with a recording gain: each training and validation recording's spread of
        the read-out, from the current weights (a window cannot see its recording's spread, so
        they are computed over whole recordings every `SPREAD_EVERY` epochs), and each
        identity's typical spread (the mean over the training recordings that have it)."""
        if not self.core.has_recording_gain or not isinstance(loader_train.dataset, WindowDataset):
            self.spread_train = self.spread_val = None
            return
        self.spread_train = spread_table(self.core, loader_train.dataset)
        self.core.set_typical_spread(self.spread_train)
        self.spread_val = None
        if loader_val is not None and isinstance(loader_val.dataset, WindowDataset):
            self.spread_val = spread_table(self.core, loader_val.dataset)

    # -- the run ---------------------------------------------------------------------------------
    def fit(self, loader_train: DataLoader, loader_val: DataLoader | None) -> list[EpochRecord]:
        """Train from `start_epoch` to the last epoch or early stopping; returns the history."""
        cfg, core, run_dir, n_epoch = self.cfg, self.core, self.run_dir, self.n_epoch
        if len(loader_train) == 0:
            raise ConfigError("the training loader yields no batches (no windows: check window_T and the recordings)")
        if run_dir is not None and self.main and os.path.isdir(run_dir):
            for name in os.listdir(run_dir):  # temporary files of a run killed while writing
                if name.startswith(".") and ".tmp-" in name:
                    os.remove(os.path.join(run_dir, name))
        board = _tensorboard(run_dir) if (cfg.tensorboard and run_dir is not None and self.main) else None

        for epoch in range(self.start_epoch, n_epoch):
            t0 = time.perf_counter()
            if epoch % SPREAD_EVERY == 0 or (epoch == self.start_epoch and self.spread_train is None):
                self.refresh_spreads(loader_train, loader_val)
            beta = kl_weight(epoch, cfg.kl_schedule, warmup_epochs=cfg.kl_warmup_epochs, beta_max=cfg.beta,
                             step_epochs=cfg.kl_warmup_epochs, cycle_epochs=max(cfg.kl_warmup_epochs, 1))
            lr = self.optim.param_groups[0]["lr"]
            train_stats, skipped = self.train_epoch(loader_train, epoch, beta, lr)
            val_stats = self.validate(loader_val) if loader_val is not None else train_stats
            if not math.isfinite(val_stats["loss"]):
                raise TrainingError(
                    f"validation loss is {val_stats['loss']} at epoch {epoch + 1}: the weights diverged "
                    f"(learning rate {lr:.2e}); lower train.lr or check the data for extreme values"
                )
            record = EpochRecord(
                train=train_stats["loss"], val=val_stats["loss"], epoch=epoch,
                train_recon=train_stats["recon"], val_recon=val_stats["recon"],
                train_kl=train_stats["kl"], val_kl=val_stats["kl"], val_mse=val_stats["mse"],
                val_elbo=val_stats["elbo"], beta=beta, lr=lr, seconds=time.perf_counter() - t0,
                skipped_steps=skipped,
            )
            self.history.append(record)

            # Patience counts only once the KL weight has reached its final value: while beta
            # ramps up, losses of different epochs measure different objectives.
            settled = cfg.kl_schedule in ("constant", "cyclical") or epoch >= cfg.kl_warmup_epochs
            if not settled or record.val < self.best_loss - cfg.min_delta:
                self.best_loss, self.best_epoch, self.bad_epochs = record.val, epoch, 0
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in core.state_dict().items()}
            else:
                self.bad_epochs += 1

            if self.scheduler_seq is not None and (epoch < self.cosine_done or self.scheduler_plat is None):
                self.scheduler_seq.step()
            elif self.scheduler_plat is not None:
                self.scheduler_plat.step(record.val)

            stop = cfg.early_stopping > 0 and self.bad_epochs >= cfg.early_stopping
            if run_dir is not None and self.main:
                os.makedirs(run_dir, exist_ok=True)
                ckpt = self.checkpoint(epoch)
                if self.best_epoch == epoch:
                    ckpt.save(os.path.join(run_dir, "best.pt"))
                ckpt.replace(finished=stop or epoch + 1 == n_epoch).save(os.path.join(run_dir, "last.pt"))
                _write_metrics(os.path.join(run_dir, "metrics.csv"), self.history)
            if board is not None:
                for name, value in record._asdict().items():
                    if name != "epoch":
                        board.add_scalar(name, value, epoch)
                board.flush()
            if self.on_epoch_end is not None:
                self.on_epoch_end(record)
            if not self.quiet and self.main:
                tqdm.write(
                    f"epoch {epoch + 1:3d}/{n_epoch}  train {record.train:.4f}  val {record.val:.4f}  "
                    f"mse {record.val_mse:.3f}  kl {record.val_kl:.1f}  beta {beta:.2f}  lr {lr:.2e}  "
                    f"{record.seconds:.1f}s" + (f"  skipped {skipped}" if skipped else "")
                )
            if stop:
                break

        if board is not None:
            board.close()
        if cfg.restore_best and self.best_state is not None:
            core.load_state_dict(self.best_state)
        core.fit_history = self.history  # the full history, also returned as list_loss
        return self.history


def fit_model(
    model: nn.Module,
    loader_train: DataLoader,
    loader_val: DataLoader | None,
    n_epoch: int,
    optim: torch.optim.Optimizer,
    scheduler_seq=None,
    scheduler_plat=None,
    cosine_done: int | None = None,
    device: str | torch.device = "cpu",
    *,
    config: TrainConfig | None = None,
    run_dir: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    checkpoint_extra: dict[str, Any] | None = None,
    on_epoch_end: Callable[[EpochRecord], None] | None = None,
) -> tuple[list[EpochRecord], list[float]]:
    """Train `model`; the seed's signature, plus keyword options (a thin wrapper of `Solver`).

    Parameters
    ----------
    model : NeuroBehaviorVAE (possibly wrapped in DistributedDataParallel), already on `device`
    loader_train, loader_val : loaders from `build_loaders` (`loader_val` may be None)
    n_epoch : int
        Number of epochs (early stopping may end sooner).
    optim, scheduler_seq, scheduler_plat, cosine_done : from `build_optimizer` / `build_scheduler`
    device : where batches go
    config : TrainConfig, optional
        KL schedule, augmentation, clipping, early stopping, seed (defaults if None).
    run_dir : path, optional
        Write ``last.pt`` every epoch, ``best.pt`` at each improvement, and ``metrics.csv``.
    resume : path, optional
        A ``last.pt`` to continue from (model, optimizer, schedulers, history, epoch).
    checkpoint_extra : dict, optional
        Extra plain data stored in each checkpoint (vocabulary, scaler, full config).
    on_epoch_end : callable, optional
        Called with each epoch's `EpochRecord`.

    Returns
    -------
    list_loss : list of EpochRecord
        Per epoch; ``list_loss[e][0]`` is the training loss (with that epoch's KL weight),
        ``[1]`` the validation loss (the held-out negative ELBO per observed entry).
    list_lr : list of float
        Learning rate used in each epoch.
    """
    cfg = config or TrainConfig(epochs=max(int(n_epoch), 1))
    solver = Solver(model, optim, scheduler_seq, scheduler_plat, cosine_done, device, cfg, n_epoch=n_epoch,
                    run_dir=run_dir, checkpoint_extra=checkpoint_extra, on_epoch_end=on_epoch_end)
    if len(loader_train) == 0:
        raise ConfigError("the training loader yields no batches (no windows: check window_T and the recordings)")
    if resume is not None:
        solver.resume(resume)
    history = solver.fit(loader_train, loader_val)
    return history, [h.lr for h in history]


def _tensorboard(run_dir):
    """A TensorBoard writer in ``<run_dir>/tensorboard``, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the optional extra is not installed: metrics.csv still has everything
        return None
    return SummaryWriter(log_dir=os.path.join(run_dir, "tensorboard"))


def _bad_steps_message(n: int, epoch: int, lr: float) -> str:
    return (
        f"{n} consecutive training steps gave a non-finite loss (epoch {epoch + 1}, learning rate "
        f"{lr:.2e}). Likely causes: extreme or non-finite values in the data (check the traces and "
        f"behavior), or a learning rate too high (lower train.lr)."
    )


def _write_metrics(path: str, history: list[EpochRecord]) -> None:
    with atomic_open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(EpochRecord._fields)
        for h in history:
            writer.writerow(h)
