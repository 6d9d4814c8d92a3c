"""The benchmark protocol in `ceneurovae.evaluation.benchmark`, and the rule that the scripts
under ``benchmarks/`` import it from the package, not from each other through ``sys.path``."""

from __future__ import annotations

import argparse
import ast
import types
from pathlib import Path

import numpy as np
import pytest

from ceneurovae.config import Config, parse_overrides
from ceneurovae.evaluation import benchmark_cohort, cohort_arguments, paired_bootstrap, split_cohort
from ceneurovae.evaluation.benchmark import parse_sets
from ceneurovae.evaluation.timing import table
from ceneurovae.simulation import SimConfig, simulate_cohort

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_split_cohort_holds_out_the_last_animals_and_keeps_validation_among_training():
    cohort = simulate_cohort(n_animals=6, seed=2, config=SimConfig(n_frames=100))
    train, test, truth, val_uids = split_cohort(cohort, 2, val_fraction=0.25, seed=0)
    uids = sorted(cohort.datasets)
    assert sorted(train) == uids[:4] and sorted(test) == uids[4:]
    assert set(train).isdisjoint(test)
    assert set(train) | set(test) == set(uids)
    assert sorted(truth) == sorted(test)
    assert val_uids and set(val_uids) <= set(train)
    assert all(train[u] is cohort.datasets[u] for u in train)


def test_cohort_arguments_default_to_the_benchmark_cohort():
    p = argparse.ArgumentParser()
    cohort_arguments(p)
    args = p.parse_args([])
    assert (args.animals, args.test, args.seed, args.no_variability) == (40, 8, 0, False)
    args = p.parse_args(["--animals", "3", "--seed", "1", "--no-variability"])
    cohort, config = benchmark_cohort(args)
    assert len(cohort.datasets) == 3
    assert config.encoding_variability == config.tau_variability == config.loading_variability == 0.0


def test_paired_bootstrap_returns_the_mean_difference_and_an_interval_around_it():
    # per neuron model - baseline: a: 0.1, 0.3 (and 5.0 not hidden); b: 0.2; c: 0.0, 0.2 (and a NaN)
    uid = np.array(["a", "a", "a", "b", "c", "c", "c"])
    hidden = np.array([True, True, False, True, True, True, True])
    base = np.array([0.5, 0.4, 0.0, 0.3, 0.6, 0.2, 0.1])
    model = base + np.array([0.1, 0.3, 5.0, 0.2, 0.0, 0.2, np.nan])
    ev = types.SimpleNamespace(neurons={"uid": uid, "hidden": hidden, "model.imputation": model,
                                        "ridge.imputation": base})
    diff, lo, hi = paired_bootstrap(ev, "ridge", n_boot=500, seed=0)
    assert diff == pytest.approx(0.16)
    assert lo <= diff <= hi
    # every resample is a ratio of sums over animals: between the lowest and highest animal mean
    assert 0.1 - 1e-12 <= lo < hi <= 0.2 + 1e-12
    assert paired_bootstrap(ev, "ridge", n_boot=500, seed=0) == (diff, lo, hi)


def test_parse_sets_is_the_configs_parsing_and_exits_on_a_malformed_item():
    items = ["model.latent_dim=8", "data.stride=[1, 2]"]
    assert parse_sets(items) == parse_overrides(items) == {"model.latent_dim": 8, "data.stride": [1, 2]}
    assert Config().with_overrides(["model.latent_dim=8"]).model.latent_dim == 8
    for bad in (["model.latent_dim"], ["latent_dim=8"], ["nosuch.key=1"]):
        with pytest.raises(SystemExit):
            parse_sets(bad)


def test_table_aligns_the_first_column_left_and_the_others_right():
    assert table(["h", "v"], [["a", 1.234], ["bbb", 22.0]], {1: "{:.1f}"}) == "h       v\na     1.2\nbbb  22.0"


def _imported_modules(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level:
            out.add(".")  # a relative import: only packages have them
    return out


def test_benchmarks_import_the_package_not_each_other():
    scripts = sorted(BENCHMARKS.rglob("*.py"))
    assert len(scripts) >= 8  # the walk found the benchmarks
    stems = {p.stem for p in scripts}
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text, f"{path.relative_to(BENCHMARKS)} edits sys.path"
        siblings = _imported_modules(ast.parse(text)) & (stems | {"."})
        assert not siblings, f"{path.relative_to(BENCHMARKS)} imports the benchmark module(s) {sorted(siblings)}"
