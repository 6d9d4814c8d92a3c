"""The report: figure functions, the analyses behind them, write_report and `ceneurovae report`."""

import json
import re
import sys

import numpy as np
import pytest

import ceneurovae
from ceneurovae import Recording
from ceneurovae.errors import ConfigError, DataError
from ceneurovae.io import write_cohort
from ceneurovae.report import analysis as A
from ceneurovae.report import best_epoch, read_metrics, write_report
from ceneurovae.report import figures as F
from ceneurovae.report.html import evaluation_tables, table
from ceneurovae.train import EpochRecord, TrainConfig
from conftest import FAST, run_cli
from toy import toy_cohort

pytest.importorskip("matplotlib")

TINY = {**FAST, "train.epochs": 2}


@pytest.fixture(scope="module")
def cohort():
    return toy_cohort(n_animals=5, T=240)


@pytest.fixture(scope="module")
def run(cohort, tmp_path_factory):
    """A tiny trained run folder and its model."""
    folder = tmp_path_factory.mktemp("run")
    trained = ceneurovae.fit(cohort[0], config=TINY, run_dir=folder, seed=0)
    return folder, trained


@pytest.fixture(scope="module")
def animals(run, cohort):
    _, trained = run
    ds = cohort[0]
    return [A.predict_animal(trained, ds[u], n_folds=2) for u in list(ds)[:2]]


