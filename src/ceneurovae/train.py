"""Training: one step function shared by training and validation, one explicit epoch loop.

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from .checkpoint import load_checkpoint, save_checkpoint
from .data import Batch, WindowDataset
from .distributed import is_main_process
from .errors import CheckpointError, ConfigError, TrainingError
from .model.loss import elbo_loss, kl_weight
from .model.vae import NeuroBehaviorVAE
from .settings import Settings

__all__ = ["TrainConfig", "EpochRecord", "fit_model", "run_step", "evaluate_loss", "unwrap"]


@dataclass
class TrainConfig(Settings):
    """How to train. Defaults measured on the simulated cohort (see ``docs/model.md``)."""

    epochs: int = 60
    """Maximum number of epochs (early stopping may end sooner)."""
    lr: float = 2e-3
    """Base learning rate of AdamW."""
    weight_decay: float = 0.01
    """AdamW weight decay on weight matrices (not on biases, norms or identity embeddings)."""
    warmup_epochs: int = 3
    """Linear learning-rate warm-up."""
    min_lr_ratio: float = 0.05
    """Cosine schedule floor, as a fraction of `lr`."""
    cosine_portion: float = 0.85
    """Fraction of the post-warm-up epochs spent in the cosine decay; the rest is the plateau tail."""
    use_plateau: bool = True
    """Reduce the learning rate when the validation loss stalls, in the tail."""
    batch_size: int = 32
    """Windows per batch."""
    kl_schedule: str = "linear"
    """KL-weight schedule: ``constant``, ``linear``, ``step`` or ``cyclical``."""
    kl_warmup_epochs: int = 10
    """Epochs of the linear ramp (``linear``), the step (``step``), or the cycle length (``cyclical``)."""
    beta: float = 1.0
    """Final KL weight (1 = the ELBO)."""
    free_bits: float = 0.0
    """Nats per latent dimension (per frame for trajectories) left unpenalized by the KL."""
    grad_clip: float = 1.0
    """Clip the gradient norm to this value (0 = off)."""
    early_stopping: int = 12
    """Stop after this many epochs without a validation improvement (0 = off)."""
    min_delta: float = 1e-4
    """Smallest decrease of the validation loss that counts as an improvement."""
    neuron_dropout: float = 0.5
    """Hide up to this fraction of each window's labeled neurons from the encoder (fraction
    drawn uniformly per window); they are still reconstructed, which trains imputation."""
    behavior_dropout: float = 0.0
    """Probability of withholding a window's behavior from encoder and decoder, so the latent
    must carry what behavior would explain and cannot be bypassed. Off by default: at 0.1,
    imputation was 0.003 lower (two seeds) and 0.007-0.008 lower with the recording gain;
    what the latent keeps of velocity is then less (decoded R² 0.23 instead of 0.24)."""
    prior_dropout: float = 0.1
    """Probability of decoding a window from the prior mean latent: trains the
    behavior-only prediction (`from_behavior`)."""
    max_bad_steps: int = 20
    """Stop after this many consecutive steps with a non-finite loss."""
    seed: int = 0
    """Seed of every random draw (batch order, augmentation, initialization)."""
    restore_best: bool = True
    """End with the weights of the best validation epoch."""
    amp: bool = True
    """Mixed precision on CUDA (bfloat16 where supported); ignored on CPU."""
    compile: bool = False
    """Run the model through torch.compile (opt-in)."""
    quiet: bool = False
    """No progress bar."""
    tensorboard: bool = True
    """Also log the epoch history for TensorBoard in ``<run>/tensorboard`` when the optional
    `tensorboard` package is installed (``pip install ceneurovae[tensorboard]``)."""

    section = "train"

    def validate(self) -> None:
        need = self.need

        need(isinstance(self.epochs, int) and self.epochs >= 1, "epochs", "must be a positive integer")
        need(isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0, "lr", "the learning rate must be > 0")
        need(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(self.warmup_epochs >= 0, "warmup_epochs", "must be >= 0")
        need(0 < self.min_lr_ratio <= 1, "min_lr_ratio", "must be in (0, 1]")
        need(0 <= self.cosine_portion <= 1, "cosine_portion", "must be in [0, 1]")
        need(isinstance(self.batch_size, int) and self.batch_size >= 1, "batch_size", "must be a positive integer")
        need(self.kl_schedule in ("constant", "linear", "step", "cyclical"), "kl_schedule", "choose constant, linear, step or cyclical")
        need(self.kl_warmup_epochs >= 0 and (self.kl_schedule != "cyclical" or self.kl_warmup_epochs > 0), "kl_warmup_epochs", "must be >= 0 (> 0 for cyclical)")
        need(self.beta >= 0, "beta", "must be >= 0")
        need(self.free_bits >= 0, "free_bits", "must be >= 0")
        need(self.grad_clip >= 0, "grad_clip", "must be >= 0")
        need(self.early_stopping >= 0, "early_stopping", "must be >= 0")
        for name in ("neuron_dropout", "behavior_dropout", "prior_dropout"):
            need(0 <= getattr(self, name) < 1, name, "must be in [0, 1)")
        need(self.max_bad_steps >= 1, "max_bad_steps", "must be >= 1")


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


def unwrap(model: nn.Module) -> NeuroBehaviorVAE:
    """The NeuroBehaviorVAE inside DistributedDataParallel / torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod
    return model


