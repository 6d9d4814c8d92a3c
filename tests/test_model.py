"""The model: shapes of every variant, masking, permutation invariance, behavior history."""

import itertools

import pytest
import torch

from ceneurovae.model import NeuroBehaviorVAE, VAEConfig, elbo_loss
from ceneurovae.model.layers import BehaviorHistory

VARIANTS = list(itertools.product(["trajectory", "window"], ["transformer", "gru", "tcn"], ["factorized", "mlp"]))


def inputs(B=3, T=24, N=7, V=12, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, N, generator=g)
    mask = torch.rand(B, T, N, generator=g) > 0.2
    identity = torch.stack([torch.randperm(V - 1, generator=g)[:N] + 1 for _ in range(B)])
    identity[:, -1] = 0  # one unlabeled neuron per animal
    behavior = torch.randn(B, T, D, generator=g)
    past = torch.randn(B, 10, D, generator=g)
    return x, mask, behavior, identity, past


def small(**kw):
    base = dict(n_identities=12, behavior_dim=3, latent_dim=4, hidden_dim=16, n_heads=2, behavior_history=10, dropout=0.0)
    base.update(kw)
    return NeuroBehaviorVAE(VAEConfig(**base)).eval()


@pytest.mark.parametrize("latent, encoder, readout", VARIANTS)
def test_shapes_of_every_variant(latent, encoder, readout):
    model = small(latent=latent, encoder=encoder, readout=readout)
    x, mask, b, ident, past = inputs()
    out = model(x, mask, b, ident, behavior_past=past)
    assert out.pred.shape == (3, 24, 7)
    zshape = (3, 4) if latent == "window" else (3, 24, 4)
    assert out.mu.shape == zshape and out.logvar.shape == zshape and out.z.shape == zshape
    assert out.log_sigma.shape == (3, 7)
    loss = elbo_loss(out, x, mask, ident)["loss"]
    loss.backward()
    assert torch.isfinite(loss)
    # every identity of the vocabulary can be read out, recorded or not
    allv = model.decode(out.z, model.behavior_features(b, behavior_past=past), torch.arange(12))
    assert allv.shape == (3, 24, 12)


