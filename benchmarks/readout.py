"""The decoder's read-out: a factorized product against an MLP per neuron, speed and memory against N, and quality.

::

    python benchmarks/readout.py [--neurons 50 150 300 600] [--batch 32] [--quality] [--epochs E]
                                 [--readouts factorized mlp] [--out DIR]

``model.readout``:

- ``factorized`` (the default): ``x_hat[t, n] = c_t . w_v(n) + a_v(n)``, one (H,) vector per
  identity; for a batch, a (B, T, H) x (B, N, H) product: cost O(B T N H), and the only
  (B, T, N) tensor is the prediction itself;
- ``mlp``: ``x_hat[t, n] = MLP([c_t, e_v(n)])``, the context concatenated with an identity
  embedding and passed through a hidden layer for every neuron: a (B, T, N, H) tensor, kept
  for the backward pass, twice.

**Speed and memory** (synthetic batches of B windows of 100 frames; every animal records all
N identities of a vocabulary of N + 1, so the read-in grows with N too): median time of a
whole training step (forward, backward, AdamW) and of the read-out alone (forward +
backward), and the peak resident memory of a fresh process running the steps, minus its
memory before the first step. Each (N, read-out) runs in its own process.

**Quality** (``--quality``): both read-outs trained through ``ceneurovae.fit`` on the simulated
cohort as in ``benchmarks/quality.py`` (40 animals, the last 8 held out, the package defaults
with early stopping, or ``--epochs E`` epochs for both) and scored by ``evaluate`` on the
held-out animals (no baselines): imputation R² and its fraction of the noise ceiling,
reconstruction R² against the noiseless truth, behavior-only R².
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from ceneurovae.evaluation import timing

READOUTS = ("factorized", "mlp")


def synthetic_batch(B: int, T: int, N: int, D: int = 3, P: int = 100, seed: int = 0):
    """A `Batch` of B windows in which every animal records identities 1..N."""
    import torch

    from ceneurovae.data import Batch

    g = torch.Generator().manual_seed(seed)
    ones = torch.ones
    return Batch(
        x=torch.randn(B, T, N, generator=g), mask=ones(B, T, N, dtype=torch.bool),
        behavior=torch.randn(B, T, D, generator=g), behavior_mask=ones(B, T, D, dtype=torch.bool),
        behavior_past=torch.randn(B, P, D, generator=g), behavior_past_mask=ones(B, P, D, dtype=torch.bool),
        identity=torch.arange(1, N + 1).repeat(B, 1), pad=torch.zeros(B, T, dtype=torch.bool),
        animal=torch.zeros(B, dtype=torch.int64), start=torch.zeros(B, dtype=torch.int64),
    )


def child_speed(N: int, readout: str, B: int, repeat: int = 5) -> dict:
    import torch

    from ceneurovae.model import NeuroBehaviorVAE, VAEConfig
    from ceneurovae.optimizer import build_optimizer
    from ceneurovae.train import TrainConfig, run_step

    torch.manual_seed(0)
    model = NeuroBehaviorVAE(VAEConfig(n_identities=N + 1, behavior_dim=3, readout=readout))
    optim = build_optimizer(model, lr=1e-3)
    batch = synthetic_batch(B, 100, N)
    cfg = TrainConfig()
    gen = torch.Generator().manual_seed(0)
    before = timing.rss_mb()

    def step():
        stats = run_step(model, batch, cfg, 1.0, gen)
        optim.zero_grad(set_to_none=True)
        stats["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optim.step()

    def read_out():
        ctx = torch.randn(B, 100, model.cfg.hidden_dim, requires_grad=True)
        model.decoder.read_out(ctx, batch.identity).square().sum().backward()

    times = {name: timing.median_time(fn, repeat, warmup=2) for name, fn in (("step", step), ("read_out", read_out))}
    return {"N": N, "readout": readout, "step_s": times["step"], "read_out_s": times["read_out"],
            "rss_before_mb": before, "peak_mb": timing.peak_rss_mb(),
            "params": sum(p.numel() for p in model.parameters())}


def child_quality(readout: str, epochs: int | None) -> dict:
    import ceneurovae
    from ceneurovae.evaluate import evaluate
    from ceneurovae.evaluation.benchmark import split_cohort
    from ceneurovae.simulate import simulate_cohort

    cohort = simulate_cohort(n_animals=40, seed=0)
    overrides = {"model.readout": readout}
    if epochs:
        overrides.update({"train.epochs": epochs})
    cfg = ceneurovae.Config().with_overrides(overrides)
    train, test, truth, val_uids = split_cohort(cohort, 8, cfg.data.val_fraction, 0)
    t = time.perf_counter()
    trained = ceneurovae.fit(train, cfg, val_uids=val_uids, seed=0, quiet=True, device="cpu")
    fit_s = time.perf_counter() - t
    peak = timing.peak_rss_mb()
    ev = evaluate(trained, test, truth, train_datasets=None, baselines=False, seed=0)
    m = ev.summary["methods"]["model"]
    return {
        "readout": readout, "epochs": len(trained.history), "fit_s": fit_s,
        "epoch_s": statistics.median(h.seconds for h in trained.history), "peak_train_mb": peak,
        "impute": m["imputation"]["mean"], "impute_ceiling": m["fraction_of_ceiling"]["imputation"]["fraction_mean"],
        "recon_truth": m["reconstruction_vs_signal"]["mean"], "behavior": m["behavior_only"]["mean"],
        "states": m["internal_states"]["mean"],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, nargs="+", default=[50, 150, 300, 600], help="N values (default 50 150 300 600)")
    p.add_argument("--readouts", nargs="+", default=list(READOUTS), choices=READOUTS)
    p.add_argument("--batch", type=int, default=32, help="windows per batch (default 32, the package default)")
    p.add_argument("--quality", action="store_true", help="also train both read-outs on the simulated cohort and score them")
    p.add_argument("--epochs", type=int, help="epochs for the quality runs (default: the package default, early stopping on)")
    p.add_argument("--no-speed", action="store_true", help="skip the speed table")
    p.add_argument("--out", help="folder for readout.json and readout.txt")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        res = child_speed(int(rest[0]), rest[1], args.batch) if kind == "speed" else child_quality(rest[0], args.epochs)
        print(json.dumps(res))
        return 0

    me = Path(__file__)
    out = {"machine": timing.machine_line()}
    print(out["machine"], flush=True)
    lines = [f"machine: {out['machine']}", ""]
    if not args.no_speed:
        rows, results = [], []
        for N in args.neurons:
            for r in args.readouts:
                res = timing.run_child(me, ["--child", "speed", str(N), r, "--batch", str(args.batch)])
                results.append(res)
                rows.append([str(N), r, 1e3 * res["step_s"], 1e3 * res["read_out_s"],
                             res["peak_mb"] - res["rss_before_mb"], res["peak_mb"]])
                print(f"  N={N} {r}: step {1e3 * res['step_s']:.0f} ms", flush=True)
        out["speed"] = results
        lines += [f"training step on synthetic batches: B={args.batch} windows x 100 frames x N neurons "
                  "(vocabulary N + 1), package defaults (H=128, Z=16)",
                  timing.table(["N", "read-out", "step ms", "read-out ms", "step memory MB", "peak RSS MB"], rows,
                               {2: "{:.0f}", 3: "{:.1f}", 4: "{:.0f}", 5: "{:.0f}"}),
                  "read-out ms: the read-out alone, forward + backward; step memory: peak RSS of the "
                  "process minus its RSS before the first step", ""]
    if args.quality:
        rows, results = [], []
        for r in args.readouts:
            extra = ["--epochs", str(args.epochs)] if args.epochs else []
            res = timing.run_child(me, ["--child", "quality", r, *extra], timeout=4 * 3600)
            results.append(res)
            rows.append([r, str(res["epochs"]), res["fit_s"], res["epoch_s"], res["peak_train_mb"], res["impute"],
                         res["impute_ceiling"], res["recon_truth"], res["behavior"], res["states"]])
            print(f"  {r}: impute/ceiling {res['impute_ceiling']:.3f} in {res['fit_s']:.0f} s", flush=True)
        out["quality"] = results
        budget = f"{args.epochs} epochs each" if args.epochs else "package defaults, early stopping"
        lines += [f"quality: 40 simulated animals (seed 0), 32 train (6 of them for early stopping), 8 held out; {budget}",
                  timing.table(["read-out", "epochs", "fit s", "s/epoch", "peak MB", "impute R²", "impute/ceil",
                                "recon* R²", "behavior R²", "states R²"], rows,
                               {2: "{:.0f}", 3: "{:.1f}", 4: "{:.0f}", 5: "{:.3f}", 6: "{:.3f}", 7: "{:.3f}",
                                8: "{:.3f}", 9: "{:.3f}"}),
                  "recon*: reconstruction vs the noiseless truth; states: latent -> internal states, CV R²", ""]
    timing.publish("\n".join(lines), out, args.out, "readout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
