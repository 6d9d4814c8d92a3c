"""Robustness: every damaged or hostile file through the reader and the commands, and SIGKILL.

Part 1 runs each case of `ceneurovae.io.damage.cases` (the fault suite's list) through
`import_h5`, ``ceneurovae info`` and ``ceneurovae convert``, and each case that is an error
through ``train``, ``predict`` and ``evaluate`` too (with a tiny model), each under a time
limit, and prints how many ended in each class: the package's error, a warning, a correct
read, a raw traceback, a hang. The last two columns must be 0; a case whose class is not the
one it owes is listed.

Part 2 trains a small model on a simulated cohort and kills it with SIGKILL at random
moments (while training, while writing a checkpoint, while resuming), ``--kills`` times,
resuming after each; it counts the runs after which the checkpoint on disk loaded, no
temporary file was left after the next start, and whether the final metrics equal those of
an uninterrupted run.

    python benchmarks/robustness.py [--kills 10] [--seconds 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from ceneurovae import fit, import_h5
from ceneurovae.checkpoint import load_checkpoint
from ceneurovae.cli import run_captured
from ceneurovae.evaluation.timing import child_env, table
from ceneurovae.io import write_cohort
from ceneurovae.io.damage import CLASSES, UID, cases, command_outcome, outcome
from ceneurovae.simulation import SimConfig, simulate_cohort

SETS = ["model.hidden_dim=32", "model.latent_dim=4", "model.n_heads=2", "model.behavior_history=20",
        "data.window_T=50", "data.stride=25", "train.batch_size=8", "train.epochs=8", "train.early_stopping=0"]


def run_command(*argv: str):
    code, _, err = run_captured(list(argv))
    return command_outcome(code, err)


def tiny_model(path: Path) -> Path:
    sim = simulate_cohort(n_animals=4, seed=0, config=SimConfig(n_frames=200))
    trained = fit(sim.datasets, config={"train.epochs": 1, "model.hidden_dim": 16, "model.latent_dim": 2,
                                        "model.n_heads": 2, "model.behavior_history": 10, "data.window_T": 40,
                                        "data.stride": 40, "train.quiet": True}, seed=0)
    trained.save(path)
    return path


def damaged_files(seconds: int) -> None:
    sign = f"{UID}=false"
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    wrong: list[str] = []
    all_cases = cases()
    with tempfile.TemporaryDirectory(prefix="ceneurovae-robust-") as root:
        model = tiny_model(Path(root) / "model.pt")
        for k, case in enumerate(all_cases):
            folder = Path(root) / str(k)
            path = case.make(folder / "in")
            runs = {
                "import_h5": lambda path=path: import_h5(path, head_angle_pos_is_ventral={UID: False}),
                "info": lambda path=path: run_command("info", str(path), "--head-angle-pos-is-ventral", sign),
                "convert": lambda path=path, out=folder / "out.h5": run_command(
                    "convert", str(path), "-o", str(out), "--head-angle-pos-is-ventral", sign),
            }
            if case.expect == "error":  # the commands that train or use a model refuse it first
                runs["train"] = lambda path=path, run=folder / "run": run_command(
                    "train", "--data", str(path), "--out", str(run), "--quiet", "--head-angle-pos-is-ventral", sign)
                runs["predict"] = lambda path=path, out=folder / "p.h5": run_command(
                    "predict", str(model), str(path), "-o", str(out), "--head-angle-pos-is-ventral", sign)
                runs["evaluate"] = lambda path=path: run_command(
                    "evaluate", str(model), str(path), "--head-angle-pos-is-ventral", sign)
            for runner, call in runs.items():
                got, detail = outcome(call, seconds)
                counts[(runner, case.format)][got] += 1
                if got != case.expect:
                    wrong.append(f"{runner} / {case.label}: {got}, owed {case.expect} ({detail[:160]})")
    rows = []
    for (runner, fmt), c in sorted(counts.items()):
        rows.append([runner, fmt, sum(c.values()), *[c[k] for k in CLASSES]])
    total = Counter()
    for c in counts.values():
        total.update(c)
    rows.append(["all", "", sum(total.values()), *[total[k] for k in CLASSES]])
    n_errors = sum(c.expect == "error" for c in all_cases)
    print(f"Part 1: {len(all_cases)} damaged or hostile files through import_h5, info and convert, and the "
          f"{n_errors} that are errors through train, predict and evaluate too; {seconds} s limit each\n")
    print(table(["reader", "format", "cases", *CLASSES], rows))
    print(f"\n{len(wrong)} runs ended in another class than the case owes" + (":" if wrong else ""))
    for line in wrong:
        print("  " + line)


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "ceneurovae", *map(str, args)]


def _metrics(run: Path) -> list[tuple[str, str, str]]:
    """Each epoch's losses (everything but wall time)."""
    with open(run / "metrics.csv") as fh:
        return [(r["epoch"], r["train"], r["val"]) for r in csv.DictReader(fh)]


def sigkill_runs(kills: int, seed: int) -> None:
    rng = random.Random(seed)
    env = {**child_env(), "CENEUROVAE_QUIET": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="ceneurovae-kill-") as root:
        root = Path(root)
        sim = simulate_cohort(n_animals=5, seed=seed, config=SimConfig(n_frames=200))
        write_cohort(root / "c.h5", sim.datasets, sim.vocabulary)
        t0 = time.perf_counter()
        full = subprocess.run(_cli("train", "--data", root / "c.h5", "--out", root / "full", "--quiet", "--set", *SETS),
                              env=env, capture_output=True, text=True)
        if full.returncode != 0:
            raise SystemExit(f"the uninterrupted run failed: {full.stderr[-800:]}")
        span = time.perf_counter() - t0
        run = root / "cut"
        killed = with_checkpoint = loaded = 0
        for _ in range(kills):
            resume = (run / "last.pt").exists()
            args = ("train", "--resume", run) if resume else ("train", "--data", root / "c.h5", "--out", run,
                                                               "--quiet", "--set", *SETS)
            proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.2, span))
            if proc.poll() is not None:
                break  # the run finished before the kill
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed += 1
            if not (run / "last.pt").exists():
                continue  # killed before the first checkpoint: nothing written yet
            with_checkpoint += 1
            try:
                load_checkpoint(run / "last.pt")
                loaded += 1
            except Exception as err:  # noqa: BLE001 - any failure to load is what we count
                print(f"  checkpoint did not load after a kill: {err}")
        final = subprocess.run(_cli("train", "--resume", run), env=env, capture_output=True, text=True)
        clean = int(not [p for p in os.listdir(run) if ".tmp-" in p])
        same = final.returncode == 0 and _metrics(run) == _metrics(root / "full")
    print(f"\nPart 2: SIGKILL at random moments of a {span:.0f} s training run, resumed after each\n")
    print(table(["kills", "after a checkpoint existed", "checkpoint loaded after", "no temporary file after resume",
                 "resumed = uninterrupted"],
                [[killed, with_checkpoint, loaded, "yes" if clean else "NO", "yes" if same else "NO"]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=30, help="time limit per case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    damaged_files(args.seconds)
    if args.kills:
        sigkill_runs(args.kills, args.seed)


if __name__ == "__main__":
    main()
