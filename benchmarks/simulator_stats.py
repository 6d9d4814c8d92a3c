"""Simulated cohort against the documented statistics of the real data (Atanas & Kim 2023).

Prints a table of simulated vs documented numbers and draws ``docs/figures/simulator_vs_real.png``::

    python benchmarks/simulator_stats.py [--animals 40] [--seed 0] [--out docs/figures/simulator_vs_real.png]

Documented numbers are those of ``DATA_FORMATS.md`` (the 68 recordings of Atanas & Kim 2023).
Where the two real recordings of Dag et al. 2023 (same lab and pipeline, no NeuroPAL) lie
beside the checkout (``../shared/data/real``), their numbers are shown too, as a second
opinion on shapes the documentation does not give (autocorrelations, reversal rate).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ceneurovae.simulation import BEHAVIORS, SimConfig, simulate_cohort

ROOT = Path(__file__).resolve().parents[1]
# The shared reference data lie beside the checkout (or beside the folder of worktrees).
REAL = next((p / "shared" / "data" / "real" for p in ROOT.parents if (p / "shared" / "data" / "real").is_dir()),
            ROOT.parent / "shared" / "data" / "real")

# DATA_FORMATS.md: the documented statistics of the real recordings.
DOCUMENTED = {
    "velocity mean (mm/s)": 0.01,
    "velocity std (mm/s)": 0.06,
    "velocity 5th pct (mm/s)": -0.10,
    "velocity 95th pct (mm/s)": 0.10,
    "velocity min (mm/s)": -0.26,
    "velocity max (mm/s)": 0.26,
    "head curvature std (rad)": 0.5,
    "pumping std (pumps/s)": 1.3,
    "reversals per minute": "a few",
    "time step (s)": 0.6,
    "frames per animal": "1544-1615",
    "neurons per animal (median)": 138,
    "neurons per animal (range)": "105-163",
    "labeled per animal (mean)": 88,
    "labeled per animal (range)": "60-111",
    "identities in the cohort": "~150",
}
LAGS_S = np.array([0.6, 1.2, 1.8, 3.0, 6.0, 12.0, 30.0, 60.0])


def autocorr(x: np.ndarray, lag: int) -> float:
    """Mean autocorrelation at `lag` frames of the columns of x (T,) or (T, M)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    x = x - x.mean(0)
    return float(np.mean((x[:-lag] * x[lag:]).sum(0) / (x * x).sum(0)))


def reversal_runs(rec) -> np.ndarray:
    return np.asarray(rec.events["reversals"], dtype=int).reshape(-1, 2)


def simulated_stats(cohort) -> tuple[dict, dict]:
    recs = list(cohort.datasets.values())
    col = {b: BEHAVIORS.index(b) for b in BEHAVIORS}
    v = np.concatenate([r.behavior[:, col["velocity"]] for r in recs])
    hc = np.concatenate([r.behavior[:, col["head_curvature"]] for r in recs])
    pump = np.concatenate([r.behavior[:, col["pumping"]] for r in recs])
    per_animal = {
        "velocity std": np.array([r.behavior[:, 0].std() for r in recs]),
        "velocity 5th pct": np.array([np.percentile(r.behavior[:, 0], 5) for r in recs]),
        "velocity 95th pct": np.array([np.percentile(r.behavior[:, 0], 95) for r in recs]),
        "head curvature std": np.array([r.behavior[:, 1].std() for r in recs]),
        "pumping std": np.array([r.behavior[:, 2].std() for r in recs]),
        "reversals / min": np.array([len(reversal_runs(r)) / (r.n_frames * r.dt / 60) for r in recs]),
        "time step": np.array([r.dt for r in recs]),
        "neurons": np.array([r.n_neurons for r in recs]),
        "labeled": np.array([r.n_labeled for r in recs]),
    }
    rates = per_animal["reversals / min"]
    pooled = {
        "velocity mean (mm/s)": v.mean(),
        "velocity std (mm/s)": v.std(),
        "velocity 5th pct (mm/s)": np.percentile(v, 5),
        "velocity 95th pct (mm/s)": np.percentile(v, 95),
        "velocity min (mm/s)": v.min(),
        "velocity max (mm/s)": v.max(),
        "head curvature std (rad)": hc.std(),
        "pumping std (pumps/s)": pump.std(),
        "reversals per minute": f"{rates.mean():.2f} ({rates.min():.1f}-{rates.max():.1f})",
        "time step (s)": per_animal["time step"].mean(),
        "frames per animal": f"{recs[0].n_frames}",
        "neurons per animal (median)": float(np.median(per_animal["neurons"])),
        "neurons per animal (range)": f"{per_animal['neurons'].min()}-{per_animal['neurons'].max()}",
        "labeled per animal (mean)": per_animal["labeled"].mean(),
        "labeled per animal (range)": f"{per_animal['labeled'].min()}-{per_animal['labeled'].max()}",
        "identities in the cohort": len(cohort.vocabulary) - 1,
    }
    return pooled, per_animal


