"""`VAEConfig`: every architectural choice of the model, in one documented dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..settings import Settings

__all__ = ["VAEConfig", "BEHAVIOR_TAUS_S"]

ENCODERS = ("transformer", "gru", "tcn")
LATENTS = ("trajectory", "window")
READOUTS = ("factorized", "mlp")
RECON_LOSSES = ("gaussian", "mse", "huber")
# Time constants (s) of the causal behavior filters: the model's default and the baselines'.
BEHAVIOR_TAUS_S = (0.0, 2.0, 6.0, 20.0, 60.0)


@dataclass
class VAEConfig(Settings):
    """Architecture of `NeuroBehaviorVAE`.

    The two data-dependent sizes, `n_identities` (``len(labels)``, "unknown" included) and
    `behavior_dim`, are usually the only ones to set. Defaults were chosen by measurement
    on the simulated cohort (see ``docs/model.md``).
    """

    n_identities: int = 155
    """Size of the identity vocabulary, index 0 = unknown (``len(labels)``)."""
    behavior_dim: int = 3
    """Number of behavior channels (velocity, head curvature, pumping)."""
    latent_dim: int = 16
    """Z: latent dimensions (per window, or per frame for a trajectory latent)."""
    latent: str = "trajectory"
    """``"trajectory"``: one latent per frame, z (B, T, Z); ``"window"``: one per window, z (B, Z)."""
    read_in_factors: int = 16
    """k: factors of the encoder's factor-analysis read-in (0 = linear read-in only); see
    `IdentityReadIn`."""
    latent_prior: str = "ar1"
    """Prior of a trajectory latent: ``"ar1"``, a stationary AR(1) process per dimension with a
    learned time constant (marginally N(0, 1), smooth in time like the states it stands for),
    or ``"iid"``, N(0, 1) independently at every frame."""
    hidden_dim: int = 128
    """H: width of the encoder backbone and of the decoder's context."""
    encoder: str = "transformer"
    """Temporal backbone of the encoder: ``"transformer"``, ``"gru"`` (bidirectional) or ``"tcn"`` (dilated convolutions)."""
    encoder_layers: int = 2
    """Number of backbone layers."""
    n_heads: int = 4
    """Attention heads (transformer only); must divide `hidden_dim`."""
    decoder_layers: int = 2
    """Hidden layers of the decoder's context network."""
    readout: str = "factorized"
    """How the decoder maps its context to each identity: ``"factorized"`` (one weight vector
    per identity, cost O(B T H V)) or ``"mlp"`` (an MLP on context + identity embedding per
    neuron, which materializes a (B, T, N, H) tensor)."""
    dropout: float = 0.0
    """Dropout inside encoder and decoder. Off by default: neuron dropout and the KL already
    regularize, quality was the same without it, and on CPU its random draws cost a third
    of a training step."""
    dt: float = 0.6
    """Seconds per frame, used to build the behavior-history filters."""
    behavior_taus: tuple[float, ...] = BEHAVIOR_TAUS_S
    """Time constants (seconds) of the causal exponential filters applied to behavior;
    0 means the current frame. Real neurons integrate behavior over up to ~60 s."""
    behavior_nonlinear: int = 8
    """Learned point-wise nonlinear transforms of behavior filtered alongside it (e.g. a
    rectified velocity, as CePNEM's forward/reverse tuning); 0 for raw behavior only."""
    behavior_history: int = 100
    """Frames of behavior before a window that the filters may use."""
    positional: bool | None = None
    """Add a positional encoding of the frame within the window to the decoder's input.
    None: on for window latents (they need it to unfold z over time), off for trajectories."""
    recording_gain: bool = True
    """Divide each neuron's read-out by its spread over the whole recording (plus a learned
    floor per identity), as z-scoring every trace over its recording does; see `Decoder`.
    Imputation 0.908 -> 0.913 of the noise ceiling on the simulated benchmark (0.916 with
    ``train.behavior_dropout = 0``). Checkpoints saved without this field load with it off."""
    linear_readout: bool = True
    """Hold a linear read-out (`LinearReadout`): a hidden neuron is then predicted as a mix of
    the latent read-out and the ridge-regularized Gaussian conditional of it given the
    neurons the encoder sees, from second moments pooled over the training animals. It is
    not trained by gradient descent: `ceneurovae.fit` installs its moments afterwards and
    chooses its weight on the validation animals (0, the latent read-out alone, until then).
    On the real dev set the validation animals gave it most of the weight, on the simulated
    cohort none (``docs/model.md``). Checkpoints saved without this field load with it off."""
    recon_loss: str = "gaussian"
    """``"gaussian"`` (negative log-likelihood with a learned noise level per identity),
    ``"mse"`` or ``"huber"``."""
    huber_delta: float = 1.0
    """Transition point of the Huber loss, in z-scored units."""
    max_len: int = 4096
    """Longest window the positional encoding supports."""
    extra: dict = field(default_factory=dict)
    """Free-form notes stored with the config (ignored by the model)."""

    section = "model"

    def __post_init__(self) -> None:
        if isinstance(self.behavior_taus, list):
            self.behavior_taus = tuple(float(t) for t in self.behavior_taus)
        self.validate()

    def validate(self) -> None:
        """Raise `ConfigError` naming the first impossible setting."""
        need = self.need

        need(self.n_identities >= 2, "n_identities", "needs at least 2 (unknown + one identity)")
        need(self.behavior_dim >= 0, "behavior_dim", "must be >= 0")
        # Upper bounds: far beyond any useful model, they stop a typo before an allocation fails.
        need(1 <= self.latent_dim <= 4096, "latent_dim", "must be in [1, 4096]")
        need(1 <= self.hidden_dim <= 16384, "hidden_dim", "must be in [1, 16384]")
        need(0 <= self.read_in_factors <= 4096, "read_in_factors", "must be in [0, 4096]")
        need(self.latent in LATENTS, "latent", f"choose one of {LATENTS}")
        need(self.latent_prior in ("ar1", "iid"), "latent_prior", "choose 'ar1' or 'iid'")
        need(self.encoder in ENCODERS, "encoder", f"choose one of {ENCODERS}")
        need(self.readout in READOUTS, "readout", f"choose one of {READOUTS}")
        need(self.recon_loss in RECON_LOSSES, "recon_loss", f"choose one of {RECON_LOSSES}")
        need(1 <= self.encoder_layers <= 64, "encoder_layers", "must be in [1, 64]")
        need(1 <= self.decoder_layers <= 64, "decoder_layers", "must be in [1, 64]")
        need(self.n_heads >= 1 and self.hidden_dim % self.n_heads == 0, "n_heads", f"must divide hidden_dim={self.hidden_dim}")
        need(0.0 <= self.dropout < 1.0, "dropout", "must be in [0, 1)")
        need(self.dt > 0, "dt", "must be a positive number of seconds")
        need(all(t >= 0 for t in self.behavior_taus) and len(self.behavior_taus) >= 1, "behavior_taus", "needs at least one tau >= 0")
        need(0 <= self.behavior_history <= 100_000, "behavior_history", "must be in [0, 100000]")
        need(0 <= self.behavior_nonlinear <= 1024, "behavior_nonlinear", "must be in [0, 1024]")
        need(self.huber_delta > 0, "huber_delta", "must be > 0")
        need(1 <= self.max_len <= 1_000_000, "max_len", "must be in [1, 1000000]")

    @property
    def use_positional(self) -> bool:
        return self.latent == "window" if self.positional is None else bool(self.positional)
