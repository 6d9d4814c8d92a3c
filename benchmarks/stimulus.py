"""What a stimulus channel adds: the model with and without ``stimulus:stim1`` on a stimulated cohort.

::

    python benchmarks/stimulus.py [--animals 10] [--test 3] [--frames 800] [--pulses 12] [--seed 0]
                                  [--set train.epochs=20 ...] [--out DIR]

Simulates a cohort with the simulator's stimulus option on (``SimConfig(n_stimuli=1,
stimulus_pulses=12)``: twelve 5 s pulses per animal; a fifth of the table's identities respond, with a known gain,
through an exponential of 5 s then the GCaMP kernel; `ceneurovae.simulation.stimulus_response`),
holds out the last `--test` animals, and trains the model twice through ``ceneurovae.fit``
with the same seed and settings: once conditioned on the behaviors and the stimulus channel
(the default: every stimulus a recording holds is a conditioning channel), once on the
behaviors alone (``data.behaviors`` named without it). On the held-out animals it reports:

- from behavior: the correlation with the truth's behavior part (behavior- and
  stimulus-driven, noiseless) of the activity predicted from the conditioning channels alone
  (latent at the prior mean, before `behavior_scale`), for the stimulus-responsive neurons
  and for every labeled neuron; and, for the responsive ones, the same model's prediction
  with the stimulus channel set to 0 (what the channel itself contributes, apart from the
  difference between two fits);
- imputation: the correlation with the data of neurons withheld from the encoder (a seeded
  20% of each animal's labeled neurons), responsive ones and all;
- recorded pulses: on the held-out recordings, the prediction from the conditioning channels
  with the recorded stimulus minus that with the stimulus off, against the true response of
  the responsive neurons (correlation, and size relative to the truth by regression slope);
- generated response: `Trained.generate` on a held-out animal's behavior with and without
  one extra pulse; the difference, per responsive identity, against the simulator's true
  response to that pulse (gain x `stimulus_response`, gains averaged over the held-out
  animals that recorded the identity): the correlation across identities of the response
  at its true peak, the mean time-course correlation, and the mean absolute generated
  response of responsive and of unresponsive identities.

The settings are small on purpose (a few minutes on 2 cores): the point is the difference
between the two fits, not either one's absolute quality. ``--out DIR`` writes
``DIR/stimulus.json``, ``DIR/table.txt`` and the two models (``model_with.pt``,
``model_without.pt``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import ceneurovae
from ceneurovae.data import choose_hidden
from ceneurovae.errors import DataWarning
from ceneurovae.evaluation.benchmark import parse_sets
from ceneurovae.simulation import BEHAVIORS, SimConfig, simulate_cohort, stimulus_response

SMALL = {"train.epochs": 40, "model.hidden_dim": 64, "model.latent_dim": 8, "model.n_heads": 4,
         "train.quiet": True}
"""Settings of both fits (beside ``--set``): small, so that the two fits take minutes."""

STIM = "stimulus:stim1"


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) < 1e-12 or np.std(b[ok]) < 1e-12:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _mean(values) -> float:
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def responsive_names(rec, truth) -> dict[str, float]:
    """Identity name -> true gain (units of rec.traces) of the labeled responsive neurons of `rec`."""
    info = rec.meta["stimulus"]["stim1"]
    return {truth.true_labels[n]: g for n, g in zip(info["neurons"], info["gain"]) if rec.labels[n]}


def score_recordings(trained, test: dict, truth: dict, seed: int) -> dict:
    """From-behavior and imputation correlations on the held-out animals, responsive vs all."""
    fb = {"responsive": [], "all": [], "responsive_off": []}
    imp = {"responsive": [], "all": []}
    for uid, rec in test.items():
        t = truth[uid]
        responsive = set(rec.meta["stimulus"]["stim1"]["neurons"]) if "stim1" in rec.meta["stimulus"] else set()
        pred = trained.run(trained.prepare(rec), from_prior=True).pred
        off = pred
        if STIM in trained.behavior_names:  # the same model with the stimulus channel off (0, known)
            b = rec.behavior.copy()
            b[:, rec.behavior_names.index(STIM)] = 0.0
            off = trained.run(trained.prepare(rec.replace(behavior=b)), from_prior=True).pred
        labeled = rec.identity > 0
        for n in np.flatnonzero(labeled):
            r = _corr(pred[:, n], t.behavior_part[:, n])
            fb["all"].append(r)
            if n in responsive:
                fb["responsive"].append(r)
                fb["responsive_off"].append(_corr(off[:, n], t.behavior_part[:, n]))
        hide = choose_hidden(rec.identity, uid, 0.2, seed)
        out = trained.impute(rec, hide=hide)
        for n in hide:
            r = _corr(out[:, n], rec.traces[:, n])
            imp["all"].append(r)
            if n in responsive:
                imp["responsive"].append(r)
    return {"from_behavior": {k: _mean(v) for k, v in fb.items()},
            "imputation": {k: _mean(v) for k, v in imp.items()},
            "n_responsive": len(fb["responsive"]), "n_labeled": len(fb["all"])}


def score_in_context(trained, test: dict, truth: dict, config: SimConfig) -> dict:
    """What the stimulus channel contributes on the held-out recordings themselves: the
    prediction from the conditioning channels with the recorded stimulus minus that with the
    stimulus off (0, known), against the true response (gain x `stimulus_response` of the
    recorded channel), over the responsive labeled neurons: the correlation over frames and
    neurons, and the regression slope (1: the true size)."""
    if STIM not in trained.behavior_names:
        return {"r": float("nan"), "slope": 0.0}
    pred_all, true_all = [], []
    for rec in test.values():
        info = rec.meta["stimulus"]["stim1"]
        col = rec.behavior_names.index(STIM)
        off = rec.behavior.copy()
        off[:, col] = 0.0
        rec = trained.prepare(rec)
        on_pred = trained.run(rec, from_prior=True).pred
        off_pred = trained.run(rec.replace(behavior=off), from_prior=True).pred
        keep = [j for j, n in enumerate(info["neurons"]) if rec.labels[n]]
        neurons = np.array(info["neurons"])[keep]
        gains = np.array(info["gain"])[keep]
        unit = stimulus_response(rec.behavior[:, col], rec.dt, config)
        pred_all.append((on_pred - off_pred)[:, neurons].ravel())
        true_all.append(np.outer(unit, gains).ravel())
    p, t = np.concatenate(pred_all), np.concatenate(true_all)
    return {"r": _corr(p, t), "slope": float((p @ t) / (t @ t))}


def score_generated(trained, test: dict, truth: dict, config: SimConfig) -> dict:
    """The response `generate` gives to one extra pulse, against the simulator's true response."""
    gains: dict[str, list[float]] = {}
    for uid, rec in test.items():
        for name, g in responsive_names(rec, truth[uid]).items():
            gains.setdefault(name, []).append(g)
    true_gain = {n: float(np.mean(g)) for n, g in gains.items() if n in trained.vocabulary}
    rec = next(iter(test.values()))
    T = min(200, rec.n_frames)
    base = {n: rec.behavior[:T, rec.behavior_names.index(n)] for n in BEHAVIORS}
    pulse = np.zeros(T, np.float32)
    onset, width = T // 4, max(1, int(round(config.stimulus_duration_s / rec.dt)))
    pulse[onset:onset + width] = 1.0
    unit = stimulus_response(pulse, rec.dt, config)
    peak = int(np.argmax(unit))
    others = [n for n in trained.vocabulary.names if n and n not in true_gain]
    if STIM not in trained.behavior_names:  # the model cannot be given the stimulus: no response
        return {"peak_corr": float("nan"), "timecourse_corr": float("nan"), "responsive_abs": 0.0,
                "unresponsive_abs": 0.0, "n_identities": len(true_gain)}
    names = list(true_gain) + others
    scale, trained.behavior_scale = trained.behavior_scale, 1.0  # the model's own response, before calibration
    try:
        off = trained.generate(base, names, dt=rec.dt)
        on = trained.generate({**base, STIM: pulse}, names, dt=rec.dt)
    finally:
        trained.behavior_scale = scale
    diff = on - off
    k = len(true_gain)
    gains_arr = np.array(list(true_gain.values()))
    return {
        "peak_corr": _corr(diff[peak, :k], gains_arr * unit[peak]),
        "timecourse_corr": _mean([_corr(diff[:, j] * np.sign(g), unit) for j, g in enumerate(gains_arr)]),
        "responsive_abs": float(np.abs(diff[onset:, :k]).mean()),
        "unresponsive_abs": float(np.abs(diff[onset:, k:]).mean()) if len(names) > k else float("nan"),
        "true_responsive_abs": float(np.abs(np.outer(unit, gains_arr)[onset:]).mean()),
        "n_identities": k,
    }


