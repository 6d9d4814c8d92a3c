"""Loss pieces against naive reference implementations; KL schedules at known epochs."""

import math

import pytest
import torch

from ceneurovae.model.loss import (
    free_bits_kl,
    kl_divergence,
    kl_per_dimension,
    kl_weight,
    reconstruction_loss,
)


def naive_recon(pred, target, mask, kind, log_sigma=None, delta=1.0):
    B, T, N = pred.shape
    out = torch.zeros(B, dtype=torch.float64)
    for b in range(B):
        for t in range(T):
            for n in range(N):
                if not mask[b, t, n]:
                    continue
                e = float(pred[b, t, n] - target[b, t, n])
                if kind == "mse":
                    out[b] += 0.5 * e * e
                elif kind == "huber":
                    out[b] += 0.5 * e * e if abs(e) <= delta else delta * (abs(e) - 0.5 * delta)
                else:
                    s = math.exp(float(log_sigma[b, n]))
                    out[b] += 0.5 * (e / s) ** 2 + math.log(s) + 0.5 * math.log(2 * math.pi)
    return out


@pytest.mark.parametrize("kind", ["mse", "huber", "gaussian"])
def test_reconstruction_against_naive(kind):
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(2, 5, 4, generator=g) * 2, torch.randn(2, 5, 4, generator=g)
    mask = torch.rand(2, 5, 4, generator=g) > 0.3
    target[~mask] = float("nan")  # unobserved entries may hold anything
    ls = torch.randn(2, 4, generator=g) * 0.3
    got = reconstruction_loss(pred, target, mask, kind, ls, huber_delta=0.7)
    want = naive_recon(pred, torch.nan_to_num(target), mask, kind, ls, 0.7)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


def test_kl_matches_the_seed_formula_and_a_naive_loop():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    seed_formula = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=-1)
    torch.testing.assert_close(kl_divergence(mu, logvar), seed_formula)
    naive = torch.zeros(3)
    for b in range(3):
        for d in range(5):
            v = math.exp(float(logvar[b, d]))
            naive[b] += 0.5 * (float(mu[b, d]) ** 2 + v - 1 - float(logvar[b, d]))
    torch.testing.assert_close(kl_divergence(mu, logvar), naive)
    assert torch.all(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)) == 0)


def test_trajectory_kl_sums_real_frames_only():
    mu, logvar = torch.ones(2, 4, 3), torch.zeros(2, 4, 3)
    frames = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    torch.testing.assert_close(kl_divergence(mu, logvar, frames), torch.tensor([0.5 * 12, 0.5 * 6]))


def test_free_bits_floor():
    kl = torch.tensor([[0.01, 2.0], [0.03, 4.0]])  # dim 0 under a 0.5 floor, dim 1 above
    got = free_bits_kl(kl, 0.5)
    torch.testing.assert_close(got, torch.tensor([0.5 + 2.0, 0.5 + 4.0]))
    kl.requires_grad_(True)
    free_bits_kl(kl, 0.5).sum().backward()
    torch.testing.assert_close(kl.grad, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert torch.equal(free_bits_kl(kl.detach(), 0.0), kl.detach().sum(-1))


@pytest.mark.parametrize(
    "schedule, epoch, expected",
    [
        ("linear", 0, 0.0), ("linear", 5, 0.5), ("linear", 10, 1.0), ("linear", 30, 1.0),
        ("step", 9, 0.0), ("step", 10, 1.0),
        ("constant", 0, 1.0),
        ("cyclical", 0, 0.0), ("cyclical", 5, 0.5), ("cyclical", 10, 1.0), ("cyclical", 19, 1.0), ("cyclical", 20, 0.0),
    ],
)
def test_kl_schedules(schedule, epoch, expected):
    got = kl_weight(epoch, schedule, warmup_epochs=10, step_epochs=10, cycle_epochs=20, ramp_fraction=0.5)
    assert got == pytest.approx(expected)


def test_ar1_prior_kl_against_a_naive_gaussian_kl():
    """The closed form equals KL(q || p) of the full T-dimensional Gaussians, computed naively."""
    g = torch.Generator().manual_seed(3)
    T, a = 6, 0.8
    mu, logvar = torch.randn(1, T, 1, generator=g, dtype=torch.float64), torch.randn(1, T, 1, generator=g, dtype=torch.float64) * 0.3
    got = kl_per_dimension(mu, logvar, ar=torch.tensor([a], dtype=torch.float64))[0, 0]
    # prior covariance of a stationary AR(1) with unit variance: a^|i-j|
    idx = torch.arange(T, dtype=torch.float64)
    P = a ** (idx[:, None] - idx[None, :]).abs()
    S = torch.diag(logvar[0, :, 0].exp())
    m = mu[0, :, 0]
    Pinv = torch.linalg.inv(P)
    want = 0.5 * (torch.trace(Pinv @ S) + m @ Pinv @ m - T + torch.logdet(P) - torch.logdet(S))
    torch.testing.assert_close(got, want)
    # a = 0 is the independent prior
    torch.testing.assert_close(kl_per_dimension(mu, logvar, ar=torch.tensor([0.0], dtype=torch.float64)),
                               kl_per_dimension(mu, logvar))


def test_ar1_prior_favours_smooth_posteriors():
    smooth = torch.linspace(-1, 1, 50)[None, :, None]
    rough = smooth[:, torch.randperm(50, generator=torch.Generator().manual_seed(0))]
    lv = torch.full_like(smooth, -2.0)
    ar = torch.tensor([0.95])
    assert kl_per_dimension(smooth, lv, ar=ar) < kl_per_dimension(rough, lv, ar=ar)
    torch.testing.assert_close(kl_per_dimension(smooth, lv), kl_per_dimension(rough, lv))  # iid prior cannot tell
