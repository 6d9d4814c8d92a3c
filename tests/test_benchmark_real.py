"""`benchmarks/real.py` on a 2-animal cut of the real dev set: it runs, prints every method,
and is deterministic (the quality numbers of the full benchmark are in docs/evaluation.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "real.py"


@pytest.mark.slow
def test_real_benchmark_runs_on_two_animals_and_is_deterministic(shared_data, tmp_path):
    folder = shared_data / "real" / "neuropal"
    if not folder.is_dir():
        pytest.skip(f"the real dev set {folder} is not there")
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}.json"
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), str(folder), "--labels", str(folder / "neuropal_labels.json"),
             "--animals", "2", "--set", "train.epochs=2", "--bootstrap", "50", "--json", str(out)],
            capture_output=True, text=True, timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append((proc.stdout, json.loads(out.read_text())))
    (text, result), (text2, result2) = outs
    for label in ("model", "ridge (other neurons only)", "ridge (other neurons at t-1, t, t+1 + behavior)",
                  "linear state-space (Kalman)", "low-rank (factor analysis)", "CePNEM-like behavior ridge",
                  "per-identity mean"):
        assert label in text
    assert "impute 20%" in text and "impute 50%" in text and "behavior-only" in text
    assert any(line.startswith(("The model wins", "The baseline wins", "No clear winner")) for line in text.splitlines())
    assert [s["test"] for s in result["splits"]] == ["2022-07-26-31", "2022-07-26-38"]
    n = result["splits"][0]["n_scored"]
    assert n > 50 and len(result["per_neuron"]["0.2"][0]["model"]["imputation"]) == n
    # the same numbers twice
    assert result["per_neuron"] == result2["per_neuron"] and result["verdict"] == result2["verdict"]
    assert text.splitlines()[:-1] == text2.splitlines()[:-1]  # all but the wall time
