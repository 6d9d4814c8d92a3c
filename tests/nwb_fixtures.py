"""NWB test helpers: pynwb when the tests must have it, and a small NWB recording file.

`need` skips a test when pynwb (the ``nwb`` extra) or nwbinspector is not installed, except where
``CENEUROVAE_REQUIRE_NWB`` is set (CI installs the extra and sets it), where it fails instead:
the NWB tests always run in CI.
"""

from __future__ import annotations

import datetime
import importlib
import os

import numpy as np
import pytest


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
    """`rec` as an NWB file laid out like the published C. elegans ones (core types only):
    ``processing/CalciumActivity/SignalCalciumImResponseSeries`` (T, N) over the table
    ``processing/CalciumActivity/NeuronIDs`` (column ``labels``), and
    ``processing/Behavior/<name>/<name>`` per behavior column."""
    pynwb = need_pynwb()
    from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
    from pynwb import TimeSeries
    from pynwb.behavior import BehavioralTimeSeries
    from pynwb.file import Subject
    from pynwb.ophys import RoiResponseSeries

    nwb = pynwb.NWBFile(
        session_description=f"recording {rec.uid}", identifier=identifier,
        session_start_time=datetime.datetime(2023, 1, 9, 15, 0, tzinfo=datetime.timezone.utc),
        experimenter=["Doe, Jane"], institution="a lab", experiment_description="whole-brain imaging",
        keywords=["C. elegans"],
        subject=Subject(subject_id=rec.uid, species="Caenorhabditis elegans", sex="XX", age="P4D"),
    )
    ca = nwb.create_processing_module("CalciumActivity", "calcium traces of the segmented neurons")
    ids = DynamicTable(name="NeuronIDs", description="neuron names", columns=[
        VectorData(name="labels", description="NeuroPAL name, '' unidentified", data=list(rec.labels))])
    ca.add(ids)
    ca.add(RoiResponseSeries(
        name="SignalCalciumImResponseSeries", data=np.asarray(rec.traces, np.float32), unit="a.u.",
        rois=DynamicTableRegion(name="rois", data=list(range(rec.n_neurons)), description="all", table=ids),
        timestamps=np.asarray(rec.timestamps, np.float64), description="processed traces"))
    beh = nwb.create_processing_module("Behavior", "behavior")
    for j, name in enumerate(rec.behavior_names):
        container = BehavioralTimeSeries(name=name)
        container.add_timeseries(TimeSeries(name=name, data=np.asarray(rec.behavior[:, j], np.float64),
                                            unit="a.u.", timestamps=ca["SignalCalciumImResponseSeries"],
                                            description=name))
        beh.add(container)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
