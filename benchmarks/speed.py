"""Speed and memory on this machine: import, training, inference, the demo, and where a step's time goes.

::

    python benchmarks/speed.py [--animals 40] [--test 8] [--epochs 3] [--threads N]
                               [--no-profile] [--demo] [--out DIR] [--set key=value ...]

Every measurement runs in a fresh Python process, so its peak memory is its own:

- **import**: wall time of ``python -c "import ceneurovae"`` (median of 5), beside
  ``python -c "import torch"`` and an empty interpreter;
- **training**: the simulated cohort (`simulate_cohort`), split as in ``benchmarks/quality.py``
  (the last `--test` animals held out, a seeded 20% of the rest for early stopping), trained
  through ``ceneurovae.fit`` at the package defaults for `--epochs` epochs (no early stopping).
  Reported: seconds per epoch (training + validation), training throughput in windows per
  second (training windows / (epoch - validation pass)), the first epoch (which pays one-time
  costs) apart, and the process's peak resident memory (VmHWM) at the end of training;
- **inference** on one held-out 1600-frame recording, with the trained model: ``reconstruct``,
  ``impute`` (20% of the labeled neurons hidden), ``from_behavior``, ``latents`` (median of 3);
- **where the time goes** (``--no-profile`` to skip): the parts of one training step run
  alone, forward and backward, on the shapes of real batches (median over the epoch's
  batches), beside the whole step; and the top operators of ``torch.profiler``;
- **demo** (``--demo``): ``ceneurovae demo`` end to end in a subprocess, with an empty cache
  folder (``CENEUROVAE_CACHE``), its own phase times and its peak memory.

The load average is printed first: other work on the machine distorts every number here
(on 2 cores a second busy process can make training 10x slower), so measure on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ceneurovae.evaluation.timing import (
    child_env,
    machine_line,
    median_time,
    peak_rss_mb,
    publish,
    rss_mb,
    run_child,
    table,
)


# -- the step's parts, alone -----------------------------------------------------------------
def step_parts(model, optim, batches, cfg, beta: float = 1.0) -> dict[str, float]:
    """Median seconds of each part of a training step, forward + backward, run alone.

    Each part gets as inputs leaf tensors shaped as in the real step (computed once per batch
    by a full forward pass), and a random gradient for its output; parameters accumulate
    their gradients as in the real step. ``step`` is the whole step as `fit_model` runs it.
    """
    import torch

    from ceneurovae.model.loss import elbo_loss
    from ceneurovae.model.vae import ModelOutput
    from ceneurovae.training import augmentation, run_step

    enc, dec = model.encoder, model.decoder
    gen = torch.Generator().manual_seed(0)
    parts: dict[str, list[float]] = {}

    def timed(name, fn):
        t = time.perf_counter()
        fn()
        parts.setdefault(name, []).append(time.perf_counter() - t)

    def backward(out):
        outs = out if isinstance(out, tuple) else (out,)
        torch.autograd.backward([o for o in outs if o.requires_grad],
                                [torch.randn_like(o) for o in outs if o.requires_grad])

    def leaf(t):
        return t.detach().clone().requires_grad_(True)

    model.train()
    for batch in batches:
        aug = augmentation(batch, cfg, gen)
        with torch.no_grad():
            feats = model.behavior_features(batch.behavior, batch.behavior_mask, batch.behavior_past,
                                            batch.behavior_past_mask, aug["drop_behavior"])
            lin, fac = enc.read_in(batch.x, aug["encoder_mask"], batch.identity)
            h0 = lin + enc.factors_in(fac)
            mu, logvar = enc(batch.x, aug["encoder_mask"], batch.identity, feats, batch.pad)
            z = model.reparameterize(mu, logvar)
            ctx = dec.context_of(z, feats)
            out = model(batch.x, batch.mask, batch.behavior, batch.identity, **batch.model_inputs(), **aug)

        timed("augmentation (masks)", lambda: augmentation(batch, cfg, gen))
        timed("behavior filters", lambda: backward(model.behavior_features(
            batch.behavior, batch.behavior_mask, batch.behavior_past, batch.behavior_past_mask, aug["drop_behavior"])))

        def read_in():
            lin_, fac_ = enc.read_in(batch.x, aug["encoder_mask"], batch.identity)
            backward(lin_ + enc.factors_in(fac_))

        timed("encoder read-in (identity + factors)", read_in)

        def backbone():
            h = leaf(h0)
            f = leaf(feats)
            h = h + enc.behavior_in(f)
            h = enc.drop(enc.norm(h) + enc.positional(h.shape[1]))
            m, lv = enc.head(enc.backbone(h, batch.pad)).chunk(2, dim=-1)
            backward((m, lv.clamp(-12.0, 8.0)))

        timed("encoder backbone (+ norm, head)", backbone)
        timed("decoder context", lambda: backward(dec.context_of(leaf(z), leaf(feats))))
        timed("decoder read-out", lambda: backward(dec.read_out(leaf(ctx), batch.identity)))

        def loss():
            o = ModelOutput(pred=leaf(out.pred), mu=leaf(out.mu), logvar=leaf(out.logvar), z=out.z,
                            log_sigma=dec.log_sigma(batch.identity).squeeze(-1))
            stats = elbo_loss(o, batch.x, batch.mask, batch.identity, beta=beta, kind=model.cfg.recon_loss,
                              huber_delta=model.cfg.huber_delta, pad=batch.pad)
            stats["loss"].backward()

        timed("loss (likelihood + KL)", loss)

        def opt():
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
            optim.step()

        timed("optimizer (clip + AdamW)", opt)
        optim.zero_grad(set_to_none=True)

        def step():
            stats = run_step(model, batch, cfg, beta, gen)
            optim.zero_grad(set_to_none=True)
            stats["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
            optim.step()

        timed("whole step", step)
    return {k: statistics.median(v) for k, v in parts.items()}


def top_ops(model, optim, batches, cfg, n: int = 10) -> list[tuple[str, float, int]]:
    """torch.profiler over whole steps: (operator, ms of self CPU time per step, calls per step)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from ceneurovae.train import run_step

    gen = torch.Generator().manual_seed(1)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            stats = run_step(model, batch, cfg, 1.0, gen)
            optim.zero_grad(set_to_none=True)
            stats["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
            optim.step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    k = len(batches)
    return [(e.key, e.self_cpu_time_total / 1e3 / k, round(e.count / k)) for e in events[:n]]


# -- the training child ----------------------------------------------------------------------
def child_train(args) -> dict:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    import ceneurovae
    from ceneurovae.api import common_vocabulary
    from ceneurovae.baselines import choose_hidden
    from ceneurovae.data import build_loaders
    from ceneurovae.evaluation.benchmark import parse_sets, split_cohort
    from ceneurovae.simulate import simulate_cohort
    from ceneurovae.train import evaluate_loss

    out: dict = {"threads": torch.get_num_threads(), "rss_start_mb": rss_mb()}
    t = time.perf_counter()
    cohort = simulate_cohort(n_animals=args.animals, seed=0)
    out["simulate_s"] = time.perf_counter() - t
    cfg = ceneurovae.Config().with_overrides({**parse_sets(args.set), "train.epochs": args.epochs,
                                              "train.early_stopping": 0})
    train, test, _, val_uids = split_cohort(cohort, args.test, cfg.data.val_fraction, 0)
    del cohort
    stamps = []
    t = time.perf_counter()
    trained = ceneurovae.fit(train, cfg, val_uids=val_uids, seed=0, quiet=True, device="cpu",
                             on_epoch_end=lambda r: stamps.append(time.perf_counter()))
    out["fit_s"] = time.perf_counter() - t
    out["setup_s"] = stamps[0] - t - trained.history[0].seconds
    out["epoch_s"] = [h.seconds for h in trained.history]
    out["peak_train_mb"] = peak_rss_mb()

    _, recs = common_vocabulary(list(train.values()))
    c = trained.config
    loader_train, loader_val, _, _ = build_loaders(
        recs, c.data.window_T, c.data.stride, c.train.batch_size, val_uids=trained.val_uids,
        behaviors=trained.behavior_names, scaler=trained.scaler, history=c.model.behavior_history)
    out["train_windows"], out["val_windows"] = len(loader_train.dataset), len(loader_val.dataset)
    out["batches"] = len(loader_train)
    out["val_s"] = median_time(lambda: evaluate_loss(trained.model, loader_val, c.train, "cpu"))
    out["load_s"] = median_time(lambda: [None for _ in loader_train])

    rec = test[sorted(test)[0]]
    hide = choose_hidden(rec.identity, rec.uid, 0.2, 0)
    out["recording"] = {"uid": rec.uid, "frames": rec.n_frames, "neurons": rec.n_neurons, "hidden": len(hide)}
    out["inference_s"] = {
        "reconstruct": median_time(lambda: trained.reconstruct(rec)),
        "impute": median_time(lambda: trained.impute(rec, hide=hide)),
        "from_behavior": median_time(lambda: trained.from_behavior(rec)),
        "latents": median_time(lambda: trained.latents(rec)),
    }
    if not args.no_profile:
        from ceneurovae.optimizer import build_optimizer

        model = trained.model
        optim = build_optimizer(model, lr=c.train.lr, weight_decay=c.train.weight_decay)
        batches = list(loader_train)
        step_parts(model, optim, batches[:2], c.train)  # warm-up
        out["parts_s"] = step_parts(model, optim, batches, c.train)
        out["top_ops"] = top_ops(model, optim, batches[:10], c.train)
    out["peak_end_mb"] = peak_rss_mb()
    return out


# -- the parent: measurements in subprocesses, tables ----------------------------------------
def import_times(repeat: int = 5) -> dict[str, float]:
    out = {}
    for name, code in (("python", "pass"), ("torch", "import torch"), ("ceneurovae", "import ceneurovae")):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=child_env(), check=True)
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
    return out