def real_recordings() -> list[dict]:
    """The two real recordings of Dag et al. 2023, read with h5py, if they are beside the checkout."""
    if not REAL.is_dir():
        return []
    import h5py

    out = []
    for path in sorted(REAL.glob("*-data.h5")):
        with h5py.File(path, "r") as f:
            traces = f["gcamp/trace_array"][()]
            n = traces.shape[0]
            ts = f["timing/timestamp_confocal"][()][:n]  # one file has more timestamps than frames
            dt = float(np.median(np.diff(ts)))
            out.append({
                "name": path.stem.replace("-data", ""),
                "velocity": f["behavior/velocity"][()],
                "head_curvature": f["behavior/head_angle"][()],
                "pumping": f["behavior/pumping"][()],
                "traces": traces,
                "dt": dt,
                "reversals / min": f["behavior/reversal_events"][()].shape[1] / (n * dt / 60),
            })
    return out


def fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"
    return str(x)


def print_table(pooled: dict, real: list[dict]) -> None:
    header = f"{'statistic':30s} {'simulated':>18s} {'documented':>12s}"
    if real:
        header += f" {'real (Dag 2023)':>22s}"
    print(header)
    print("-" * len(header))
    for key, documented in DOCUMENTED.items():
        line = f"{key:30s} {fmt(pooled[key]):>18s} {fmt(documented):>12s}"
        if real:
            line += f" {real_value(key, real):>22s}"
        print(line)


REAL_STATS = {
    "velocity mean (mm/s)": ("velocity", np.mean),
    "velocity std (mm/s)": ("velocity", np.std),
    "velocity 5th pct (mm/s)": ("velocity", lambda x: np.percentile(x, 5)),
    "velocity 95th pct (mm/s)": ("velocity", lambda x: np.percentile(x, 95)),
    "velocity min (mm/s)": ("velocity", np.min),
    "velocity max (mm/s)": ("velocity", np.max),
    "head curvature std (rad)": ("head_curvature", np.std),
    "pumping std (pumps/s)": ("pumping", np.std),
    "reversals per minute": ("reversals / min", float),
    "time step (s)": ("dt", float),
    "frames per animal": ("velocity", len),
    "neurons per animal (median)": ("traces", lambda x: x.shape[1]),
}


def real_value(key: str, real: list[dict]) -> str:
    if key not in REAL_STATS:
        return ""
    name, fn = REAL_STATS[key]
    return " / ".join(fmt(fn(r[name])) for r in real)


def r2(target: np.ndarray, prediction: np.ndarray, fit_scale: bool = False) -> np.ndarray:
    """R² per neuron of `prediction` against `target` (T, N); optionally after the best scale per neuron."""
    if fit_scale:
        prediction = prediction * (target * prediction).sum(0) / (prediction * prediction).sum(0)
    centered = target - target.mean(0)
    return 1 - ((target - prediction) ** 2).sum(0) / (centered * centered).sum(0)


def print_ground_truth(cohort, seed: int) -> None:
    """Variance shares, the ceiling, and what animal-specific encodings cost a shared model."""
    shares, ceiling, shared = [], [], []
    # Same seed, no per-animal variability: every draw is the same except the deviations.
    same = simulate_cohort(len(cohort.datasets), seed, SimConfig(
        encoding_variability=0.0, tau_variability=0.0, loading_variability=0.0))
    for uid, rec in cohort.datasets.items():
        t = cohort.truth[uid]
        total = rec.traces.var(0)
        shares.append([p.var(0) / total for p in (t.behavior_part, t.internal_part, t.private_part, t.noise)])
        ceiling.append(r2(rec.traces, t.predictable))
        shared.append(r2(rec.traces, same.truth[uid].predictable, fit_scale=True))
    shares = np.concatenate(shares, axis=1).mean(1)
    print("\nground truth (mean over neurons)")
    print(f"  shares of trace variance: behavior {shares[0]:.3f}, internal {shares[1]:.3f}, "
          f"private {shares[2]:.3f}, noise {shares[3]:.3f}")
    print(f"  ceiling R² (behavior + internal parts vs data): {np.concatenate(ceiling).mean():.3f}")
    print(f"  predictable part without per-animal deviations (same states, best scale per neuron) vs data: "
          f"R² {np.concatenate(shared).mean():.3f}")


