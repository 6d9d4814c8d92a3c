"""The README's main command, end to end on a tiny cohort."""

import json

import pytest

from conftest import run_cli

TINY = ["train.epochs=2", "model.hidden_dim=32", "model.latent_dim=4", "model.n_heads=2",
        "model.behavior_history=20", "data.window_T=50", "data.stride=25"]


@pytest.mark.slow
def test_demo_writes_model_evaluation_and_report(tmp_path):
    env_cache = tmp_path / "cache"
    out = tmp_path / "run"
    import os

    os.environ["CENEUROVAE_CACHE"] = str(env_cache)
    try:
        res = run_cli("demo", "--out", out, "--animals", "6", "--frames", "300", "--quiet", "--set", *TINY)
        assert res.returncode == 0, res.stderr[-3000:]
        for name in ("best.pt", "last.pt", "config.yaml", "metrics.csv", "summary.json", "eval.json", "report/index.html"):
            assert (out / name).is_file(), name
        assert "report:" in res.stdout and "imputation" in res.stdout
        summary = json.loads((out / "eval.json").read_text())["summary"]
        assert len(summary["animals"]["test"]) == 1 and len(summary["animals"]["train"]) == 5  # a fifth held out
        # the second demo reuses the cached cohort
        res2 = run_cli("demo", "--out", tmp_path / "run2", "--animals", "6", "--frames", "300", "--quiet",
                       "--no-report", "--set", *TINY)
        assert res2.returncode == 0 and "cached in" in res2.stdout
    finally:
        os.environ.pop("CENEUROVAE_CACHE", None)
