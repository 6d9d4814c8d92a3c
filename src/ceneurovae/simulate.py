r"""Simulated cohorts of whole-brain recordings whose ground truth is known.

`simulate_cohort` makes recordings shaped like those of Atanas & Kim et al. 2023 (Cell):
about 1600 frames at about 1.7 Hz in two halves, 105-163 neurons of which about 88 carry a
NeuroPAL label, behavior in physical units; and, beside each recording, a `GroundTruth` that
splits every trace into what behavior explains, what the shared internal states explain,
what belongs to the neuron alone, and noise. Every metric can then be set against its ceiling.

The generative model
--------------------
Each animal :math:`a` has its own frame period :math:`\Delta_a` and runs on a regular grid;
the frames of the pause between the two halves (``gap_s``) are simulated and then dropped,
so the timestamps show one larger step. Symbols in ``code`` are `SimConfig` fields.

**Behavior** (`ceneurovae.sim_behavior`). A slow state :math:`m(t) \in \{\text{roam},
\text{dwell}\}` alternates with exponential durations (means ``roaming_s``, ``dwelling_s``).
After at least 2 s of forward movement a reversal starts at rate :math:`\gamma_a
\lambda_{m(t)}` (``reversals_per_min_*``, :math:`\gamma_a \sim \mathrm{LogNormal}(0, 0.3)`
per animal), lasts :math:`d_i \sim \mathrm{LogNormal}(\log d_0, 0.4)` (:math:`d_0` =
``reversal_s``) and runs backward at :math:`A_i \sim \mathrm{LogNormal}(\log A_0, 0.35) \le
0.28` mm/s (:math:`A_0` = ``reversal_speed``); :math:`r(t) = 1` inside a reversal. With
:math:`\mathrm{OU}_\tau` a unit-variance Ornstein-Uhlenbeck process of timescale
:math:`\tau`, :math:`\mathrm{EMA}_\tau` a causal exponential average and :math:`\xi` white
noise:

.. math::

    \bar s(t) &= \kappa_a\,\mathrm{EMA}_{10\,s}\big[s_{m(t)}\big]
        \qquad (s_\text{roam}, s_\text{dwell} = \texttt{speed\_roaming}, \texttt{speed\_dwelling};
        \ \kappa_a \sim \mathrm{LogNormal}(0, 0.2))

    s(t) &= \big[\bar s(t)\,\big(1 + \tfrac{\sigma_s}{s_\text{roam}}\,\mathrm{OU}_{5\,s}(t)\big)\big]_+
        \big(1 - e^{-(t - t_\text{end})/2\,s}\big)

    v(t) &= \mathrm{EMA}_{0.5\,s}\big[(1 - r(t))\,s(t) - r(t)\,A_{i(t)}\big] + 0.006\,\xi(t)

    \theta_h(t) &= \sigma_h\,\eta_a\,\big[\sqrt{0.88}\;\mathrm{std}\big(c(t)\,h(t)\big)
        + 0.3\,\mathrm{OU}_{20\,s}(t) + 0.2\,\xi(t)\big],
        \qquad c(t) = 0.7 + 0.6 \min(|v(t)| / 0.1, 1)

    h_j &= 2\rho\cos\omega\,h_{j-1} - \rho^2 h_{j-2} + \xi_j,
        \qquad \rho = 0.55,\ \omega = 2\pi\Delta_a / T_\text{swing}

    P(t) &= \Big[\mathrm{EMA}_{2\,s}\Big(\big(\beta(t)\,(p + \delta_a - 0.5\,[m = \text{roam}]
        + 0.35\,\mathrm{OU}_{15\,s}) + (1 - \beta(t))\,U(0.2, 0.4)\big)
        \big(1 - 0.6\,\mathrm{EMA}_{2\,s}[r](t)\big)\Big)\Big]_+

with :math:`t_\text{end}` the end of the last reversal (speed recovers after it),
:math:`\sigma_s` = ``speed_fluctuation``, :math:`\sigma_h` = ``head_curvature_std``,
:math:`T_\text{swing}` = ``head_swing_period_s`` (:math:`h` are the head swings, larger when
moving fast), :math:`\eta_a \sim \mathrm{LogNormal}(0, 0.08)`, :math:`p` = ``pumping_rate``,
:math:`\delta_a \sim \mathcal N(0, 0.3^2)`, and :math:`\beta(t) \in \{0, 1\}` pumping bouts
(alternating exponential durations: bouts of 120 s dwelling / 50 s roaming, pauses of
``pumping_off_s``). Velocity is in mm/s, head curvature in rad (positive = dorsal),
pumping in pumps/s.

**Neurons.** Each neuron :math:`n` has an identity (an atlas neuron). Its encoding comes
from the CePNEM table of its class: the signs :math:`\operatorname{sign} c_{n,k}` of the
velocity, head-curvature and pumping slopes, their relative strengths :math:`S_{n,k}` and the
decay time :math:`\tau_n`. With behaviors divided by the lab's constants
(:math:`\tilde v = v / 0.0603`, :math:`\tilde\theta_h = \theta_h / 0.494`,
:math:`\tilde P = P / 1.277`), :math:`k_\tau(t) \propto e^{-t/\tau}` CePNEM's causal
exponential filter and :math:`\mathrm{std}(\cdot)` scaling to zero mean and unit variance:

.. math::

    b_n &= w_{n,v}\,\mathrm{std}\big(k_{\tau_n} * (\alpha^+_n \tilde v_+ + \alpha^-_n \tilde v_-)\big)
        + w_{n,\theta}\,\mathrm{std}\big(k_{\tau_n} * \tilde\theta_h\big)
        + w_{n,P}\,\mathrm{std}\big(k_{\tau_n} * \tilde P\big),
        \qquad w_{n,k} = \operatorname{sign}(c_{n,k}) \sqrt{S_{n,k} / \textstyle\sum_j S_{n,j}}

    B_n &= \mathrm{std}(g * b_n), \qquad
    I_n = \mathrm{std}\Big(\sum_{k=1}^{K} L_{n,k}\,(g * z_k)\Big), \qquad
    R_n = \mathrm{std}\big(g * \mathrm{OU}_{\tau^\text{p}_n}\big)

    y_n &= \sqrt{f^B_n}\,B_n + \sqrt{f^I_n}\,I_n + \sqrt{f^R}\,R_n + \epsilon_n,
    \qquad \epsilon_n \sim \mathcal N(0, \sigma_n^2)

where :math:`\tilde v_+ = \max(\tilde v, 0)` and :math:`\tilde v_- = \min(\tilde v, 0)` are the
forward and reverse parts of velocity,
:math:`\alpha^\pm_n` rectify (1 in the neuron's preferred direction, :math:`\rho_n \sim
U(0.1, 0.6)` in the other); each channel is scaled before weighting so that
:math:`w_{n,k}^2` is behavior :math:`k`'s share of the behavior part whatever its timescale.
:math:`g(t) \propto e^{-t/\tau_d} - e^{-t/\tau_r}` is the GCaMP kernel (``gcamp_rise_s``,
``gcamp_decay_s``); the internal states :math:`z_k` are :math:`K` = ``n_internal``
Ornstein-Uhlenbeck processes smoothed by a second EMA of a third of their timescale,
timescales log-spaced in ``internal_timescales_s``, independent of behavior;
:math:`L_{n,k}` are loadings (a class loading plus 0.3 times a neuron's own, so that
left/right pairs are alike); :math:`\tau^\text{p}_n \sim U` (``private_timescales_s``).
Fractions of the signal variance:

.. math::

    f^B_n = \max\Big(f_\min,\; f_\max \frac{S_n}{S_n + S_{1/2}}\Big), \quad
    S_n = \sum_k S_{n,k}, \qquad
    f^I_n = 1 - f^R - f^B_n, \qquad
    \sigma_n^2 = \frac{q_n}{1 - q_n}\,\mathrm{var}(y_n - \epsilon_n), \quad q_n \sim U(q_\min, q_\max)

(:math:`f^R` = ``private_fraction``, :math:`q` = ``noise_fraction``: the noise share of
each trace's variance). With the defaults the mean shares of a trace's variance are about
0.31 behavior, 0.44 internal, 0.03 private and 0.25 noise, so the ceiling (R² of the
behavior + internal parts against the data) is about 0.72.

Encodings (:math:`w, \tau, \rho, L`) belong to the identity and are shared by all animals.
Each animal perturbs them: :math:`w_n + 0.2\,v_c\,\lVert w_n\rVert\,\zeta/\sqrt3`
(``encoding_variability`` = 0.2, :math:`v_c` the class's measured across-animal variability
over the median class's, clipped to 0.5-2, :math:`\zeta \sim \mathcal N(0, I)`),
:math:`\tau_n e^{0.15\,\zeta}` (``tau_variability``) and :math:`L_n + 0.2\,\lVert L_n\rVert\,
\zeta/\sqrt K` (``loading_variability``). The values are moderate on purpose: a model that
shares encodings by identity is judged on imputing hidden neurons against the ceiling, and
animal-specific deviations, which nothing can infer, lower what it can reach. At these
values the identity-shared parts explain about 96% of an animal's predictable part, and the
best identity-shared predictor reaches R² 0.69 against the ceiling's 0.72 (measured in
``docs/simulator.md``), while animals still differ visibly.

Finally each trace is z-scored (like ``trace_array``) and the same affine map is applied to
every part, so that ``behavior_part + internal_part + private_part + noise == traces``.

**Identities.** Each member neuron of table class :math:`c` is labeled with probability
:math:`\min(p_\max,\; e_a\,\text{count}_c / (40\,|c|))` (``count`` is over the paper's 40
labeled animals, :math:`|c|` the class's members, :math:`e_a \sim \mathrm{LogNormal}(0,
0.12)` a per-animal labeling efficiency), clipped to ``labeled_range``. The other ROIs
(``neurons_median`` +- ``neurons_sd``, within ``neurons_range``) are unlabeled; their true
identities are drawn from the atlas neurons not labeled in that animal, table neurons three
times as likely as others (real ROIs are head neurons); neurons outside the table get weak
generic encodings (total strength log-uniform in 0.01-0.1, random signs, :math:`\tau`
log-normal around 8 s). Neurons are listed in random (ROI) order.

Examples
--------
>>> from ceneurovae.simulate import simulate_cohort
>>> cohort = simulate_cohort(n_animals=2, seed=0)
>>> rec = cohort.datasets["sim-000"]
>>> truth = cohort.truth["sim-000"]
>>> bool(abs(truth.signal + truth.noise - rec.traces).max() < 1e-4)
True
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import h5py
import numpy as np

from .errors import ConfigError, FormatError
from .identity import Vocabulary, atlas, neuron_class
from .normalize import LAB_DIVISORS, zscore
from .recording import Recording
from .sim_behavior import (
    causal_filter, exp_kernels, fft_size, ou, runs, simulate_behavior, smooth_ou, standardize,
)

__all__ = [
    "BEHAVIORS",
    "GroundTruth",
    "SimConfig",
    "SimulatedCohort",
    "load_truth",
    "save_truth",
    "simulate_behavior",
    "simulate_cohort",
]

BEHAVIORS = ("velocity", "head_curvature", "pumping")
"""Behavior columns of simulated recordings, in physical units (mm/s, rad, pumps/s)."""

TRUTH_FORMAT = "ceneurovae-truth"
TRUTH_VERSION = 1
_LABELED_ANIMALS = 40  # the table's counts are over the 40 NeuroPAL animals of the paper
_TAU_MAX_S = 90.0  # encoding decay times are capped here (table maximum: 61 s); sets the burn-in


@dataclass(frozen=True)
class SimConfig:
    """Settings of the simulator. Defaults reproduce the statistics of Atanas & Kim 2023.

    Recording

    n_frames : int
        Recorded frames per animal (two halves of ``n_frames // 2``; real: 1544-1615).
    dt : float
        Mean frame period, s (real: about 0.6 s, 1.7 Hz).
    dt_spread : float
        Relative spread of each animal's frame period, uniform in ``dt * (1 +- dt_spread)``.
    gap_s : float
        Pause between the two halves, s; simulated, then dropped (0 joins them without gap).

    Neurons and labels

    neurons_median, neurons_sd, neurons_range : int, float, (int, int)
        ROIs per animal ~ round(Normal(median, sd)) clipped to the range (real: 105-163, median 138).
    labeling_spread : float
        Log-sd of the per-animal labeling efficiency (real labeled counts: 60-111, mean 88).
    labeled_range : (int, int)
        Labeled neurons per animal are clipped to this range.
    max_label_probability : float
        Cap on the probability that a member neuron of a class is labeled.

    Behavior

    roaming_s, dwelling_s : float
        Mean durations of roaming and dwelling states, s.
    speed_roaming, speed_dwelling : float
        Mean forward speed in each state, mm/s.
    speed_fluctuation : float
        Sd of the slow (5 s) fluctuation of forward speed while roaming, mm/s (it scales
        with the speed level, so a dwelling worm creeps steadily).
    reversals_per_min_roaming, reversals_per_min_dwelling : float
        Reversal rate during forward runs in each state, per minute.
    reversal_s : float
        Median reversal duration, s.
    reversal_speed : float
        Median backward speed of a reversal, mm/s (each reversal draws its own, <= 0.28).
    head_curvature_std : float
        Sd of head curvature, rad.
    head_swing_period_s : float
        Period of head swings, s.
    pumping_rate : float
        Mean pumping rate within a bout while dwelling, pumps/s (0.5 lower while roaming).
    pumping_off_s : float
        Mean duration of pauses between pumping bouts, s (bouts last 120 s dwelling, 50 s roaming).
    pumping_missing_fraction : float
        Fraction of animals whose pumping is unmeasured (``behavior_mask`` False; the neurons
        still encode it, as in a real animal).

    Neural signal

    n_internal : int
        Number K of internal states (slow, shared across neurons, unrelated to behavior).
    internal_timescales_s : (float, float)
        Shortest and longest internal-state timescale, s (log-spaced).
    behavior_fraction_max, behavior_fraction_min, behavior_half_strength : float
        :math:`f_\\max`, :math:`f_\\min`, :math:`S_{1/2}` of the behavior fraction (module docstring).
    private_fraction : float
        Share of each neuron's signal variance private to it (slow, unpredictable from others).
    private_timescales_s : (float, float)
        Range of the private processes' timescales, s.
    noise_fraction : (float, float)
        Range of the noise share of each trace's variance (neuron-specific SNR).
    encoding_variability : float
        Per-animal relative deviation of behavior weights, times the class's measured
        across-animal variability over its median (clipped to 0.5-2).
    tau_variability : float
        Log-sd of per-animal deviations of the encoding decay time.
    loading_variability : float
        Per-animal relative deviation of internal-state loadings.
    gcamp_rise_s, gcamp_decay_s : float
        Rise and decay time constants of the GCaMP kernel, s (GCaMP7f-like).
    """

    n_frames: int = 1600
    dt: float = 0.6
    dt_spread: float = 0.02
    gap_s: float = 30.0

    neurons_median: int = 138
    neurons_sd: float = 12.0
    neurons_range: tuple[int, int] = (105, 163)
    labeling_spread: float = 0.12
    labeled_range: tuple[int, int] = (60, 111)
    max_label_probability: float = 0.95

    roaming_s: float = 100.0
    dwelling_s: float = 200.0
    speed_roaming: float = 0.07
    speed_dwelling: float = 0.012
    speed_fluctuation: float = 0.04
    reversals_per_min_roaming: float = 1.5
    reversals_per_min_dwelling: float = 5.0
    reversal_s: float = 3.0
    reversal_speed: float = 0.095
    head_curvature_std: float = 0.5
    head_swing_period_s: float = 6.0
    pumping_rate: float = 3.4
    pumping_off_s: float = 40.0
    pumping_missing_fraction: float = 0.0

    n_internal: int = 4
    internal_timescales_s: tuple[float, float] = (20.0, 200.0)
    behavior_fraction_max: float = 0.9
    behavior_fraction_min: float = 0.05
    behavior_half_strength: float = 0.15
    private_fraction: float = 0.04
    private_timescales_s: tuple[float, float] = (10.0, 60.0)
    noise_fraction: tuple[float, float] = (0.1, 0.4)
    encoding_variability: float = 0.2
    tau_variability: float = 0.15
    loading_variability: float = 0.2
    gcamp_rise_s: float = 0.2
    gcamp_decay_s: float = 1.2

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, tuple):
                ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_number(v) for v in value)
                rule = "a pair of numbers (low, high)"
                value = tuple(value) if ok else value
            else:
                ok = _is_number(value) and (isinstance(f.default, float) or float(value).is_integer())
                rule = "a number" if isinstance(f.default, float) else "an integer"
                value = float(value) if isinstance(f.default, float) else int(value) if ok else value
            if not ok:
                raise ConfigError(f"SimConfig.{f.name}={value!r} is invalid: it must be {rule}")
            object.__setattr__(self, f.name, value)
        _check_config(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SimConfig:
        """A config from a mapping (e.g. YAML); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown simulator settings {unknown}; known: {sorted(known)}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and bool(np.isfinite(value))


def _check_config(c: SimConfig) -> None:
    def need(ok: bool, name: str, rule: str) -> None:
        if not ok:
            raise ConfigError(f"SimConfig.{name}={getattr(c, name)!r} is invalid: it must be {rule}")

    def pair(name: str, lo: float, hi: float | None = None) -> None:
        a, b = getattr(c, name)
        ok = lo <= a <= b and (hi is None or b <= hi)
        need(ok, name, f"a pair (low, high) with {lo} <= low <= high" + (f" <= {hi}" if hi is not None else ""))

    need(c.n_frames >= 20, "n_frames", "at least 20")
    for name in ("dt", "roaming_s", "dwelling_s", "reversal_s", "reversal_speed", "head_curvature_std",
                 "head_swing_period_s", "pumping_off_s", "gcamp_rise_s", "gcamp_decay_s", "neurons_sd"):
        need(float(getattr(c, name)) > 0, name, "a positive number")
    for name in ("gap_s", "speed_roaming", "speed_dwelling", "speed_fluctuation", "labeling_spread",
                 "reversals_per_min_roaming", "reversals_per_min_dwelling", "pumping_rate",
                 "encoding_variability", "tau_variability", "loading_variability"):
        need(float(getattr(c, name)) >= 0, name, "a number >= 0")
    need(0 <= c.dt_spread < 0.5, "dt_spread", "in [0, 0.5)")
    need(0 <= c.pumping_missing_fraction <= 1, "pumping_missing_fraction", "in [0, 1]")
    need(0 < c.max_label_probability <= 1, "max_label_probability", "in (0, 1]")
    need(c.n_internal >= 1, "n_internal", "at least 1")
    need(c.gcamp_rise_s < c.gcamp_decay_s, "gcamp_rise_s", f"smaller than gcamp_decay_s={c.gcamp_decay_s}")
    pair("neurons_range", 1, len(atlas().names))
    pair("labeled_range", 0)
    pair("internal_timescales_s", 1e-3)
    pair("private_timescales_s", 1e-3)
    pair("noise_fraction", 0.0, 0.95)
    need(c.labeled_range[1] <= c.neurons_range[1], "labeled_range", f"at most neurons_range's high end {c.neurons_range[1]}")
    need(0 <= c.private_fraction < 1, "private_fraction", "in [0, 1)")
    need(0 <= c.behavior_fraction_min <= c.behavior_fraction_max, "behavior_fraction_min",
         f"in [0, behavior_fraction_max={c.behavior_fraction_max}]")
    need(c.behavior_fraction_max + c.private_fraction <= 1, "behavior_fraction_max",
         f"at most 1 - private_fraction = {1 - c.private_fraction}")
    need(c.behavior_half_strength > 0, "behavior_half_strength", "a positive number")


# -- ground truth ----------------------------------------------------------------------------

@dataclass(eq=False)
class GroundTruth:
    """What made one simulated recording. Arrays are in the units of ``rec.traces``.

    Attributes
    ----------
    uid : str
    behavior_part, internal_part, private_part : (T, N) float32
        The behavior-driven, shared-internal-state and private parts of the noiseless signal.
    noise : (T, N) float32
        Observation noise; the four parts add up to ``rec.traces``.
    noise_std : (N,) float32
        Standard deviation of the noise of each neuron.
    internal_states : (T, K) float32
        The internal states :math:`z_k` at the recorded frames, before the GCaMP kernel
        (unit variance over the recorded frames).
    true_labels : list of str
        The atlas name of every neuron, unlabeled ones included.
    tau : (N,) float32
        This animal's encoding decay time of each neuron, s.
    encoding : (N, 3) float32
        This animal's signed behavior weights (velocity, head curvature, pumping) of each neuron.
    """

    uid: str
    behavior_part: np.ndarray
    internal_part: np.ndarray
    private_part: np.ndarray
    noise: np.ndarray
    noise_std: np.ndarray
    internal_states: np.ndarray
    true_labels: list[str]
    tau: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    encoding: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))

    @property
    def signal(self) -> np.ndarray:
        """The noiseless trace: behavior + internal + private parts, (T, N)."""
        return self.behavior_part + self.internal_part + self.private_part

    @property
    def predictable(self) -> np.ndarray:
        """What a model sharing information across neurons can hope to predict: behavior + internal parts."""
        return self.behavior_part + self.internal_part

    def true_identity(self, vocabulary: Vocabulary) -> np.ndarray:
        """Identity of every neuron in `vocabulary`, (N,) int64 (0 where the name is not in it)."""
        return vocabulary.encode(self.true_labels)


