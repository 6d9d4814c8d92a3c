"""The report and the evaluation on the real files (issue 23): nothing on the page may mislead.

A tiny model is fitted to three of the four NeuroPAL animals of ``../shared/data/real/neuropal``
(one of them for validation); the fourth is never used. Pumping is missing in every frame of
these files, their timestamps start at about 1.3e6 s, and the two animals of
``../shared/data/real`` have no labels.
"""

import re
import warnings

import numpy as np
import pytest

import ceneurovae
from ceneurovae.errors import DataError
from ceneurovae.evaluation.baselines.identity_mean import IdentityMean
from ceneurovae.evaluation.controls import latent_diagnostics
from ceneurovae.evaluation.evaluate import evaluate, format_table
from ceneurovae.report import analysis as A
from ceneurovae.report import figures as F
from ceneurovae.report import write_report
from ceneurovae.report.html import evaluation_tables, number
from conftest import FAST

pytest.importorskip("matplotlib")

TINY = {**FAST, "train.epochs": 2}
TRAIN = ["2022-07-26-31", "2022-07-26-38", "2022-08-02-31"]
VAL = "2022-08-02-31"
UNUSED = "2022-07-27-38"


def read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pumping all NaN, head-angle sign convention: said by io's tests
        return ceneurovae.import_h5(path, **kw)[0]


@pytest.fixture(scope="module")
def real(shared_data):
    folder = shared_data / "real" / "neuropal"
    return read(folder, labels=folder / "neuropal_labels.json")


@pytest.fixture(scope="module")
def unlabeled(shared_data):
    return read(sorted((shared_data / "real").glob("*.h5")))


@pytest.fixture(scope="module")
def fitted(real, tmp_path_factory):
    folder = tmp_path_factory.mktemp("real-run")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = ceneurovae.fit({u: real[u] for u in TRAIN}, config=TINY, val_uids=[VAL], run_dir=folder, seed=0)
    return trained


@pytest.fixture(scope="module")
def written(fitted, real, tmp_path_factory):
    """The report of the fitted model on the four animals, with its evaluation on the unused
    one (one cheap baseline), the linear read-out off (so that the validation animal is not
    seen and is analysed too): (page text, {stem: Figure}, evaluation, folder)."""
    folder = tmp_path_factory.mktemp("real-report")
    figures = {}
    real_save = F.save_figure

    def keep(fig, path, dpi=150):
        figures[str(path).rsplit("/", 1)[-1].removesuffix(".png")] = fig
        real_save(fig, path, dpi=60)

    mix = fitted.linear_mix
    fitted.model.linear.set_mix(0.0)
    try:
        with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mp.setattr(F, "save_figure", keep)
            ev = evaluate(fitted, {UNUSED: real[UNUSED]}, train_datasets={u: real[u] for u in TRAIN},
                          baselines=[IdentityMean()])
            path = write_report(fitted, real, folder, evaluation=ev, max_animals=2, n_folds=2)
            diag = latent_diagnostics(fitted, [real[UNUSED], real[VAL]])
    finally:
        fitted.model.linear.set_mix(mix)
    return open(path, encoding="utf-8").read(), figures, diag, folder


def texts(fig):
    """Every piece of text in a figure: titles, labels, tick labels, legends."""
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


@pytest.mark.slow
def test_pumping_never_observed_is_not_drawn_generated_or_listed(fitted, real, written):
    assert A.observed_behaviors(list(real.values()), fitted.behavior_names) == ["velocity", "head_curvature"]
    page, figs, _, _ = written
    # listed only as never observed, not among the behaviors
    behaviors_row = re.search(r"<td>behaviors</td><td>([^<]*)</td>", page).group(1)
    assert "pumping" not in behaviors_row and "velocity" in behaviors_row
    assert "never observed (unknown to the model)</td><td>pumping" in page
    for stem in ("reconstruction", "generated"):
        words = " ".join(texts(figs[stem]))
        assert "pumping" not in words and "feeding" not in words, stem
    # the model is never driven with a pumping value: the synthetic behavior has no feeding bout
    _, beh, spans = A.synthetic_behavior(fitted.behavior_names, 0.6, list(real.values()),
                                         observed=["velocity", "head_curvature"])
    assert "feeding bout" not in spans and (beh[:, 2] == 0).all()