def run_demo() -> dict:
    """``ceneurovae demo`` with a cold cache; its printed phase times, wall time and peak memory."""
    with tempfile.TemporaryDirectory(prefix="ceneurovae-demo-") as tmp:
        env = child_env()
        env["CENEUROVAE_CACHE"] = os.path.join(tmp, "cache")
        log_path = os.path.join(tmp, "demo.log")
        t = time.perf_counter()
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "ceneurovae", "demo", "--quiet", "--out",
                                     os.path.join(tmp, "run")], env=env, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        text = Path(log_path).read_text()
    if proc.returncode != 0:
        sys.exit(f"ceneurovae demo failed:\n{text[-3000:]}")
    phases = dict(re.findall(r"(simulate|train|evaluate|report|total) (\d+) s", text.split("times:")[-1]))
    scale = 1 if sys.platform == "darwin" else 1024
    epochs = re.search(r"trained in \d+ s \((\d+) epochs\)", text)
    return {"wall_s": wall, "phases_s": {k: float(v) for k, v in phases.items()},
            "epochs": int(epochs.group(1)) if epochs else None,
            "peak_mb": usage.ru_maxrss * scale / 2**20,
            "impute_ceiling": re.search(r"^model\s.*", text, re.M).group(0) if re.search(r"^model\s", text, re.M) else ""}


