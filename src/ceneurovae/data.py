"""From recordings to batches: normalization, windows, padding, the animal split, loaders.

A `Batch` holds B windows of T frames from possibly different animals with different
neuron counts; neurons are padded to the largest N in the batch (identity 0, mask False)
and short windows are padded in time (``pad`` True, mask False). Padding never reaches a
loss, a pooling or a normalization: every consumer goes through the masks.

==================== ============== =================================================
field                shape          meaning
==================== ============== =================================================
x                    (B, T, N)      z-scored traces (0 where not observed)
mask                 (B, T, N) bool observed entries
behavior             (B, T, D)      normalized behavior
behavior_mask        (B, T, D) bool known behavior entries
behavior_past        (B, P, D)      the P frames of behavior before each window
behavior_past_mask   (B, P, D) bool known entries of that history
identity             (B, N) int64   identity per neuron, 0 = unknown or padding
pad                  (B, T) bool    True for frames past the end of a recording
animal               (B,) int64     index of the recording in the dataset
start                (B,) int64     first frame of the window in its recording
==================== ============== =================================================
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .errors import ConfigError, DataError, DataWarning
from .identity import Vocabulary
from .io import DEFAULT_BEHAVIORS
from .normalize import LAB_DIVISORS, BehaviorScaler, zscore
from .recording import Recording, is_stimulus, split_segments, vocabulary_names

__all__ = [
    "Batch",
    "WindowDataset",
    "WindowSpec",
    "window_batches",
    "EpochSampler",
    "build_loaders",
    "check_hide_fraction",
    "choose_hidden",
    "collate_windows",
    "hidden_sets",
    "neuron_folds",
    "split_animals",
    "resolve_scaler",
    "recordings_of",
    "common_vocabulary",
    "default_behaviors",
    "stimulus_union",
    "with_stimuli",
]


@dataclass
class Batch:
    """A batch of windows; see the module docstring for shapes."""

    x: torch.Tensor
    mask: torch.Tensor
    behavior: torch.Tensor
    behavior_mask: torch.Tensor
    behavior_past: torch.Tensor
    behavior_past_mask: torch.Tensor
    identity: torch.Tensor
    pad: torch.Tensor
    animal: torch.Tensor
    start: torch.Tensor

    def to(self, device, non_blocking: bool = False) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).to(device, non_blocking=non_blocking) for f in dataclasses.fields(self)})

    def pin_memory(self) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).pin_memory() for f in dataclasses.fields(self)})

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def model_inputs(self) -> dict[str, torch.Tensor]:
        """Keyword arguments for `NeuroBehaviorVAE.forward` (after x, mask, behavior, identity)."""
        return {
            "behavior_mask": self.behavior_mask,
            "behavior_past": self.behavior_past,
            "behavior_past_mask": self.behavior_past_mask,
            "pad": self.pad,
        }


@dataclass
class _Prepared:
    """One recording in model units, as tensors, ready to be sliced into windows."""

    x: torch.Tensor  # (T, N)
    mask: torch.Tensor  # (T, N)
    behavior: torch.Tensor  # (T, D)
    behavior_mask: torch.Tensor  # (T, D)
    identity: torch.Tensor  # (N,)


def prepare(rec: Recording, scaler: BehaviorScaler) -> _Prepared:
    """Z-score the traces and scale the behavior of one recording."""
    rec = rec.select_behaviors(list(scaler.names))
    z, _, _ = zscore(rec.traces, rec.mask)
    return _Prepared(
        x=torch.from_numpy(z),
        mask=torch.from_numpy(np.ascontiguousarray(rec.mask)),
        behavior=torch.from_numpy(scaler.transform(rec.behavior)),
        behavior_mask=torch.from_numpy(np.ascontiguousarray(rec.behavior_mask)),
        identity=torch.from_numpy(rec.identity.copy()),
    )


def window_starts(length: int, window_T: int, stride: int) -> list[int]:
    """Starts of windows covering ``range(length)``: every `stride` frames, plus one flush with the end."""
    if length <= window_T:
        return [0]
    starts = list(range(0, length - window_T + 1, stride))
    if starts[-1] + window_T < length:
        starts.append(length - window_T)
    return starts


@dataclass(frozen=True)
class WindowSpec:
    """How recordings become model windows: the one place where the windowing settings meet.

    Training (`build_loaders`), whole-recording inference (`ceneurovae.inference`), the
    latent diagnostics and the report all cut recordings through a spec.

    Attributes
    ----------
    window_T, stride : window length and step between window starts, frames
    scaler : which behaviors, and how they are scaled
    history : frames of behavior before each window (``behavior_past``)
    respect_gaps : keep windows inside the contiguous stretches of each recording
    """

    window_T: int
    stride: int
    scaler: BehaviorScaler
    history: int = 100
    respect_gaps: bool = True

    def dataset(self, recordings: Sequence[Recording]) -> WindowDataset:
        """The windows of `recordings`."""
        return WindowDataset(recordings, self.window_T, self.stride, self.scaler, self.history, self.respect_gaps)


def window_batches(dataset: WindowDataset, batch_size: int, device=None) -> Iterator[tuple[range, Batch]]:
    """The windows of `dataset` in order, `batch_size` at a time: (their indices, the batch on `device`)."""
    for lo in range(0, len(dataset), batch_size):
        idx = range(lo, min(lo + batch_size, len(dataset)))
        batch = collate_windows([dataset[k] for k in idx])
        yield idx, (batch if device is None else batch.to(device))


class WindowDataset(Dataset):
    """Windows of `window_T` frames from a list of recordings, in model units.

    Parameters
    ----------
    recordings : sequence of Recording
    window_T, stride : int
        Window length and step between window starts, in frames.
    scaler : BehaviorScaler
        Which behaviors to use and how to scale them.
    history : int
        Frames of behavior before each window to include (``behavior_past``).
    respect_gaps : bool
        Keep windows (and their behavior history) inside the contiguous stretches of each
        recording, split where a time step exceeds 3x the median (the join of two halves).
    """

    def __init__(
        self,
        recordings: Sequence[Recording],
        window_T: int,
        stride: int,
        scaler: BehaviorScaler,
        history: int = 100,
        respect_gaps: bool = True,
    ):
        self.recordings = list(recordings)
        self.window_T = int(window_T)
        self.stride = int(stride)
        self.scaler = scaler
        self.history = int(history)
        self.respect_gaps = bool(respect_gaps)
        self.prepared = [prepare(r, scaler) for r in self.recordings]
        self.windows: list[tuple[int, int, int, int]] = []  # (recording, start, stop, segment start)
        for i, rec in enumerate(self.recordings):
            segments = split_segments(rec.timestamps) if respect_gaps else [(0, rec.n_frames)]
            for a, b in segments:
                for s in window_starts(b - a, self.window_T, self.stride):
                    self.windows.append((i, a + s, min(a + s + self.window_T, b), a))

    @property
    def behavior_names(self) -> list[str]:
        return list(self.scaler.names)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, k: int):
        i, start, stop, seg_start = self.windows[k]
        p = self.prepared[i]
        T, D, P = self.window_T, p.behavior.shape[1], self.history
        n = stop - start
        x = p.x[start:stop]
        mask = p.mask[start:stop]
        b = p.behavior[start:stop]
        bm = p.behavior_mask[start:stop]
        if n < T:  # pad the end of a short recording or segment
            x = torch.cat([x, x.new_zeros(T - n, x.shape[1])])
            mask = torch.cat([mask, mask.new_zeros(T - n, mask.shape[1])])
            b = torch.cat([b, b.new_zeros(T - n, D)])
            bm = torch.cat([bm, bm.new_zeros(T - n, D)])
        lo = max(seg_start, start - P)
        past = p.behavior[lo:start]
        past_mask = p.behavior_mask[lo:start]
        if past.shape[0] < P:  # nothing known before the recording (or segment) began
            past = torch.cat([past.new_zeros(P - past.shape[0], D), past])
            past_mask = torch.cat([past_mask.new_zeros(P - past_mask.shape[0], D), past_mask])
        pad = torch.arange(T) >= n
        return x, mask, b, bm, past, past_mask, p.identity, pad, i, start


def collate_windows(items) -> Batch:
    """Stack windows into a `Batch`, padding neurons to the largest N (identity 0, mask False)."""
    N = max(it[0].shape[1] for it in items)
    B, T = len(items), items[0][0].shape[0]
    x = torch.zeros(B, T, N)
    mask = torch.zeros(B, T, N, dtype=torch.bool)
    identity = torch.zeros(B, N, dtype=torch.int64)
    for j, it in enumerate(items):
        n = it[0].shape[1]
        x[j, :, :n] = it[0]
        mask[j, :, :n] = it[1]
        identity[j, :n] = it[6]
    return Batch(
        x=x,
        mask=mask,
        behavior=torch.stack([it[2] for it in items]),
        behavior_mask=torch.stack([it[3] for it in items]),
        behavior_past=torch.stack([it[4] for it in items]),
        behavior_past_mask=torch.stack([it[5] for it in items]),
        identity=identity,
        pad=torch.stack([it[7] for it in items]),
        animal=torch.tensor([it[8] for it in items], dtype=torch.int64),
        start=torch.tensor([it[9] for it in items], dtype=torch.int64),
    )


class EpochSampler(Sampler[int]):
    """Shuffled order that depends only on (seed, epoch), so a resumed run sees the same batches.

    Call `set_epoch` before each epoch (`fit_model` does). With ``shuffle=False`` the order
    is the dataset's.
    """

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = int(n), int(seed), bool(shuffle), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def _animal_rng(uid: str, seed: int, stream: int | None = None) -> np.random.Generator:
    """A generator that depends only on (`seed`, the animal's `uid`, `stream`)."""
    salt = [int(b) for b in str(uid).encode("utf-8")]
    head = [int(seed)] if stream is None else [int(seed), stream]
    return np.random.default_rng([*head, len(salt), *salt])


def check_hide_fraction(fraction, name: str = "hide_fraction") -> float:
    """The share of labeled neurons to hide, checked: a number in (0, 1) (`name` for the message)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.integer, np.floating)) \
            or not 0.0 < fraction < 1.0:
        raise ConfigError(f"{name} must be in (0, 1), got {fraction!r}")
    return float(fraction)


def choose_hidden(identity: np.ndarray, uid: str, fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """The neurons withheld from an animal: a seeded `fraction` of its labeled neurons.

    The draw depends only on (`seed`, `uid`), not on the order or number of animals, so the
    model and every baseline see the same hidden neurons.

    Parameters
    ----------
    identity : (N,) int, 0 = unknown (only labeled neurons are hidden)
    uid : the animal's id
    fraction : share of labeled neurons to hide, rounded, at least 1 when 2 or more are labeled

    Returns
    -------
    (k,) sorted neuron indices
    """
    check_hide_fraction(fraction)
    labeled = np.flatnonzero(np.asarray(identity) > 0)
    if labeled.size < 2:
        return np.zeros(0, dtype=np.int64)
    k = min(labeled.size - 1, max(1, int(round(fraction * labeled.size))))
    rng = _animal_rng(uid, seed)
    return np.sort(rng.choice(labeled, size=k, replace=False)).astype(np.int64)


def neuron_folds(identity: np.ndarray, uid: str, fraction: float = 0.2, seed: int = 0) -> list[np.ndarray]:
    """An animal's labeled neurons split into ``round(1 / fraction)`` seeded folds.

    Withholding each fold in turn scores every labeled neuron once, each time with about
    `fraction` of its animal's labeled neurons withheld beside it: five times the neurons of a
    single `choose_hidden` draw, for choices made on few animals. The folds depend only on
    (`seed`, `uid`) and the labeled neurons.

    Returns
    -------
    list of sorted index arrays (empty with fewer than 2 labeled neurons)
    """
    check_hide_fraction(fraction)
    labeled = np.flatnonzero(np.asarray(identity) > 0)
    if labeled.size < 2:
        return []
    n_folds = int(min(max(round(1.0 / fraction), 2), labeled.size))
    perm = _animal_rng(uid, seed, stream=7).permutation(labeled)
    return [np.sort(perm[i::n_folds]).astype(np.int64) for i in range(n_folds)]


MIN_CV_NEURONS = 100
"""With fewer hidden neurons than this in one seeded draw over a set of animals, `hidden_sets`
withholds every labeled neuron once instead, a fold at a time."""


def hidden_sets(animals: Sequence[tuple[np.ndarray, str]], fraction: float = 0.2, seed: int = 0,
                min_neurons: int = MIN_CV_NEURONS) -> list[list[np.ndarray]]:
    """The neurons to withhold, in turn, from each animal of a choice made on these animals.

    One seeded draw per animal (`choose_hidden`) when that withholds at least `min_neurons`
    in all; otherwise every labeled neuron once, a fold at a time (`neuron_folds`), so that
    choices made on few animals rest on enough neurons.

    animals : (identity, uid) of each animal -> per animal, a list of index arrays
    """
    draws = [choose_hidden(identity, uid, fraction, seed) for identity, uid in animals]
    if sum(d.size for d in draws) >= min_neurons:
        return [[d] if d.size else [] for d in draws]
    return [neuron_folds(identity, uid, fraction, seed) for identity, uid in animals]


def split_animals(uids: Sequence[str], val_fraction: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split animals (not windows) into training and validation, reproducibly.

    At least one animal is held out when there are two or more; with a single animal
    there is no validation set.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    uids = sorted(uids)
    n_val = 0 if len(uids) < 2 or val_fraction == 0 else max(1, int(round(val_fraction * len(uids))))
    order = np.random.default_rng(seed).permutation(len(uids))
    val = sorted(uids[i] for i in order[:n_val])
    return [u for u in uids if u not in set(val)], val


def resolve_scaler(
    recordings: Sequence[Recording], behaviors: Sequence[str] | None = None, scaler: str | BehaviorScaler = "auto"
) -> BehaviorScaler:
    """The behavior scaler for training on `recordings`.

    ``"auto"``: the lab's constants where they exist (velocity, head curvature, pumping),
    otherwise the standard deviation over `recordings`; ``"lab"``; ``"fit"`` (standard
    deviations of `recordings`); or a ready `BehaviorScaler`. Stimulus channels are divided
    by 1 whatever the choice.

    With `behaviors` None the recordings must share their behaviors, and every stimulus
    channel any of them holds is added (`with_stimuli`); a given list is used as it is.
    """
    if isinstance(scaler, BehaviorScaler):
        return scaler
    recordings = list(recordings)
    if behaviors is None:
        first = [n for n in recordings[0].behavior_names if not is_stimulus(n)]
        for rec in recordings:
            own = [n for n in rec.behavior_names if not is_stimulus(n)]
            if own != first:
                raise DataError(
                    f"recordings have different behaviors: {recordings[0].uid!r} has {first}, "
                    f"{rec.uid!r} has {own}; pass behaviors=[...] to choose",
                    key="behavior",
                )
        behaviors = with_stimuli(first, recordings)
    behaviors = list(behaviors)
    for rec in recordings:
        rec.require_behaviors(behaviors)
    if scaler == "lab":
        return BehaviorScaler.lab(behaviors)
    if scaler == "fit":
        return BehaviorScaler.fit(recordings, behaviors)
    if scaler == "auto":
        fitted = BehaviorScaler.fit(recordings, behaviors)
        return BehaviorScaler(
            tuple(behaviors),
            tuple(LAB_DIVISORS.get(n, d) for n, d in zip(behaviors, fitted.divisor)),
        )
    raise ConfigError(f"scaler must be 'auto', 'lab', 'fit' or a BehaviorScaler, got {scaler!r}")


def build_loaders(
    datasets: Mapping[str, Recording] | Sequence[Recording],
    window_T: int = 100,
    stride: int = 50,
    batch_size: int = 32,
    num_workers: int = 0,
    *,
    val_uids: Sequence[str] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    behaviors: Sequence[str] | None = None,
    scaler: str | BehaviorScaler = "auto",
    history: int = 100,
    respect_gaps: bool = True,
    pin_memory: bool = False,
    distributed: bool = False,
) -> tuple[DataLoader, DataLoader | None, list[str], list[str]]:
    """Training and validation loaders over windows, split by animal.

    Parameters
    ----------
    datasets : dict uid -> Recording (as returned by `import_h5`), or a list of recordings
    window_T, stride : int
        Window length and step, frames.
    batch_size, num_workers : int
    val_uids : list of str, optional
        Animals to hold out; by default a seeded `val_fraction` of them.
    behaviors : list of str, optional
        Behaviors to use (default: those of the recordings, which must agree).
    scaler : "auto", "lab", "fit" or BehaviorScaler
        Behavior normalization (see `resolve_scaler`); fitted on training animals only.
    history : int
        Frames of behavior history given with each window.
    respect_gaps : bool
        Keep windows inside contiguous stretches of each recording.
    distributed : bool
        Shard the training windows across processes (torch.distributed must be initialized).

    Returns
    -------
    loader_train, loader_val, train_uids, val_uids
        ``loader_val`` is None when no animal is held out. Each loader's ``dataset`` carries
        ``scaler``, ``behavior_names``, ``window_T`` and ``history``.
    """
    recs = list(datasets.values()) if isinstance(datasets, Mapping) else list(datasets)
    if not recs:
        raise ConfigError("no recordings to build loaders from")
    for name, value in (("window_T", window_T), ("stride", stride), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if num_workers < 0 or history < 0:
        raise ConfigError(f"num_workers and history must be >= 0, got {num_workers!r} and {history!r}")
    longest = max(r.n_frames for r in recs)
    if window_T > longest:
        raise ConfigError(
            f"window_T={window_T} frames is longer than every recording (the longest has {longest}); "
            f"choose window_T <= {longest}"
        )
    by_uid = {r.uid: r for r in recs}
    if len(by_uid) != len(recs):
        raise DataError("two recordings share a uid; uids must be unique", key="uid")
    if val_uids is None:
        train_uids, val_uids = split_animals(list(by_uid), val_fraction, seed)
    else:
        val_uids = list(val_uids)
        unknown = [u for u in val_uids if u not in by_uid]
        if unknown:
            raise ConfigError(f"val_uids {unknown} are not among the recordings ({len(by_uid)} animals)")
        train_uids = [u for u in sorted(by_uid) if u not in set(val_uids)]
    if not train_uids:
        raise ConfigError("every animal is in the validation set; nothing is left to train on")
    if not val_uids:
        warnings.warn("only one animal: no validation set, early stopping uses the training loss", DataWarning, stacklevel=2)
    train_recs = [by_uid[u] for u in train_uids]
    sc = resolve_scaler(train_recs, behaviors, scaler)
    spec = WindowSpec(window_T, stride, sc, history, respect_gaps)
    train_set = spec.dataset(train_recs)
    if distributed:
        from torch.utils.data.distributed import DistributedSampler

        sampler: Sampler = DistributedSampler(train_set, shuffle=True, seed=seed)
    else:
        sampler = EpochSampler(len(train_set), seed=seed, shuffle=True)
    common = dict(collate_fn=collate_windows, num_workers=num_workers, pin_memory=pin_memory,
                  persistent_workers=num_workers > 0)
    loader_train = DataLoader(train_set, batch_size=batch_size, sampler=sampler, **common)
    loader_val = None
    if val_uids:
        val_set = spec.dataset([by_uid[u] for u in val_uids])
        loader_val = DataLoader(val_set, batch_size=batch_size, shuffle=False, **common)
    return loader_train, loader_val, list(train_uids), list(val_uids)


def n_batches(loader: DataLoader) -> int:
    """Batches per epoch (the loader's length)."""
    return math.ceil(len(loader.sampler) / loader.batch_size) if loader.batch_size else len(loader)


# -- the recordings of a cohort ----------------------------------------------------------------


def recordings_of(datasets: Mapping[str, Recording] | Sequence[Recording]) -> list[Recording]:
    """The recordings of a dict uid -> Recording or of a sequence; none, or anything else, is a `ConfigError`."""
    recs = list(datasets.values()) if isinstance(datasets, Mapping) else list(datasets)
    if not recs:
        raise ConfigError("no recordings given")
    for r in recs:
        if not isinstance(r, Recording):
            raise ConfigError(f"expected Recording objects, got {type(r).__name__}")
    return recs


def common_vocabulary(recs: Sequence[Recording]) -> tuple[Vocabulary, list[Recording]]:
    """One vocabulary for all recordings, and the recordings re-indexed into it.

    Recordings that share a vocabulary keep it. Otherwise the vocabulary is built from the
    identity names of all recordings (canonical C. elegans names where they apply).
    """
    vocabs = {id(r.vocabulary): r.vocabulary for r in recs}
    if None not in vocabs.values():
        distinct = list({tuple(v): v for v in vocabs.values()}.values())
        if len(distinct) == 1:
            return distinct[0], list(recs)
    names_per_rec = [vocabulary_names(r) for r in recs]
    vocab = Vocabulary.from_names(n for names in names_per_rec for n in names)
    out = [r.replace(identity=vocab.encode(names), vocabulary=vocab) for r, names in zip(recs, names_per_rec)]
    return vocab, out


def stimulus_union(recs: Sequence[Recording]) -> list[str]:
    """Every stimulus channel (``stimulus:<name>``) any of the recordings holds, sorted."""
    return sorted({n for r in recs for n in r.behavior_names if is_stimulus(n)})


def with_stimuli(behaviors: Sequence[str], recs: Sequence[Recording]) -> list[str]:
    """The conditioning channels: `behaviors`, then every stimulus channel of `recs` not among them.

    The rule for stimuli in one place: a cohort is conditioned on every stimulus that any of
    its recordings holds; a recording without one has it masked (`Recording.select_behaviors`),
    never an error.
    """
    behaviors = list(behaviors)
    return behaviors + [n for n in stimulus_union(recs) if n not in behaviors]


def default_behaviors(recs: Sequence[Recording]) -> list[str]:
    """The conditioning channels when none are named: the package's default behaviors that
    every recording has, else every behavior they share (in the first recording's order),
    then every stimulus channel that any recording holds (`with_stimuli`)."""
    shared = set(recs[0].behavior_names).intersection(*(r.behavior_names for r in recs[1:]))
    chosen = [b for b in DEFAULT_BEHAVIORS if b in shared]
    if not chosen:
        chosen = [b for b in recs[0].behavior_names if b in shared and not is_stimulus(b)]
    if not chosen:
        raise DataError("the recordings share no behavior; name the behaviors with data.behaviors", key="behavior")
    return with_stimuli(chosen, recs)
