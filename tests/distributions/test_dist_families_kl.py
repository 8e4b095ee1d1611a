"""kl_divergence for the families added with the transforms: every pair torch registers among
them gives torch's value (finite or inf) and gradient; the Bregman form for exponential
families agrees with the closed forms; a Monte Carlo estimate agrees for the low-rank normal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD
from test_dist_gradients import host, leaf

import gpuarr
import gpuarr.distributions as GD
from gpuarr.autograd import gradcheck

W1 = np.array([[1.0, 0.5], [0.2, -0.3], [0.0, 1.0]])
W2 = np.array([[0.3], [-1.0], [0.5]])
COV = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])

MAKERS = {
    "Normal": lambda D, t: D.Normal(t([0.5, -1.0, 2.0]), t([1.5, 0.3, 2.0])),
    "Exponential": lambda D, t: D.Exponential(t([0.5, 2.0, 1.0])),
    "Gamma": lambda D, t: D.Gamma(t([0.5, 2.0, 9.0]), t([1.0, 0.25, 3.0])),
    "Beta": lambda D, t: D.Beta(t([0.5, 2.0, 3.0]), t([0.7, 5.0, 1.0])),
    "Uniform": lambda D, t: D.Uniform(t([0.1, -2.0, 0.5]), t([0.9, 3.0, 4.0])),
    "Uniform2": lambda D, t: D.Uniform(t([1.5, 2.0, 0.2]), t([2.0, 3.0, 0.6])),
    "Laplace": lambda D, t: D.Laplace(t([0.5, -1.0, 2.0]), t([1.5, 0.3, 2.0])),
    "Laplace2": lambda D, t: D.Laplace(t([0.0, 1.0, 2.0]), t([1.0, 0.5, 0.7])),
    "Cauchy": lambda D, t: D.Cauchy(t([0.5, -1.0, 2.0]), t([1.5, 0.3, 2.0])),
    "Cauchy2": lambda D, t: D.Cauchy(t([0.0, 1.0, 2.0]), t([1.0, 0.5, 0.7])),
    "Gumbel": lambda D, t: D.Gumbel(t([0.5, -1.0, 2.0]), t([1.5, 0.3, 2.0])),
    "Gumbel2": lambda D, t: D.Gumbel(t([0.0, 1.0, 2.0]), t([1.0, 0.5, 0.7])),
    "HalfNormal": lambda D, t: D.HalfNormal(t([1.5, 0.3, 2.0])),
    "HalfNormal2": lambda D, t: D.HalfNormal(t([1.0, 0.5, 0.7])),
    "Geometric": lambda D, t: D.Geometric(t([0.3, 0.9, 0.05])),
    "Geometric2": lambda D, t: D.Geometric(t([0.5, 0.2, 0.1])),
    "Pareto": lambda D, t: D.Pareto(t([0.5, 1.0, 2.0]), t([1.5, 3.0, 0.8])),
    "Pareto2": lambda D, t: D.Pareto(t([1.0, 0.7, 2.0]), t([2.5, 3.5, 2.2])),
    "Dirichlet": lambda D, t: D.Dirichlet(t([[0.5, 1.5, 4.0], [2.0, 3.0, 1.0]])),
    "Dirichlet2": lambda D, t: D.Dirichlet(t([[1.0, 1.0, 1.0], [0.5, 2.0, 7.0]])),
    "ContinuousBernoulli": lambda D, t: D.ContinuousBernoulli(t([0.1, 0.4995, 0.8])),
    "ContinuousBernoulli2": lambda D, t: D.ContinuousBernoulli(t([0.6, 0.3, 0.5])),
    "LogNormal": lambda D, t: D.LogNormal(t([0.5, -1.0, 2.0]), t([1.5, 0.3, 2.0])),
    "LogNormal2": lambda D, t: D.LogNormal(t([0.0, 1.0, 2.0]), t([1.0, 0.5, 0.7])),
    "Chi2": lambda D, t: D.Chi2(t([1.0, 3.0, 5.0])),
    "Independent": lambda D, t: D.Independent(D.Normal(t([[0.5, -1.0, 2.0]]),
                                                       t([1.5, 0.3, 2.0])), 1),
    "Independent2": lambda D, t: D.Independent(D.Normal(t([[0.0, 1.0, 2.0]]),
                                                        t([1.0, 0.5, 0.7])), 1),
    "LowRank": lambda D, t: D.LowRankMultivariateNormal(t([0.0, 1.0, 2.0]), t(W1),
                                                        t([1.0, 2.0, 0.5])),
    "LowRank2": lambda D, t: D.LowRankMultivariateNormal(t([[0.5, 0.0, -1.0]]), t(W2),
                                                         t([0.3, 1.0, 2.0])),
    "Wishart": lambda D, t: D.Wishart(t([5.0, 4.0]), covariance_matrix=t(COV)),
    "Wishart2": lambda D, t: D.Wishart(t([7.0, 3.5]), scale_tril=t(np.diag([1.5, 0.5, 2.0]))),
    "MVN": lambda D, t: D.MultivariateNormal(t([0.5, 0.0, -1.0]), covariance_matrix=t(COV)),
}

PAIRS = [
    ("Laplace", "Laplace2"), ("Cauchy", "Cauchy2"), ("Gumbel", "Gumbel2"),
    ("HalfNormal", "HalfNormal2"), ("Geometric", "Geometric2"), ("Pareto", "Pareto2"),
    ("Pareto2", "Pareto"), ("Dirichlet", "Dirichlet2"),
    ("ContinuousBernoulli", "ContinuousBernoulli2"), ("LogNormal", "LogNormal2"),
    ("Chi2", "Gamma"), ("Independent", "Independent2"), ("LowRank", "LowRank2"),
    ("LowRank", "MVN"), ("MVN", "LowRank2"), ("Wishart", "Wishart2"),
    ("Beta", "ContinuousBernoulli"), ("Beta", "Pareto"), ("ContinuousBernoulli", "Pareto"),
    ("ContinuousBernoulli", "Exponential"), ("ContinuousBernoulli", "Normal"),
    ("ContinuousBernoulli", "Uniform"), ("Exponential", "ContinuousBernoulli"),
    ("Exponential", "Pareto"), ("Exponential", "Gumbel"), ("Gamma", "ContinuousBernoulli"),
    ("Gamma", "Pareto"), ("Gamma", "Gumbel"), ("Gumbel", "Beta"),
    ("Gumbel", "ContinuousBernoulli"), ("Gumbel", "Exponential"), ("Gumbel", "Gamma"),
    ("Gumbel", "Pareto"), ("Gumbel", "Uniform"), ("Gumbel", "Normal"), ("Laplace", "Beta"),
    ("Laplace", "ContinuousBernoulli"), ("Laplace", "Exponential"), ("Laplace", "Gamma"),
    ("Laplace", "Pareto"), ("Laplace", "Uniform"), ("Laplace", "Normal"),
    ("Normal", "ContinuousBernoulli"), ("Normal", "Pareto"), ("Normal", "Gumbel"),
    ("Normal", "Laplace"), ("Pareto", "Beta"), ("Pareto", "ContinuousBernoulli"),
    ("Pareto", "Uniform"), ("Pareto", "Exponential"), ("Pareto", "Gamma"),
    ("Pareto", "Normal"), ("Pareto2", "Exponential"), ("Pareto2", "Gamma"),
    ("Pareto2", "Normal"), ("Uniform", "ContinuousBernoulli"), ("Uniform", "Gumbel"),
    ("Uniform", "Pareto"), ("Uniform2", "Pareto"), ("Uniform2", "ContinuousBernoulli"),
]


def _make(name, lib, device=None):
    if lib is GD:
        return MAKERS[name](GD, lambda v: gpuarr.tensor(np.asarray(v, dtype=np.float64),
                                                        device=device))
    return MAKERS[name](TD, lambda v: torch.tensor(np.asarray(v, dtype=np.float64)))


@pytest.mark.parametrize("p, q", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_matches_torch(device, p, q):
    ours = GD.kl_divergence(_make(p, GD, device), _make(q, GD, device)).detach()
    theirs = TD.kl_divergence(_make(p, TD), _make(q, TD)).detach()
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_kl_gradcheck(device):
    a, b, c, d = (leaf(v, device) for v in ([0.5, 2.0], [1.2, 0.4], [1.5, 0.7], [0.9, 3.0]))
    fams = [lambda x, y: GD.Laplace(x, y), lambda x, y: GD.Gumbel(x, y),
            lambda x, y: GD.Cauchy(x, y), lambda x, y: GD.LogNormal(x, y)]
    for fam in fams:
        assert gradcheck(lambda a, b, c, d, f=fam: GD.kl_divergence(f(a, b), f(c, d)),
                         (a, b, c, d))
    assert gradcheck(lambda a, b, c, d: GD.kl_divergence(GD.Normal(a, b), GD.Laplace(c, d)),
                     (a, b, c, d))
    # Pareto: p's support inside q's (a larger scale), where the KL is finite
    assert gradcheck(lambda a, b, c, d: GD.kl_divergence(GD.Pareto(a + 2.0, b + 2.0),
                                                         GD.Pareto(c * 0.5, d + 1.0)),
                     (a, b, c, d))
    x, y = leaf([[0.5, 1.5, 4.0]], device), leaf([[2.0, 3.0, 1.0]], device)
    assert gradcheck(lambda x, y: GD.kl_divergence(GD.Dirichlet(x), GD.Dirichlet(y)), (x, y))
    w, dg = leaf(W1, device), leaf([1.0, 2.0, 0.5], device)
    loc = gpuarr.zeros(3, dtype=gpuarr.float64, device=device)
    q = _make("LowRank2", GD, device)
    assert gradcheck(lambda w, dg: GD.kl_divergence(GD.LowRankMultivariateNormal(loc, w, dg), q),
                     (w, dg))


def test_bregman_form_matches_closed_forms(device):
    """The generic exponential-family KL (Bregman divergence of the log normaliser) agrees with
    the registered closed forms, and ExponentialFamily.entropy with the explicit ones."""
    from gpuarr.distributions.kl import _kl_expfamily_expfamily

    for a, b in (("Dirichlet", "Dirichlet2"), ("ContinuousBernoulli", "ContinuousBernoulli2")):
        p, q = _make(a, GD, device), _make(b, GD, device)
        np.testing.assert_allclose(host(_kl_expfamily_expfamily(p, q)),
                                   host(GD.kl_divergence(p, q)), rtol=1e-8)
    cb = _make("ContinuousBernoulli", GD, device)  # (Dirichlet has no carrier measure term)
    np.testing.assert_allclose(host(GD.ExponentialFamily.entropy(cb)), host(cb.entropy()),
                               rtol=1e-8)
    with pytest.raises(NotImplementedError, match="different exponential families"):
        _kl_expfamily_expfamily(_make("Dirichlet", GD, device),
                                _make("ContinuousBernoulli", GD, device))


def test_lowrank_kl_monte_carlo(device):
    gpuarr.manual_seed(11)
    p, q = _make("LowRank", GD, device), _make("LowRank2", GD, device)
    x = p.sample((20000,))
    est = host(p.log_prob(x) - q.log_prob(x))
    kl = float(host(GD.kl_divergence(p, q)).squeeze())
    assert abs(est.mean() - kl) < 5 * est.std() / np.sqrt(len(est))


def test_kl_errors_match_torch(device):
    from gpuarr.distributions.transforms import ExpTransform, SigmoidTransform

    def t(v):
        return gpuarr.tensor(v, dtype=gpuarr.float64, device=device)

    n = GD.Normal(t([0.0]), t([1.0]))
    with pytest.raises(NotImplementedError):
        GD.kl_divergence(GD.TransformedDistribution(n, [ExpTransform()]),
                         GD.TransformedDistribution(n, [SigmoidTransform()]))
    with pytest.raises(NotImplementedError):
        GD.kl_divergence(GD.Independent(GD.Normal(t([[0.0]]), t([[1.0]])), 1),
                         GD.Independent(GD.Normal(t([[0.0]]), t([[1.0]])), 2))
    with pytest.raises(ValueError, match="different event shapes"):
        GD.kl_divergence(_make("LowRank", GD, device),
                         GD.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0]]),
                                                      t([1.0, 1.0])))
    with pytest.raises(NotImplementedError, match="No KL"):
        GD.kl_divergence(GD.VonMises(t([0.0]), t([1.0])), n)