def draw(cohort, pooled: dict, per_animal: dict, real: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold"})
    fig = plt.figure(figsize=(16, 12.5))
    grid = fig.add_gridspec(3, 3, hspace=0.42, wspace=0.28, height_ratios=[1, 1, 1])
    sim_color, doc_color, real_color = "#1f77b4", "#d62728", "#555555"

    # (a) velocity distribution with documented percentiles.
    ax = fig.add_subplot(grid[0, 0])
    v = np.concatenate([r.behavior[:, 0] for r in cohort.datasets.values()])
    bins = np.linspace(-0.32, 0.32, 65)
    ax.hist(v, bins=bins, density=True, color=sim_color, alpha=0.6, label=f"simulated ({len(cohort.datasets)} animals)")
    for r in real:
        ax.hist(r["velocity"], bins=bins, density=True, histtype="step", color=real_color, lw=1.2,
                label=f"real (Dag et al. 2023) {r['name']}", ls="-" if r is real[0] else "--")
    for q, ls in ((-0.10, "--"), (0.10, "--"), (-0.26, ":"), (0.26, ":")):
        ax.axvline(q, color=doc_color, ls=ls, lw=1.3)
    for q in np.percentile(v, [5, 95]):
        ax.axvline(q, color=sim_color, ls="--", lw=1.3)
    ax.plot([], [], color=doc_color, ls="--", label="documented 5th/95th pct")
    ax.plot([], [], color=doc_color, ls=":", label="documented extremes")
    ax.plot([], [], color=sim_color, ls="--", label="simulated 5th/95th pct")
    ax.set(xlabel="velocity (mm/s)", ylabel="density", title="(a) velocity distribution")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.5)
    ax.legend(fontsize=8, loc="upper left")

    # (b) simulated / documented, per animal.
    ax = fig.add_subplot(grid[0, 1])
    rows = [("velocity std", 0.06), ("velocity 5th pct", -0.10), ("velocity 95th pct", 0.10),
            ("head curvature std", 0.5), ("pumping std", 1.3), ("time step", 0.6),
            ("neurons", 138), ("labeled", 88)]
    for y, (name, doc) in enumerate(rows):
        ratio = per_animal[name] / doc
        ax.scatter(ratio, np.full(ratio.size, y) + np.random.default_rng(y).uniform(-0.15, 0.15, ratio.size),
                   s=9, color=sim_color, alpha=0.5)
        ax.scatter([np.median(ratio)], [y], marker="D", s=40, color="k", zorder=3)
    ax.axvline(1.0, color=doc_color, lw=1.5)
    ax.set_yticks(range(len(rows)), [f"{n} ({d:g})" for n, d in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 2)
    ax.set(xlabel="simulated / documented (1 = documented value)",
           title="(b) per-animal statistics vs documented")
    ax.scatter([], [], s=9, color=sim_color, label="one animal")
    ax.scatter([], [], marker="D", s=40, color="k", label="median")
    ax.legend(fontsize=8, loc="lower right")

    # (c) neurons and labeled neurons per animal.
    ax = fig.add_subplot(grid[0, 2])
    bins = np.arange(50, 171, 5)
    ax.hist(per_animal["neurons"], bins=bins, color=sim_color, alpha=0.7, label="ROIs (simulated)")
    ax.hist(per_animal["labeled"], bins=bins, color="#ff7f0e", alpha=0.7, label="labeled (simulated)")
    ax.axvspan(105, 163, color=sim_color, alpha=0.08, label="documented ROI range 105-163")
    ax.axvspan(60, 111, color="#ff7f0e", alpha=0.08, label="documented labeled range 60-111")
    ax.axvline(138, color=doc_color, ls="--", label="documented median ROIs 138")
    ax.axvline(88, color=doc_color, ls=":", label="documented mean labeled 88")
    ax.set(xlabel="neurons per animal", ylabel="animals", title="(c) neurons per animal")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.7)  # room for the legend above the bars
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="upper left")

    # (d) one animal's behavior.
    rec = cohort.datasets["sim-000"]
    t = rec.timestamps / 60
    join = int(np.argmax(np.diff(rec.timestamps))) + 1  # break the lines where the halves join
    sub = grid[1, :2].subgridspec(3, 1, hspace=0.08)
    units = {"velocity": "velocity\n(mm/s)", "head_curvature": "head curv.\n(rad)", "pumping": "pumping\n(pumps/s)"}
    for i, name in enumerate(BEHAVIORS):
        ax = fig.add_subplot(sub[i])
        ax.plot(t[:join], rec.behavior[:join, i], lw=0.6, color="k")
        ax.plot(t[join:], rec.behavior[join:, i], lw=0.6, color="k")
        for a, b in reversal_runs(rec):
            ax.axvspan(t[a], t[min(b, rec.n_frames - 1)], color=doc_color, alpha=0.2, lw=0)
        ax.set_ylabel(units[name])
        ax.set_xlim(t[0], t[-1])
        if i == 0:
            ax.set_title("(d) behavior of one simulated animal (red: reversals; a pause between the halves)")
        if i < 2:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("time (min)")

    # (e) reversal rate per animal.
    ax = fig.add_subplot(grid[1, 2])
    ax.hist(per_animal["reversals / min"], bins=np.arange(0, 7.01, 0.5), color=sim_color, alpha=0.7,
            label="simulated")
    ax.axvspan(2, 5, color=doc_color, alpha=0.1, label='documented: "a few per minute"')
    for r in real:
        ax.axvline(r["reversals / min"], color=real_color, ls="--", lw=1.3,
                   label="real (Dag et al. 2023)" if r is real[0] else None)
    ax.set(xlabel="reversals per minute", ylabel="animals", title="(e) reversal rate per animal")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)

    # (f) autocorrelation vs real recordings.
    ax = fig.add_subplot(grid[2, :2])
    recs = list(cohort.datasets.values())
    colors = {"velocity": "#1f77b4", "head_curvature": "#2ca02c", "pumping": "#9467bd", "traces": "#ff7f0e"}
    for name, color in colors.items():
        sim = [np.mean([autocorr(r.traces if name == "traces" else r.behavior[:, BEHAVIORS.index(name)],
                                 max(1, round(lag / r.dt))) for r in recs]) for lag in LAGS_S]
        ax.plot(LAGS_S, sim, "-o", color=color, label=f"{name.replace('_', ' ')} (simulated)")
        if real:
            obs = [np.mean([autocorr(r[name], max(1, round(lag / r["dt"]))) for r in real]) for lag in LAGS_S]
            ax.plot(LAGS_S, obs, "--s", color=color, mfc="none", label=f"{name.replace('_', ' ')} (real, Dag 2023)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set(xlabel="lag (s)", ylabel="autocorrelation",
           title="(f) autocorrelation (not documented; real recordings of the same lab for comparison)")
    ax.legend(fontsize=8, ncol=2)

    # (g) time step per animal and the gap.
    ax = fig.add_subplot(grid[2, 2])
    steps = np.concatenate([np.diff(r.timestamps) for r in recs])
    ax.hist(steps[steps < 1.0], bins=np.linspace(0.55, 0.66, 45), color=sim_color, alpha=0.7,
            label="frame steps (simulated)")
    ax.axvline(0.6, color=doc_color, ls="--", label="documented mean step 0.6 s (1.7 Hz)")
    gaps = steps[steps >= 1.0]
    ax.set(xlabel="time between frames (s)", ylabel="steps", title="(g) time step")
    ax.text(0.02, 0.6, f"one gap per animal where\nthe halves join: {gaps.min():.0f}-{gaps.max():.0f} s",
            transform=ax.transAxes, fontsize=9)
    ax.legend(fontsize=8, loc="upper left")

    fig.suptitle("Simulated cohort (ceneurovae.simulate, seed 0) vs documented statistics of "
                 "Atanas & Kim 2023", fontsize=13, fontweight="bold", y=0.93)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--animals", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "simulator_vs_real.png")
    args = parser.parse_args()

    start = time.perf_counter()
    cohort = simulate_cohort(n_animals=args.animals, seed=args.seed)
    elapsed = time.perf_counter() - start
    pooled, per_animal = simulated_stats(cohort)
    real = real_recordings()
    print(f"simulated {args.animals} animals x {cohort.config.n_frames} frames in {elapsed:.2f} s\n")
    print_table(pooled, real)
    print_ground_truth(cohort, args.seed)
    draw(cohort, pooled, per_animal, real, args.out)
    print(f"\nfigure: {args.out}")


if __name__ == "__main__":
    main()
