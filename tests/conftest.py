"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ceneurovae
from eval_fixtures import simulated_split, toy_split
from toy import toy_cohort

SRC = Path(ceneurovae.__file__).resolve().parents[1]
# ../shared beside the checkout (as in CI); CENEUROVAE_SHARED_DATA points elsewhere (worktrees)
SHARED_DATA = Path(os.environ.get("CENEUROVAE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def run_cli(*args: str, cwd: str | os.PathLike | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real ``ceneurovae`` console script in a subprocess, on the code under test."""
    exe = shutil.which("ceneurovae", path=str(Path(sys.executable).parent)) or shutil.which("ceneurovae")
    if exe is None:
        pytest.fail("the ceneurovae console script is not installed (pip install -e .)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("CENEUROVAE_QUIET", "1")
    return subprocess.run(
        [exe, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is not beside the checkout")
    return SHARED_DATA


# The toy cohort and a model fitted on it, shared by test_api, test_trained, test_inference,
# test_calibration and test_cli_train; module scope: one fit per test file that asks for it.
FAST = {"train.epochs": 4, "model.hidden_dim": 32, "model.latent_dim": 4, "model.n_heads": 2,
        "model.behavior_history": 20, "data.window_T": 50, "data.stride": 25, "train.quiet": True}


@pytest.fixture(scope="module")
def cohort():
    return toy_cohort(n_animals=5, T=200)


@pytest.fixture(scope="module")
def trained(cohort):
    ds, _ = cohort
    return ceneurovae.fit(ds, config=FAST, seed=0)


@pytest.fixture(scope="module")
def sim():
    """Five short simulated animals with ground truth: 3 to train on, 2 held out."""
    return simulated_split()


@pytest.fixture(scope="module")
def toy():
    """A toy cohort split into training and held-out animals (`eval_fixtures.toy_split`)."""
    return toy_split()