@dataclass(eq=False)
class SimulatedCohort:
    """The output of `simulate_cohort`.

    Attributes
    ----------
    datasets : dict uid -> Recording
        The recordings, in order ``sim-000``, ``sim-001``, ...
    vocabulary : Vocabulary
        The labeled identities seen in any animal.
    truth : dict uid -> GroundTruth
    config : SimConfig
    seed : int
    """

    datasets: dict[str, Recording]
    vocabulary: Vocabulary
    truth: dict[str, GroundTruth]
    config: SimConfig
    seed: int


# -- identities and encodings ------------------------------------------------------------------

@functools.cache
def _encoding_table() -> dict[str, dict[str, Any]]:
    """The CePNEM table as class -> row (see ``resources/PROVENANCE.md``)."""
    text = resources.files("ceneurovae.resources").joinpath("cepnem_encoding_table.json")
    raw = json.loads(text.read_text(encoding="utf-8"))
    keys = [k for k in raw if k not in ("class", "encoding_table")]
    return {cls: {k: raw[k][i] for k in keys} for i, cls in enumerate(raw["class"])}


@dataclass(frozen=True)
class _IdentityParams:
    """Encodings of every atlas neuron (index = atlas order), shared by all animals of a cohort."""

    names: tuple[str, ...]
    weight: np.ndarray        # (A, 3) signed weights of velocity, head curvature, pumping
    rectify: np.ndarray       # (A,) response in the non-preferred velocity direction
    tau: np.ndarray           # (A,) encoding decay time, s
    fraction: np.ndarray      # (A,) behavior share of signal variance
    variability: np.ndarray   # (A,) class's across-animal variability relative to the median
    loading: np.ndarray       # (A, K) internal-state loadings
    label_prob: np.ndarray    # (A,) labeling probability per member neuron (0 outside the table)