@pytest.mark.parametrize("latent, encoder, readout", VARIANTS)
def test_masked_values_and_padded_neurons_change_nothing(latent, encoder, readout):
    model = small(latent=latent, encoder=encoder, readout=readout)
    x, mask, b, ident, past = inputs()
    out1 = model(x, mask, b, ident, behavior_past=past)
    loss1 = elbo_loss(out1, x, mask, ident)["loss"]
    x2 = x.clone()
    x2[~mask] = 1e6  # garbage where nothing was observed
    # add a padded neuron (identity 0, never observed) holding garbage
    x3 = torch.cat([x2, torch.full((3, 24, 1), -5e5)], dim=2)
    mask3 = torch.cat([mask, torch.zeros(3, 24, 1, dtype=torch.bool)], dim=2)
    ident3 = torch.cat([ident, torch.zeros(3, 1, dtype=torch.int64)], dim=1)
    out3 = model(x3, mask3, b, ident3, behavior_past=past)
    loss3 = elbo_loss(out3, x3, mask3, ident3)["loss"]
    torch.testing.assert_close(out3.pred[..., :7], out1.pred, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out3.mu, out1.mu, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(loss3, loss1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("latent, encoder", [(lat, enc) for lat, enc, _ in VARIANTS[::2]])
def test_padded_frames_do_not_leak(latent, encoder):
    model = small(latent=latent, encoder=encoder)
    x, mask, b, ident, past = inputs(T=24)
    pad = torch.zeros(3, 24, dtype=torch.bool)
    pad[:, 18:] = True
    m = mask & ~pad[..., None]
    out1 = model(x, m, b, ident, behavior_past=past, pad=pad)
    x2, b2 = x.clone(), b.clone()
    x2[:, 18:] = 99.0
    bm = ~pad[..., None].expand_as(b)
    b2[:, 18:] = 99.0
    out2 = model(x2, m, b2, ident, behavior_past=past, pad=pad, behavior_mask=bm)
    out1b = model(x, m, b, ident, behavior_past=past, pad=pad, behavior_mask=bm)
    torch.testing.assert_close(out2.pred[:, :18], out1b.pred[:, :18], rtol=1e-5, atol=1e-5)
    l1 = elbo_loss(out1b, x, m, ident, pad=pad)["loss"]
    l2 = elbo_loss(out2, x2, m, ident, pad=pad)["loss"]
    torch.testing.assert_close(l1, l2)
    assert out1.pred.shape == out2.pred.shape


@pytest.mark.parametrize("latent, encoder, readout", VARIANTS)
def test_permutation_invariance_over_neurons(latent, encoder, readout):
    model = small(latent=latent, encoder=encoder, readout=readout)
    x, mask, b, ident, past = inputs()
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    out = model(x, mask, b, ident, behavior_past=past)
    outp = model(x[..., perm], mask[..., perm], b, ident[:, perm], behavior_past=past)
    torch.testing.assert_close(outp.mu, out.mu, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(outp.pred, out.pred[..., perm], rtol=1e-5, atol=1e-5)


def test_encoder_knows_which_identity_carries_which_value():
    """Swapping the identities of two neurons (same values) must change the posterior."""
    model = small()
    x, mask, b, ident, past = inputs()
    mask[:] = True
    swapped = ident.clone()
    swapped[:, [0, 1]] = ident[:, [1, 0]]
    mu1 = model(x, mask, b, ident).mu
    mu2 = model(x, mask, b, swapped).mu
    assert (mu1 - mu2).abs().max() > 1e-3


def test_any_number_of_neurons():
    model = small()
    for N in (1, 3, 11):
        x, mask, b, ident, _ = inputs(N=N)
        assert model(x, mask, b, ident).pred.shape == (3, 24, N)


def test_behavior_dropout_and_prior_rows():
    model = small()
    x, mask, b, ident, past = inputs()
    drop = torch.tensor([True, False, False])
    out = model(x, mask, b, ident, behavior_past=past, drop_behavior=drop)
    out_other_b = model(x, mask, b * 3 + 1, ident, behavior_past=past * 2, drop_behavior=drop)
    # the dropped row does not depend on behavior; the others do
    torch.testing.assert_close(out.pred[0], out_other_b.pred[0])
    assert (out.pred[1] - out_other_b.pred[1]).abs().max() > 1e-3
    prior = model(x, mask, b, ident, use_prior=torch.tensor([True, True, False]))
    x_other = torch.randn_like(x)
    prior2 = model(x_other, mask, b, ident, use_prior=torch.tensor([True, True, False]))
    torch.testing.assert_close(prior.pred[:2], prior2.pred[:2])  # prior rows ignore the traces


class TestBehaviorHistory:
    def test_exponential_response_to_a_step(self):
        dt, tau = 0.5, 5.0
        h = BehaviorHistory(1, (0.0, tau), dt, history=200)
        b = torch.zeros(1, 100, 1)
        b[:, 50:] = 1.0
        f = h(b, torch.ones_like(b, dtype=torch.bool))  # (1, 100, 4): [b*m, m] x [tau 0, tau]
        assert f.shape == (1, 100, 4)
        torch.testing.assert_close(f[0, :, 0], b[0, :, 0])  # tau = 0: the current frame
        # 10 frames after the step the filtered value is 1 - a^11 (kernel normalized over 201 taps)
        a = torch.exp(torch.tensor(-dt / tau))
        norm = (1 - a ** 201) / (1 - a)
        expected = (1 - a**11) / (1 - a) / norm
        torch.testing.assert_close(f[0, 60, 1], expected, rtol=1e-4, atol=1e-5)

    def test_causal(self):
        h = BehaviorHistory(2, (0.0, 3.0, 30.0), 0.6, history=50)
        b = torch.randn(2, 40, 2)
        m = torch.ones_like(b, dtype=torch.bool)
        f1 = h(b, m)
        b2 = b.clone()
        b2[:, 30:] = 7.0
        f2 = h(b2, m)
        torch.testing.assert_close(f1[:, :30], f2[:, :30])

    def test_history_before_the_window_is_used(self):
        h = BehaviorHistory(1, (20.0,), 0.6, history=50)
        b = torch.zeros(1, 10, 1)
        m = torch.ones_like(b, dtype=torch.bool)
        past = torch.ones(1, 50, 1)
        with_past = h(b, m, past, torch.ones_like(past, dtype=torch.bool))
        without = h(b, m)
        assert with_past[0, 0, 0] > 0.5 and without[0, 0, 0] == 0
        assert without[0, 0, 1] < with_past[0, 0, 1]  # the known-mask feature says history is missing


class TestRecordingGain:
    """The read-out divided by the spread of its raw value over the recording (plus a floor)."""

    def test_gain_formula_and_defaults(self):
        model = small(recording_gain=True)
        dec = model.decoder
        ctx = torch.randn(2, 9, 16)
        ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
        with torch.no_grad():
            dec.gain_floor.weight.normal_()
            dec.bias.weight.normal_()
            raw = dec.read_out(ctx, ids, raw=True)
            spread = torch.rand(2, 3) + 0.1
            bias = dec.bias(ids).squeeze(-1)[:, None, :]
            expect = (raw - bias) / torch.sqrt(spread + torch.exp(dec.gain_floor(ids).squeeze(-1)))[:, None, :] + bias
            torch.testing.assert_close(dec.read_out(ctx, ids, spread), expect)
            # without a spread: each identity's typical one
            dec.typical_spread.copy_(torch.rand(12) + 0.5)
            torch.testing.assert_close(dec.read_out(ctx, ids), dec.read_out(ctx, ids, dec.typical_spread[ids]))
            # one (N,) spread for every row
            torch.testing.assert_close(dec.read_out(ctx, ids[:1].expand(2, -1), spread[0]),
                                       dec.read_out(ctx, ids[:1].expand(2, -1), spread[:1].expand(2, -1)))

    def test_scaling_the_raw_read_out_with_its_spread_changes_nothing(self):
        """With a negligible floor the gain undoes any overall scale of a neuron's read-out,
        as z-scoring undoes the scale of a recording's trace."""
        model = small(recording_gain=True)
        dec = model.decoder
        ctx = torch.randn(1, 30, 16)
        ids = torch.tensor([1, 2, 3])
        with torch.no_grad():
            dec.gain_floor.weight.fill_(-30.0)
            raw = dec.read_out(ctx, ids, raw=True)
            spread = raw.var(1).squeeze(0)
            before = dec.read_out(ctx, ids, spread)
            dec.weight.weight.mul_(3.0)
            after = dec.read_out(ctx, ids, spread * 9.0)
        torch.testing.assert_close(after, before)
        torch.testing.assert_close(before.var(1).squeeze(0), torch.ones(3), rtol=1e-3, atol=1e-3)

    def test_off_is_the_plain_read_out(self):
        model = small(recording_gain=False)
        assert model.decoder.gain_floor is None and "decoder.typical_spread" not in model.state_dict()
        ctx, ids = torch.randn(1, 5, 16), torch.tensor([1, 2])
        torch.testing.assert_close(model.decoder.read_out(ctx, ids, torch.ones(2)), model.decoder.read_out(ctx, ids, raw=True))
