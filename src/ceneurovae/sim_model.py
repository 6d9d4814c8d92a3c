"""Old name of the simulator's generative model; the code lives in `ceneurovae.simulation`."""

from .simulation import (
    BEHAVIORS,
    IdentityParams,
    alternating,
    behavior_channels,
    causal_filter,
    ema,
    exp_kernels,
    fft_size,
    gcamp_kernel,
    identity_params,
    ou,
    reference_covariances,
    runs,
    simulate_animal,
    simulate_behavior,
    smooth_ou,
    standardize,
)

__all__ = ["BEHAVIORS", "IdentityParams", "alternating", "behavior_channels",
           "causal_filter", "ema", "exp_kernels", "fft_size", "gcamp_kernel",
           "identity_params", "ou", "reference_covariances", "runs", "simulate_animal",
           "simulate_behavior", "smooth_ou", "standardize"]