def _identity_params(rng: np.random.Generator, c: SimConfig) -> _IdentityParams:
    names = atlas().names
    table = _encoding_table()
    classes = [neuron_class(n) for n in names]
    members: dict[str, int] = {}
    for cls in classes:
        members[cls] = members.get(cls, 0) + 1
    a = len(names)
    strength = np.zeros((a, 3))
    sign = rng.choice([-1.0, 1.0], size=(a, 3))
    tau = np.exp(rng.normal(np.log(8.0), 0.5, a)).clip(1.0, 60.0)
    variability = np.ones(a)
    label_prob = np.zeros(a)
    # Neurons the table does not cover: weak generic encodings (total strength 0.01-0.1).
    generic = np.exp(rng.uniform(np.log(0.01), np.log(0.1), a))[:, None] * rng.dirichlet(np.ones(3), a)
    median_var = float(np.median([r["encoding_variability"] for r in table.values() if r["encoding_variability"]]))
    for i, cls in enumerate(classes):
        row = table.get(cls)
        if row is None:
            strength[i] = generic[i]
            continue
        label_prob[i] = min(1.0, row["count"] / (_LABELED_ANIMALS * members[cls]))
        s = [row["enc_strength_v"], row["enc_strength_hc"], row["enc_strength_pumping"]]
        strength[i] = generic[i] if any(v is None for v in s) else np.maximum(s, 0.0)
        slopes = [row["enc_v"], row["enc_hc"], row["enc_pumping"]]
        sign[i] = [np.sign(v) if v else sign[i, k] for k, v in enumerate(slopes)]
        if row["tau"]:
            tau[i] = row["tau"]
        if row["encoding_variability"]:
            variability[i] = np.clip(row["encoding_variability"] / median_var, 0.5, 2.0)
    total = strength.sum(1)
    weight = sign * np.sqrt(strength / np.where(total > 0, total, 1.0)[:, None])
    fraction = np.maximum(c.behavior_fraction_min,
                          c.behavior_fraction_max * total / (total + c.behavior_half_strength))
    # Left/right members of a class share a class loading, plus a small difference of their own.
    class_index = {cls: k for k, cls in enumerate(dict.fromkeys(classes))}
    class_load = rng.standard_normal((len(class_index), c.n_internal))
    loading = class_load[[class_index[cls] for cls in classes]] + 0.3 * rng.standard_normal((a, c.n_internal))
    return _IdentityParams(names, weight, rng.uniform(0.1, 0.6, a), tau, fraction, variability,
                           loading, label_prob)


