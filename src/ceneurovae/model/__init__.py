"""The model: configuration, encoder, decoder, losses (``from ceneurovae.model import VAEConfig, NeuroBehaviorVAE``)."""

from .config import VAEConfig
from .loss import elbo_loss, kl_divergence, kl_weight, reconstruction_loss
from .vae import ModelOutput, NeuroBehaviorVAE, unwrap

__all__ = [
    "VAEConfig",
    "NeuroBehaviorVAE",
    "ModelOutput",
    "unwrap",
    "elbo_loss",
    "kl_divergence",
    "kl_weight",
    "reconstruction_loss",
]
