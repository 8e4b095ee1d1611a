"""Goodness of fit of the added families' samplers at fixed seeds: Kolmogorov-Smirnov against
SciPy for the continuous ones, chi-squared for the discrete ones, means and covariances within
several standard errors for the multivariate ones; fixed seeds reproduce samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_dist_sample_stats import P_MIN, N, chi2_p, host, t64

import gpuarr
import gpuarr.distributions as GD

CONTINUOUS = [
    ("LogNormal", lambda d: GD.LogNormal(t64([0.5, -1.0], d), t64([1.5, 0.3], d)),
     [stats.lognorm(1.5, scale=np.exp(0.5)), stats.lognorm(0.3, scale=np.exp(-1.0))]),
    ("Laplace", lambda d: GD.Laplace(t64([0.5, -1.0], d), t64([1.5, 0.3], d)),
     [stats.laplace(0.5, 1.5), stats.laplace(-1.0, 0.3)]),
    ("Cauchy", lambda d: GD.Cauchy(t64([0.5, -1.0], d), t64([1.5, 0.3], d)),
     [stats.cauchy(0.5, 1.5), stats.cauchy(-1.0, 0.3)]),
    ("HalfNormal", lambda d: GD.HalfNormal(t64([0.5, 2.0], d)),
     [stats.halfnorm(scale=0.5), stats.halfnorm(scale=2.0)]),
    ("HalfCauchy", lambda d: GD.HalfCauchy(t64([0.5, 2.0], d)),
     [stats.halfcauchy(scale=0.5), stats.halfcauchy(scale=2.0)]),
    ("StudentT", lambda d: GD.StudentT(t64([0.7, 4.0], d), t64([1.0, -2.0], d),
                                       t64([2.0, 0.5], d)),
     [stats.t(0.7, 1.0, 2.0), stats.t(4.0, -2.0, 0.5)]),
    ("Chi2", lambda d: GD.Chi2(t64([0.5, 3.0], d)), [stats.chi2(0.5), stats.chi2(3.0)]),
    ("Gumbel", lambda d: GD.Gumbel(t64([0.5, -1.0], d), t64([1.5, 0.3], d)),
     [stats.gumbel_r(0.5, 1.5), stats.gumbel_r(-1.0, 0.3)]),
    ("Pareto", lambda d: GD.Pareto(t64([0.5, 1.0], d), t64([1.5, 3.0], d)),
     [stats.pareto(1.5, scale=0.5), stats.pareto(3.0, scale=1.0)]),
    ("Weibull", lambda d: GD.Weibull(t64([0.5, 1.0], d), t64([1.5, 3.0], d)),
     [stats.weibull_min(1.5, scale=0.5), stats.weibull_min(3.0, scale=1.0)]),
    ("Kumaraswamy", lambda d: GD.Kumaraswamy(t64([0.5, 2.0], d), t64([1.5, 3.0], d)),
     [stats.kumaraswamy(0.5, 1.5), stats.kumaraswamy(2.0, 3.0)]
     if hasattr(stats, "kumaraswamy") else None),
    ("FisherSnedecor", lambda d: GD.FisherSnedecor(t64([0.8, 5.0], d), t64([1.5, 7.0], d)),
     [stats.f(0.8, 1.5), stats.f(5.0, 7.0)]),
    ("InverseGamma", lambda d: GD.InverseGamma(t64([0.5, 3.0], d), t64([1.5, 3.0], d)),
     [stats.invgamma(0.5, scale=1.5), stats.invgamma(3.0, scale=3.0)]),
    ("GeneralizedPareto", lambda d: GD.GeneralizedPareto(t64([0.5, -1.0, 0.0], d),
                                                          t64([1.5, 0.3, 2.0], d),
                                                          t64([0.3, -0.2, 0.0], d)),
     [stats.genpareto(0.3, 0.5, 1.5), stats.genpareto(-0.2, -1.0, 0.3),
      stats.genpareto(0.0, 0.0, 2.0)]),
    ("ContinuousBernoulli", lambda d: GD.ContinuousBernoulli(t64([0.1, 0.4995, 0.8], d)),
     None),
]


def _kumaraswamy_cdf(a, b):
    return lambda x: 1 - (1 - np.clip(x, 0, 1) ** a) ** b


def _continuous_bernoulli_cdf(p):
    if abs(p - 0.5) < 1e-3:
        return lambda x: np.clip(x, 0, 1)  # within 1e-3 of uniform; fine at N = 20000
    return lambda x: (p ** x * (1 - p) ** (1 - x) + p - 1) / (2 * p - 1)


FALLBACK_CDFS = {
    "Kumaraswamy": [_kumaraswamy_cdf(0.5, 1.5), _kumaraswamy_cdf(2.0, 3.0)],
    "ContinuousBernoulli": [_continuous_bernoulli_cdf(p) for p in (0.1, 0.4995, 0.8)],
}


@pytest.mark.parametrize("name, make, refs", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_ks(device, name, make, refs):
    gpuarr.manual_seed(2024)
    d = make(device)
    method = "rsample" if d.has_rsample else "sample"
    s = host(getattr(d, method)((N,)))
    cdfs = [r.cdf for r in refs] if refs is not None else FALLBACK_CDFS[name]
    assert s.shape == (N, len(cdfs))
    for j, cdf in enumerate(cdfs):
        assert stats.kstest(s[:, j], cdf).pvalue > P_MIN, (name, j)


def test_von_mises_ks(device):
    gpuarr.manual_seed(8)
    loc, kappa = np.array([0.5, -1.0, 3.0]), np.array([0.3, 5.0, 1e-6])
    x = host(GD.VonMises(t64(loc, device), t64(kappa, device)).sample((N,)))
    assert np.all((x >= -np.pi) & (x < np.pi))
    # SciPy's distribution is centred at 0 on [-pi, pi): compare the angle from loc
    z = np.mod(x - loc + np.pi, 2 * np.pi) - np.pi
    for j in range(3):
        assert stats.kstest(z[:, j], stats.vonmises(kappa[j]).cdf).pvalue > P_MIN


def test_relaxed_bernoulli_ks(device):
    # logit(X) is logistic with location logits / T and scale 1 / T
    gpuarr.manual_seed(3)
    temp, logits = 0.5, np.array([-1.0, 2.0])
    d = GD.RelaxedBernoulli(t64(temp, device), logits=t64(logits, device))
    x = host(d.rsample((N,)))
    z = np.log(x) - np.log1p(-x)
    for j in range(2):
        ref = stats.logistic(logits[j] / temp, 1 / temp)
        assert stats.kstest(z[:, j], ref.cdf).pvalue > P_MIN


def test_discrete_chi2(device):
    gpuarr.manual_seed(77)
    g = host(GD.Geometric(t64([0.3, 0.05], device)).sample((N,)))
    for j, p in enumerate((0.3, 0.05)):
        k = np.arange(int(40 / p))
        pmf = stats.geom.pmf(k + 1, p)
        pmf[-1] += 1 - pmf.sum()
        assert chi2_p(np.minimum(g[:, j], len(pmf) - 1), pmf) > P_MIN
    nb = host(GD.NegativeBinomial(t64([3.0, 0.5], device), t64([0.4, 0.7], device))
              .sample((N,)))
    for j, (r, p) in enumerate(((3.0, 0.4), (0.5, 0.7))):
        k = np.arange(200)
        pmf = stats.nbinom.pmf(k, r, 1 - p)  # SciPy counts failures at success prob 1 - p
        pmf[-1] += 1 - pmf.sum()
        assert chi2_p(np.minimum(nb[:, j], len(pmf) - 1), pmf) > P_MIN
    probs = np.array([0.2, 0.5, 0.3])
    m = host(GD.Multinomial(6, t64(probs, device)).sample((N,)))
    assert m.shape == (N, 3) and np.all(m.sum(-1) == 6)
    for j in range(3):
        assert chi2_p(m[:, j], stats.binom.pmf(np.arange(7), 6, probs[j])) > P_MIN


def _check_moments(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> None:
    """Sample mean and covariance within 6 standard errors (per entry) of the truth."""
    n = len(x)
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(x.mean(0) - mean) < 6 * se_mean)
    centred = x - mean
    prods = centred[:, :, None] * centred[:, None, :]
    se_cov = prods.std(0) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(0) - cov) < 6 * se_cov + 1e-12)


def test_multivariate_moments(device):
    gpuarr.manual_seed(9)
    a = np.array([1.5, 3.0, 0.7])
    x = host(GD.Dirichlet(t64(a, device)).rsample((N,)))
    a0 = a.sum()
    cov = (np.diag(a) * a0 - np.outer(a, a)) / (a0 ** 2 * (a0 + 1))
    _check_moments(x, a / a0, cov)
    w = np.array([[1.0, 0.5], [0.2, -0.3], [0.0, 1.0]])
    dg = np.array([1.0, 2.0, 0.5])
    loc = np.array([0.0, 1.0, 2.0])
    x = host(GD.LowRankMultivariateNormal(t64(loc, device), t64(w, device), t64(dg, device))
             .rsample((N,)))
    _check_moments(x, loc, w @ w.T + np.diag(dg))
    # the mixture: law of total expectation / variance (its mean and variance properties)
    mix = GD.MixtureSameFamily(GD.Categorical(probs=t64([0.3, 0.7], device)),
                               GD.Normal(t64([-1.0, 2.0], device), t64([0.5, 1.0], device)))
    x = host(mix.sample((N,)))
    _check_moments(x[:, None], host(mix.mean)[None], host(mix.variance).reshape(1, 1))


def test_simplex_samplers(device):
    gpuarr.manual_seed(4)
    loc, scale = np.array([0.5, -1.0]), np.array([1.5, 0.3])
    y = host(GD.LogisticNormal(t64(loc, device), t64(scale, device)).rsample((N,)))
    assert np.allclose(y.sum(-1), 1.0) and np.all(y > 0)
    # the stick-breaking inverse recovers normals with the given parameters
    x = host(GD.transforms.StickBreakingTransform().inv(gpuarr.tensor(y, device=device)))
    for j in range(2):
        assert stats.kstest(x[:, j], stats.norm(loc[j], scale[j]).cdf).pvalue > P_MIN
    # relaxed categorical: the argmax of a sample is categorical with the given probs
    probs = np.array([0.2, 0.5, 0.3])
    r = host(GD.RelaxedOneHotCategorical(t64(0.3, device), probs=t64(probs, device))
             .rsample((N,)))
    assert np.allclose(r.sum(-1), 1.0)
    assert chi2_p(r.argmax(-1), probs) > P_MIN
    o = host(GD.OneHotCategoricalStraightThrough(probs=t64(probs, device)).rsample((N,)))
    assert chi2_p(o.argmax(-1), probs) > P_MIN


def test_same_seed_same_samples(device):
    def draw():
        gpuarr.manual_seed(123)
        out = [host(make(device).sample((3,))).ravel() for _, make, _ in CONTINUOUS]
        out.append(host(GD.VonMises(t64([0.5], device), t64([2.0], device)).sample((3,))).ravel())
        out.append(host(GD.Dirichlet(t64([1.0, 2.0], device)).sample((3,))).ravel())
        out.append(host(GD.Geometric(t64([0.3], device)).sample((3,))).ravel())
        return np.concatenate(out)

    assert np.array_equal(draw(), draw())


def test_lkj_cholesky_marginal(device):
    """Every off-diagonal correlation r of an LKJ(eta) matrix has (r + 1) / 2 ~ Beta(b, b),
    b = eta - 1 + dim / 2 (LKJ 2009). (torch's sampler fails this for rows >= 2.)"""
    gpuarr.manual_seed(6)
    for dim, eta in ((2, 0.5), (4, 2.0), (5, 0.8)):
        l = host(GD.LKJCholesky(dim, t64(eta, device)).sample((N,)))
        corr = l @ np.swapaxes(l, -1, -2)
        assert np.allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0)
        b = eta - 1 + dim / 2
        for i, j in ((1, 0), (dim - 1, 0), (dim - 1, dim - 2)):
            r = corr[:, i, j]
            assert stats.kstest((r + 1) / 2, stats.beta(b, b).cdf).pvalue > P_MIN


def test_wishart_moments(device):
    """Entrywise mean df V and variance df (V_ij^2 + V_ii V_jj), within 6 standard errors."""
    gpuarr.manual_seed(12)
    a = np.random.default_rng(1).normal(size=(3, 3))
    cov = a @ a.T + np.eye(3)
    d = GD.Wishart(t64(7.0, device), covariance_matrix=t64(cov, device))
    x = host(d.rsample((N,))).reshape(N, 9)
    se = np.sqrt(host(d.variance).ravel() / N)
    assert np.all(np.abs(x.mean(0) - host(d.mean).ravel()) < 6 * se)
    assert np.all(np.abs(x.var(0) / host(d.variance).ravel() - 1) < 0.1)