def report(res: dict) -> str:
    lines = [f"machine: {res['machine']}", ""]
    imp = res["import"]
    lines += [table(["import (fresh interpreter, median of 5)", "s"],
                    [["python -c pass", imp["python"]], ["import torch", imp["torch"]],
                     ["import ceneurovae", imp["ceneurovae"]]], {1: "{:.2f}"}), ""]
    tr = res["train"]
    ep = tr["epoch_s"]
    later = ep[1:] or ep
    epoch = statistics.median(later)
    train_part = epoch - tr["val_s"]
    lines += [
        f"training: {tr['train_windows']} windows of 100 frames from {res['args']['animals'] - res['args']['test']} "
        f"animals ({tr['batches']} batches of 32), {tr['val_windows']} validation windows; "
        f"{len(ep)} epochs, {tr['threads']} threads",
        table(["training", "value"], [
            ["throughput (windows/s, training steps)", f"{tr['train_windows'] / train_part:.0f}"],
            ["time per epoch (s; training + validation)", f"{epoch:.2f}"],
            ["  of which validation pass (s)", f"{tr['val_s']:.2f}"],
            ["  of which data loading (s)", f"{tr['load_s']:.2f}"],
            ["first epoch (s; one-time costs included)", f"{ep[0]:.2f}"],
            ["setup before the first epoch (s)", f"{tr['setup_s']:.2f}"],
            ["time per step (ms)", f"{1e3 * train_part / tr['batches']:.0f}"],
            ["peak memory at the end of training (MB, VmHWM)", f"{tr['peak_train_mb']:.0f}"],
            ["  memory before importing the package (MB)", f"{tr['rss_start_mb']:.0f}"],
            ["simulating the cohort (s)", f"{tr['simulate_s']:.1f}"],
        ]), ""]
    r = tr["recording"]
    lines += [table([f"inference on {r['uid']} ({r['frames']} frames, {r['neurons']} neurons)", "s"],
                    [[k + (f" ({r['hidden']} hidden)" if k == "impute" else ""), v]
                     for k, v in tr["inference_s"].items()], {1: "{:.3f}"}), ""]
    if "parts_s" in tr:
        parts = dict(tr["parts_s"])
        whole = parts.pop("whole step")
        total = sum(parts.values())
        rows = [[k, 1e3 * v, 100 * v / whole] for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
        rows.append(["data loading (collate)", 1e3 * tr["load_s"] / tr["batches"], 100 * tr["load_s"] / tr["batches"] / whole])
        rows.append(["sum of the parts", 1e3 * total, 100 * total / whole])
        rows.append(["whole step (forward, backward, clip, AdamW)", 1e3 * whole, 100.0])
        lines += ["where a training step's time goes (each part alone, forward + backward, median over an epoch's batches)",
                  table(["part", "ms", "% of step"], rows, {1: "{:.1f}", 2: "{:.0f}"}), ""]
        lines += ["top operators (torch.profiler, self CPU time per step)",
                  table(["operator", "ms", "calls"], [[k[:60], ms, n] for k, ms, n in tr["top_ops"]],
                        {1: "{:.1f}", 2: "{}"}), ""]
    if res.get("demo"):
        d = res["demo"]
        ph = d["phases_s"]
        lines += [table(["ceneurovae demo (cold cache)", "value"], [
            ["wall time (s)", f"{d['wall_s']:.0f}"],
            ["  simulate / train / evaluate / report (s)",
             " / ".join(f"{ph.get(k, float('nan')):.0f}" for k in ("simulate", "train", "evaluate", "report"))],
            ["  epochs (early stopping)", str(d["epochs"])],
            ["peak memory (MB)", f"{d['peak_mb']:.0f}"],
        ]), d["impute_ceiling"] and f"demo's model line: {d['impute_ceiling']}", ""]
    return "\n".join(x for x in lines if x is not None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--animals", type=int, default=40, help="animals to simulate (default 40)")
    p.add_argument("--test", type=int, default=8, help="held-out animals (default 8)")
    p.add_argument("--epochs", type=int, default=3, help="epochs to time (default 3; the first is reported apart)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides, e.g. model.hidden_dim=64")
    p.add_argument("--no-profile", action="store_true", help="skip the breakdown of a step")
    p.add_argument("--demo", action="store_true", help="also time `ceneurovae demo` end to end (a few minutes)")
    p.add_argument("--out", help="folder for speed.json and speed.txt")
    p.add_argument("--child", choices=["train"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child_train(args)))
        return 0
    if not 1 <= args.test < args.animals - 1 or args.epochs < 1:
        sys.exit("need --test in [1, animals - 2] and --epochs >= 1")
    res = {"machine": machine_line(), "args": vars(args)}
    print(res["machine"], flush=True)
    res["import"] = import_times()
    child_args = ["--child", "train", "--animals", str(args.animals), "--test", str(args.test),
                  "--epochs", str(args.epochs), "--threads", str(args.threads)]
    if args.set:
        child_args += ["--set", *args.set]
    if args.no_profile:
        child_args.append("--no-profile")
    res["train"] = run_child(Path(__file__), child_args)
    if args.demo:
        res["demo"] = run_demo()
    res["load_after"] = os.getloadavg()
    publish(report(res), res, args.out, "speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
