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

