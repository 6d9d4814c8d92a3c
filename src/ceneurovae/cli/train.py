"""``ceneurovae train``: train on recordings, into a run folder.

Examples::

    ceneurovae train --print-config > run.yaml
    ceneurovae train --config run.yaml --data cohort.h5 --out runs/first
    ceneurovae train --config run.yaml --set model.latent_dim=8 train.epochs=20
    ceneurovae train --resume runs/first
    torchrun --nproc_per_node=2 -m ceneurovae train --config run.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..errors import ConfigError
from .options import add_read_options, check_writable, new_run_folder, read_data, with_command_line

__all__ = ["add_parser", "run"]


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file with data/model/train sections (see --print-config)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="override settings, e.g. model.latent_dim=8 train.lr=0.001")
    parser.add_argument("--data", nargs="+", help="recordings to read (cohort file, folder, JSON files); overrides data.path")
    parser.add_argument("--out", help="run folder (default: runs/<date-time>)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint "
                        "(with its own data and settings; --set may change only train.quiet/tensorboard/compile/amp "
                        "and data.path/num_workers)")
    parser.add_argument("--overwrite", action="store_true",
                        help="if --out already holds a run, move it aside to <out>.replaced-<date-time> first")
    parser.add_argument("--val-uids", nargs="+", help="animals to hold out for validation")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved configuration as YAML, each setting with its documentation, and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_read_options(parser, from_config=True)
    parser.set_defaults(func=run)


def resolve(args: argparse.Namespace):
    from ..config import Config, load_config

    if args.resume:
        cfg_path = os.path.join(args.resume, "config.yaml")
        if not os.path.isfile(cfg_path):
            raise ConfigError(f"--resume {args.resume}: no config.yaml there; is it a run folder?")
        cfg = Config.from_yaml(cfg_path)
    else:
        cfg = load_config(args.config)
    cfg = with_command_line(cfg, args)
    if args.quiet:
        cfg.train.quiet = True
    return cfg


def run(args: argparse.Namespace) -> int:
    cfg = resolve(args)
    if args.print_config:
        sys.stdout.write(cfg.to_yaml(comments=True))
        return 0
    if not cfg.data.path:
        raise ConfigError("no data: give --data PATH (or data.path in the config); `ceneurovae demo` trains on a simulated cohort")
    out = args.resume or args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    if args.resume:
        check_writable(out)
    else:
        new_run_folder(out, args.overwrite)
    from ..training import distributed_context

    with distributed_context(args.device) as device:
        from .. import api

        datasets = read_data(cfg.data.path, cfg.read)
        resume = os.path.join(args.resume, "last.pt") if args.resume else None
        val_uids = args.val_uids
        if resume and val_uids is None:
            from ..training import load_checkpoint

            val_uids = load_checkpoint(resume).get("val_uids")
        trained = api.fit(datasets, cfg, val_uids=val_uids, run_dir=out, device=device, resume=resume)
        if api.is_main_process():
            print(f"trained {trained}")
            print(f"run folder: {os.path.abspath(out)}")
    return 0
