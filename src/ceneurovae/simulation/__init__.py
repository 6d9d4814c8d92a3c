r"""Simulated cohorts of whole-brain recordings whose ground truth is known.

`simulate_cohort` makes recordings shaped like those of Atanas & Kim et al. 2023 (Cell):
about 1600 frames at about 1.7 Hz in two halves, 105-163 neurons of which about 88 carry a
NeuroPAL label, behavior in physical units; and, beside each recording, a `GroundTruth` that
splits every trace into what behavior explains, what the shared internal states explain,
what belongs to the neuron alone, and noise. Every metric can then be set against its ceiling.

Modules: `config` (`SimConfig`, the ``simulate`` settings section), `signals` (filters and
random processes), `behavior` (the behavior generator), `generative` (identities, encodings
and the neural parts of each trace), `cohort` (`simulate_cohort`, `GroundTruth` and its
files). ``ceneurovae.simulate`` and ``ceneurovae.sim_model`` re-export these names.

The generative model
--------------------
Each animal :math:`a` has its own frame period :math:`\Delta_a` and runs on a regular grid;
the frames of the pause between the two halves (``gap_s``) are simulated and then dropped,
so the timestamps show one larger step. Symbols in ``code`` are `SimConfig` fields.

**Behavior** (`ceneurovae.simulation.behavior.simulate_behavior`). A slow state :math:`m(t) \in \{\text{roam},
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
>>> from ceneurovae.simulation import simulate_cohort
>>> cohort = simulate_cohort(n_animals=2, seed=0)
>>> rec = cohort.datasets["sim-000"]
>>> truth = cohort.truth["sim-000"]
>>> bool(abs(truth.signal + truth.noise - rec.traces).max() < 1e-4)
True
"""

from .behavior import BEHAVIORS, simulate_behavior
from .cohort import (
    TRUTH_FORMAT,
    TRUTH_VERSION,
    GroundTruth,
    SimulatedCohort,
    load_truth,
    save_truth,
    simulate_cohort,
)
from .config import SimConfig
from .generative import (
    IdentityParams,
    behavior_channels,
    gcamp_kernel,
    identity_params,
    reference_covariances,
    simulate_animal,
    stimulus_names,
    stimulus_response,
)
from .signals import (
    alternating,
    causal_filter,
    ema,
    exp_kernels,
    fft_size,
    ou,
    runs,
    smooth_ou,
    standardize,
)

__all__ = [
    "BEHAVIORS",
    "TRUTH_FORMAT",
    "TRUTH_VERSION",
    "GroundTruth",
    "IdentityParams",
    "SimConfig",
    "SimulatedCohort",
    "alternating",
    "behavior_channels",
    "causal_filter",
    "ema",
    "exp_kernels",
    "fft_size",
    "gcamp_kernel",
    "identity_params",
    "load_truth",
    "ou",
    "reference_covariances",
    "runs",
    "save_truth",
    "simulate_animal",
    "simulate_behavior",
    "simulate_cohort",
    "smooth_ou",
    "standardize",
    "stimulus_names",
    "stimulus_response",
]