def _augmentation(batch: Batch, cfg: TrainConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
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
    extra = _augmentation(batch, cfg, gen) if gen is not None else {"sample": False}
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
    """Train `model`; the seed's signature, plus keyword options.

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
    if not isinstance(n_epoch, int) or n_epoch < 1:
        raise ConfigError(f"n_epoch must be a positive integer, got {n_epoch!r}")
    device = torch.device(device)
    core = unwrap(model)
    if len(loader_train) == 0:
        raise ConfigError("the training loader yields no batches (no windows: check window_T and the recordings)")
    quiet = cfg.quiet or os.environ.get("CENEUROVAE_QUIET") == "1"
    if cosine_done is None:
        cosine_done = n_epoch
    main = is_main_process()
    step_model = torch.compile(model) if cfg.compile else model
    # On CUDA the scaler is also what skips non-finite updates without a host sync.
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")

    history: list[EpochRecord] = []
    best_loss, best_epoch, bad_epochs, start_epoch = math.inf, -1, 0, 0
    best_state: dict[str, torch.Tensor] | None = None
    spread_train = spread_val = None  # the recording gain's spreads (None: the model has none)
    if resume is not None:
        ckpt = load_checkpoint(resume, map_location=device)
        try:
            core.load_state_dict(ckpt["model_state"])
        except RuntimeError as err:
            hint = ""
            if "decoder.gain_floor.weight" in core.state_dict() and "decoder.gain_floor.weight" not in ckpt["model_state"]:
                hint = "; the run was started before model.recording_gain existed: set it to false in the run's config to resume it"
            raise CheckpointError(f"resume {resume}: the saved weights do not fit this model ({err}){hint}") from None
        optim.load_state_dict(ckpt["optimizer"])
        if scheduler_seq is not None and ckpt.get("scheduler_seq") is not None:
            scheduler_seq.load_state_dict(ckpt["scheduler_seq"])
        if scheduler_plat is not None and ckpt.get("scheduler_plat") is not None:
            scheduler_plat.load_state_dict(ckpt["scheduler_plat"])
        history = [EpochRecord(**h) for h in ckpt.get("history", [])]
        best = ckpt.get("best", {})
        best_loss, best_epoch = best.get("loss", math.inf), best.get("epoch", -1)
        bad_epochs = ckpt.get("bad_epochs", 0)
        start_epoch = n_epoch if ckpt.get("finished") else ckpt["epoch"] + 1
        saved = ckpt.get("spreads")
        if saved is not None:  # the spreads the interrupted run was using, so it goes on exactly
            spread_train, spread_val = (None if t is None else t.to(device) for t in saved)
        if run_dir is not None and os.path.isfile(os.path.join(run_dir, "best.pt")):
            best_state = load_checkpoint(os.path.join(run_dir, "best.pt"), map_location="cpu")["model_state"]

    from . import __version__

    def payload(epoch: int) -> dict[str, Any]:
        return {
            "package_version": __version__,
            **(checkpoint_extra or {}),
            "model_config": core.cfg.to_dict(),
            "model_state": core.state_dict(),
            "train_config": cfg.to_dict(),
            "epoch": epoch,
            "optimizer": optim.state_dict(),
            "scheduler_seq": None if scheduler_seq is None else scheduler_seq.state_dict(),
            "scheduler_plat": None if scheduler_plat is None else scheduler_plat.state_dict(),
            "history": [h._asdict() for h in history],
            "best": {"loss": best_loss, "epoch": best_epoch},
            "bad_epochs": bad_epochs,
            "spreads": None if spread_train is None else
            tuple(None if t is None else t.detach().cpu() for t in (spread_train, spread_val)),
        }

    from tqdm.auto import tqdm

    if run_dir is not None and main and os.path.isdir(run_dir):
        for name in os.listdir(run_dir):  # temporary files of a run killed while writing
            if name.startswith(".") and ".pt.tmp-" in name:
                os.remove(os.path.join(run_dir, name))

    board = _tensorboard(run_dir) if (cfg.tensorboard and run_dir is not None and main) else None

    for epoch in range(start_epoch, n_epoch):
        t0 = time.perf_counter()
        if epoch % SPREAD_EVERY == 0 or (epoch == start_epoch and spread_train is None):
            spread_train, spread_val = _refresh_spreads(core, loader_train, loader_val)
        torch.manual_seed(cfg.seed * 7919 + epoch)
        gen = torch.Generator(device=device).manual_seed(cfg.seed * 104729 + epoch)
        if hasattr(loader_train.sampler, "set_epoch"):
            loader_train.sampler.set_epoch(epoch)
        beta = kl_weight(epoch, cfg.kl_schedule, warmup_epochs=cfg.kl_warmup_epochs, beta_max=cfg.beta,
                         step_epochs=cfg.kl_warmup_epochs, cycle_epochs=max(cfg.kl_warmup_epochs, 1))
        lr = optim.param_groups[0]["lr"]
        model.train()
        totals = _Totals(device)
        bad = _BadSteps(device, cfg.max_bad_steps)
        every = bad.check_every if bad.on_device else 10
        bar = tqdm(loader_train, desc=f"epoch {epoch + 1}/{n_epoch}", leave=False, disable=quiet or not main, dynamic_ncols=True)
        for i, batch in enumerate(bar):
            batch = batch.to(device, non_blocking=True)
            with _autocast(device, cfg.amp):
                stats = run_step(step_model, batch, cfg, beta, gen, spread_train)
            finite = torch.isfinite(stats["loss"])
            bad.update(finite)
            optim.zero_grad(set_to_none=True)
            if not bad.on_device and not finite:
                bad.check(epoch, lr)
                continue
            scaler.scale(stats["loss"]).backward()
            if cfg.grad_clip > 0 or not bad.on_device:
                scaler.unscale_(optim)
                gnorm = nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or math.inf)
                if not bad.on_device and not torch.isfinite(gnorm):  # a finite loss with non-finite gradients
                    bad.update(torch.tensor(False))
                    optim.zero_grad(set_to_none=True)
                    bad.check(epoch, lr)
                    continue
            scaler.step(optim)  # with CUDA, a step whose gradients are not finite is skipped on the device
            scaler.update()
            totals.add(stats, len(batch), finite)
            if (i + 1) % every == 0:
                if bad.on_device:
                    bad.check(epoch, lr)
                if not quiet and main:
                    bar.set_postfix(loss=f"{stats['loss'].item():.3f}", kl=f"{stats['kl'].item() / len(batch):.1f}", lr=f"{lr:.1e}")
        bar.close()
        bad.check(epoch, lr)
        skipped = int(bad.count)
        train_stats = totals.read()
        if skipped == len(loader_train):
            raise TrainingError(_bad_steps_message(skipped, epoch, lr))
        val_stats = evaluate_loss(model, loader_val, cfg, device, spread_val) if loader_val is not None else train_stats
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
        history.append(record)

        # Patience counts only once the KL weight has reached its final value: while beta
        # ramps up, losses of different epochs measure different objectives.
        settled = cfg.kl_schedule in ("constant", "cyclical") or epoch >= cfg.kl_warmup_epochs
        if not settled or record.val < best_loss - cfg.min_delta:
            best_loss, best_epoch, bad_epochs = record.val, epoch, 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in core.state_dict().items()}
        else:
            bad_epochs += 1

        if scheduler_seq is not None and (epoch < cosine_done or scheduler_plat is None):
            scheduler_seq.step()
        elif scheduler_plat is not None:
            scheduler_plat.step(record.val)

        stop = cfg.early_stopping > 0 and bad_epochs >= cfg.early_stopping
        if run_dir is not None and main:
            os.makedirs(run_dir, exist_ok=True)
            if best_epoch == epoch:
                save_checkpoint(os.path.join(run_dir, "best.pt"), payload(epoch))
            save_checkpoint(os.path.join(run_dir, "last.pt"), {**payload(epoch), "finished": stop or epoch + 1 == n_epoch})
            _write_metrics(os.path.join(run_dir, "metrics.csv"), history)
        if board is not None:
            for name, value in record._asdict().items():
                if name != "epoch":
                    board.add_scalar(name, value, epoch)
            board.flush()
        if on_epoch_end is not None:
            on_epoch_end(record)
        if not quiet and main:
            tqdm.write(
                f"epoch {epoch + 1:3d}/{n_epoch}  train {record.train:.4f}  val {record.val:.4f}  "
                f"mse {record.val_mse:.3f}  kl {record.val_kl:.1f}  beta {beta:.2f}  lr {lr:.2e}  "
                f"{record.seconds:.1f}s" + (f"  skipped {skipped}" if skipped else "")
            )
        if stop:
            break

    if board is not None:
        board.close()
    if cfg.restore_best and best_state is not None:
        core.load_state_dict(best_state)
    core.fit_history = history  # the full history, also returned as list_loss
    return history, [h.lr for h in history]


def _refresh_spreads(core: NeuroBehaviorVAE, loader_train: DataLoader, loader_val: DataLoader | None):
    """For a model with a recording gain: each training and validation recording's spread of the
    read-out, from the current weights (a window cannot see its recording's spread, so they are
    computed over whole recordings every `SPREAD_EVERY` epochs), and each identity's typical spread (the
    mean over the training recordings that have it). (None, None) otherwise, or for loaders
    whose dataset is not a `WindowDataset`."""
    if core.decoder.gain_floor is None or not isinstance(loader_train.dataset, WindowDataset):
        return None, None
    from .inference import spread_table  # inference builds on this module

    train = spread_table(core, loader_train.dataset)
    recorded = (train > 0).sum(0)
    typical = train.sum(0) / recorded.clamp(min=1)
    core.decoder.typical_spread.copy_(torch.where(recorded > 0, typical, core.decoder.typical_spread))
    val = None
    if loader_val is not None and isinstance(loader_val.dataset, WindowDataset):
        val = spread_table(core, loader_val.dataset)
    return train, val


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
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(EpochRecord._fields)
        for h in history:
            writer.writerow(h)
    os.replace(tmp, path)
