"""The training/ package: the training loop (the seed's workflow, reproducibility, resume,
non-finite losses), the optimizer and its learning-rate schedule, checkpoint files."""

import math
import pickle

import pytest
import torch

from ceneurovae.checkpoint import load_checkpoint, save_checkpoint
from ceneurovae.data import build_loaders
from ceneurovae.errors import CheckpointError, ConfigError, TrainingError
from ceneurovae.io import write_cohort
from ceneurovae.model import NeuroBehaviorVAE, VAEConfig
from ceneurovae.optimizer import build_optimizer, build_scheduler, lr_factor
from ceneurovae.train import TrainConfig, fit_model
from toy import toy_cohort

SMALL = dict(hidden_dim=32, latent_dim=4, n_heads=2, behavior_history=20)


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    ds, vocab = toy_cohort(n_animals=6, T=300, seed=1)
    path = tmp_path_factory.mktemp("cohort") / "cohort.h5"
    write_cohort(path, ds, vocab)
    return path


def test_the_seed_example_runs_as_written_and_validation_loss_falls(cohort_file):
    path_data = str(cohort_file)
    device = torch.device("cpu")
    n_epoch = 12

    # isort: off
    from ceneurovae.model import VAEConfig, NeuroBehaviorVAE  # noqa: F811  (the seed's imports, verbatim)
    from ceneurovae.import_data import import_h5  # noqa: F811
    from ceneurovae.data import build_loaders  # noqa: F811
    from ceneurovae.optimizer import build_optimizer, build_scheduler  # noqa: F811
    from ceneurovae.train import fit_model  # noqa: F811
    # isort: on

    datasets, labels = import_h5(path_data)
    cfg = VAEConfig(n_identities=len(labels), behavior_dim=3)
    model = NeuroBehaviorVAE(cfg).to(device)
    optim = build_optimizer(model, lr=1e-3)
    scheduler_seq, scheduler_plat, cosine_done = build_scheduler(
        optim, total_epochs=n_epoch, warmup_epochs=10, min_lr_ratio=0.05,
        use_plateau=True, cosine_portion=0.85)
    loader_train, loader_val, train_uids, val_uids = build_loaders(
        datasets, window_T=100, stride=50, batch_size=8, num_workers=0)
    list_loss, list_lr = fit_model(model, loader_train, loader_val, n_epoch, optim,
                                   scheduler_seq, scheduler_plat, cosine_done, device)

    assert len(labels) == 21  # 20 identities + unknown
    assert len(list_loss) == n_epoch and len(list_lr) == n_epoch
    val = [rec[1] for rec in list_loss]
    assert all(math.isfinite(v) for v in val)
    assert min(val[-3:]) < 0.8 * val[0], val
    assert min(r.val_mse for r in list_loss[-3:]) < 0.8 * list_loss[0].val_mse
    assert list_lr[0] == pytest.approx(1e-4) and max(list_lr) == pytest.approx(1e-3)
    assert set(train_uids).isdisjoint(val_uids)


def _train(ds, epochs=3, seed=0, run_dir=None, resume=None, **cfg_kw):
    torch.manual_seed(seed)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=8, history=20, seed=seed)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, **SMALL))
    opt = build_optimizer(model, lr=2e-3)
    seq, plat, done = build_scheduler(opt, total_epochs=epochs, warmup_epochs=1)
    tc = TrainConfig(epochs=epochs, seed=seed, quiet=True, kl_warmup_epochs=2, **cfg_kw)
    hist, lrs = fit_model(model, lt, lv, epochs, opt, seq, plat, done, "cpu", config=tc, run_dir=run_dir, resume=resume)
    return model, hist


def test_same_seed_same_losses():
    ds, _ = toy_cohort(n_animals=4, T=200)
    _, h1 = _train(ds)
    _, h2 = _train(ds)
    _, h3 = _train(ds, seed=1)
    assert [h[:2] for h in h1] == [h[:2] for h in h2]
    assert [h[:2] for h in h1] != [h[:2] for h in h3]


