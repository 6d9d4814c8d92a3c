"""Hyperparameter search: the tune section, the search space, ``ceneurovae tune`` end to end."""

import csv
import importlib.util
import sys

import pytest
import yaml

from ceneurovae import Config
from ceneurovae.errors import ConfigError
from ceneurovae.io import write_cohort
from ceneurovae.tune import DEFAULT_SPACE, import_optuna, parse_settings
from conftest import run_cli
from toy import toy_cohort

needs_optuna = pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="optuna is not installed")

SMALL = {
    "model": {"hidden_dim": 16, "latent_dim": 4, "n_heads": 2, "behavior_history": 20, "read_in_factors": 4},
    "data": {"window_T": 50, "stride": 25},
    "train": {"batch_size": 8, "epochs": 2, "kl_warmup_epochs": 1},
}
SPACE = {
    "space": {"train.lr": {"low": "5e-4", "high": 5e-3, "log": True}, "model.latent_dim": [2, 4]},
    "pruner": {"startup_trials": 5, "warmup_epochs": 1},  # no pruning within these tests' few trials
}


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    ds, vocab = toy_cohort(n_animals=4, T=200, seed=2)
    path = tmp_path_factory.mktemp("tune") / "cohort.h5"
    write_cohort(path, ds, vocab)
    return path


@pytest.fixture
def run_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "tune": SPACE}))
    return path


