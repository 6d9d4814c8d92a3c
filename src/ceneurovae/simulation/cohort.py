"""Cohorts and their ground truth: `simulate_cohort`, `GroundTruth`, and truth files.

`simulate_cohort` draws the identities' encodings once, then every animal from its own
seed (`ceneurovae.simulation.generative`), and wraps them as `Recording` objects beside a
`GroundTruth` each. `save_truth` / `load_truth` write and read the ground truth as HDF5.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

import h5py
import numpy as np

from ..errors import ConfigError, FormatError
from ..identity import Vocabulary
from ..recording import Recording
from .config import SimConfig
from .generative import identity_params, simulate_animal

__all__ = ["TRUTH_FORMAT", "TRUTH_VERSION", "GroundTruth", "SimulatedCohort", "load_truth",
           "save_truth", "simulate_cohort"]

TRUTH_FORMAT = "ceneurovae-truth"
TRUTH_VERSION = 1


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
