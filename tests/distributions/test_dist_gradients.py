"""Gradients: ``rsample`` passes gradcheck (seed reset inside the checked function so every
evaluation sees the same noise), ``log_prob`` / ``entropy`` / ``kl_divergence`` gradients pass
gradcheck, and the implicit reparameterisation gradient of Gamma/Beta samples is checked
against finite differences of the inverse CDF, against torch, and for unbiasedness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import special as sps

import gpuarr
import gpuarr.distributions as GD
from gpuarr.autograd import gradcheck
from gpuarr.distributions._gamma_sampler import standard_gamma_grad_array


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def leaf(v, device):
    return gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device, requires_grad=True)


def seeded(fn, seed=0):
    def run(*args):
        gpuarr.manual_seed(seed)
        return fn(*args)

    return run


def test_rsample_gradcheck_location_scale(device):
    loc, scale = leaf([0.5, -1.0], device), leaf([1.5, 0.3], device)
    assert gradcheck(seeded(lambda m, s: GD.Normal(m, s).rsample((3,))), (loc, scale))
    low, high = leaf([0.0, -2.0], device), leaf([1.0, 3.0], device)
    assert gradcheck(seeded(lambda a, b: GD.Uniform(a, b).rsample((3,))), (low, high))
    rate = leaf([0.5, 2.0], device)
    assert gradcheck(seeded(lambda r: GD.Exponential(r).rsample((3,))), (rate,))
    # Gamma in its rate (the concentration's gradient is tested against the inverse CDF below)
    conc = gpuarr.tensor([0.7, 3.0], dtype=gpuarr.float64, device=device)
    assert gradcheck(seeded(lambda r: GD.Gamma(conc, r).rsample((3,))), (leaf([1.0, 0.5],
                                                                              device),))


def test_rsample_gradcheck_multivariate_normal(device):
    loc = leaf([0.0, 1.0, -1.0], device)
    tril = leaf([[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [-0.3, 0.2, 0.7]], device)
    # validation off: finite differences also nudge the (unused) upper triangle

    def with_tril(m, L):
        return GD.MultivariateNormal(m, scale_tril=L, validate_args=False).rsample((2,))

    assert gradcheck(seeded(with_tril), (loc, tril))
    a = leaf([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]], device)

    def with_cov(m, c):  # symmetrise: finite differences perturb one entry at a time
        return GD.MultivariateNormal(m, covariance_matrix=0.5 * (c + c.mT)).rsample((2,))

    assert gradcheck(seeded(with_cov), (loc, a))

    def with_prec(m, p):
        return GD.MultivariateNormal(m, precision_matrix=0.5 * (p + p.mT)).rsample((2,))

    assert gradcheck(seeded(with_prec), (loc, a))


def test_log_prob_and_entropy_gradcheck(device):
    x = gpuarr.tensor([0.3, 0.6], dtype=gpuarr.float64, device=device)
    k = gpuarr.tensor([0.0, 3.0], dtype=gpuarr.float64, device=device)
    a, b = leaf([0.8, 2.5], device), leaf([1.7, 0.6], device)
    p = leaf([0.3, 0.8], device)
    cases = [
        (lambda a, b: GD.Normal(a, b).log_prob(x), (a, b)),
        (lambda a, b: GD.Gamma(a, b).log_prob(x), (a, b)),
        (lambda a, b: GD.Beta(a, b).log_prob(x), (a, b)),
        (lambda a, b: GD.Uniform(a - 3.0, b + 1.0).log_prob(x), (a, b)),
        (lambda a: GD.Exponential(a).log_prob(x), (a,)),
        (lambda a: GD.Poisson(a).log_prob(k), (a,)),
        (lambda p: GD.Bernoulli(probs=p).log_prob(gpuarr.tensor([1.0, 0.0], dtype=gpuarr.float64,
                                                               device=device)), (p,)),
        (lambda p: GD.Binomial(5, probs=p).log_prob(k), (p,)),
        (lambda a, b: GD.Gamma(a, b).entropy(), (a, b)),
        (lambda a, b: GD.Beta(a, b).entropy(), (a, b)),
        (lambda a: GD.Poisson(a).entropy(), (a,)),
        (lambda p: GD.Bernoulli(probs=p).entropy(), (p,)),
        (lambda p: GD.Binomial(4, probs=p).entropy(), (p,)),
    ]
    for fn, args in cases:
        assert gradcheck(fn, args)
    logits = leaf([[0.1, -1.0, 2.0], [0.0, 0.5, 0.3]], device)
    idx = gpuarr.tensor([2, 0], device=device)
    assert gradcheck(lambda lg: GD.Categorical(logits=lg).log_prob(idx), (logits,))
    assert gradcheck(lambda lg: GD.Categorical(logits=lg).entropy(), (logits,))
    probs = leaf([0.2, 0.5, 0.3], device)
    assert gradcheck(lambda pr: GD.Categorical(probs=pr).log_prob(idx), (probs,))


def test_log_prob_gradients_match_torch(device):
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    v = np.array([[0.5, -0.4], [1.0, 2.0]])
    ours = leaf(cov, device)
    theirs = torch.tensor(cov, requires_grad=True)
    GD.MultivariateNormal(gpuarr.zeros(2, dtype=gpuarr.float64, device=device),
                          covariance_matrix=ours).log_prob(
        gpuarr.tensor(v, device=device)).sum().backward()
    torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                           covariance_matrix=theirs).log_prob(
        torch.tensor(v)).sum().backward()
    # torch's Cholesky gradient is symmetric; so is ours
    np.testing.assert_allclose(host(ours.grad), theirs.grad.numpy(), rtol=1e-9)


def test_kl_gradcheck(device):
    a, b, c, d = (leaf(v, device) for v in ([0.5, 2.0], [1.2, 0.4], [1.5, 0.7], [0.9, 3.0]))
    assert gradcheck(lambda a, b, c, d: GD.kl_divergence(GD.Normal(a, b), GD.Normal(c, d)),
                     (a, b, c, d))
    assert gradcheck(lambda a, b, c, d: GD.kl_divergence(GD.Gamma(a, b), GD.Gamma(c, d)),
                     (a, b, c, d))
    assert gradcheck(lambda a, b, c, d: GD.kl_divergence(GD.Beta(a, b), GD.Beta(c, d)),
                     (a, b, c, d))


# ---- the implicit reparameterisation gradient ----------------------------------------------


@pytest.mark.parametrize("alpha, rtol", [(0.05, 1e-6), (0.5, 1e-6), (1.0, 1e-6), (3.0, 1e-6),
                                         (12.0, 1e-6), (80.0, 1e-6), (400.0, 1e-5),
                                         (800.0, 1e-4), (5000.0, 1e-4)])
def test_gamma_grad_equals_inverse_cdf_derivative(device, alpha, rtol):
    """x = F^-1(u; alpha) with u fixed: dx/dalpha by central differences of SciPy's inverse."""
    u = np.array([1e-4, 0.02, 0.3, 0.5, 0.8, 0.99, 0.9999])
    x = sps.gammaincinv(alpha, u)
    h = 1e-5 * alpha
    fd = (sps.gammaincinv(alpha + h, u) - sps.gammaincinv(alpha - h, u)) / (2 * h)
    xp = gpuarr.device(device)._xp()
    ours = standard_gamma_grad_array(xp, xp.asarray(np.full_like(x, alpha)), xp.asarray(x))
    ours = host(gpuarr.tensor(ours, device=device))
    np.testing.assert_allclose(ours, fd, rtol=rtol)
    # torch's own (approximate) implementation agrees to its accuracy
    theirs = torch._standard_gamma_grad(torch.tensor(np.full_like(x, alpha)), torch.tensor(x))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=5e-3)


