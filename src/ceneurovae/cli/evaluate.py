"""``ceneurovae evaluate CKPT DATA``: score a trained model on held-out animals, beside baselines.

Examples::

    ceneurovae evaluate runs/first cohort.h5                       # its validation animals
    ceneurovae evaluate model.pt cohort.h5 --truth truth.h5 -o eval.json
    ceneurovae evaluate model.pt new_animals.h5 --train-data cohort.h5

Which animals are held out (scored) and which fit the baselines:

- ``--test-uids`` given: those animals of DATA are held out; the rest of DATA (or
  ``--train-data``) fits the baselines;
- ``--train-data`` given: every animal of DATA not in it is held out;
- otherwise, when DATA holds the checkpoint's validation animals: they are held out, and the
  other animals of DATA fit the baselines (note: validation animals chose the early-stopping
  epoch, a mild optimism; animals never used at all are the unbiased choice);
- otherwise every animal of DATA is held out and no baselines are fitted.

Animals the model was trained on are never scored, nor animals without a labeled neuron whose
identity the model knows (nothing about them can be scored: the command says so and stops
when no other animal is left).
"""

from __future__ import annotations

import argparse

from ..errors import ConfigError
from ..utils import plural
from .messages import progress_printer
from .options import add_read_options, read_data, read_options

__all__ = ["add_parser", "run"]


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="model file (model.pt / best.pt) or run folder")
    parser.add_argument("data", nargs="+", help="recordings (any format import_h5 reads)")
    parser.add_argument("--truth", help="ground-truth file of simulated data (ceneurovae simulate writes truth.h5)")
    parser.add_argument("--train-data", nargs="+", help="training animals to fit the baselines on")
    parser.add_argument("--test-uids", nargs="+", help="animals of DATA to hold out and score")
    parser.add_argument("--hide-fraction", type=float, default=0.2, help="share of labeled neurons hidden per animal (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hidden-neuron choice (default 0)")
    parser.add_argument("--no-baselines", action="store_true", help="score the model only")
    parser.add_argument("-o", "--out", help="write the evaluation as JSON here")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    add_read_options(parser, from_config=True)
    parser.set_defaults(func=run)




def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..data import check_hide_fraction
    from ..evaluation.evaluate import evaluate

    check_hide_fraction(args.hide_fraction, "--hide-fraction")
    trained = api.load(args.checkpoint, device=args.device)
    options = read_options(args, trained.config.read)  # as the model's recordings were read
    data = read_data(args.data, options)
    train = read_data(args.train_data, options) if args.train_data else None
    seen = set(trained.seen_uids)  # its weights' animals, and its linear read-out's
    if args.test_uids:
        missing = sorted(set(args.test_uids) - set(data))
        if missing:
            raise ConfigError(f"--test-uids {missing} are not in {' '.join(args.data)} (it has {sorted(data)[:6]}...)")
        test = {u: data[u] for u in args.test_uids}
        if train is None:
            train = {u: r for u, r in data.items() if u not in test}
        how = "the animals named by --test-uids"
    elif train is not None:
        test = {u: r for u, r in data.items() if u not in train}
        how = "the animals of DATA that are not in --train-data"
    elif trained.val_uids and set(trained.val_uids) <= set(data) and not set(trained.val_uids) & seen:
        test = {u: data[u] for u in trained.val_uids}
        train = {u: r for u, r in data.items() if u not in test}
        how = ("the checkpoint's validation animals (they chose its early-stopping epoch; "
               "animals never used at all give an unbiased score)")
    else:
        test = {u: r for u, r in data.items() if u not in seen}
        how = "every animal of DATA the model was not trained on"
    skipped = sorted(set(test) & seen)
    test = {u: r for u, r in test.items() if u not in seen}
    if skipped:
        print(f"not scored: {skipped} (the model was trained on them: its weights, or its linear read-out's moments)")
    if not test:
        raise ConfigError("no animal left to evaluate: every animal of DATA was used to train the model (its "
                          "weights, or the moments of its linear read-out, which hold its validation animals too); "
                          "give recordings of other animals")
    use_baselines = not args.no_baselines and bool(train)
    truth = None
    if args.truth:
        from ..simulation import load_truth

        truth = load_truth(args.truth)
    print(f"held out: {plural(len(test), 'animal')}, {how}")
    if use_baselines:
        print(f"baselines fitted on {plural(len(train), 'animal')}")
    elif not args.no_baselines:
        print("no training animals given (--train-data): no baselines")
    ev = evaluate(trained, test, truth, train_datasets=train if use_baselines else None,
                  hide_fraction=args.hide_fraction, seed=args.seed, baselines=use_baselines,
                  progress=progress_printer("evaluate"))
    print(ev.table())
    if args.out:
        ev.to_json(args.out)
        print(f"wrote {args.out}")
    return 0
