"""`SimConfig`: the settings of the simulator (section ``simulate``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..identity import atlas
from ..settings import Settings, is_number

__all__ = ["SimConfig"]


@dataclass(frozen=True)
class SimConfig(Settings):
    """Settings of the simulator. Defaults reproduce the statistics of Atanas & Kim 2023.

    Symbols of the equations in `ceneurovae.simulation` are named in the field docs.
    Numbers are stored as the field's type (ints as floats where a float is expected, an
    integral float as an int; pairs as tuples); non-finite values are refused.
    """

    # Recording
    n_frames: int = 1600
    """Recorded frames per animal, in two halves of ``n_frames // 2`` (real: 1544-1615)."""
    dt: float = 0.6
    """Mean frame period, s (real: about 0.6 s, 1.7 Hz)."""
    dt_spread: float = 0.02
    """Relative spread of each animal's frame period, uniform in ``dt * (1 +- dt_spread)``."""
    gap_s: float = 30.0
    """Pause between the two halves, s; simulated, then dropped (0 joins them without gap)."""

    # Neurons and labels
    neurons_median: int = 138
    """Median ROIs per animal, round(Normal(median, sd)) within neurons_range (real: 138)."""
    neurons_sd: float = 12.0
    """Sd of the ROIs per animal, neurons."""
    neurons_range: tuple[int, int] = (105, 163)
    """Lowest and highest ROIs per animal, neurons (real: 105-163)."""
    labeling_spread: float = 0.12
    """Log-sd of the per-animal labeling efficiency (real labeled counts: 60-111, mean 88)."""
    labeled_range: tuple[int, int] = (60, 111)
    """Lowest and highest labeled neurons per animal (counts are clipped to it)."""
    max_label_probability: float = 0.95
    """Cap on the probability that a member neuron of a class is labeled, p_max."""

    # Behavior
    roaming_s: float = 100.0
    """Mean duration of a roaming state, s."""
    dwelling_s: float = 200.0
    """Mean duration of a dwelling state, s."""
    speed_roaming: float = 0.07
    """Mean forward speed while roaming, mm/s."""
    speed_dwelling: float = 0.012
    """Mean forward speed while dwelling, mm/s."""
    speed_fluctuation: float = 0.04
    """Sd of the slow (5 s) forward-speed fluctuation while roaming, mm/s (scales with speed)."""
    reversals_per_min_roaming: float = 1.5
    """Reversal rate during forward runs while roaming, per minute."""
    reversals_per_min_dwelling: float = 5.0
    """Reversal rate during forward runs while dwelling, per minute."""
    reversal_s: float = 3.0
    """Median reversal duration, s."""
    reversal_speed: float = 0.095
    """Median backward speed of a reversal, mm/s (each reversal draws its own, <= 0.28)."""
    head_curvature_std: float = 0.5
    """Sd of head curvature, rad."""
    head_swing_period_s: float = 6.0
    """Period of head swings, s."""
    pumping_rate: float = 3.4
    """Mean pumping rate within a bout while dwelling, pumps/s (0.5 lower while roaming)."""
    pumping_off_s: float = 40.0
    """Mean pause between pumping bouts, s (bouts last 120 s dwelling, 50 s roaming)."""
    pumping_missing_fraction: float = 0.0
    """Fraction of animals whose pumping is unmeasured (behavior_mask False; still encoded)."""

    # Neural signal
    n_internal: int = 4
    """Number K of internal states (slow, shared across neurons, unrelated to behavior)."""
    internal_timescales_s: tuple[float, float] = (20.0, 200.0)
    """Shortest and longest internal-state timescale, s (log-spaced)."""
    behavior_fraction_max: float = 0.9
    """f_max: the largest behavior share of a neuron's signal variance."""
    behavior_fraction_min: float = 0.05
    """f_min: the smallest behavior share of a neuron's signal variance."""
    behavior_half_strength: float = 0.15
    """S_1/2: total encoding strength at which the behavior share is half of f_max."""
    private_fraction: float = 0.04
    """f^R: share of each neuron's signal variance private to it (slow, unpredictable)."""
    private_timescales_s: tuple[float, float] = (10.0, 60.0)
    """Range of the private processes' timescales, s."""
    noise_fraction: tuple[float, float] = (0.1, 0.4)
    """Range of the noise share of each trace's variance, q (neuron-specific SNR)."""
    encoding_variability: float = 0.2
    """Per-animal relative deviation of behavior weights, times the class's variability (0.5-2)."""
    tau_variability: float = 0.15
    """Log-sd of per-animal deviations of the encoding decay time."""
    loading_variability: float = 0.2
    """Per-animal relative deviation of internal-state loadings."""
    gcamp_rise_s: float = 0.2
    """Rise time constant of the GCaMP kernel, s (GCaMP7f-like)."""
    gcamp_decay_s: float = 1.2
    """Decay time constant of the GCaMP kernel, s (GCaMP7f-like)."""

    # Stimuli (off by default: n_stimuli = 0 leaves every draw as it was)
    n_stimuli: int = 0
    """Number of stimulus types (channels ``stimulus:stim1``, ``stimulus:stim2``, ...); 0: none."""
    stimulated_fraction: float = 1.0
    """Share of animals that receive the stimuli (the others' recordings have no stimulus channel)."""
    stimulus_pulses: int = 6
    """Pulses of each stimulus type per stimulated animal, one in each of as many equal stretches."""
    stimulus_duration_s: float = 5.0
    """Duration of one pulse, s."""
    stimulus_responsive: float = 0.2
    """Share of the encoding table's identities that respond to each stimulus type."""
    stimulus_gain: float = 1.5
    """Typical response amplitude, in units of the neuron's signal sd (each responsive
    identity draws |gain| uniform in 0.5-1.5 times this, and a random sign)."""
    stimulus_tau_s: float = 5.0
    """Time constant of the response: a unit-gain exponential filter of the pulse, then GCaMP."""

    section = "simulate"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, self._as_field_type(f))
        super().__post_init__()

    def _as_field_type(self, f: dataclasses.Field) -> Any:
        """The value of field `f` as its type (see the class docstring), or `ConfigError`."""
        value = getattr(self, f.name)
        if isinstance(f.default, tuple):
            ok = (isinstance(value, (tuple, list)) and len(value) == 2
                  and all(is_number(v) for v in value))
            self.need(ok, f.name, "must be a pair of numbers (low, high)")
            return tuple(value)
        is_float = isinstance(f.default, float)
        ok = is_number(value) and (is_float or float(value).is_integer())
        self.need(ok, f.name, "must be a number" if is_float else "must be an integer")
        return float(value) if is_float else int(value)

    def validate(self) -> None:
        need = self.need

        def pair(name: str, lo: float, hi: float | None = None) -> None:
            a, b = getattr(self, name)
            ok = lo <= a <= b and (hi is None or b <= hi)
            upper = f" <= {hi}" if hi is not None else ""
            need(ok, name, f"must be a pair (low, high) with {lo} <= low <= high{upper}")

        need(self.n_frames >= 20, "n_frames", "must be at least 20")
        for name in ("dt", "roaming_s", "dwelling_s", "reversal_s", "reversal_speed",
                     "head_curvature_std", "head_swing_period_s", "pumping_off_s", "gcamp_rise_s",
                     "gcamp_decay_s", "neurons_sd", "behavior_half_strength"):
            need(float(getattr(self, name)) > 0, name, "must be a positive number")
        for name in ("gap_s", "speed_roaming", "speed_dwelling", "speed_fluctuation",
                     "labeling_spread", "reversals_per_min_roaming", "reversals_per_min_dwelling",
                     "pumping_rate", "encoding_variability", "tau_variability",
                     "loading_variability"):
            need(float(getattr(self, name)) >= 0, name, "must be a number >= 0")
        need(0 <= self.dt_spread < 0.5, "dt_spread", "must be in [0, 0.5)")
        need(0 <= self.pumping_missing_fraction <= 1, "pumping_missing_fraction", "must be in [0, 1]")
        need(0 < self.max_label_probability <= 1, "max_label_probability", "must be in (0, 1]")
        need(self.n_internal >= 1, "n_internal", "must be at least 1")
        need(self.n_stimuli >= 0, "n_stimuli", "must be an integer >= 0")
        need(self.stimulus_pulses >= 1, "stimulus_pulses", "must be at least 1")
        need(0 <= self.stimulated_fraction <= 1, "stimulated_fraction", "must be in [0, 1]")
        need(0 < self.stimulus_responsive <= 1, "stimulus_responsive", "must be in (0, 1]")
        need(self.stimulus_gain >= 0, "stimulus_gain", "must be a number >= 0")
        for name in ("stimulus_duration_s", "stimulus_tau_s"):
            need(float(getattr(self, name)) > 0, name, "must be a positive number")
        need(self.gcamp_rise_s < self.gcamp_decay_s, "gcamp_rise_s",
             f"must be smaller than gcamp_decay_s={self.gcamp_decay_s}")
        pair("neurons_range", 1, len(atlas().names))
        pair("labeled_range", 0)
        pair("internal_timescales_s", 1e-3)
        pair("private_timescales_s", 1e-3)
        pair("noise_fraction", 0.0, 0.95)
        need(self.labeled_range[1] <= self.neurons_range[1], "labeled_range",
             f"must be at most neurons_range's high end {self.neurons_range[1]}")
        need(0 <= self.private_fraction < 1, "private_fraction", "must be in [0, 1)")
        need(0 <= self.behavior_fraction_min <= self.behavior_fraction_max, "behavior_fraction_min",
             f"must be in [0, behavior_fraction_max={self.behavior_fraction_max}]")
        need(self.behavior_fraction_max + self.private_fraction <= 1, "behavior_fraction_max",
             f"must be at most 1 - private_fraction = {1 - self.private_fraction:g}")
