"""``ceneurovae report RUN``: figures and one HTML page to judge a trained model.

Examples::

    ceneurovae report runs/first                       # data from the run's config.yaml
    ceneurovae report runs/first --data cohort.h5 --out report/ --animals 4

The animals held out from training are analysed (at most ``--animals``); the page is
``RUN/report/index.html`` unless ``--out`` says otherwise. The run's ``metrics.csv`` gives
the training curves and its ``eval.json``, when present, the evaluation summary.
"""

from __future__ import annotations

import argparse
import os

from ..errors import ConfigError
from .messages import progress_printer
from .options import add_read_options, read_data, read_options

__all__ = ["add_parser", "run"]


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder written by `ceneurovae train` (holds best.pt)")
    parser.add_argument("--data", nargs="+", metavar="PATH",
                        help="recordings to analyse (default: data.path of the run's config.yaml)")
    parser.add_argument("--out", metavar="DIR", help="folder for index.html and the figures (default: RUN/report)")
    parser.add_argument("--animals", type=int, default=6, metavar="N",
                        help="analyse at most N animals, held-out ones first (default: 6)")
    parser.add_argument("--neurons", nargs="+", metavar="NAME", help="neurons to show in the reconstruction figure")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    add_read_options(parser, from_config=True)
    parser.set_defaults(func=run)


def _data_paths(args: argparse.Namespace, trained) -> list[str]:
    if args.data:
        return list(args.data)
    paths = None
    cfg_path = os.path.join(args.run, "config.yaml")
    if os.path.isfile(cfg_path):
        from ..config import Config

        paths = Config.from_yaml(cfg_path).data.path
    paths = paths or trained.config.data.path
    if not paths:
        raise ConfigError(
            f"no data for the report: the run {args.run} does not name its data (data.path in config.yaml is empty); "
            "give the recordings with --data PATH"
        )
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise ConfigError(
            f"the data of run {args.run} is not where its config.yaml says ({', '.join(missing)}); "
            "give the recordings with --data PATH"
        )
    return list(paths)


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.run):
        raise ConfigError(f"{args.run} is not a folder; give the run folder written by `ceneurovae train`")
    if not os.path.isfile(os.path.join(args.run, "best.pt")):
        raise ConfigError(f"run folder {args.run} has no best.pt; is training finished (or did it start)?")
    if args.animals < 1:
        raise ConfigError(f"--animals must be at least 1, got {args.animals}")
    from ..report import figures

    figures.require_matplotlib()  # fail before loading anything
    from .. import api
    from ..report import read_metrics, write_report

    trained = api.load(args.run, device=args.device)
    paths = _data_paths(args, trained)
    datasets = read_data(paths, read_options(args, trained.config.read))
    metrics = os.path.join(args.run, "metrics.csv")
    history = read_metrics(metrics) if os.path.isfile(metrics) else None
    evaluation = os.path.join(args.run, "eval.json")
    out = args.out or os.path.join(args.run, "report")
    path = write_report(
        trained, datasets, out,
        history=history,
        evaluation=evaluation if os.path.isfile(evaluation) else None,
        neurons=args.neurons,
        max_animals=args.animals,
        title=f"ceneurovae report: {os.path.basename(os.path.abspath(args.run))}",
        progress=progress_printer("report"),
    )
    print(path)
    return 0
