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

**Behavior** (`ceneurovae.sim_model.simulate_behavior`). A slow state :math:`m(t) \in \{\text{roam},
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

    s(t) &= \big[\bar s(t)\,\big(1 + \tfrac{\sigma_s}{s_\text{roam}}\,
        \mathrm{OU}_{5\,s}(t)\big)\big]_+
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
exponential filter and :math:`\mathrm{u}(\cdot)` division by the standard deviation that the
filtered series has *under the generative model* (a fixed constant per neuron, computed
from a fixed-seed reference cohort of 24 animals for behavior and analytically for the
Ornstein-Uhlenbeck processes; never the recording's own, so that a neuron's gain does not
depend on what one animal happened to do in one recording):

.. math::

    b_n &= w_{n,v}\,\mathrm{u}\big(k_{\tau_n} * (\alpha^+_n \tilde v_+
        + \alpha^-_n \tilde v_-)\big)
        + w_{n,\theta}\,\mathrm{u}\big(k_{\tau_n} * \tilde\theta_h\big)
        + w_{n,P}\,\mathrm{u}\big(k_{\tau_n} * \tilde P\big),
        \qquad w_{n,k} = \operatorname{sign}(c_{n,k}) \sqrt{S_{n,k} / \textstyle\sum_j S_{n,j}}

    B_n &= \mathrm{u}(g * b_n), \qquad
    I_n = \mathrm{u}\Big(\sum_{k=1}^{K} L_{n,k}\,(g * z_k)\Big), \qquad
    R_n = \mathrm{u}\big(g * \mathrm{OU}_{\tau^\text{p}_n}\big)

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
    \sigma_n^2 = \frac{q_n}{1 - q_n}\,\mathrm{var}(y_n - \epsilon_n), \quad
    q_n \sim U(q_\min, q_\max)

(:math:`f^R` = ``private_fraction``, :math:`q` = ``noise_fraction``: the noise share of
each trace's variance). With the defaults the mean shares of a trace's variance are about
0.35 behavior, 0.40 internal, 0.04 private and 0.25 noise, so the ceiling (R² of the
behavior + internal parts against the data) is about 0.71.

Encodings (:math:`w, \tau, \rho, L`) belong to the identity and are shared by all animals.
Each animal perturbs them: :math:`w_n + 0.2\,v_c\,\lVert w_n\rVert\,\zeta/\sqrt3`
(``encoding_variability`` = 0.2, :math:`v_c` the class's measured across-animal variability
over the median class's, clipped to 0.5-2, :math:`\zeta \sim \mathcal N(0, I)`),
:math:`\tau_n e^{0.15\,\zeta}` (``tau_variability``) and :math:`L_n + 0.2\,\lVert L_n\rVert\,
\zeta/\sqrt K` (``loading_variability``). The values are moderate on purpose: a model that
shares encodings by identity is judged on imputing hidden neurons against the ceiling, and
animal-specific deviations, which nothing can infer, lower what it can reach; so does the
z-scoring of each trace over its own recording, since slow states have a different realized
variance in every 16-minute recording (as in real data). How far an identity-shared model
can get is measured in ``docs/simulator.md``.

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
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from .errors import ConfigError, FormatError
from .identity import Vocabulary, atlas
from .recording import Recording
from .sim_model import BEHAVIORS, identity_params, simulate_animal, simulate_behavior

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

TRUTH_FORMAT = "ceneurovae-truth"
TRUTH_VERSION = 1


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
        ROIs per animal ~ round(Normal(median, sd)) clipped to the range
        (real: 105-163, median 138).
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
        :math:`f_\\max`, :math:`f_\\min`, :math:`S_{1/2}` of the behavior fraction
        (module docstring).
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
                ok = (isinstance(value, (tuple, list)) and len(value) == 2
                      and all(_is_number(v) for v in value))
                rule = "a pair of numbers (low, high)"
                value = tuple(value) if ok else value
            else:
                is_float = isinstance(f.default, float)
                ok = _is_number(value) and (is_float or float(value).is_integer())
                rule = "a number" if is_float else "an integer"
                if ok:
                    value = float(value) if is_float else int(value)
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
        """The settings as a plain dict (pairs as lists), e.g. for YAML or JSON."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def _is_number(value: Any) -> bool:
    numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return numeric and bool(np.isfinite(value))


def _check_config(c: SimConfig) -> None:
    def need(ok: bool, name: str, rule: str) -> None:
        if not ok:
            raise ConfigError(
                f"SimConfig.{name}={getattr(c, name)!r} is invalid: it must be {rule}")

    def pair(name: str, lo: float, hi: float | None = None) -> None:
        a, b = getattr(c, name)
        ok = lo <= a <= b and (hi is None or b <= hi)
        upper = f" <= {hi}" if hi is not None else ""
        need(ok, name, f"a pair (low, high) with {lo} <= low <= high{upper}")

    need(c.n_frames >= 20, "n_frames", "at least 20")
    for name in ("dt", "roaming_s", "dwelling_s", "reversal_s", "reversal_speed",
                 "head_curvature_std", "head_swing_period_s", "pumping_off_s", "gcamp_rise_s",
                 "gcamp_decay_s", "neurons_sd", "behavior_half_strength"):
        need(float(getattr(c, name)) > 0, name, "a positive number")
    for name in ("gap_s", "speed_roaming", "speed_dwelling", "speed_fluctuation", "labeling_spread",
                 "reversals_per_min_roaming", "reversals_per_min_dwelling", "pumping_rate",
                 "encoding_variability", "tau_variability", "loading_variability"):
        need(float(getattr(c, name)) >= 0, name, "a number >= 0")
    need(0 <= c.dt_spread < 0.5, "dt_spread", "in [0, 0.5)")
    need(0 <= c.pumping_missing_fraction <= 1, "pumping_missing_fraction", "in [0, 1]")
    need(0 < c.max_label_probability <= 1, "max_label_probability", "in (0, 1]")
    need(c.n_internal >= 1, "n_internal", "at least 1")
    need(c.gcamp_rise_s < c.gcamp_decay_s, "gcamp_rise_s",
         f"smaller than gcamp_decay_s={c.gcamp_decay_s}")
    pair("neurons_range", 1, len(atlas().names))
    pair("labeled_range", 0)
    pair("internal_timescales_s", 1e-3)
    pair("private_timescales_s", 1e-3)
    pair("noise_fraction", 0.0, 0.95)
    need(c.labeled_range[1] <= c.neurons_range[1], "labeled_range",
         f"at most neurons_range's high end {c.neurons_range[1]}")
    need(0 <= c.private_fraction < 1, "private_fraction", "in [0, 1)")
    need(0 <= c.behavior_fraction_min <= c.behavior_fraction_max, "behavior_fraction_min",
         f"in [0, behavior_fraction_max={c.behavior_fraction_max}]")
    need(c.behavior_fraction_max + c.private_fraction <= 1, "behavior_fraction_max",
         f"at most 1 - private_fraction = {1 - c.private_fraction:g}")


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
    tau: np.ndarray
    encoding: np.ndarray

    @property
    def signal(self) -> np.ndarray:
        """The noiseless trace: behavior + internal + private parts, (T, N)."""
        return self.behavior_part + self.internal_part + self.private_part

    @property
    def predictable(self) -> np.ndarray:
        """What a model sharing information across neurons can hope to predict, (T, N).

        The behavior and internal parts: the private part and the noise belong to one neuron.
        """
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


def simulate_cohort(n_animals: int = 40, seed: int = 0,
                    config: SimConfig | None = None) -> SimulatedCohort:
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
        raise ConfigError(f"config must be a SimConfig, got {type(config).__name__}; "
                          "build one with SimConfig(...) or SimConfig.from_dict(...)")
    shared_seq, animals_seq = np.random.SeedSequence(int(seed)).spawn(2)
    params = identity_params(np.random.default_rng(shared_seq), config)
    children = animals_seq.spawn(int(n_animals))  # child k is the same whatever n_animals is
    made = [simulate_animal(k, child, params, config) for k, child in enumerate(children)]
    vocabulary = Vocabulary.from_names(lab for rec, _ in made for lab in rec["labels"])
    datasets = {}
    for rec, _ in made:
        rec["meta"]["seed"] = int(seed)
        datasets[rec["uid"]] = Recording(identity=vocabulary.encode(rec["labels"]), **rec)
    truth = {t["uid"]: GroundTruth(**t) for _, t in made}
    return SimulatedCohort(datasets=datasets, vocabulary=vocabulary, truth=truth, config=config,
                           seed=int(seed))


# -- ground truth files ------------------------------------------------------------------------

_TRUTH_ARRAYS = ("behavior_part", "internal_part", "private_part", "noise")
_STR = h5py.string_dtype("utf-8")


def save_truth(path: str | os.PathLike, truth: Mapping[str, GroundTruth],
               config: SimConfig | None = None) -> None:
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
            g.create_dataset("true_labels", data=np.asarray(t.true_labels, dtype=_STR))
            g.create_dataset("tau", data=np.asarray(t.tau, dtype=np.float32))
            g.create_dataset("encoding", data=np.asarray(t.encoding, dtype=np.float32))
    os.replace(tmp, path)


def load_truth(path: str | os.PathLike) -> dict[str, GroundTruth]:
    """Read a file written by `save_truth`.

    Returns
    -------
    dict uid -> GroundTruth

    Raises
    ------
    FormatError
        Naming the file and the key, when the file is not a ground-truth file or is damaged.
    """
    path = os.fspath(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FormatError(f"cannot open as HDF5 ({err})", path=path) from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != TRUTH_FORMAT or "truth" not in f:
            raise FormatError(f"not a ground-truth file (format attribute {fmt!r}, "
                              f"expected {TRUTH_FORMAT!r}); write one with save_truth",
                              path=path, key="format")
        version = int(f.attrs.get("format_version", 0))
        if version > TRUTH_VERSION:
            raise FormatError(f"format_version {version} is newer than this package reads "
                              f"({TRUTH_VERSION}); upgrade ceneurovae", path=path, key="format_version")
        try:
            return {uid: _read_truth_group(f["truth"][uid], uid, path) for uid in f["truth"]}
        except (KeyError, OSError, ValueError, TypeError, AttributeError) as err:
            if isinstance(err, FormatError):
                raise
            raise FormatError(f"damaged ground-truth file ({type(err).__name__}: {err})", path=path) from None


def _read_truth_group(g: h5py.Group, uid: str, path: str) -> GroundTruth:
    def fail(message: str, name: str) -> FormatError:
        return FormatError(message, path=path, key=f"truth/{uid}/{name}")

    def get(name: str, want: tuple | None = None) -> np.ndarray:
        if name not in g:
            raise fail("missing from the ground-truth file", name)
        value = g[name][()]
        if want is not None and np.shape(value) != want:
            raise fail(f"shape {np.shape(value)}, expected {want}", name)
        return value

    shape = np.shape(get("behavior_part"))
    if len(shape) != 2:
        raise fail(f"shape {shape}, expected (T, N)", "behavior_part")
    t_frames, n = shape
    arrays = {name: np.asarray(get(name, shape), dtype=np.float32) for name in _TRUTH_ARRAYS}
    extra = {"noise_std": (n,), "tau": (n,), "encoding": (n, 3)}
    values = {name: np.asarray(get(name, want), dtype=np.float32) for name, want in extra.items()}
    states = np.asarray(get("internal_states"), dtype=np.float32)
    if states.ndim != 2 or states.shape[0] != t_frames:
        raise fail(f"shape {states.shape}, expected ({t_frames}, K)", "internal_states")
    labels = [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in get("true_labels", (n,))]
    return GroundTruth(uid=uid, **arrays, internal_states=states, true_labels=labels, **values)