def _choose_neurons(rng: np.random.Generator, p: _IdentityParams, c: SimConfig) -> tuple[np.ndarray, int]:
    """Atlas indices of one animal's neurons, labeled first; returns (indices, number labeled)."""
    efficiency = np.exp(rng.normal(0, c.labeling_spread))
    prob = np.minimum(p.label_prob * efficiency, c.max_label_probability)
    labeled = np.flatnonzero(rng.random(prob.size) < prob)
    lo, hi = c.labeled_range
    if labeled.size > hi:
        labeled = np.sort(rng.choice(labeled, hi, replace=False))
    elif labeled.size < lo:
        rest = np.setdiff1d(np.flatnonzero(prob > 0), labeled)
        extra = rng.choice(rest, min(lo - labeled.size, rest.size), replace=False, p=prob[rest] / prob[rest].sum())
        labeled = np.sort(np.concatenate([labeled, extra]))
    n_lo, n_hi = c.neurons_range
    total = int(np.clip(round(rng.normal(c.neurons_median, c.neurons_sd)), n_lo, n_hi))
    total = max(total, labeled.size)
    free = np.setdiff1d(np.arange(prob.size), labeled)
    # Unidentified ROIs are more often neurons of the head classes the table covers.
    w = np.where(p.label_prob[free] > 0, 3.0, 1.0)
    unlabeled = rng.choice(free, total - labeled.size, replace=False, p=w / w.sum())
    return np.concatenate([labeled, unlabeled]), int(labeled.size)