def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    ds, _ = toy_cohort(n_animals=4, T=200)
    full_model, full = _train(ds, epochs=4, run_dir=tmp_path / "full", restore_best=False)
    _train_partial(ds, tmp_path / "cut", stop_after=2)  # killed after its second epoch
    resumed_model, resumed = _train(ds, epochs=4, run_dir=tmp_path / "cut", resume=tmp_path / "cut" / "last.pt", restore_best=False)
    assert [h[:2] for h in resumed] == [h[:2] for h in full]
    for (k, a), (_, b) in zip(full_model.state_dict().items(), resumed_model.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)


def test_spread_refresh_sets_each_recordings_spread_and_the_typical_one():
    from ceneurovae.inference import recording_spread
    from ceneurovae.training import Solver, build_optimizer

    def refresh(model, lt, lv):
        solver = Solver(model, build_optimizer(model))
        solver.refresh_spreads(lt, lv)
        return solver.spread_train, solver.spread_val

    ds, _ = toy_cohort(n_animals=4, T=200)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=8, history=20, seed=0)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, **SMALL))
    train, val = refresh(model, lt, lv)
    assert train.shape == (len(lt.dataset.recordings), 21) and val.shape == (len(lv.dataset.recordings), 21)
    for table, dataset in ((train, lt.dataset), (val, lv.dataset)):
        for i, rec in enumerate(dataset.recordings):
            spread, _ = recording_spread(model, rec, dataset.scaler, window_T=dataset.window_T)
            known = rec.identity > 0
            torch.testing.assert_close(table[i, torch.as_tensor(rec.identity[known])], spread[torch.as_tensor(known)])
    # the typical spread: the mean over the training recordings that have the identity; 1 elsewhere
    has = train > 0
    seen = has.any(0)
    torch.testing.assert_close(model.decoder.typical_spread[seen], train.sum(0)[seen] / has.sum(0)[seen])
    assert torch.all(model.decoder.typical_spread[~seen] == 1.0)
    # a model without the gain gets no tables
    plain = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, recording_gain=False, **SMALL))
    assert refresh(plain, lt, lv) == (None, None)


def test_resuming_a_run_from_before_the_recording_gain_says_how(tmp_path):
    ds, _ = toy_cohort(n_animals=4, T=200)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=8, history=20, seed=0)
    tc = TrainConfig(epochs=1, quiet=True)

    def run(recording_gain, resume=None):
        model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, recording_gain=recording_gain, **SMALL))
        opt = build_optimizer(model, lr=2e-3)
        fit_model(model, lt, lv, 1, opt, device="cpu", config=tc, run_dir=tmp_path, resume=resume)

    run(False)
    with pytest.raises(CheckpointError, match="recording_gain"):
        run(True, resume=tmp_path / "last.pt")


def _train_partial(ds, run_dir, stop_after):
    """Train with the 4-epoch schedule but stop (as if killed) after `stop_after` epochs."""
    torch.manual_seed(0)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=8, history=20, seed=0)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, **SMALL))
    opt = build_optimizer(model, lr=2e-3)
    seq, plat, done = build_scheduler(opt, total_epochs=4, warmup_epochs=1)
    tc = TrainConfig(epochs=4, seed=0, quiet=True, kl_warmup_epochs=2, restore_best=False)

    class Killed(Exception):
        pass

    def kill(record):
        if record.epoch + 1 == stop_after:
            raise Killed

    with pytest.raises(Killed):
        fit_model(model, lt, lv, 4, opt, seq, plat, done, "cpu", config=tc, run_dir=run_dir, on_epoch_end=kill)


