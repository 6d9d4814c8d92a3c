"""One way to declare, build, check and document a section of settings.

Every group of settings in the package (``data``, ``model``, ``train``, ``read``, the
simulator's) is a dataclass that derives from `Settings`:

- a field's docstring (the string literal right below it) is its documentation: the
  command line prints it in ``--help`` and ``--print-config`` writes it as a YAML comment;
- `Settings.from_dict` builds one from a mapping (YAML, a checkpoint, ``--set``), refusing
  unknown keys and values of the wrong type with an error naming ``section.key`` and the
  value; ints become floats where a float is expected and lists become tuples; a number
  written as text (``lr: 1e-3``, which YAML reads as a string) is read as the number; a
  float must be finite and an int must fit 64 bits;
- `Settings.validate` runs on construction and names the first impossible setting through
  `Settings.need`, always as ``section.key = value: rule``.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
import re
import textwrap
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

import yaml

from .errors import ConfigError

__all__ = ["Settings", "build", "coerce", "field_docs", "commented_yaml", "is_number"]


class Settings:
    """Base of the settings dataclasses (a mixin: subclasses are ``@dataclass``)."""

    section: ClassVar[str] = "settings"
    """Name of the section in messages and files (``data``, ``model``, ...)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise `ConfigError` naming the first impossible setting (override with `need` calls)."""

    def need(self, ok: bool, name: str, rule: str) -> None:
        """Raise ``ConfigError("section.name = value: rule")`` unless `ok`."""
        if not ok:
            raise ConfigError(f"{self.section}.{name} = {getattr(self, name)!r}: {rule}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (tuples as lists), for YAML, JSON and checkpoints."""
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, where: str | None = None):
        """Build from a mapping; unknown keys and mistyped values are `ConfigError`."""
        return build(cls, values or {}, where or cls.section)


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def is_number(value: Any) -> bool:
    """A finite real number (bools excluded; numpy scalars included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def build(klass, values: Mapping[str, Any], where: str):
    """``klass(**values)`` for a dataclass `klass`, each value checked against its annotation."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(values).__name__}")
    hints = typing.get_type_hints(klass)
    names = [f.name for f in dataclasses.fields(klass) if f.init]
    unknown = sorted(set(values) - set(names), key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(names)}")
    checked = {k: coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    try:
        return klass(**checked)
    except TypeError as err:
        raise ConfigError(f"{where}: {err}") from None


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
"""A decimal number as text: YAML 1.1 reads ``1e-3`` (no dot) as a string."""


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Check `value` against the annotation `hint`; convert lists to tuples and ints to floats."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -(2**63) <= value < 2**63:
                raise ConfigError(f"{where} = {value!r}: out of range for an integer setting")
            return value
    elif hint is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = float(value.strip())
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise ConfigError(f"{where} = {value!r}: must be a finite number")
            return number
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin in (tuple, list):
        if isinstance(value, (list, tuple)):
            if origin is tuple and len(args) >= 1 and args[-1] is not Ellipsis:
                if len(value) != len(args):
                    raise ConfigError(f"{where} = {value!r}: expected {len(args)} values, got {len(value)}")
                return tuple(coerce(v, a, where) for v, a in zip(value, args))
            inner = args[0] if args else Any
            items = [coerce(v, inner, where) for v in value]
            return tuple(items) if origin is tuple else items
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            return value
    else:
        return value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{where} = {value!r}: expected {name}, got {type(value).__name__}")


@functools.cache
def field_docs(klass) -> dict[str, str]:
    """Each field's docstring (the string literal right below it in the class body), by name."""
    docs: dict[str, str] = {}
    for base in reversed(klass.__mro__):
        if not dataclasses.is_dataclass(base):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(base)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def commented_yaml(sections: Mapping[str, Settings], width: int = 92) -> str:
    """YAML of several sections, each key preceded by its documentation as comments."""
    lines: list[str] = []
    for name, obj in sections.items():
        lines.append(f"{name}:")
        docs = field_docs(type(obj))
        for key, value in obj.to_dict().items():
            for text in textwrap.wrap(docs.get(key, ""), width - 6):
                lines.append(f"  # {text}")
            dumped = yaml.safe_dump({key: value}, default_flow_style=True, sort_keys=False).strip()
            if dumped.startswith("{") and dumped.endswith("}"):
                dumped = dumped[1:-1]
            lines.append(f"  {dumped}")
        lines.append("")
    return "\n".join(lines)