# -- one animal ------------------------------------------------------------------------------

def _animal_encodings(rng, p: _IdentityParams, idx: np.ndarray, c: SimConfig):
    """This animal's weights (N, 3), rectification (N,), tau (N,) s and loadings (N, K)."""
    n = idx.size
    w = p.weight[idx]
    spread = c.encoding_variability * p.variability[idx, None] * np.linalg.norm(w, axis=1, keepdims=True)
    w = w + spread * rng.standard_normal((n, 3)) / np.sqrt(3)
    tau = np.clip(p.tau[idx] * np.exp(rng.normal(0, c.tau_variability, n)), 0.5, _TAU_MAX_S)
    load = p.loading[idx]
    norm = np.linalg.norm(load, axis=1, keepdims=True)
    load = load + c.loading_variability * norm * rng.standard_normal(load.shape) / np.sqrt(c.n_internal)
    return w, p.rectify[idx], tau, load


def _behavior_drive(x: np.ndarray, w: np.ndarray, rectify: np.ndarray, tau_frames: np.ndarray,
                    length: int) -> np.ndarray:
    """Each neuron's encoding of behavior, CePNEM-like, (T, N).

    `x` is (T, 4): forward and reverse velocity, head curvature, pumping (normalized). Every
    channel is filtered with the neuron's exponential kernel and scaled to unit variance
    before the weights apply, so that a weight's square is that behavior's share of the
    behavior part whatever its timescale (slow pumping would otherwise swamp fast reversals).
    """
    n_frames = x.shape[0]
    nfft = fft_size(n_frames + length - 1)
    kernel = np.fft.rfft(np.ascontiguousarray(exp_kernels(tau_frames, length, "gain").T), nfft)  # (N, F)
    spectra = np.fft.rfft(np.ascontiguousarray(x.T), nfft)  # (4, F)
    forward = (w[:, 0] >= 0)[:, None]  # rectification: full response in the preferred direction only
    velocity = spectra[0] * np.where(forward, 1.0, rectify[:, None]) + spectra[1] * np.where(forward, rectify[:, None], 1.0)

    def filtered(spectrum: np.ndarray) -> np.ndarray:
        return standardize(np.fft.irfft(spectrum * kernel, nfft)[:, :n_frames].T)

    return w[:, 0] * filtered(velocity) + w[:, 1] * filtered(spectra[2]) + w[:, 2] * filtered(spectra[3])


