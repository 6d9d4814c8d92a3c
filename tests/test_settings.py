"""`ceneurovae.settings`: building a section from a mapping, type checks, the messages of
impossible settings, field documentation and the commented YAML."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml

from ceneurovae.errors import ConfigError
from ceneurovae.settings import Settings, build, commented_yaml, field_docs


@dataclass
class Demo(Settings):
    """A small section for these tests."""

    section = "demo"

    rate: float = 0.5
    """Learning rate of the demo."""
    count: int = 3
    """How many things,
    on two lines."""
    names: tuple[str, ...] = ("a",)
    """Names, in order."""
    label: str | None = None

    def validate(self) -> None:
        self.need(self.count >= 1, "count", "must be >= 1")


def test_build_refuses_an_unknown_key_and_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['colour'\]; known keys: \['count', 'label', 'names', 'rate'\]"):
        build(Demo, {"colour": "red"}, "demo")


def test_build_coerces_ints_to_floats_and_lists_to_tuples():
    demo = build(Demo, {"rate": 2, "names": ["x", "y"]}, "demo")
    assert demo.rate == 2.0 and type(demo.rate) is float
    assert demo.names == ("x", "y")
    assert Demo.from_dict({"names": ["z"]}).names == ("z",)
    assert Demo.from_dict(Demo(rate=1.5, names=("p", "q")).to_dict()) == Demo(rate=1.5, names=("p", "q"))


def test_build_refuses_a_string_for_an_int_naming_the_key():
    with pytest.raises(ConfigError, match=r"demo\.count = '3': expected int, got str"):
        build(Demo, {"count": "3"}, "demo")
    with pytest.raises(ConfigError, match=r"demo\.count"):
        Demo.from_dict({"count": "3"})


def test_field_docs_are_the_docstrings_below_the_fields():
    docs = field_docs(Demo)
    assert docs["rate"] == "Learning rate of the demo."
    assert docs["count"] == "How many things, on two lines."  # one line
    assert "label" not in docs  # no docstring


def test_need_names_section_key_value_and_rule():
    with pytest.raises(ConfigError) as err:
        Demo(count=0)
    assert str(err.value) == "demo.count = 0: must be >= 1"


def test_commented_yaml_puts_each_docstring_above_its_key():
    text = commented_yaml({"demo": Demo()})
    lines = text.splitlines()
    docs = field_docs(Demo)
    for key, doc in docs.items():
        at = next(i for i, line in enumerate(lines) if line.startswith(f"  {key}:"))
        assert lines[at - 1] == f"  # {doc}", key
    at = next(i for i, line in enumerate(lines) if line.startswith("  label:"))
    assert not lines[at - 1].lstrip().startswith("#")  # no docstring, no comment
    assert yaml.safe_load(text) == {"demo": Demo().to_dict()}