def test_non_finite_losses_stop_with_a_pointer_to_the_cause():
    ds, _ = toy_cohort(n_animals=3, T=200)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=4, history=20)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, **SMALL))
    with torch.no_grad():
        model.decoder.bias.weight.fill_(float("nan"))
    opt = build_optimizer(model, lr=1e-3)
    tc = TrainConfig(epochs=2, quiet=True, max_bad_steps=3)
    with pytest.raises(TrainingError, match=r"3 consecutive training steps gave a non-finite loss.*learning rate"):
        fit_model(model, lt, lv, 2, opt, device="cpu", config=tc)


def test_bad_steps_are_skipped_and_counted():
    ds, _ = toy_cohort(n_animals=3, T=200)
    lt, lv, _, _ = build_loaders(ds, window_T=50, stride=25, batch_size=4, history=20)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=21, behavior_dim=3, **SMALL))
    opt = build_optimizer(model, lr=1e-3)
    calls = {"n": 0}
    orig = model.forward

    def flaky(*a, **k):
        out = orig(*a, **k)
        calls["n"] += 1
        if model.training and calls["n"] == 2:
            return out._replace(pred=out.pred * float("nan"))
        return out

    model.forward = flaky
    hist, _ = fit_model(model, lt, lv, 1, opt, device="cpu", config=TrainConfig(epochs=1, quiet=True))
    assert hist[0].skipped_steps == 1 and math.isfinite(hist[0].train)


@pytest.mark.parametrize(
    "kw, match",
    [(dict(lr=0.0), "lr"), (dict(lr=-1.0), "lr"), (dict(epochs=0), "epochs"), (dict(neuron_dropout=1.0), "neuron_dropout")],
)
def test_impossible_train_settings(kw, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kw)


def test_seed_import_paths_exist():
    import ceneurovae.data
    import ceneurovae.import_data
    import ceneurovae.model
    import ceneurovae.optimizer
    import ceneurovae.train

    for mod, name in [(ceneurovae.model, "VAEConfig"), (ceneurovae.model, "NeuroBehaviorVAE"),
                      (ceneurovae.import_data, "import_h5"), (ceneurovae.data, "build_loaders"),
                      (ceneurovae.optimizer, "build_optimizer"), (ceneurovae.optimizer, "build_scheduler"),
                      (ceneurovae.train, "fit_model")]:
        assert callable(getattr(mod, name))


def test_lr_schedule_values():
    f = lambda e: lr_factor(e, total_epochs=30, warmup_epochs=10, min_lr_ratio=0.05, cosine_portion=0.85)  # noqa: E731
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0)  # cosine starts at the top
    # cosine over round(0.85 * 20) = 17 epochs: halfway at 10 + 8.5
    assert f(27) == pytest.approx(0.05) and f(29) == pytest.approx(0.05)
    mid = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 8 / 17))
    assert f(18) == pytest.approx(mid)


def test_build_scheduler_drives_the_optimizer():
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model, lr=1e-2)
    seq, plat, done = build_scheduler(opt, total_epochs=30, warmup_epochs=10, min_lr_ratio=0.05, cosine_portion=0.85)
    assert done == 27
    lrs = []
    for e in range(30):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if e < done:
            seq.step()
        else:
            plat.step(1.0)  # a flat loss: the plateau scheduler cuts the rate after its patience
    assert lrs[0] == pytest.approx(1e-3) and lrs[9] == pytest.approx(1e-2)
    assert lrs[27] == pytest.approx(5e-4)
    assert min(lrs) <= 5e-4


def test_optimizer_does_not_decay_biases_norms_embeddings():
    model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    opt = build_optimizer(model, lr=1e-3, weight_decay=0.1)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(model[1].weight)}


class TestCheckpointFiles:
    def test_plain_pickle_is_refused(self, tmp_path):
        path = tmp_path / "p.pt"
        with open(path, "wb") as fh:
            pickle.dump({"a": 1}, fh)
        with pytest.raises(CheckpointError):
            load_checkpoint(path)

    def test_atomic_write_leaves_no_temporary_file(self, tmp_path):
        save_checkpoint(tmp_path / "c.pt", {"model_config": {}, "model_state": {}})
        assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]

