"""``ceneurovae predict CKPT DATA -o out.h5``: latents, reconstructions and imputed identities.

The output HDF5 holds, per animal ``<uid>``:

===========================  ==========  ==============================================
dataset                      shape       content
===========================  ==========  ==============================================
``<uid>/latents``            (T, Z)      posterior mean latent per frame
``<uid>/reconstruction``     (T, N)      denoised traces, units of the input traces
``<uid>/from_behavior``      (T, N)      predicted from behavior alone (NaN: unknown identity)
``<uid>/identities``         (T, V-1)    every identity of the vocabulary, z-scored units
``<uid>/timestamps``         (T,)        seconds
===========================  ==========  ==============================================

and top-level ``identity_names`` (V-1,) for the columns of ``identities``, plus each
animal's neuron ``labels``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from .options import add_read_options, read_data, read_options

__all__ = ["add_parser", "run"]


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="model file (model.pt / best.pt) or run folder")
    parser.add_argument("data", nargs="+", help="recordings to predict (any format import_h5 reads)")
    parser.add_argument("-o", "--out", required=True, help="output HDF5 file")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    add_read_options(parser, from_config=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import h5py

    from .. import api

    trained = api.load(args.checkpoint, device=args.device)
    datasets = read_data(args.data, read_options(args, trained.config.read))
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
