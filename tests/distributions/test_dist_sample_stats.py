"""Goodness of fit of every distribution's ``sample`` / ``rsample`` at fixed seeds: chi-squared
for the discrete ones, Kolmogorov-Smirnov for the continuous ones (SciPy as the oracle).
A correct sampler passes p > 1e-4, so these fail with another seed about once in 10,000."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import gpuarr
import gpuarr.distributions as GD

P_MIN = 1e-4
N = 20000


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def t64(v, device):
    return gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device)


def chi2_p(samples: np.ndarray, probs: np.ndarray) -> float:
    counts = np.bincount(samples.astype(np.int64).ravel(), minlength=len(probs))
    assert counts.size == len(probs), "a sample fell outside the support"
    exp = np.asarray(probs) * samples.size
    big = exp >= 5
    obs_b = np.append(counts[big], counts[~big].sum())
    exp_b = np.append(exp[big], exp[~big].sum())
    if exp_b[-1] == 0:
        assert obs_b[-1] == 0
        obs_b, exp_b = obs_b[:-1], exp_b[:-1]
    return stats.chisquare(obs_b, exp_b).pvalue


CONTINUOUS = [
    ("Normal", lambda d: GD.Normal(t64([1.5, -2.0], d), t64([0.5, 3.0], d)),
     [stats.norm(1.5, 0.5), stats.norm(-2.0, 3.0)]),
    ("Uniform", lambda d: GD.Uniform(t64([0.0, -3.0], d), t64([1.0, 5.0], d)),
     [stats.uniform(0.0, 1.0), stats.uniform(-3.0, 8.0)]),
    ("Exponential", lambda d: GD.Exponential(t64([0.5, 4.0], d)),
     [stats.expon(scale=2.0), stats.expon(scale=0.25)]),
    ("Gamma", lambda d: GD.Gamma(t64([0.3, 1.0, 7.5], d), t64([1.0, 2.0, 0.5], d)),
     [stats.gamma(0.3), stats.gamma(1.0, scale=0.5), stats.gamma(7.5, scale=2.0)]),
    ("Beta", lambda d: GD.Beta(t64([0.5, 2.0, 5.0], d), t64([0.5, 3.0, 1.2], d)),
     [stats.beta(0.5, 0.5), stats.beta(2.0, 3.0), stats.beta(5.0, 1.2)]),
]


@pytest.mark.parametrize("name, make, refs", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
@pytest.mark.parametrize("method", ["sample", "rsample"])
def test_continuous_ks(device, name, make, refs, method):
    gpuarr.manual_seed(2024)
    d = make(device)
    s = host(getattr(d, method)((N,)))
    assert s.shape == (N, len(refs))
    for j, ref in enumerate(refs):
        assert stats.kstest(s[:, j], ref.cdf).pvalue > P_MIN, (name, j)


def _poisson_pmf(lam):
    k = np.arange(int(lam + 12 * np.sqrt(lam) + 25))
    pmf = stats.poisson.pmf(k, lam)
    pmf[-1] += 1 - pmf.sum()
    return pmf


DISCRETE = [
    ("Bernoulli", lambda d: GD.Bernoulli(probs=t64([0.1, 0.5, 0.85], d)),
     [[0.9, 0.1], [0.5, 0.5], [0.15, 0.85]]),
    ("Bernoulli-logits", lambda d: GD.Bernoulli(logits=t64(-1.0, d)),
     [[1 - 1 / (1 + np.e), 1 / (1 + np.e)]]),
    ("Binomial", lambda d: GD.Binomial(t64([5.0, 20.0], d), t64([0.3, 0.75], d)),
     [stats.binom.pmf(np.arange(6), 5, 0.3), stats.binom.pmf(np.arange(21), 20, 0.75)]),
    ("Poisson", lambda d: GD.Poisson(t64([0.4, 3.0, 55.0], d)),
     [_poisson_pmf(0.4), _poisson_pmf(3.0), _poisson_pmf(55.0)]),
    ("Categorical", lambda d: GD.Categorical(probs=t64([[0.1, 0.0, 0.6, 0.3],
                                                        [0.25, 0.25, 0.25, 0.25]], d)),
     [[0.1, 0.0, 0.6, 0.3], [0.25] * 4]),
    ("Categorical-logits", lambda d: GD.Categorical(logits=t64([0.0, 1.0, 2.0], d)),
     [np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()]),
]


@pytest.mark.parametrize("name, make, pmfs", DISCRETE, ids=[c[0] for c in DISCRETE])
def test_discrete_chi2(device, name, make, pmfs):
    gpuarr.manual_seed(77)
    d = make(device)
    s = host(d.sample((N,))).reshape(N, -1)
    assert s.shape == (N, len(pmfs)) and tuple(d.batch_shape) in ((), (len(pmfs),))
    for j, pmf in enumerate(pmfs):
        pmf = np.asarray(pmf, dtype=np.float64)
        s_j = np.minimum(s[:, j], len(pmf) - 1)  # the last bin holds the Poisson tail
        assert chi2_p(s_j, pmf) > P_MIN, (name, j)


def test_one_hot_categorical_chi2(device):
    gpuarr.manual_seed(5)
    p = [0.2, 0.5, 0.3]
    s = host(GD.OneHotCategorical(probs=t64(p, device)).sample((N,)))
    assert s.shape == (N, 3) and (s.sum(-1) == 1).all() and set(np.unique(s)) == {0.0, 1.0}
    assert chi2_p(s.argmax(-1), p) > P_MIN


def test_multivariate_normal_fits(device):
    gpuarr.manual_seed(9)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + np.eye(3)
    loc = np.array([1.0, -2.0, 0.5])
    for kw in ({"covariance_matrix": cov}, {"scale_tril": np.linalg.cholesky(cov)},
               {"precision_matrix": np.linalg.inv(cov)}):
        d = GD.MultivariateNormal(t64(loc, device), **{k: t64(v, device) for k, v in kw.items()})
        x = host(d.rsample((N,)))
        assert x.shape == (N, 3)
        # whitened samples are independent standard normals...
        z = np.linalg.solve(np.linalg.cholesky(cov), (x - loc).T).T
        for j in range(3):
            assert stats.kstest(z[:, j], stats.norm.cdf).pvalue > P_MIN
        # ...and the squared Mahalanobis distance is chi-squared with 3 degrees of freedom
        assert stats.kstest((z * z).sum(1), stats.chi2(3).cdf).pvalue > P_MIN
        # a projection that mixes the coordinates is normal with variance w^T cov w
        w = np.array([0.3, -1.0, 2.0])
        proj = stats.norm(w @ loc, np.sqrt(w @ cov @ w))
        assert stats.kstest(x @ w, proj.cdf).pvalue > P_MIN


def test_same_seed_same_samples(device):
    def draw():
        gpuarr.manual_seed(123)
        out = []
        for make, *_ in (c[1:] for c in CONTINUOUS + DISCRETE):
            out.append(host(make(device).sample((3,))).ravel())
        return np.concatenate(out)

    assert np.array_equal(draw(), draw())


def test_sample_has_no_grad_and_rsample_has(device):
    loc = gpuarr.tensor([0.0], dtype=gpuarr.float64, device=device, requires_grad=True)
    d = GD.Normal(loc, 1.0)
    assert not d.sample((2,)).requires_grad
    assert d.rsample((2,)).requires_grad
    conc = gpuarr.tensor([2.0], dtype=gpuarr.float64, device=device, requires_grad=True)
    assert GD.Gamma(conc, 1.0).rsample().requires_grad
    assert not GD.Gamma(conc, 1.0).sample().requires_grad
