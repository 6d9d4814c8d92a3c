"""NWB test helpers: pynwb when the tests must have it, and a small NWB recording file.

`need` skips a test when pynwb (the ``nwb`` extra) or nwbinspector is not installed, except where
``CENEUROVAE_REQUIRE_NWB`` is set (CI installs the extra and sets it), where it fails instead:
the NWB tests always run in CI.
"""

from __future__ import annotations

import importlib
import os

import pytest

from ceneurovae.io import write_nwb


def need(module: str = "pynwb"):
    """The module (pynwb, nwbinspector); skips the test without it, unless
    CENEUROVAE_REQUIRE_NWB is set."""
    if os.environ.get("CENEUROVAE_REQUIRE_NWB"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


def need_pynwb():
    """The pynwb module (`need`)."""
    return need("pynwb")


def serious_inspector_messages(path) -> list[str]:
    """nwbinspector's messages of importance CRITICAL or above (PYNWB_VALIDATION, ERROR) on a file."""
    inspector = need("nwbinspector")
    floor = inspector.Importance.CRITICAL.value
    return [f"{m.importance.name} {m.check_function_name} {m.object_name}: {m.message}"
            for m in inspector.inspect_nwbfile(nwbfile_path=str(path)) if m.importance.value >= floor]


def write_recording_nwb(path, rec, *, identifier: str = "input-recording") -> None:
    """`rec` as an NWB file in the Atanas & Kim 2023 layout (`ceneurovae.io.write_nwb`)."""
    need_pynwb()
    write_nwb(path, rec, layout="atanas2023", identifier=identifier)
