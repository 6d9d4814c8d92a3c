"""``ceneurovae predict CKPT DATA -o OUT``: latents, reconstructions and imputed identities.

The output's name chooses its format:

- **HDF5** (any name not ending in ``.nwb``, e.g. ``-o predictions.h5``): one file for every
  animal, holding per animal ``<uid>``:

  ===========================  ==========  ==============================================
  dataset                      shape       content
  ===========================  ==========  ==============================================
  ``<uid>/latents``            (T, Z)      posterior mean latent per frame
  ``<uid>/reconstruction``     (T, N)      denoised traces, units of the input traces
  ``<uid>/from_behavior``      (T, N)      predicted from behavior alone (NaN: unknown identity)
  ``<uid>/identities``         (T, V-1)    every identity of the vocabulary, z-scored units
  ``<uid>/timestamps``         (T,)        seconds
  ``<uid>/labels``             (N,)        each neuron's label as read
  ===========================  ==========  ==============================================

  and top-level ``identity_names`` (V-1,) for the columns of ``identities``, and the
  attribute ``checkpoint``.

- **NWB** (a name ending in ``.nwb``; needs ``pip install 'ceneurovae[nwb]'``): an NWB file
  holds one session, so one animal. ``-o out.nwb`` writes the one animal of the data (several
  are refused); ``-o 'folder/{uid}.nwb'`` writes one file per animal, ``{uid}`` replaced by the
  animal's uid (the folder is made). ``--append-to INPUT.nwb`` (one animal) writes a copy of
  INPUT.nwb, the recording's own NWB file, with the predictions added; INPUT.nwb is not
  changed. The predictions, the recorded neurons' labels, every identity of the vocabulary
  and the provenance (package version, the model's config as YAML, the checkpoint, the command
  line) go into the processing module ``processing/ceneurovae``: its layout is in
  `ceneurovae.io.nwb_results` and docs/data_formats.md ("Writing results as NWB").
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys

import numpy as np

from ..errors import ConfigError
from .options import add_read_options, check_writable, read_data, read_options

__all__ = ["add_parser", "run"]

UID = "{uid}"


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="model file (model.pt / best.pt) or run folder")
    parser.add_argument("data", nargs="+", help="recordings to predict (any format import_h5 reads)")
    parser.add_argument(
        "-o", "--out", required=True,
        help="output. A name ending in .nwb writes NWB (pip install 'ceneurovae[nwb]'), one animal per file: "
             "out.nwb when the data hold one animal, 'folder/{uid}.nwb' for one file per animal. Any other "
             "name writes one HDF5 file holding every animal.",
    )
    parser.add_argument(
        "--append-to", metavar="INPUT.nwb",
        help="NWB output of one animal only: write a copy of this NWB file (the recording's own) with the "
             "predictions added in processing/ceneurovae; the file itself is not changed",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    add_read_options(parser, from_config=True)
    parser.set_defaults(func=run)


def is_nwb(path: str) -> bool:
    return str(path).lower().endswith(".nwb")


def check_output(args: argparse.Namespace) -> None:
    """Refuse an impossible output before any work (pynwb missing among them)."""
    if is_nwb(args.out):
        from ..io.nwb import require_pynwb

        require_pynwb()
    elif UID in args.out:
        raise ConfigError(f"-o {args.out}: {UID} names one NWB file per animal and needs a name ending in .nwb "
                          "(an HDF5 output holds every animal in one file)")
    if args.append_to is not None:
        if not is_nwb(args.out):
            raise ConfigError(f"--append-to writes an NWB file: -o {args.out} must end in .nwb")
        if not os.path.isfile(args.append_to):
            raise ConfigError(f"--append-to {args.append_to}: no such file")


def nwb_paths(out: str, uids: list[str], append_to: str | None) -> dict[str, str]:
    """The NWB file of each animal."""
    if append_to is not None and len(uids) != 1:
        raise ConfigError(f"--append-to adds one animal's predictions to its NWB file, and the data hold "
                          f"{len(uids)} animals ({', '.join(uids)}); predict one recording at a time")
    if UID not in out:
        if len(uids) != 1:
            folder = os.path.splitext(out)[0]
            raise ConfigError(
                f"-o {out}: an NWB file holds one animal, and the data hold {len(uids)} ({', '.join(uids)}); "
                f"write one file per animal with -o '{folder}/{UID}.nwb', or all of them in one HDF5 file "
                f"with -o {folder}.h5"
            )
        return {uids[0]: out}
    for uid in uids:
        if not uid or os.sep in uid or (os.altsep and os.altsep in uid):
            raise ConfigError(f"-o {out}: animal uid {uid!r} cannot name a file; write an HDF5 output instead")
    return {uid: out.replace(UID, uid) for uid in uids}


def run(args: argparse.Namespace) -> int:
    check_output(args)

    from .. import api

    trained = api.load(args.checkpoint, device=args.device)
    datasets = read_data(args.data, read_options(args, trained.config.read))
    if is_nwb(args.out):
        return write_nwb(args, trained, datasets)
    return write_hdf5(args, trained, datasets)


def write_hdf5(args: argparse.Namespace, trained, datasets: dict) -> int:
    import h5py

    tmp = args.out + ".tmp"
    string = h5py.string_dtype("utf-8")
    with h5py.File(tmp, "w") as f:
        f.attrs["checkpoint"] = os.path.abspath(args.checkpoint)
        f.create_dataset("identity_names", data=np.asarray(trained.vocabulary.names, dtype=object), dtype=string)
        for uid, rec in datasets.items():
            g = f.create_group(uid)
            g["latents"] = trained.latents(rec)
            g["reconstruction"] = trained.reconstruct(rec)
            g["from_behavior"] = trained.from_behavior(rec)
            g["identities"], _ = trained.impute_identities(rec)
            g["timestamps"] = rec.timestamps
            g.create_dataset("labels", data=np.asarray(rec.labels, dtype=object), dtype=string)
            print(f"{uid}: {rec.n_frames} frames, {rec.n_neurons} neurons")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


def write_nwb(args: argparse.Namespace, trained, datasets: dict) -> int:
    from ..io.nwb_results import AnimalPredictions, write_predictions_nwb

    paths = nwb_paths(args.out, list(datasets), args.append_to)
    provenance = {
        "checkpoint": os.path.abspath(args.checkpoint),
        "data": " ".join(os.path.abspath(p) for p in args.data),
        "command": shlex.join(getattr(args, "command_line", None) or ["ceneurovae", *sys.argv[1:]]),
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": trained.config.to_yaml(),
    }
    names = trained.vocabulary.to_list()
    for uid, rec in datasets.items():
        imputed, identity_names = trained.impute_identities(rec)
        pred = AnimalPredictions(
            uid=uid, timestamps=rec.timestamps, labels=list(rec.labels),
            identities=[names[i] if i else "" for i in trained.prepare(rec).identity],
            reconstruction=trained.reconstruct(rec), from_behavior=trained.from_behavior(rec),
            latents=trained.latents(rec), identity_names=identity_names, imputed=imputed,
        )
        check_writable(os.path.dirname(paths[uid]) or ".")
        write_predictions_nwb(paths[uid], pred, provenance, append_to=args.append_to)
        print(f"{uid}: {rec.n_frames} frames, {rec.n_neurons} neurons -> {paths[uid]}")
    return 0
