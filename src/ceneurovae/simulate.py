"""Old name of the simulator's public front; the code lives in `ceneurovae.simulation`."""

from .simulation import (
    BEHAVIORS,
    TRUTH_FORMAT,
    TRUTH_VERSION,
    GroundTruth,
    SimConfig,
    SimulatedCohort,
    load_truth,
    save_truth,
    simulate_behavior,
    simulate_cohort,
)

__all__ = ["BEHAVIORS", "TRUTH_FORMAT", "TRUTH_VERSION", "GroundTruth", "SimConfig",
           "SimulatedCohort", "load_truth", "save_truth", "simulate_behavior",
           "simulate_cohort"]