def assert_labeled(fig, tmp_path):
    """Every visible panel names what it shows, some x axis is labeled, and it draws to PNG."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.get_ylabel() or ax.get_title(), f"panel without a y label or title in {fig}"
    assert any(ax.get_xlabel() for ax in axes)
    path = tmp_path / "fig.png"
    F.save_figure(fig, path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class TestFigures:
    def test_training(self, run, tmp_path):
        _, trained = run
        fig = F.plot_training(trained.history, best_epoch=1)
        assert_labeled(fig, tmp_path)
        assert any(ax.get_yscale() == "log" for ax in fig.axes)  # the learning rate

    def test_training_refuses_empty_history(self):
        with pytest.raises(ConfigError, match="history is empty"):
            F.plot_training([])

    def test_kl_per_dimension(self, tmp_path):
        fig = F.plot_kl_per_dimension(np.array([0.5, 0.001, 0.2, 0.0]), threshold=0.01)
        assert_labeled(fig, tmp_path)
        assert "2 of 4 active" in fig.axes[0].get_title()

    def test_reconstruction(self, animals, tmp_path):
        a = animals[0]
        idx = A.pick_neurons(a, 3)
        fig = F.plot_reconstruction(a.rec.timestamps, a.data[:, idx],
                                    {"reconstruction": a.reconstruction[:, idx], "imputed (hidden)": a.imputed[:, idx]},
                                    [a.names[i] for i in idx], a.rec.behavior, a.rec.behavior_names,
                                    {"reversal": [(10.0, 15.0)]}, title="toy")
        assert_labeled(fig, tmp_path)
        assert fig.axes[-1].get_xlabel() == "time (s)"
        assert "velocity (mm/s)" in fig.axes[len(idx)].get_ylabel().replace("\n", " ")

    def test_r2_by_class(self, tmp_path):
        fig = F.plot_r2_by_class(["AVAL", "AVAR", "RIML"], ["AVA", "AVA", "RIM"],
                                 {"reconstruction": np.array([0.8, 0.7, 0.5]), "behavior only": np.array([0.3, -2.0, np.nan])})
        assert_labeled(fig, tmp_path)

    def test_latent_trajectories(self, animals, tmp_path):
        proj, explained = A.principal_components([a.latents for a in animals])
        vel = [a.rec.behavior[:, 0] for a in animals]
        fig = F.plot_latent_trajectories(proj, vel, [a.rec.uid for a in animals], explained)
        assert_labeled(fig, tmp_path)

    def test_latent_traversal(self, run, tmp_path):
        _, trained = run
        sweep, change = A.latent_traversal(trained, [0, 1], [1, 2, 3], np.array([0.05, 0.0, 1.0]))
        fig = F.plot_latent_traversal(sweep, change, ["N01", "N02", "N03"], [0, 1], kl=[0.3, 0.1])
        assert_labeled(fig, tmp_path)

    def test_event_triggered(self, tmp_path):
        rng = np.random.default_rng(0)
        lags = np.arange(-10, 20) * 0.6
        panels = {"velocity": {"data": rng.normal(size=(5, 30))},
                  "AVA": {"data": rng.normal(size=(8, 30)), "behavior only": rng.normal(size=(8, 30))}}
        fig = F.plot_event_triggered(lags, panels, {"velocity": "velocity (mm/s)"}, title="around reversals")
        assert_labeled(fig, tmp_path)

    def test_generated(self, run, tmp_path):
        _, trained = run
        t, beh, spans = A.synthetic_behavior(trained.behavior_names, 0.6)
        act = A.generate_settled(trained, beh, ["N01", "N02"])
        assert act.shape == (t.size, 2) and np.isfinite(act).all()
        fig = F.plot_generated(t, act, ["N01", "N02"], beh, trained.behavior_names, spans)
        assert_labeled(fig, tmp_path)

    def test_user_rcparams_untouched(self):
        import matplotlib

        before = matplotlib.rcParams["font.size"]
        F.plot_kl_per_dimension(np.array([1.0, 0.1]))
        assert matplotlib.rcParams["font.size"] == before

    def test_missing_matplotlib_says_how_to_install(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
        with pytest.raises(ConfigError, match=r"pip install ceneurovae\[report\]"):
            F.plot_kl_per_dimension(np.array([1.0]))


class TestReversals:
    def rec(self, velocity, events=None, timestamps=None):
        T = len(velocity)
        return Recording(uid="r", traces=np.zeros((T, 1)), behavior=np.asarray(velocity)[:, None],
                         behavior_names=["velocity"], events=events or {}, timestamps=timestamps)

    def test_detected_from_velocity(self):
        v = np.full(40, 0.1)
        v[5:12] = -0.1   # a reversal of 7 frames
        v[20:22] = -0.1  # 2 frames: noise, not a reversal
        v[30:40] = -0.1  # runs to the end
        assert A.reversal_intervals(self.rec(v)).tolist() == [[5, 12], [30, 40]]

    def test_known_events_win(self):
        rec = self.rec(np.full(20, 0.1), events={"reversals": [[8, 12], [2, 4]]})
        assert A.reversal_intervals(rec).tolist() == [[2, 4], [8, 12]]

    def test_segments_drop_edges_and_gaps(self):
        ts = np.concatenate([np.arange(20), 100 + np.arange(20)]).astype(float)
        x = np.arange(40.0)
        seg = A.event_segments(x, [1, 10, 18, 25], before=3, after=4, timestamps=ts)
        # 1: starts before the recording; 18: crosses the gap; 10 and 25 stay
        assert seg.shape == (2, 7) and seg[:, 3].tolist() == [10.0, 25.0]


class TestAnalysis:
    def test_principal_components(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(500, 3)) * np.array([5.0, 1.0, 0.1])
        proj, explained = A.principal_components([x[:200], x[200:]])
        assert [p.shape for p in proj] == [(200, 2), (300, 2)]
        assert explained[0] > 0.9 and explained[0] > explained[1]

    def test_traversal_is_zero_at_the_prior_mean(self, run):
        _, trained = run
        sweep, change = A.latent_traversal(trained, [0, 3], [1, 2], np.array([0.05, 0.0, 1.0]))
        assert change.shape == (2, 2, sweep.size)
        assert np.allclose(change[:, :, sweep == 0], 0, atol=1e-5)
        with pytest.raises(ConfigError, match="latent dimensions"):
            A.latent_traversal(trained, [9], [1], np.zeros(3))

    def test_kl_by_dimension(self, run, cohort):
        _, trained = run
        kl, unit = A.kl_by_dimension(trained, list(cohort[0].values())[:2])
        assert kl.shape == (4,) and (kl >= 0).all() and unit == "nats per frame"

    def test_window_latent(self, cohort):
        trained = ceneurovae.fit(cohort[0], config={**TINY, "train.epochs": 1, "model.latent": "window"})
        kl, unit = A.kl_by_dimension(trained, list(cohort[0].values())[:1])
        assert kl.shape == (4,) and unit == "nats per window"
        sweep, change = A.latent_traversal(trained, [2], [1, 2, 3], np.array([0.05, 0.0, 1.0]))
        assert change.shape == (1, 3, sweep.size) and np.allclose(change[:, :, sweep == 0], 0, atol=1e-5)

    def test_imputation_hides_each_neuron_once(self, animals):
        a = animals[0]
        labeled = a.rec.labeled_indices
        assert np.isfinite(a.imputed[:, labeled]).all()
        assert np.isnan(a.imputed[:, a.rec.identity == 0]).all()
        table = A.identity_table(animals)
        assert len(table["identity"]) == sum(x.rec.n_labeled for x in animals)
        assert np.nanmedian(table["reconstruction"]) > np.nanmedian(table["from_behavior"])

    def test_synthetic_behavior(self):
        t, beh, spans = A.synthetic_behavior(["velocity", "head_curvature", "pumping"], 0.5)
        inside = (t > spans["reversal"][0] + 2) & (t < spans["reversal"][1] - 2)
        feeding = (t > spans["feeding bout"][0] + 5) & (t < spans["feeding bout"][1] - 5)
        assert (beh[inside, 0] < 0).all() and (beh[~inside & (t < 90), 0] > 0).all()
        assert beh[feeding, 2].min() > beh[t < 90, 2].max()

    def test_best_epoch_follows_the_training_rule(self):
        cfg = TrainConfig(kl_warmup_epochs=2, min_delta=0.01)
        vals = [5.0, 4.0, 4.5, 3.0, 2.995, 3.5]
        hist = [EpochRecord(1.0, v, e, 0, 0, 0, 0, 0, 0, 1, 1e-3, 1.0, 0) for e, v in enumerate(vals)]
        assert best_epoch(hist, cfg) == 3  # epoch 4's gain is under min_delta

    def test_read_metrics(self, run):
        folder, trained = run
        assert read_metrics(folder / "metrics.csv") == trained.history
        with pytest.raises(DataError, match="cannot read"):
            read_metrics(folder / "nothing.csv")


class TestWriteReport:
    def test_page_and_figures(self, run, cohort, tmp_path):
        _, trained = run
        evaluation = {"summary": {"model": {"imputation R²": 0.41}, "identity mean": {"imputation R²": 0.12}}}
        mix = trained.linear_mix
        trained.model.linear.set_mix(0.0)  # the validation animals are then held out from everything
        try:
            path = write_report(trained, cohort[0], tmp_path / "rep", evaluation=evaluation, max_animals=2,
                                n_folds=2, dpi=60)
            page = open(path, encoding="utf-8").read()
            pngs = re.findall(r'<img src="([^"]+)"', page)
            assert len(pngs) == 8
            for name in pngs:
                assert (tmp_path / "rep" / name).stat().st_size > 1000
            assert "identity mean" in page and "0.41" in page  # the evaluation summary
            assert trained.val_uids[0] in page
            assert "in-sample" not in page
            # with weight on the linear read-out, whose moments hold every animal here: in-sample
            trained.model.linear.set_mix(0.5)
            path = write_report(trained, cohort[0], tmp_path / "rep2", max_animals=1, n_folds=2, dpi=60)
            assert "in-sample" in open(path, encoding="utf-8").read()
        finally:
            trained.model.linear.set_mix(mix)

    def test_training_animals_only_is_flagged(self, run, cohort, tmp_path):
        _, trained = run
        train_only = [cohort[0][u] for u in trained.train_uids[:1]]
        path = write_report(trained, train_only, tmp_path, max_animals=1, n_folds=1,
                            neurons=["N99"], evaluation=None, dpi=60)
        page = open(path, encoding="utf-8").read()
        assert "in-sample" in page and "N99" in page and "No evaluation" in page

    def test_bad_arguments(self, run, cohort, tmp_path):
        _, trained = run
        with pytest.raises(ConfigError, match="max_animals"):
            write_report(trained, cohort[0], tmp_path, max_animals=0)
        with pytest.raises(ConfigError, match="evaluation must be"):
            write_report(trained, cohort[0], tmp_path, evaluation=3.5, max_animals=1, n_folds=1)


class TestHtml:
    def test_evaluation_summary_with_methods(self):
        ev = {"summary": {"n_hidden": 12, "labels": {"model": "model", "ridge": "behavior ridge"},
                          "methods": {"model": {"imputation": {"mean": 0.41, "median": 0.4}, "decoding": {"velocity": 0.8}},
                                      "ridge": {"imputation": {"mean": 0.12}}},
                          "latent": {"active_units": 5, "kl_per_dim": [0.1, 0.2]}}}
        html = evaluation_tables(ev)
        # the columns of `ceneurovae evaluate`'s table, with their words; the rest folded away
        assert "<th>impute (mean R²)</th>" in html and "<th>velocity</th>" in html
        assert "<b>impute</b>: hidden neurons vs the data" in html
        assert "behavior ridge" in html and "0.41" in html
        assert re.search(r"<details>.*latent\.active_units.*</details>", html, flags=re.S)
        assert "median" not in html and "kl_per_dim" not in html

    def test_unusable_evaluation_is_a_note(self):
        assert "no summary" in evaluation_tables({"summary": 3})

    def test_text_is_escaped(self):
        assert "&lt;b&gt;" in table(["a"], [["<b>"]])


class TestCommandLine:
    def test_end_to_end(self, run, cohort, tmp_path):
        folder, _ = run
        data = tmp_path / "cohort.h5"
        write_cohort(data, cohort[0], cohort[1])
        (folder / "eval.json").write_text(json.dumps({"summary": [{"method": "model", "R2": 0.5}]}))
        out = tmp_path / "report"
        res = run_cli("report", folder, "--data", data, "--out", out, "--animals", "1")
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip().endswith("index.html")
        page = (out / "index.html").read_text(encoding="utf-8")
        assert "method" in page and all((out / n).is_file() for n in re.findall(r'<img src="([^"]+)"', page))

    def test_no_data_is_a_clear_error(self, run, tmp_path):
        folder, _ = run  # fit() with recordings in memory: config.yaml names no data
        res = run_cli("report", folder, "--out", tmp_path / "r")
        assert res.returncode == 2
        assert "--data" in res.stderr and "Traceback" not in res.stderr

    def test_not_a_run_folder(self, tmp_path):
        res = run_cli("report", tmp_path)
        assert res.returncode == 2 and "no best.pt" in res.stderr


def test_the_first_screen_says_how_the_model_compares():
    from ceneurovae.report.html import render_page

    page = render_page("t", "sub", [], ["a"], [], "note", "<p>eval</p>", [],
                       verdict=["The baseline X imputes the hidden neurons better than the model."])
    head = page.split("<nav>")[0]
    assert '<p class="verdict">The baseline X imputes the hidden neurons better than the model.</p>' in head