@pytest.mark.slow
def test_time_starts_at_the_recordings_start(real, written):
    assert real[UNUSED].timestamps[0] > 1e6  # the file's clock
    _, figs, _, _ = written
    ax = figs["reconstruction"].axes[-1]
    figs["reconstruction"].canvas.draw()
    assert ax.get_xlim()[0] == 0 and ax.xaxis.get_offset_text().get_text() == ""
    assert "start of the recording" in ax.get_xlabel()


@pytest.mark.slow
def test_generated_shows_no_neuron_for_a_behavior_held_constant(written):
    _, figs, _, _ = written
    words = " ".join(texts(figs["generated"]))
    assert "with velocity" in words and "with head curvature" not in words


@pytest.mark.slow
def test_kl_figure_counts_active_dimensions_as_evaluate_does(written):
    _, figs, diag, _ = written
    title = figs["kl_per_dimension"].axes[0].get_title()
    assert f"{diag['active_units']} of {diag['latent_dim']} active" in title
    assert "posterior-mean variance" in title


def test_kl_legend_swatches():
    # the legend's swatches differ (they were the same color when no dimension was inactive)
    fig = F.plot_kl_per_dimension(np.array([0.5, 0.2]), active=np.array([True, True]))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["active"]
    fig = F.plot_kl_per_dimension(np.array([0.5, 0.2]), active=np.array([True, False]))
    colors = {tuple(p.get_facecolor()) for p in fig.axes[0].get_legend().get_patches()}
    assert len(colors) == 2


@pytest.mark.slow
def test_the_validation_animal_is_flagged_and_comes_after_unused_ones(written):
    page, _, _, _ = written
    assert page.index(f"<td>{UNUSED}</td>") < page.index(f"<td>{VAL}</td>")
    assert "validation animal" in page and "optimistic" in page
    row = re.search(rf"<tr><td>{VAL}</td><td>([^<]*)</td>", page).group(1)
    assert row.startswith("validation")
    assert "1 animals" not in page  # plurals


@pytest.mark.slow
def test_the_page_says_which_numbers_are_means_and_which_animals_they_cover(written):
    page, _, _, _ = written
    assert "impute (mean R²)" in page and "median R² imputed" in page
    assert "The evaluation covers 1 animal (2022-07-27-38); the figures and the R² table below cover 2 animals" in page
    assert "1 for validation" in page and "held out</td>" not in page
    # the baseline comparison comes first, the internals folded away, numbers rounded
    first = page.split('<h2 id="summary">')[0]
    assert 'class="verdict"' in first and "<th>method</th>" in first
    shown = re.sub(r"<details>.*?</details>", "", first, flags=re.S)
    assert "seconds." not in shown and "leak_check" not in shown and "truth" not in shown
    assert not re.search(r"\de-\d", page) and not re.search(r">-?\d+\.\d{4,}<", page)


def test_numbers_are_rounded():
    assert number(-1.85e-17) == "0" and number(0.61234) == "0.612" and number(float("nan")) == "–"
    html = evaluation_tables({"summary": {"methods": {"model": {"imputation": {"mean": -1.85e-17}}},
                                          "seconds": {"features": 0.123456}, "truth": False}})
    assert "e-17" not in html and "<details>" in html


