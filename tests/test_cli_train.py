"""``ceneurovae train`` (and ``predict`` on its run folder) from the command line."""

from conftest import FAST, run_cli


class TestCommand:
    def test_train_then_predict(self, cohort, tmp_path):
        ds, vocab = cohort
        from ceneurovae.io import write_cohort

        write_cohort(tmp_path / "c.h5", ds, vocab)
        sets = [f"{k}={v}" for k, v in FAST.items()] + ["train.epochs=2"]
        res = run_cli("train", "--data", tmp_path / "c.h5", "--out", tmp_path / "run", "--quiet", "--set", *sets)
        assert res.returncode == 0, res.stderr
        for name in ("best.pt", "last.pt", "config.yaml", "metrics.csv", "summary.json"):
            assert (tmp_path / "run" / name).is_file(), name
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            pass
        else:
            assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
        res = run_cli("predict", tmp_path / "run", tmp_path / "c.h5", "-o", tmp_path / "p.h5")
        assert res.returncode == 0, res.stderr
        import h5py

        with h5py.File(tmp_path / "p.h5") as f:
            uid = next(iter(ds))
            assert f[uid]["reconstruction"].shape == ds[uid].traces.shape
            assert f[uid]["latents"].shape == (200, 4)
            assert f[uid]["identities"].shape == (200, 20)

    def test_unwritable_output_folder(self, cohort, tmp_path):
        ds, vocab = cohort
        from ceneurovae.io import write_cohort

        write_cohort(tmp_path / "c.h5", ds, vocab)
        blocker = tmp_path / "file"
        blocker.write_text("x")
        res = run_cli("train", "--data", tmp_path / "c.h5", "--out", blocker / "run")
        assert res.returncode == 2 and "cannot be written" in res.stderr



class TestRunFolderIsNeverLost:
    """Issue 22, data loss: a run folder is never overwritten, and a refused resume writes nothing."""

    def _train(self, tmp_path, *extra):
        sets = [f"{k}={v}" for k, v in FAST.items()] + ["train.epochs=1"]
        return run_cli("train", "--data", tmp_path / "c.h5", "--quiet", "--set", *sets, *extra)

    def _files(self, run):
        return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}

    def test_out_of_an_existing_run_refuses_and_overwrite_moves_it_aside(self, cohort, tmp_path):
        from ceneurovae.io import write_cohort

        write_cohort(tmp_path / "c.h5", *cohort)
        run = tmp_path / "run"
        assert self._train(tmp_path, "--out", run).returncode == 0
        before = self._files(run)
        again = self._train(tmp_path, "--out", run)
        assert again.returncode == 2 and "already holds a run" in again.stderr and "--overwrite" in again.stderr
        assert self._files(run) == before  # nothing touched
        moved = self._train(tmp_path, "--out", run, "--overwrite")
        assert moved.returncode == 0, moved.stderr
        aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
        assert len(aside) == 1 and self._files(aside[0]) == before
        assert (run / "best.pt").is_file()

    def test_a_resume_that_cannot_be_honored_is_refused_before_anything_is_written(self, cohort, tmp_path):
        from ceneurovae.io import write_cohort

        ds, vocab = cohort
        write_cohort(tmp_path / "c.h5", ds, vocab)
        run = tmp_path / "run"
        assert self._train(tmp_path, "--out", run).returncode == 0
        before = self._files(run)
        # other settings: a finished run asked for 4 epochs would train nothing and say 4
        res = run_cli("train", "--resume", run, "--quiet", "--set", "train.epochs=4")
        assert res.returncode == 2 and "train.epochs = 4" in res.stderr and "cannot resume" in res.stderr
        assert self._files(run) == before
        # other animals
        some = dict(list(ds.items())[:4])
        write_cohort(tmp_path / "other.h5", some, vocab)
        res = run_cli("train", "--resume", run, "--quiet", "--data", tmp_path / "other.h5")
        assert res.returncode == 2 and "cannot resume" in res.stderr and "animals differ" in res.stderr
        assert self._files(run) == before
        # and the run still resumes as it was (a finished run: nothing to train, nothing lost)
        res = run_cli("train", "--resume", run, "--quiet")
        assert res.returncode == 0, res.stderr
        assert (run / "best.pt").is_file() and (run / "metrics.csv").read_bytes() == before["metrics.csv"]


