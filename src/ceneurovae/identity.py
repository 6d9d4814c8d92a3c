"""Neuron identities: the atlas of canonical names, label canonicalization, the vocabulary.

An identity is an integer index into a `Vocabulary`; index 0 always means "unknown"
(an unlabeled neuron, or a label that was not trusted). The vocabulary travels with every
cohort file and checkpoint, so that identity ``i`` names the same neuron forever.

Labels arrive in many spellings (``"VB2"``, ``"vb02 "``, ``"RMDD?"``). `canonical_label`
turns each into a `CanonicalLabel`: the atlas name, whether the label was uncertain (``?``),
and whether the name is in the atlas at all.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = [
    "UNKNOWN",
    "Atlas",
    "CanonicalLabel",
    "Vocabulary",
    "atlas",
    "canonical_label",
    "neuron_class",
]

UNKNOWN = "unknown"
"""The name of identity 0: an unlabeled or untrusted neuron."""

_NEURON_TYPES = {"sensory", "interneuron", "motorneuron", "neuron"}
_NEURON_CATEGORIES = {"shared", "pharynx", "hermaphrodite"}
_TRAILING_NUMBER = re.compile(r"^([A-Z]+?)(\d+)$")


@dataclass(frozen=True)
class Atlas:
    """The 302 neurons of the C. elegans hermaphrodite, in the atlas's order.

    Attributes
    ----------
    names : tuple of str
        Canonical neuron names (``"AVAL"``, ``"VB02"``).
    atlas_class : dict
        Name -> the atlas's anatomical class (``"RMDDL"`` -> ``"RMD"``).
    dv, lr : dict
        Name -> dorso-ventral / left-right marker (``"d"``, ``"v"``, ``"l"``, ``"r"`` or ``""``).
    kind : dict
        Name -> ``"sensory"``, ``"interneuron"``, ``"motorneuron"`` or ``"neuron"``.
    """

    names: tuple[str, ...]
    atlas_class: dict[str, str]
    dv: dict[str, str]
    lr: dict[str, str]
    kind: dict[str, str]

    def __contains__(self, name: object) -> bool:
        return name in self.atlas_class

    @functools.cached_property
    def order(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def members(self, cls: str) -> list[str]:
        """Atlas neurons of a lab-style class (``"AVA"`` -> ``["AVAL", "AVAR"]``).

        A class is either a neuron name itself (``"RIS"``, ``"IL2L"``, ``"VB02"``) or a name
        whose left/right members are in the atlas (``"RMDD"`` -> RMDDL, RMDDR).
        """
        if cls in self:
            return [cls]
        return [n for n in (cls + "L", cls + "R") if n in self]


@functools.cache
def atlas() -> Atlas:
    """Load the atlas shipped with the package (see ``resources/PROVENANCE.md``)."""
    text = resources.files("ceneurovae.resources").joinpath("connectome_neurons.csv")
    with text.open("r", encoding="utf-8") as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if r["type"] in _NEURON_TYPES and r["category"] in _NEURON_CATEGORIES
        ]
    return Atlas(
        names=tuple(r["name"] for r in rows),
        atlas_class={r["name"]: r["class"] for r in rows},
        dv={r["name"]: r["dv"] for r in rows},
        lr={r["name"]: r["lr"] for r in rows},
        kind={r["name"]: r["type"] for r in rows},
    )


@functools.cache
def _lab_classes() -> frozenset[str]:
    """Class names used by the lab's encoding table (``AVA``, ``RMDD``, ``IL2L``, ``ASEL``)."""
    text = resources.files("ceneurovae.resources").joinpath("cepnem_encoding_table.json")
    return frozenset(json.loads(text.read_text(encoding="utf-8"))["class"])


def neuron_class(name: str) -> str:
    """The lab-style class of a neuron: its name without the left/right marker.

    ``"AVAL"`` -> ``"AVA"``, ``"RMDDR"`` -> ``"RMDD"``, ``"VB02"`` -> ``"VB02"``,
    ``"RIS"`` -> ``"RIS"``, ``"RMDD?"`` -> ``"RMDD"``. Neurons the lab keeps apart by side
    (``ASEL``/``ASER``, ``IL2L``/``IL2R``) are their own class, as in its encoding table.
    """
    name = name.rstrip("?")
    lab = _lab_classes()
    if name in lab:
        return name
    a = atlas()
    stem = name[:-1]
    if stem in lab or (name in a and a.lr.get(name) in ("l", "r") and name[-1:] in ("L", "R")):
        return stem
    return name