def format_table(rows: dict[str, dict]) -> str:
    lines = [f"{'':44s}{'with stimulus':>16s}{'without':>12s}"]

    def line(label, key, sub):
        a, b = (rows[m][key][sub] for m in ("with", "without"))
        lines.append(f"{label:44s}{a:16.3f}{b:12.3f}")

    line("from behavior r vs truth, responsive", "recordings", "fb_responsive")
    line("  the same model, stimulus channel off", "recordings", "fb_responsive_off")
    line("from behavior r vs truth, all labeled", "recordings", "fb_all")
    line("imputation r vs data, hidden responsive", "recordings", "imp_responsive")
    line("imputation r vs data, all hidden", "recordings", "imp_all")
    line("recorded pulses: response r (responsive)", "in_context", "r")
    line("recorded pulses: response size / true", "in_context", "slope")
    line("generated pulse: peak r across identities", "generated", "peak_corr")
    line("generated pulse: time-course r (mean)", "generated", "timecourse_corr")
    line("generated pulse: mean |response|, responsive", "generated", "responsive_abs")
    line("generated pulse: mean |response|, others", "generated", "unresponsive_abs")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--animals", type=int, default=10, help="animals to simulate (default 10)")
    p.add_argument("--test", type=int, default=3, help="held-out animals, the last ones (default 3)")
    p.add_argument("--frames", type=int, default=800, help="frames per animal (default 800)")
    p.add_argument("--pulses", type=int, default=12, help="stimulus pulses per animal (default 12)")
    p.add_argument("--seed", type=int, default=0, help="simulator, split and training seed (default 0)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="settings of both fits")
    p.add_argument("--out", help="folder for stimulus.json and table.txt")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", DataWarning)
    sets = {**SMALL, **parse_sets(args.set)}

    t0 = time.perf_counter()
    config = SimConfig(n_frames=args.frames, n_stimuli=1, stimulus_pulses=args.pulses)
    cohort = simulate_cohort(args.animals, args.seed, config)
    uids = sorted(cohort.datasets)
    train = {u: cohort.datasets[u] for u in uids[:-args.test]}
    test = {u: cohort.datasets[u] for u in uids[-args.test:]}
    truth = {u: cohort.truth[u] for u in test}
    print(f"simulated {args.animals} animals x {args.frames} frames with one stimulus in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)

    rows, times = {}, {}
    for mode, behaviors in (("with", None), ("without", list(BEHAVIORS))):
        t = time.perf_counter()
        cfg = dict(sets) if behaviors is None else {**sets, "data.behaviors": behaviors}
        trained = ceneurovae.fit(train, config=cfg, seed=args.seed)
        times[mode] = time.perf_counter() - t
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            trained.save(Path(args.out) / f"model_{mode}.pt")
        print(f"{mode} stimulus: trained on {trained.behavior_names} in {times[mode]:.0f} s "
              f"(behavior_scale {trained.behavior_scale:g}, linear mix {trained.linear_mix:g})", flush=True)
        rec_scores = score_recordings(trained, test, truth, args.seed)
        rows[mode] = {
            "recordings": {"fb_responsive": rec_scores["from_behavior"]["responsive"],
                           "fb_responsive_off": rec_scores["from_behavior"]["responsive_off"],
                           "fb_all": rec_scores["from_behavior"]["all"],
                           "imp_responsive": rec_scores["imputation"]["responsive"],
                           "imp_all": rec_scores["imputation"]["all"],
                           "n_responsive": rec_scores["n_responsive"], "n_labeled": rec_scores["n_labeled"]},
            "generated": score_generated(trained, test, truth, config),
            "in_context": score_in_context(trained, test, truth, config),
            "linear_mix": trained.linear_mix,
            "behavior_scale": trained.behavior_scale,
        }
    table = format_table(rows)
    n = rows["with"]["recordings"]
    text = (f"held-out animals: {len(test)}; labeled neurons: {n['n_labeled']}, of which responsive: "
            f"{n['n_responsive']}; true mean |response| of responsive identities to the pulse: "
            f"{rows['with']['generated']['true_responsive_abs']:.3f}\n\n{table}")
    print()
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "table.txt").write_text(text + "\n", encoding="utf-8")
        with open(out / "stimulus.json", "w") as fh:
            json.dump({"rows": rows, "times_s": times, "settings": sets, "args": vars(args)}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