def test_unlabeled_recordings_say_how_to_give_labels(shared_data, tmp_path):
    """Issue 23: training on recordings without names said 'model.n_identities = 1: needs at least 2'."""
    res = run_cli("train", "--data", shared_data / "real" / "2022-01-16-01-data.h5",
                  shared_data / "real" / "2022-05-02-01-data.h5", "--out", tmp_path / "run", "--quiet")
    assert res.returncode == 2
    assert "no labeled neurons in the 2 recordings (2022-01-16-01, 2022-05-02-01)" in res.stderr
    assert "--labels FILE" in res.stderr and "n_identities" not in res.stderr
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_commands_show_warnings_as_one_line_each(trained, cohort, tmp_path):
    """Issue 23: train, evaluate, predict and report printed raw Python warnings
    (".../bin/ceneurovae:8: DataWarning: ... sys.exit(main())"); info and convert printed
    clean "warning:" lines. Now every command does, each warning once."""
    from ceneurovae.io import write_cohort

    ds, vocab = cohort
    trained.save(tmp_path / "model.pt")
    uid = next(iter(ds))
    rec = ds[uid]
    write_cohort(tmp_path / "one.h5", {uid: rec}, vocab)
    assert (rec.identity == 0).any()  # unlabeled neurons: from_behavior warns about them
    res = run_cli("predict", tmp_path / "model.pt", tmp_path / "one.h5", "-o", tmp_path / "p.h5")
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert any(line.startswith("warning: ") and "no identity the model knows" in line for line in lines), lines
    assert "DataWarning" not in res.stderr and "sys.exit" not in res.stderr
    assert len(lines) == len(set(lines))


def test_impute_takes_neuron_names(trained, cohort):
    """Issue 23: hide=["AVAL"] failed with "invalid literal for int()"; users think in names."""
    import warnings

    import numpy as np
    import pytest

    from ceneurovae.errors import ConfigError, DataWarning
    from ceneurovae.recording import vocabulary_names

    ds, _ = cohort
    rec = next(iter(ds.values()))
    names = vocabulary_names(rec)
    i = next(k for k, n in enumerate(names) if n)
    j = next(k for k, n in enumerate(names) if not n)
    by_name = trained.impute(rec, hide=[names[i].lower()], refine_steps=0)
    by_index = trained.impute(rec, hide=[i], refine_steps=0)
    np.testing.assert_allclose(by_name, by_index)
    with pytest.raises(ConfigError, match="has no labeled neuron 'NOPE'"):
        trained.impute(rec, hide=["NOPE"])
    with pytest.warns(DataWarning, match=rf"hidden neurons \[{j}\] have no identity"):
        out = trained.impute(rec, hide=[j], refine_steps=0)
    assert np.isnan(out[:, j]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        with pytest.raises(DataWarning, match="neurons have no identity the model knows"):
            trained.from_behavior(rec)


def test_a_log_that_is_not_a_terminal_gets_whole_lines(cohort, tmp_path, monkeypatch):
    """Issue 23: tqdm's carriage returns were written into logs that are not a terminal."""
    from ceneurovae.io import write_cohort

    ds, vocab = cohort
    write_cohort(tmp_path / "c.h5", ds, vocab)
    monkeypatch.setenv("CENEUROVAE_QUIET", "0")
    sets = [f"{k}={v}" for k, v in FAST.items() if k != "train.quiet"] + ["train.epochs=2"]
    res = run_cli("train", "--data", tmp_path / "c.h5", "--out", tmp_path / "run", "--set", *sets)
    assert res.returncode == 0, res.stderr
    assert "epoch   1/2" in res.stderr + res.stdout  # the epoch lines, whole
    assert "\r" not in res.stderr and "it/s]" not in res.stderr  # no progress bar in a log