@dataclass(frozen=True)
class CanonicalLabel:
    """A neuron label after canonicalization.

    Attributes
    ----------
    raw : str
        The label as found in the file.
    name : str
        Canonical spelling (upper case, no whitespace, ventral-cord numbers zero-padded,
        without a trailing ``?``); ``""`` for an empty label.
    uncertain : bool
        True when the label ended in ``?`` (side or identity undetermined).
    in_atlas : bool
        True when `name` is one of the 302 atlas neurons.
    """

    raw: str
    name: str
    uncertain: bool
    in_atlas: bool

    @property
    def neuron_class(self) -> str:
        return neuron_class(self.name) if self.name else ""


def canonical_label(raw: str) -> CanonicalLabel:
    """Canonicalize one label: ``" vb2 "`` -> ``VB02``, ``"RMDD?"`` -> ``RMDD`` (uncertain)."""
    text = "".join(str(raw).split()).upper()
    uncertain = text.endswith("?")
    text = text.rstrip("?")
    a = atlas()
    if text and text not in a:
        m = _TRAILING_NUMBER.match(text)
        if m is not None:
            padded = f"{m.group(1)}{int(m.group(2)):02d}"
            if padded in a:
                text = padded
    return CanonicalLabel(raw=str(raw), name=text, uncertain=uncertain, in_atlas=text in a)


class Vocabulary(Sequence[str]):
    """The identity vocabulary: index 0 is `UNKNOWN`, then one name per identity.

    Behaves as a read-only sequence of names, so ``len(vocab)`` is the number of identities
    including "unknown" (the seed's ``n_identities``) and ``vocab[i]`` is the name of
    identity ``i``.

    Parameters
    ----------
    names : iterable of str
        The identity names, without `UNKNOWN`; must be unique and non-empty.

    Examples
    --------
    >>> vocab = Vocabulary(["AVAL", "AVAR"])
    >>> len(vocab), vocab[1], vocab.index("AVAR")
    (3, 'AVAL', 2)
    >>> vocab.encode(["AVAR", "", "XYZ"]).tolist()
    [2, 0, 0]
    """

    def __init__(self, names: Iterable[str]):
        names = [str(n) for n in names]
        if names and names[0] == UNKNOWN:
            names = names[1:]
        seen: set[str] = set()
        for n in names:
            if not n or n == UNKNOWN:
                raise ValueError(f"vocabulary names must be non-empty and not {UNKNOWN!r}: got {n!r}")
            if n in seen:
                raise ValueError(f"vocabulary name {n!r} appears twice")
            seen.add(n)
        self._names = (UNKNOWN, *names)
        self._index = {n: i for i, n in enumerate(self._names)}

    @classmethod
    def from_atlas(cls) -> Vocabulary:
        """Every neuron of the atlas, in atlas order (302 identities + unknown)."""
        return cls(atlas().names)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Vocabulary:
        """A vocabulary of the distinct non-empty names given, in a stable order.

        Atlas neurons come first in atlas order, then any other names alphabetically, so
        the same set of names always yields the same vocabulary whatever order the animals
        were read in.
        """
        order = atlas().order
        distinct = {n for n in names if n and n != UNKNOWN}
        return cls(sorted(distinct, key=lambda n: (n not in order, order.get(n, 0), n)))

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, i):  # type: ignore[override]
        return self._names[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Vocabulary):
            return self._names == other._names
        if isinstance(other, (list, tuple)):
            return list(self._names) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._names)

    def __repr__(self) -> str:
        shown = ", ".join(self._names[1:6])
        more = ", ..." if len(self) > 6 else ""
        return f"Vocabulary({len(self) - 1} identities + unknown: {shown}{more})"

    @property
    def names(self) -> list[str]:
        """The identity names without `UNKNOWN` (identities 1..len-1)."""
        return list(self._names[1:])

    def index(self, name: str, *args) -> int:  # type: ignore[override]
        """The identity of `name`; raises KeyError naming the missing name."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in the vocabulary ({len(self) - 1} identities)") from None

    def encode(self, names: Iterable[str]) -> np.ndarray:
        """Identity index per name, 0 for empty names and names not in the vocabulary."""
        return np.asarray([self._index.get(n, 0) if n else 0 for n in names], dtype=np.int64)

    def to_list(self) -> list[str]:
        """All names including `UNKNOWN` at index 0 (what files and checkpoints store)."""
        return list(self._names)

    def remap_to(self, other: Vocabulary) -> np.ndarray:
        """Array ``m`` with ``m[i]`` = identity in `other` of this vocabulary's identity ``i`` (0 if absent)."""
        return np.asarray([0] + [other._index.get(n, 0) for n in self._names[1:]], dtype=np.int64)