@pytest.mark.slow
def test_evaluate_says_what_cannot_be_scored_on_unlabeled_animals(fitted, real, unlabeled):
    with pytest.raises(DataError, match="nothing can be scored") as err:
        evaluate(fitted, unlabeled, baselines=False)
    assert "ELBO" in str(err.value) and "decodes the behavior" in str(err.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev = evaluate(fitted, {UNUSED: real[UNUSED], **unlabeled}, baselines=False)
    assert any("not scored" in str(w.message) for w in caught)
    assert ev.summary["animals"]["test"] == [UNUSED] and set(ev.summary["not_scored"]) == set(unlabeled)
    assert "not scored: " in ev.table()
    # the ELBO of animals without a labeled entry is not a number, and is not printed
    diag = latent_diagnostics(fitted, list(unlabeled.values()))
    assert np.isnan(diag["elbo_per_entry"])
    summary = {**ev.summary, "latent": diag, "n_hidden": 0}
    table = format_table(summary)
    assert "held-out ELBO" not in table and "leak check" not in table


def test_latent_trajectories_title_fits_with_one_animal(tmp_path):
    fig = F.plot_latent_trajectories([np.random.default_rng(0).normal(size=(50, 2))], [np.linspace(-1, 1, 50)],
                                     ["one animal"], np.array([0.5, 0.3]))
    fig.canvas.draw()
    box = fig.bbox
    for t in fig.findobj(lambda a: hasattr(a, "get_text") and a.get_visible()):
        if re.search("[A-Za-z]", t.get_text()):  # titles and labels (numbers: tick labels, some never drawn)
            ext = t.get_window_extent()
            assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, t.get_text()


# -- the page as a person sees it: rendered by headless Chromium ------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")

PROBE = """<script>
window.addEventListener("load", () => {
  const out = {images: [], overflow: [], first: [], width: document.documentElement.scrollWidth,
               window: window.innerWidth};
  for (const img of document.images) {
    out.images.push([img.getAttribute("src"), img.complete && img.naturalWidth > 0]);
  }
  for (const el of document.querySelectorAll("body, body *")) {
    if (el.closest("details:not([open])") || el.closest("pre") || el.closest("script")) continue;
    const style = getComputedStyle(el);
    if (style.display === "none" || el.clientWidth === 0) continue;
    const scrolls = ["auto", "scroll"].includes(style.overflowX);
    if (!scrolls && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1 && el.tagName !== "BODY"
                     && style.overflowY === "hidden")) {
      out.overflow.push(el.tagName + ": " + el.textContent.trim().slice(0, 80));
    }
  }
  for (const el of document.querySelectorAll("h1, h2, p, th, td, li")) {
    const box = el.getBoundingClientRect();
    if (box.bottom <= window.innerHeight && box.height > 0) out.first.push(el.textContent.trim());
  }
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def browser():
    import shutil

    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium to render the report (Debian: apt-get install chromium; .ci/run installs it "
                "where apt-get is allowed): the rendered check is skipped")


def render(page_path, width=1280, height=900):
    """Lay the page out in headless Chromium and return what `PROBE` measured."""
    import json
    import subprocess

    probe = page_path.with_name("probe.html")
    probe.write_text(page_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    res = subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},{height}",
         "--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', res.stdout, flags=re.S)
    assert found, f"Chromium gave no result (exit {res.returncode}): {res.stderr[-2000:]}"
    import html

    return json.loads(html.unescape(found.group(1)))


@pytest.mark.slow
def test_the_rendered_page(written):
    """Every image loads, no text overflows its box, and the first screen (1280 x 900) says
    how the model compares with the baselines."""
    _, _, _, folder = written
    seen = render(folder / "index.html")
    assert len(seen["images"]) == 8 and all(ok for _, ok in seen["images"]), seen["images"]
    assert not seen["overflow"], seen["overflow"]
    assert seen["width"] <= seen["window"]
    first = " ".join(seen["first"])
    assert re.search(r"(The model|The baseline) .* (better|worse) than", first), first
    assert "mean R²" in first  # the comparison table starts on the first screen


def test_a_tie_is_not_called_a_win():
    from ceneurovae.evaluation.evaluate import verdict

    words = verdict({"methods": {"model": {"behavior_only": {"mean": 1e-5}},
                                 "identity_mean": {"behavior_only": {"mean": -2e-5}}},
                     "labels": {"identity_mean": "per-identity mean"}})
    assert words == ["The model predicts activity from behavior alone no better than the baseline per-identity mean: "
                     "R² 0.000 against 0.000 (mean over neurons)."]
