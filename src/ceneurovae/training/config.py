"""`TrainConfig`: how to train, in one documented settings section (``train``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..settings import Settings

__all__ = ["TrainConfig"]


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

        need(isinstance(self.epochs, int) and 1 <= self.epochs <= 1_000_000, "epochs", "must be in [1, 1000000]")
        need(isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0, "lr", "the learning rate must be > 0")
        need(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(self.warmup_epochs >= 0, "warmup_epochs", "must be >= 0")
        need(0 < self.min_lr_ratio <= 1, "min_lr_ratio", "must be in (0, 1]")
        need(0 <= self.cosine_portion <= 1, "cosine_portion", "must be in [0, 1]")
        need(isinstance(self.batch_size, int) and 1 <= self.batch_size <= 1_000_000, "batch_size",
             "must be in [1, 1000000]")
        need(self.kl_schedule in ("constant", "linear", "step", "cyclical"), "kl_schedule", "choose constant, linear, step or cyclical")
        need(self.kl_warmup_epochs >= 0 and (self.kl_schedule != "cyclical" or self.kl_warmup_epochs > 0), "kl_warmup_epochs", "must be >= 0 (> 0 for cyclical)")
        need(self.beta >= 0, "beta", "must be >= 0")
        need(self.free_bits >= 0, "free_bits", "must be >= 0")
        need(self.grad_clip >= 0, "grad_clip", "must be >= 0")
        need(self.early_stopping >= 0, "early_stopping", "must be >= 0")
        for name in ("neuron_dropout", "behavior_dropout", "prior_dropout"):
            need(0 <= getattr(self, name) < 1, name, "must be in [0, 1)")
        need(self.max_bad_steps >= 1, "max_bad_steps", "must be >= 1")
        # numpy's and torch's generators take seeds in [0, 2**32)
        need(0 <= self.seed < 2**32, "seed", "must be in [0, 4294967295]")