def _simulate_animal(k: int, seed_seq: np.random.SeedSequence, p: _IdentityParams, c: SimConfig):
    # Separate streams, so that changing one setting (say, the neuron count) leaves the
    # other draws (say, the behavior) as they were.
    rng, behavior_rng, activity_rng = (np.random.default_rng(s) for s in seed_seq.spawn(3))
    dt = c.dt * (1 + rng.uniform(-c.dt_spread, c.dt_spread))
    fps = 1.0 / dt
    half = c.n_frames // 2
    n_gap = int(round(c.gap_s * fps))
    n_cont = c.n_frames + n_gap
    kept = np.concatenate([np.arange(half), np.arange(half + n_gap, n_cont)])

    idx, n_labeled = _choose_neurons(rng, p, c)
    n = idx.size
    w, rectify, tau, load = _animal_encodings(rng, p, idx, c)
    order = rng.permutation(n)  # ROI order has nothing to do with identity

    # Behavior runs from `burn` frames before the first recorded one, so that the encoding
    # filters are in their stationary regime when recording starts; the GCaMP kernel then
    # needs the g_len - 1 frames before each frame it outputs.
    g_len = int(np.ceil(8 * c.gcamp_decay_s * fps))
    e_len = int(np.ceil(6 * _TAU_MAX_S * fps))
    span = n_cont + g_len - 1
    burn = e_len + g_len - 1
    beh = simulate_behavior(behavior_rng, burn + n_cont, dt, c)

    v = beh["velocity"] / LAB_DIVISORS["velocity"]
    x = np.stack([np.maximum(v, 0), np.minimum(v, 0),
                  beh["head_curvature"] / LAB_DIVISORS["head_curvature"],
                  beh["pumping"] / LAB_DIVISORS["pumping"]], axis=1)
    drive = _behavior_drive(x, w, rectify, tau * fps, e_len)[-span:]

    scales = np.geomspace(*c.internal_timescales_s, c.n_internal) * fps
    states = smooth_ou(activity_rng, span, scales)
    private = ou(activity_rng, span, activity_rng.uniform(*c.private_timescales_s, n) * fps)

    j = np.arange(g_len) * dt
    gcamp = np.exp(-j / c.gcamp_decay_s) - np.exp(-j / c.gcamp_rise_s)
    gcamp /= gcamp.sum()
    frames = burn + kept  # recorded frames on the behavior grid
    beh = {key: val[frames] for key, val in beh.items()}

    def recorded(series: np.ndarray) -> np.ndarray:
        """GCaMP-filtered (span, M) series at the recorded frames, unit variance."""
        return standardize(causal_filter(series, gcamp)[g_len - 1 + kept])

    states_rec = standardize(states[g_len - 1 + kept])
    f_beh = p.fraction[idx]
    f_int = 1.0 - c.private_fraction - f_beh
    # Filters commute with the loadings: filter the K states, not the N mixtures.
    parts = [np.sqrt(f_beh) * recorded(drive),
             np.sqrt(f_int) * standardize(causal_filter(states, gcamp)[g_len - 1 + kept] @ load.T),
             np.sqrt(c.private_fraction) * recorded(private)]
    signal = parts[0] + parts[1] + parts[2]
    q = activity_rng.uniform(*c.noise_fraction, n)
    sigma = np.sqrt(q / (1 - q)) * signal.std(0)
    noise = activity_rng.standard_normal(signal.shape) * sigma

    traces, mean, sd = zscore(signal + noise, np.ones(signal.shape, dtype=bool))
    parts = [((part - part.mean(0)) / sd)[:, order].astype(np.float32) for part in parts + [noise]]
    names = [p.names[i] for i in idx[order]]
    labeled = (order < n_labeled)

    timestamps = kept * dt + rng.normal(0, 0.005 * dt, kept.size)
    timestamps -= timestamps[0]
    behavior = np.stack([beh[b] for b in BEHAVIORS], axis=1)
    bmask = np.ones(behavior.shape, dtype=bool)
    if rng.random() < c.pumping_missing_fraction:
        bmask[:, BEHAVIORS.index("pumping")] = False
    rev = beh["reversal"]
    reversals = runs(rev[:half]) + [[a + half, b + half] for a, b in runs(rev[half:])]

    uid = f"sim-{k:03d}"
    rec = dict(
        uid=uid, traces=traces[:, order], behavior=behavior, behavior_names=list(BEHAVIORS),
        behavior_mask=bmask, labels=[nm if lab else "" for nm, lab in zip(names, labeled)],
        timestamps=timestamps, dt=float(np.median(np.diff(timestamps[:half]))),
        events={"reversals": reversals}, source="simulator",
        meta={"simulated": True, "animal": k, "roaming_fraction": float(beh["roaming"].mean())},
    )
    truth = GroundTruth(
        uid=uid, behavior_part=parts[0], internal_part=parts[1], private_part=parts[2], noise=parts[3],
        noise_std=(sigma / sd)[order].astype(np.float32), internal_states=states_rec.astype(np.float32),
        true_labels=names, tau=tau[order].astype(np.float32), encoding=w[order].astype(np.float32),
    )
    return rec, truth


