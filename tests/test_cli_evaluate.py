"""The ``ceneurovae evaluate`` command."""

from __future__ import annotations

import json

import ceneurovae
from conftest import run_cli
from eval_fixtures import FAST


class TestCommand:
    def test_evaluate_command_with_truth(self, sim, tmp_path, monkeypatch):
        from ceneurovae.io import write_cohort
        from ceneurovae.simulate import save_truth

        cohort, train, test = sim
        write_cohort(tmp_path / "cohort.h5", cohort.datasets, cohort.vocabulary)
        save_truth(tmp_path / "truth.h5", cohort.truth)
        trained = ceneurovae.fit(train, config={**FAST, "train.epochs": 1}, val_uids=[sorted(train)[-1]])
        trained.save(tmp_path / "model.pt")
        monkeypatch.setenv("CENEUROVAE_QUIET", "0")  # progress shown (run_cli keeps a value that is set)
        res = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--truth", tmp_path / "truth.h5",
                      "--test-uids", *sorted(test), "-o", tmp_path / "eval.json")
        assert res.returncode == 0, res.stderr
        # issue 23: evaluate printed nothing until the end; now one line per step, whole lines
        assert "evaluate [" in res.stderr and "model: animal 1/2" in res.stderr and "baseline 1/" in res.stderr
        assert "\r" not in res.stderr
        assert "noise ceiling" in res.stdout and "low-rank" in res.stdout
        assert "held out: 2 animals" in res.stdout
        back = json.loads((tmp_path / "eval.json").read_text())
        assert back["summary"]["animals"]["test"] == sorted(test)
        # the other animals of DATA fit the baselines
        assert set(back["summary"]["animals"]["train"]) == set(cohort.datasets) - set(test)

    def test_defaults_to_the_validation_animals(self, toy, tmp_path):
        from ceneurovae.io import write_cohort

        trained, train, test, vocab = toy
        write_cohort(tmp_path / "cohort.h5", {**train, **test}, vocab)
        mix = trained.linear_mix
        try:
            trained.model.linear.set_mix(0.0)  # the linear read-out unused: the validation animals are held out
            trained.save(tmp_path / "model.pt")
            res = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--no-baselines")
            assert res.returncode == 0, res.stderr
            assert "validation animals" in res.stdout and f"held out: {len(trained.val_uids)} animal" in res.stdout
            # with weight, its moments hold the validation animals: only animals never used are scored
            trained.model.linear.set_mix(0.5)
            trained.save(tmp_path / "model.pt")
            res = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--no-baselines")
            assert res.returncode == 0, res.stderr
            assert f"held out: {len(test)} animals, every animal of DATA the model was not trained on" in res.stdout
        finally:
            trained.model.linear.set_mix(mix)
        bad = run_cli("evaluate", tmp_path / "model.pt", tmp_path / "cohort.h5", "--hide-fraction", "1.5")
        assert bad.returncode == 2 and "--hide-fraction" in bad.stderr