def test_gamma_rsample_gradient_is_unbiased(device):
    """d/dalpha E[x] = 1/rate and d/dalpha E[x^2] = (2 alpha + 1)/rate^2 for x ~ Gamma."""
    gpuarr.manual_seed(31)
    n, alpha, rate = 20000, 2.5, 2.0
    conc = gpuarr.full((n,), alpha, dtype=gpuarr.float64, device=device).requires_grad_()
    x = GD.Gamma(conc, rate).rsample()
    x.sum().backward()
    g = host(conc.grad)  # per-sample dx_i/dalpha
    assert abs(g.mean() - 1 / rate) < 5 * g.std() / np.sqrt(n)
    conc.grad = None
    x = GD.Gamma(conc, rate).rsample()
    (x * x).sum().backward()
    g2 = host(conc.grad)
    assert abs(g2.mean() - (2 * alpha + 1) / rate ** 2) < 5 * g2.std() / np.sqrt(n)


def test_beta_rsample_gradient_is_unbiased(device):
    """d/da E[x] = b / (a + b)^2 and d/db E[x] = -a / (a + b)^2 for x ~ Beta(a, b)."""
    gpuarr.manual_seed(32)
    n, a0, b0 = 20000, 1.5, 3.0
    a = gpuarr.full((n,), a0, dtype=gpuarr.float64, device=device).requires_grad_()
    b = gpuarr.full((n,), b0, dtype=gpuarr.float64, device=device).requires_grad_()
    GD.Beta(a, b).rsample().sum().backward()
    ga, gb = host(a.grad), host(b.grad)
    assert abs(ga.mean() - b0 / (a0 + b0) ** 2) < 5 * ga.std() / np.sqrt(n)
    assert abs(gb.mean() + a0 / (a0 + b0) ** 2) < 5 * gb.std() / np.sqrt(n)


def test_gamma_grad_edge_cases(device):
    xp = gpuarr.device(device)._xp()
    g = standard_gamma_grad_array(xp, xp.asarray([0.01, 2.0]), xp.asarray([0.0, 1e-300]))
    assert np.all(np.isfinite(host(gpuarr.tensor(g, device=device))))
    # float32 samples for tiny concentrations are clamped positive; gradients stay finite
    gpuarr.manual_seed(0)
    conc = gpuarr.full((2000,), 0.02, device=device).requires_grad_()
    x = GD.Gamma(conc, 1.0).rsample()
    assert float(host(x).min()) > 0
    x.sum().backward()
    assert np.all(np.isfinite(host(conc.grad)))
