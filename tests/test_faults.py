"""Surviving faults: SIGKILL and resume, several processes, memory that stays flat."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ceneurovae.checkpoint import load_checkpoint
from ceneurovae.io import write_cohort
from conftest import SRC
from toy import toy_cohort

SETS = ["model.hidden_dim=32", "model.latent_dim=4", "model.n_heads=2", "model.behavior_history=20",
        "data.window_T=50", "data.stride=25", "train.batch_size=8", "train.kl_warmup_epochs=2"]


def _env():
    env = dict(os.environ, PYTHONPATH=str(SRC), CENEUROVAE_QUIET="1", OMP_NUM_THREADS="1")
    return env


def _cli(*args):
    return [str(Path(sys.executable).parent / "ceneurovae"), *map(str, args)]


def _metrics(run):
    with open(Path(run) / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [(r["epoch"], r["train"], r["val"]) for r in rows]  # everything but wall time


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    ds, vocab = toy_cohort(n_animals=5, T=300)
    path = tmp_path_factory.mktemp("data") / "c.h5"
    write_cohort(path, ds, vocab)
    return path


@pytest.mark.slow
def test_sigkill_mid_training_then_resume_matches_an_uninterrupted_run(cohort_file, tmp_path):
    sets = [*SETS, "train.epochs=6", "train.early_stopping=0"]
    full = subprocess.run(_cli("train", "--data", cohort_file, "--out", tmp_path / "full", "--set", *sets),
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr
    run = tmp_path / "cut"
    for delay in (0.05, 0.4):  # killed twice, at different moments of an epoch
        proc = subprocess.Popen(
            _cli("train", "--data", cohort_file, "--out", run, "--set", *sets) if not (run / "last.pt").exists()
            else _cli("train", "--resume", run),
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.time() + 120
        start = (run / "last.pt").stat().st_mtime if (run / "last.pt").exists() else 0
        while time.time() < deadline and proc.poll() is None:
            if (run / "last.pt").exists() and (run / "last.pt").stat().st_mtime > start:
                break
            time.sleep(0.01)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # whatever moment the kill hit, the checkpoint on disk is whole
        assert load_checkpoint(run / "last.pt")["epoch"] >= 0
    res = subprocess.run(_cli("train", "--resume", run), env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert _metrics(run) == _metrics(tmp_path / "full")
    assert not [p for p in os.listdir(run) if ".tmp-" in p]  # stale temporary files were cleared
    # resuming a finished run trains no further
    again = subprocess.run(_cli("train", "--resume", run), env=_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and _metrics(run) == _metrics(tmp_path / "full")


@pytest.mark.slow
def test_torchrun_two_cpu_processes_match_one_process(cohort_file, tmp_path):
    sets = [*SETS, "train.epochs=3"]
    torchrun = str(Path(sys.executable).parent / "torchrun")
    two = subprocess.run(
        [torchrun, "--nproc_per_node=2", "-m", "ceneurovae", "train", "--data", str(cohort_file),
         "--out", str(tmp_path / "ddp"), "--set", *sets],
        env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run(_cli("train", "--data", cohort_file, "--out", tmp_path / "one", "--set", *sets),
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    m1, m2 = _metrics(tmp_path / "one"), _metrics(tmp_path / "ddp")
    assert len(m1) == len(m2) == 3
    for (_, _t1, v1), (_, _t2, v2) in zip(m1, m2):
        assert abs(float(v1) - float(v2)) < 0.05 * abs(float(v1)), (m1, m2)
    # only rank 0 writes: one metrics file, one set of checkpoints
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir() if p.suffix == ".pt") == ["best.pt", "last.pt"]


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_memory_stays_flat_across_epochs():
    from ceneurovae.data import build_loaders
    from ceneurovae.model import NeuroBehaviorVAE, VAEConfig
    from ceneurovae.optimizer import build_optimizer
    from ceneurovae.train import TrainConfig, fit_model

    ds, _ = toy_cohort(n_animals=4, T=300)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=8, history=20)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, hidden_dim=32, latent_dim=4, n_heads=2, behavior_history=20))
    rss = []
    fit_model(model, lt, lv, 12, build_optimizer(model), device="cpu",
              config=TrainConfig(epochs=12, quiet=True, early_stopping=0), on_epoch_end=lambda r: rss.append(_rss_mb()))
    growth = max(rss[4:]) - rss[3]
    assert growth < 20, f"memory grew by {growth:.1f} MB over 8 epochs: {rss}"


class TestImpossibleSettingsAreRefusedFirst:
    """Each refused with exit code 2, a message naming the setting and value, no traceback,
    and no run folder content written."""

    @pytest.mark.parametrize(
        "sets, message",
        [
            (["data.window_T=3000"], "window_T=3000 frames is longer than every recording"),
            (["data.stride=0"], "data.stride = 0"),
            (["model.latent_dim=0"], "model.latent_dim = 0"),
            (["train.lr=0"], "train.lr = 0.0"),
            (["train.lr=-0.001"], "train.lr = -0.001"),
            (["data.behaviors=[velocity,roaming_speed]"], "has no behavior ['roaming_speed']"),
        ],
    )
    def test_refused(self, cohort_file, tmp_path, sets, message):
        from conftest import run_cli

        res = run_cli("train", "--data", cohort_file, "--out", tmp_path / "run", "--set", *sets)
        assert res.returncode == 2, res.stdout + res.stderr
        assert message in res.stderr and "Traceback" not in res.stderr
        assert not (tmp_path / "run" / "last.pt").exists()


def test_a_full_disk_mid_training_says_what_was_kept(tmp_path, monkeypatch):
    """Issue 22: a full disk ended in `OSError: [Errno 28]` mid-epoch, with no word about
    what was saved. Now: the package's error naming the file, the previous checkpoint intact,
    no temporary file left."""
    import errno

    import torch

    import ceneurovae
    from ceneurovae.errors import WriteError
    from ceneurovae.training import checkpoint as checkpoint_module

    ds, _ = toy_cohort(n_animals=4, T=200)
    config = {"train.epochs": 4, "model.hidden_dim": 32, "model.latent_dim": 4, "model.n_heads": 2,
              "model.behavior_history": 20, "data.window_T": 50, "data.stride": 25, "train.quiet": True,
              "train.early_stopping": 0}
    real_save = torch.save
    calls = {"n": 0}

    def save_until_the_disk_is_full(obj, fh, *a, **kw):
        calls["n"] += 1
        if calls["n"] > 3:  # best.pt and last.pt of epoch 1, best.pt of epoch 2; then the disk is full
            fh.write(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, fh, *a, **kw)

    monkeypatch.setattr(checkpoint_module.torch, "save", save_until_the_disk_is_full)
    run = tmp_path / "run"
    with pytest.raises(WriteError) as err:
        ceneurovae.fit(ds, config=config, seed=0, run_dir=run)
    message = str(err.value)
    assert "could not write" in message and "No space left on device" in message
    assert "its previous content is unchanged" in message
    monkeypatch.setattr(checkpoint_module.torch, "save", real_save)
    assert load_checkpoint(run / "last.pt")["epoch"] == 0  # the last complete checkpoint, epoch 1
    assert not [p.name for p in run.iterdir() if ".tmp-" in p.name]
