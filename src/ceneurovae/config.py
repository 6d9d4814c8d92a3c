"""The run configuration: ``read``, ``data``, ``model`` and ``train`` sections, from YAML or code.

The YAML file mirrors the dataclasses field for field (`ceneurovae.io.ReadOptions`,
`DataConfig`, `ceneurovae.model.VAEConfig`, `ceneurovae.training.TrainConfig`; every
section is a `ceneurovae.settings.Settings`, and ``ceneurovae train --print-config`` writes
them with each field's documentation as a comment)::

    read:
      labels: neuropal_labels.json
    data:
      window_T: 100
    model:
      latent_dim: 16
    train:
      epochs: 40

Unknown keys and values of the wrong type are errors naming the key. Overrides from the
command line use dotted keys: ``--set model.latent_dim=16 train.lr=0.001``.

A ``tune:`` section (the search space of ``ceneurovae tune``, read by `ceneurovae.tune`) may
sit beside them, so that one file serves both ``ceneurovae tune`` and ``ceneurovae train``;
it is the only top-level key that is skipped here, so a mistyped section is still an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError
from .io.options import ReadOptions
from .model.config import VAEConfig
from .settings import Settings, build, commented_yaml
from .training.config import TrainConfig
from .utils import atomic_open

__all__ = ["DataConfig", "Config", "load_config", "parse_overrides", "read_yaml"]


class _StrictLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice (first at line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike):
    """The parsed content of a YAML file; unreadable, invalid or non-UTF-8 files and keys given
    twice raise ConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} "
                          f"at offset {err.start})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None


@dataclass
class DataConfig(Settings):
    """Which recordings, and how they become training windows."""

    path: list[str] | None = None
    """Files or folders to read with `import_h5` (the command line's ``--data``)."""
    window_T: int = 100
    """Window length, frames."""
    stride: int = 50
    """Step between training windows, frames."""
    val_fraction: float = 0.2
    """Fraction of animals held out for validation (early stopping), when no val_uids are given."""
    behaviors: list[str] | None = None
    """Behaviors to condition on; None: velocity, head curvature and pumping where present, else all."""
    scaler: str = "auto"
    """Behavior normalization: ``auto`` (lab constants, else training-animal std), ``lab`` or ``fit``."""
    respect_gaps: bool = True
    """Keep windows inside contiguous stretches of each recording."""
    num_workers: int = 0
    """DataLoader worker processes."""

    section = "data"

    def validate(self) -> None:
        need = self.need

        need(isinstance(self.window_T, int) and 1 <= self.window_T <= 1_000_000, "window_T", "must be in [1, 1000000]")
        need(isinstance(self.stride, int) and self.stride >= 1, "stride", "must be a positive integer")
        need(0 <= self.val_fraction < 1, "val_fraction", "must be in [0, 1)")
        need(self.scaler in ("auto", "lab", "fit"), "scaler", "choose auto, lab or fit")
        need(self.num_workers >= 0, "num_workers", "must be >= 0")
        need(self.behaviors is None or len(self.behaviors) > 0, "behaviors", "name at least one behavior, or leave it null")


SECTIONS = {"read": ReadOptions, "data": DataConfig, "model": VAEConfig, "train": TrainConfig}
# Sections owned by another command: accepted in a config file, not part of a `Config`.
OTHER_SECTIONS = ("tune",)


@dataclass
class Config:
    """A whole run: reading, data, model and training settings."""

    read: ReadOptions = field(default_factory=ReadOptions)
    data: DataConfig = field(default_factory=DataConfig)
    model: VAEConfig = field(default_factory=VAEConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name).to_dict() for name in SECTIONS}

    def to_yaml(self, path: str | os.PathLike | None = None, comments: bool = False) -> str:
        """The settings as YAML (with each field's documentation as comments if `comments`),
        written to `path` when given."""
        if comments:
            text = commented_yaml({name: getattr(self, name) for name in SECTIONS})
        else:
            text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            with atomic_open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, *, source: str = "config") -> Config:
        """Build from nested dicts; unknown sections or keys and mistyped values are errors."""
        d = d or {}
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a mapping with sections {sorted(SECTIONS)}, got {type(d).__name__}")
        unknown = sorted(set(d) - set(SECTIONS) - set(OTHER_SECTIONS))
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {unknown}; sections are {sorted(SECTIONS)} "
                              f"(and {', '.join(OTHER_SECTIONS)}, read by its own command)")
        parts = {}
        for name, klass in SECTIONS.items():
            section = d.get(name) or {}
            if not isinstance(section, dict):
                raise ConfigError(f"{source}: section {name!r} must be a mapping, got {section!r}")
            parts[name] = build(klass, section, f"{source}: {name}")
        config = cls(**parts)
        config.validate(source)
        return config

    def validate(self, source: str = "config") -> None:
        """Checks across sections (each section checks its own settings when built)."""
        if self.model.max_len < self.data.window_T:
            raise ConfigError(f"{source}: model.max_len = {self.model.max_len} is shorter than a window "
                              f"(data.window_T = {self.data.window_T}); the positional encoding needs "
                              "max_len >= window_T")

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> Config:
        return cls.from_dict(read_yaml(path), source=str(path))

    def with_overrides(self, overrides: list[str] | dict[str, Any]) -> Config:
        """A copy with dotted-key overrides applied: ``["model.latent_dim=16"]`` or ``{"model.latent_dim": 16}``."""
        d = self.to_dict()
        items = overrides if isinstance(overrides, dict) else parse_overrides(overrides)
        for key, value in items.items():
            section, name = _section_key(key)
            d[section][name] = value
        return Config.from_dict(d, source="overrides")


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``section.key=value`` strings, as ``--set`` takes them, as a dict of dotted overrides.

    Each value is read as YAML (``8`` is an int, ``[1, 2]`` a list); a value that is not
    valid YAML stays the text it is. A later item with the same key replaces an earlier one.
    The dict is what `Config.with_overrides` applies; the values are checked there.

    Raises
    ------
    ConfigError
        For an item without ``=``, or whose key is not ``section.key`` with a known section.
    """
    out: dict[str, Any] = {}
    for text in items:
        key, value = _split(text)
        _section_key(key)
        out[key] = value
    return out


def _section_key(key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise ConfigError(f"override {key!r}: use section.key with a section among {sorted(SECTIONS)}")
    return section, name


def _split(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_config(config: Config | str | os.PathLike | dict | None) -> Config:
    """A `Config` from a Config, a YAML path, a dict of sections, a dict of dotted overrides, or None."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, os.PathLike)):
        return Config.from_yaml(config)
    if isinstance(config, dict):
        if config and all("." in k for k in config):
            return Config().with_overrides(config)
        return Config.from_dict(config)
    raise ConfigError(f"config must be a Config, a YAML path or a dict, got {type(config).__name__}")