def _trials(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


class TestTuneSection:
    def test_a_config_file_with_a_tune_section_still_trains(self, run_yaml):
        cfg = Config.from_yaml(run_yaml)
        assert cfg.model.hidden_dim == 16 and cfg.train.epochs == 2
        assert "tune" not in cfg.to_yaml()

    def test_a_mistyped_section_is_still_an_error(self, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text("tnue:\n  metric: val_loss\n")
        with pytest.raises(ConfigError, match=r"unknown section\(s\) \['tnue'\]"):
            Config.from_yaml(path)


class TestParseSettings:
    def test_default_space(self):
        s = parse_settings(None)
        assert s.metric == "val_loss" and s.direction == "minimize"
        assert [p.key for p in s.space] == list(DEFAULT_SPACE)
        kinds = {p.key: p.kind for p in s.space}
        assert kinds["train.lr"] == "float" and kinds["model.latent_dim"] == "categorical"

    def test_types_follow_the_settings(self):
        s = parse_settings({"space": {"model.encoder_layers": {"low": 1, "high": 3},
                                      "train.lr": {"low": "1e-4", "high": "1e-2", "log": True},
                                      "model.encoder": ["transformer", "gru"]}})
        by_key = {p.key: p for p in s.space}
        assert by_key["model.encoder_layers"].kind == "int"
        assert by_key["train.lr"].kind == "float" and by_key["train.lr"].low == pytest.approx(1e-4)
        assert by_key["model.encoder"].choices == ("transformer", "gru")
        assert parse_settings({"metric": "imputation"}).direction == "maximize"

    @pytest.mark.parametrize("section, message", [
        ({"spaec": {}}, r"unknown key\(s\) \['spaec'\]"),
        ({"metric": "accuracy"}, r"tune.metric = 'accuracy': choose one of"),
        ({"space": {"train.lrate": {"low": 1, "high": 2}}}, r"'train.lrate' is not a setting; known keys of train"),
        ({"space": {"optim.lr": {"low": 1, "high": 2}}}, r"'optim.lr' is not a setting; use section.key"),
        ({"space": {"train.lr": {"low": 0.01, "high": 0.001}}}, r"low \(0.01\) must be below high"),
        ({"space": {"train.lr": {"low": 0, "high": 0.1, "log": True}}}, r"a log range needs low > 0"),
        ({"space": {"train.lr": {"low": "fast", "high": 0.1}}}, r"tune.space.train.lr.low = 'fast': expected a number"),
        ({"space": {"train.lr": {"low": 0.001}}}, r"a range needs both low and high"),
        ({"space": {"model.hidden_dim": {"low": 32, "high": 64.5}}}, r"is an integer setting"),
        ({"space": {"model.encoder": {"low": 1, "high": 2}}}, r"is a str setting; give a list of choices"),
        ({"space": {"model.behavior_taus": [[0, 2]]}}, r"only number, bool and string settings"),
        ({"space": {"model.latent_dim": []}}, r"give a non-empty list"),
        ({"pruner": {"warmup_epochs": -1}}, r"tune.pruner.warmup_epochs = -1"),
    ])
    def test_errors_name_the_bad_entry(self, section, message):
        with pytest.raises(ConfigError, match=message):
            parse_settings(section)


def test_without_optuna_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` fail
    with pytest.raises(ConfigError, match=r"needs optuna, an optional extra: pip install 'ceneurovae\[tune\]'"):
        import_optuna()


@needs_optuna
class TestTuneCommand:
    def test_two_trials_write_a_best_config_that_trains(self, cohort_file, run_yaml, tmp_path):
        out = tmp_path / "out"
        res = run_cli("tune", "--config", run_yaml, "--data", cohort_file, "--trials", "2", "--out", out, "--seed", "0")
        assert res.returncode == 0, res.stderr
        assert "2 trials in the study (2 complete)" in res.stdout, res.stdout
        best = Config.from_yaml(out / "best.yaml")
        assert best.model.latent_dim in (2, 4) and 5e-4 <= best.train.lr <= 5e-3
        assert best.model.hidden_dim == 16 and best.data.path == [str(cohort_file)]
        rows = _trials(out / "trials.csv")
        assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE"]
        chosen = min(rows, key=lambda r: float(r["value"]))
        assert float(chosen["train.lr"]) == pytest.approx(best.train.lr)

    def test_a_shared_storage_accumulates_trials(self, cohort_file, run_yaml, tmp_path):
        storage = f"sqlite:///{tmp_path / 'study.db'}"
        for n, out in ((1, "a"), (2, "b")):
            res = run_cli("tune", "--config", run_yaml, "--data", cohort_file, "--trials", "1",
                          "--storage", storage, "--study", "shared", "--out", tmp_path / out)
            assert res.returncode == 0, res.stderr
            assert f"{n} trials in the study ({n} complete)" in res.stdout
        assert [r["number"] for r in _trials(tmp_path / "b" / "trials.csv")] == ["0", "1"]
        Config.from_yaml(tmp_path / "b" / "best.yaml")

    def test_a_trial_worse_than_the_median_is_pruned(self, cohort_file, tmp_path):
        import optuna

        path = tmp_path / "run.yaml"
        train = {**SMALL["train"], "epochs": 3, "warmup_epochs": 0}
        space = {"space": {"train.lr": {"low": 1e-9, "high": 1e-2, "log": True}},
                 "pruner": {"startup_trials": 1, "warmup_epochs": 1}}
        path.write_text(yaml.safe_dump({**SMALL, "train": train, "tune": space}))
        storage = f"sqlite:///{tmp_path / 'study.db'}"
        study = optuna.create_study(storage=storage, study_name="p", direction="minimize")
        study.enqueue_trial({"train.lr": 1e-2})  # learns
        study.enqueue_trial({"train.lr": 1e-9})  # stays at its initial loss: pruned after the warm-up epoch
        res = run_cli("tune", "--config", path, "--data", cohort_file, "--trials", "2", "--storage", storage,
                      "--study", "p", "--out", tmp_path / "o")
        assert res.returncode == 0, res.stderr
        assert "2 trials in the study (1 complete, 1 pruned)" in res.stdout, res.stdout
        rows = _trials(tmp_path / "o" / "trials.csv")
        assert [r["state"] for r in rows] == ["COMPLETE", "PRUNED"]

    def test_a_study_with_the_other_direction_is_refused(self, cohort_file, run_yaml, tmp_path):
        import optuna

        storage = f"sqlite:///{tmp_path / 'study.db'}"
        optuna.create_study(storage=storage, study_name="m", direction="maximize")
        res = run_cli("tune", "--config", run_yaml, "--data", cohort_file, "--trials", "1", "--storage", storage,
                      "--study", "m", "--out", tmp_path / "o")
        assert res.returncode == 2
        assert "study 'm' in sqlite" in res.stderr and "is maximized, but metric 'val_loss' is minimized" in res.stderr

    def test_with_truth_trials_are_scored_on_held_out_animals(self, run_yaml, tmp_path):
        res = run_cli("simulate", "-o", tmp_path / "sim", "--animals", "5", "--frames", "300", "--seed", "1")
        assert res.returncode == 0, res.stderr
        res = run_cli("tune", "--config", run_yaml, "--data", tmp_path / "sim" / "cohort.h5", "--truth",
                      tmp_path / "sim" / "truth.h5", "--trials", "1", "--out", tmp_path / "o")
        assert res.returncode == 0, res.stderr
        assert "imputation (maximize)" in res.stdout and "held out for scoring: 1 of 5 animals" in res.stdout
        assert "1 trials in the study (1 complete); best: trial 0, imputation " in res.stdout
        Config.from_yaml(tmp_path / "o" / "best.yaml")

    def test_a_truth_metric_without_truth_exits_2(self, cohort_file, run_yaml, tmp_path):
        res = run_cli("tune", "--config", run_yaml, "--data", cohort_file, "--trials", "1",
                      "--metric", "imputation", "--out", tmp_path / "o")
        assert res.returncode == 2
        assert "metric 'imputation' is scored against ground truth: give --truth" in res.stderr
