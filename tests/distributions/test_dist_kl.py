"""kl_divergence: every pair torch registers among gpuarr's distributions gives torch's value
(finite or inf); a Monte Carlo estimate E_p[log p - log q] agrees with the closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD

import gpuarr
import gpuarr.distributions as GD


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _spd(seed):
    a = np.random.default_rng(seed).normal(size=(3, 3))
    return a @ a.T + np.eye(3)


MAKERS = {
    "Bernoulli": lambda D, t: D.Bernoulli(probs=t([0.0, 0.3, 0.7, 1.0])),
    "Bernoulli2": lambda D, t: D.Bernoulli(probs=t([0.2, 0.0, 1.0, 0.6])),
    "Beta": lambda D, t: D.Beta(t([0.5, 2.0, 3.0, 1.0]), t([0.7, 5.0, 1.0, 1.0])),
    "Beta2": lambda D, t: D.Beta(t([1.5, 0.9, 2.0, 4.0]), t([2.0, 1.1, 0.5, 4.0])),
    "Binomial": lambda D, t: D.Binomial(t([10.0, 10.0, 12.0, 5.0]), t([0.2, 0.5, 0.9, 0.4])),
    "Binomial2": lambda D, t: D.Binomial(t([10.0, 10.0, 10.0, 5.0]), t([0.3, 0.6, 0.4, 0.4])),
    "Categorical": lambda D, t: D.Categorical(probs=t([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5]])),
    "Categorical2": lambda D, t: D.Categorical(probs=t([[0.6, 0.1, 0.3], [0.2, 0.0, 0.8]])),
    "OneHotCategorical": lambda D, t: D.OneHotCategorical(probs=t([[0.2, 0.3, 0.5]])),
    "OneHotCategorical2": lambda D, t: D.OneHotCategorical(probs=t([[0.4, 0.4, 0.2]])),
    "Exponential": lambda D, t: D.Exponential(t([0.5, 2.0, 1.0, 3.0])),
    "Exponential2": lambda D, t: D.Exponential(t([1.5, 0.2, 1.0, 3.0])),
    "Gamma": lambda D, t: D.Gamma(t([0.5, 2.0, 9.0, 1.0]), t([1.0, 0.25, 3.0, 2.0])),
    "Gamma2": lambda D, t: D.Gamma(t([1.5, 2.5, 4.0, 1.0]), t([0.5, 1.0, 2.0, 2.0])),
    "MultivariateNormal": lambda D, t: D.MultivariateNormal(t([0.0, 1.0, -1.0]),
                                                            covariance_matrix=t(_spd(0))),
    "MultivariateNormal2": lambda D, t: D.MultivariateNormal(t([[0.5, 0.0, 0.0],
                                                                [1.0, 2.0, 3.0]]),
                                                             scale_tril=t(np.linalg.cholesky(
                                                                 _spd(1)))),
    "Normal": lambda D, t: D.Normal(t([0.0, 1.0, -2.0, 0.5]), t([1.0, 0.5, 2.0, 0.1])),
    "Normal2": lambda D, t: D.Normal(t([0.5, -1.0, -2.0, 0.7]), t([2.0, 0.5, 1.0, 0.3])),
    "Poisson": lambda D, t: D.Poisson(t([0.5, 3.0, 10.0, 1.0])),
    "Poisson2": lambda D, t: D.Poisson(t([1.0, 2.0, 12.0, 0.1])),
    "Uniform": lambda D, t: D.Uniform(t([0.1, -1.0, 0.0, 0.2]), t([0.9, 1.0, 2.0, 0.6])),
    "Uniform2": lambda D, t: D.Uniform(t([0.0, -2.0, 0.5, -5.0]), t([1.0, 2.0, 2.0, 5.0])),
}


def _family(name: str) -> str:
    return name.rstrip("2")


def _registered_pairs():
    families = {_family(n) for n in MAKERS}
    pairs = []
    for p_type, q_type in TD.kl._KL_REGISTRY:
        pn, qn = p_type.__name__, q_type.__name__
        if pn in families and qn in families:
            pairs.append((pn, qn + "2" if pn == qn else qn))
    return sorted(pairs)


PAIRS = _registered_pairs()


def test_every_torch_pair_is_covered():
    assert len(PAIRS) == 34  # torch 2.13 registers 34 pairs among these 11 families


@pytest.mark.parametrize("p_name, q_name", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_matches_torch(device, p_name, q_name):
    def ours(v):
        return gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device)

    def theirs(v):
        return torch.tensor(np.asarray(v, dtype=np.float64))

    p, q = MAKERS[p_name](GD, ours), MAKERS[q_name](GD, ours)
    tp, tq = MAKERS[p_name](TD, theirs), MAKERS[q_name](TD, theirs)
    expected = TD.kl_divergence(tp, tq).numpy()
    got = host(GD.kl_divergence(p, q))
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    fin = np.isfinite(expected)
    np.testing.assert_allclose(got[fin], expected[fin], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("p_name, q_name", [("Normal", "Normal2"), ("Gamma", "Gamma2"),
                                            ("Beta", "Beta2"), ("Poisson", "Poisson2"),
                                            ("OneHotCategorical", "OneHotCategorical2"),
                                            ("MultivariateNormal", "MultivariateNormal2")])
def test_kl_is_the_expected_log_ratio(device, p_name, q_name):
    """KL(p || q) = E_p[log p(x) - log q(x)], estimated from 40,000 samples of p."""
    gpuarr.manual_seed(8)

    def t(v):
        return gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device)

    p, q = MAKERS[p_name](GD, t), MAKERS[q_name](GD, t)
    p = p.expand(np.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape)))
    x = p.sample((40000,))
    ratio = host(p.log_prob(x) - q.log_prob(x))
    mc, se = ratio.mean(0), ratio.std(0) / np.sqrt(ratio.shape[0])
    exact = host(GD.kl_divergence(p, q))
    assert np.all(np.abs(mc - exact) < 5 * se + 1e-12)
    assert np.all(exact >= 0)


def test_kl_errors_and_registration(device):
    n = GD.Normal(gpuarr.zeros(2, device=device), 1.0)
    c = GD.Categorical(probs=gpuarr.tensor([0.5, 0.5], device=device))
    with pytest.raises(NotImplementedError, match="No KL"):
        GD.kl_divergence(c, n)
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        GD.kl_divergence(GD.Binomial(3, gpuarr.tensor([0.5], device=device)),
                         GD.Binomial(5, gpuarr.tensor([0.5], device=device)))

    class Shifted(GD.Normal):
        pass

    @GD.register_kl(Shifted, GD.Normal)
    def _kl_shifted(p, q):
        return p.loc * 0 + 42.0

    assert host(GD.kl_divergence(Shifted(gpuarr.zeros(2, device=device), 1.0), n)).tolist() \
        == [42.0, 42.0]
    # a subclass without its own entry uses its parent's formula
    assert host(GD.kl_divergence(n, Shifted(gpuarr.zeros(2, device=device), 1.0))).tolist() \
        == [0.0, 0.0]