def simulate_cohort(n_animals: int = 40, seed: int = 0, config: SimConfig | None = None) -> SimulatedCohort:
    """Simulate a cohort of recordings with their ground truth.

    Parameters
    ----------
    n_animals : int
        Number of animals (uids ``sim-000``, ``sim-001``, ...).
    seed : int
        Everything is a function of the seed. Animal ``k`` draws from its own child of
        ``SeedSequence(seed)``, so it is the same whatever `n_animals` is.
    config : SimConfig, optional
        Simulator settings; the defaults reproduce Atanas & Kim 2023.

    Returns
    -------
    SimulatedCohort
        ``.datasets`` (uid -> Recording, traces z-scored, behavior in physical units,
        ``events["reversals"]`` as [start, stop) frames), ``.vocabulary``, ``.truth``.
    """
    if isinstance(n_animals, bool) or not isinstance(n_animals, (int, np.integer)) or n_animals < 1:
        raise ConfigError(f"n_animals must be a positive integer, got {n_animals!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if config is None:
        config = SimConfig()
    elif not isinstance(config, SimConfig):
        raise ConfigError(f"config must be a SimConfig, got {type(config).__name__}; use SimConfig.from_dict")
    shared_seq, animals_seq = np.random.SeedSequence(int(seed)).spawn(2)
    params = _identity_params(np.random.default_rng(shared_seq), config)
    made = [_simulate_animal(k, s, params, config) for k, s in enumerate(animals_seq.spawn(int(n_animals)))]
    vocabulary = Vocabulary.from_names(lab for rec, _ in made for lab in rec["labels"])
    datasets = {}
    for rec, _ in made:
        rec["meta"]["seed"] = int(seed)
        datasets[rec["uid"]] = Recording(identity=vocabulary.encode(rec["labels"]), **rec)
    truth = {t.uid: t for _, t in made}
    return SimulatedCohort(datasets=datasets, vocabulary=vocabulary, truth=truth, config=config, seed=int(seed))


# -- ground truth files ------------------------------------------------------------------------

_TRUTH_ARRAYS = ("behavior_part", "internal_part", "private_part", "noise")


def save_truth(path: str | os.PathLike, truth: Mapping[str, GroundTruth], config: SimConfig | None = None) -> None:
    """Write ground truth to one HDF5 file.

    Layout: ``truth/<uid>/{behavior_part, internal_part, private_part, noise}`` (T, N) float32,
    ``noise_std`` (N,), ``internal_states`` (T, K), ``true_labels`` (N,) str, ``tau`` (N,),
    ``encoding`` (N, 3); file attributes ``format``, ``format_version`` and ``config`` (JSON).
    """
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = TRUTH_FORMAT
        f.attrs["format_version"] = TRUTH_VERSION
        f.attrs["config"] = json.dumps(config.to_dict() if config is not None else {})
        root = f.create_group("truth")
        for uid, t in truth.items():
            g = root.create_group(uid)
            for name in _TRUTH_ARRAYS:
                g.create_dataset(name, data=np.asarray(getattr(t, name), dtype=np.float32))
            g.create_dataset("noise_std", data=np.asarray(t.noise_std, dtype=np.float32))
            g.create_dataset("internal_states", data=np.asarray(t.internal_states, dtype=np.float32))
            g.create_dataset("true_labels", data=np.asarray(t.true_labels, dtype=h5py.string_dtype("utf-8")))
            g.create_dataset("tau", data=np.asarray(t.tau, dtype=np.float32))
            g.create_dataset("encoding", data=np.asarray(t.encoding, dtype=np.float32))
    os.replace(tmp, path)


def load_truth(path: str | os.PathLike) -> dict[str, GroundTruth]:
    """Read a file written by `save_truth`; raises `FormatError` naming the file and key on any damage."""
    path = os.fspath(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FormatError(f"cannot open as HDF5 ({err})", path=path) from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != TRUTH_FORMAT or "truth" not in f:
            raise FormatError(f"not a ground-truth file (format attribute {fmt!r}, expected {TRUTH_FORMAT!r})",
                              path=path, key="format")
        return {uid: _read_truth_group(f["truth"][uid], uid, path) for uid in f["truth"]}


def _read_truth_group(g: h5py.Group, uid: str, path: str) -> GroundTruth:
    def get(name: str) -> np.ndarray:
        if name not in g:
            raise FormatError("missing from the ground-truth file", path=path, key=f"truth/{uid}/{name}")
        return g[name][()]

    arrays = {name: np.asarray(get(name), dtype=np.float32) for name in _TRUTH_ARRAYS}
    shape = arrays["behavior_part"].shape
    for name, a in arrays.items():
        if a.ndim != 2 or a.shape != shape:
            raise FormatError(f"shape {a.shape} differs from behavior_part's {shape}", path=path, key=f"truth/{uid}/{name}")
    t_frames, n = shape
    labels = [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in get("true_labels")]
    extra = {"noise_std": (n,), "tau": (n,), "encoding": (n, 3)}
    values = {name: np.asarray(get(name), dtype=np.float32) for name in extra}
    for name, want in extra.items():
        if values[name].shape != want:
            raise FormatError(f"shape {values[name].shape}, expected {want}", path=path, key=f"truth/{uid}/{name}")
    states = np.asarray(get("internal_states"), dtype=np.float32)
    if states.ndim != 2 or states.shape[0] != t_frames:
        raise FormatError(f"shape {states.shape}, expected ({t_frames}, K)", path=path, key=f"truth/{uid}/internal_states")
    if len(labels) != n:
        raise FormatError(f"{len(labels)} labels for {n} neurons", path=path, key=f"truth/{uid}/true_labels")
    return GroundTruth(uid=uid, **arrays, internal_states=states, true_labels=labels, **values)
