"""Experiment (not package code): a decoder that rescales each neuron by its recording's spread.

::

    python benchmarks/experiments/recording_gain.py --spread {full,behavior} [quality.py options]

Every trace is z-scored over its own recording, so a neuron's z-scored amplitude depends on
how much that animal moved and how far its states drifted over the whole recording. Here the
decoder's output for neuron v of recording r is read as being in fixed units and divided by
that recording's spread of it::

    x_hat[t, v] = (out[t, v] - a_v) / sqrt(Var_r(s_v) + exp(k_v)) + a_v

with ``out`` the usual decoder output, ``a_v`` its bias, ``k_v`` a learned floor per identity,
and ``s_v`` the decoder's raw output over the whole recording: its full prediction from the
posterior mean (``--spread full``, every neuron visible in training, the hidden ones hidden
at imputation) or its behavior-only prediction (``--spread behavior``). In training the
variances of every training and validation recording are computed before the first epoch
and after each one (a window cannot see its recording's spread); at inference they are
computed for each recording first. Everything else is `benchmarks/quality.py` as is: the
package is patched from outside, so that the measurement runs the same code path as the
default's.

Measured (seed 0, ``--no-shuffle-control``): imputation / ceiling 0.913 (``full``) and
0.909 (``behavior``) against the default's 0.908; with ``--set train.behavior_dropout=0``
in addition, see docs/model.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality  # noqa: E402

import ceneurovae.api as api  # noqa: E402
import ceneurovae.inference as inference  # noqa: E402
import ceneurovae.train as train  # noqa: E402
from ceneurovae.data import WindowDataset  # noqa: E402
from ceneurovae.model.decoder import Decoder  # noqa: E402

STATE = {"spread": "full", "uid_index": {}, "table": None, "raw": False}
_decoder_init, _read_out = Decoder.__init__, Decoder.read_out
_getitem, _run_recording = WindowDataset.__getitem__, inference.run_recording
_run_step, _fit_model = train.run_step, train.fit_model


def decoder_init(self, cfg, n_behavior_features):
    _decoder_init(self, cfg, n_behavior_features)
    self.gain_floor = nn.Embedding(cfg.n_identities, 1)
    nn.init.zeros_(self.gain_floor.weight)
    self.spread = None  # (V,) for one recording, or (B, V) per batch row


def read_out(self, context, identity):
    out = _read_out(self, context, identity)
    if self.spread is None or STATE["raw"]:
        return out
    if self.spread.dim() == 1:
        var = self.spread[identity]
    else:
        ids = identity if identity.dim() == 2 else identity[None].expand(self.spread.shape[0], -1)
        var = torch.gather(self.spread, 1, ids)
    gain = torch.rsqrt(var + torch.exp(self.gain_floor(identity).squeeze(-1)))
    bias = self.bias(identity).squeeze(-1)
    if gain.dim() == 1:
        gain, bias = gain[None], bias[None]
    return (out - bias[:, None, :]) * gain[:, None, :] + bias[:, None, :]


def getitem(self, k):
    """Windows carry a recording index that is global over every dataset of the run."""
    item = list(_getitem(self, k))
    item[8] = STATE["uid_index"].setdefault(self.recordings[item[8]].uid, len(STATE["uid_index"]))
    return tuple(item)


def spread_of(model, rec, scaler, window_T, respect_gaps, hide=None) -> torch.Tensor:
    """Variance over the recording of the decoder's raw output per identity, (V,)."""
    core = train.unwrap(model)
    STATE["raw"] = True
    try:
        if STATE["spread"] == "full":
            out = _run_recording(model, rec, scaler, window_T=window_T, hide=hide, respect_gaps=respect_gaps,
                                 center=False, stride=max(1, window_T // 2))
        else:
            out = _run_recording(model, rec, scaler, window_T=window_T, from_prior=True,
                                 respect_gaps=respect_gaps, center=False)
    finally:
        STATE["raw"] = False
    vec = torch.zeros(core.cfg.n_identities)
    known = (rec.identity > 0) & rec.mask.any(0)
    var = np.array([out.pred[rec.mask[:, j], j].var() for j in np.flatnonzero(known)])
    vec[torch.as_tensor(rec.identity[known])] = torch.as_tensor(var, dtype=torch.float32)
    return vec


def run_recording(model, rec, scaler, *, window_T, **kw):
    if STATE["raw"]:
        return _run_recording(model, rec, scaler, window_T=window_T, **kw)
    core = train.unwrap(model)
    core.decoder.spread = spread_of(model, rec, scaler, window_T, kw.get("respect_gaps", True), kw.get("hide"))
    try:
        return _run_recording(model, rec, scaler, window_T=window_T, **kw)
    finally:
        core.decoder.spread = None


def refresh(model, datasets) -> None:
    core = train.unwrap(model)
    was_training = core.training
    table = torch.zeros(sum(len(ds.recordings) for ds in datasets) + len(STATE["uid_index"]), core.cfg.n_identities)
    for ds in datasets:
        for rec in ds.recordings:
            i = STATE["uid_index"].setdefault(rec.uid, len(STATE["uid_index"]))
            table[i] = spread_of(model, rec, ds.scaler, ds.window_T, True)
    STATE["table"] = table
    core.train(was_training)


def run_step(model, batch, cfg, beta, gen=None):
    core = train.unwrap(model)
    core.decoder.spread = STATE["table"][batch.animal]
    try:
        return _run_step(model, batch, cfg, beta, gen)
    finally:
        core.decoder.spread = None


def fit_model(model, loader_train, loader_val, n_epoch, optim, *args, on_epoch_end=None, **kw):
    datasets = [loader_train.dataset] + ([loader_val.dataset] if loader_val is not None else [])
    refresh(model, datasets)

    def after_epoch(record):
        refresh(model, datasets)
        if on_epoch_end is not None:
            on_epoch_end(record)

    return _fit_model(model, loader_train, loader_val, n_epoch, optim, *args, on_epoch_end=after_epoch, **kw)


def patch(spread: str) -> None:
    STATE["spread"] = spread
    Decoder.__init__, Decoder.read_out = decoder_init, read_out
    WindowDataset.__getitem__ = getitem
    inference.run_recording = api.run_recording = run_recording
    train.run_step = run_step
    train.fit_model = api.fit_model = fit_model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spread", choices=("full", "behavior"), default="full")
    args, rest = p.parse_known_args(argv)
    patch(args.spread)
    return quality.main(rest)


if __name__ == "__main__":
    sys.exit(main())
