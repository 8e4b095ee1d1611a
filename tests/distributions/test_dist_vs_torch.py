"""Every distribution against torch.distributions on the same parameters: log_prob, entropy,
mean, variance, stddev, cdf/icdf, shapes (batch, event, sample), support, expand, argument
validation and its error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD
from device_helpers import resolved
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpuarr
import gpuarr.distributions as GD


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _spd(n: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


COV = np.stack([_spd(3, 1), _spd(3, 2)])
TRIL = np.linalg.cholesky(COV)

# name -> (constructor taking (module, tensor-maker), values to score)
CASES = {
    "Normal": (lambda D, t: D.Normal(t([0.5, -1.0, 2.0]), t([1.5, 0.3, 2.0])),
               [[0.1, -2.0, 5.0], [0.0, 0.0, 0.0]]),
    "Normal-scalar": (lambda D, t: D.Normal(1.0, 2.0), [0.3, -4.0]),
    "Uniform": (lambda D, t: D.Uniform(t([0.0, -2.0]), t([1.0, 3.0])), [[0.5, 2.9], [0.0, -2.0]]),
    "Exponential": (lambda D, t: D.Exponential(t([0.5, 2.0, 7.0])), [[0.0, 1.5, 0.01]]),
    "Gamma": (lambda D, t: D.Gamma(t([0.5, 2.0, 9.0]), t([1.0, 0.25, 3.0])),
              [[0.2, 3.0, 4.1], [1e-3, 10.0, 0.5]]),
    "Beta": (lambda D, t: D.Beta(t([0.5, 2.0, 3.0]), t([0.7, 5.0, 1.0])),
             [[0.1, 0.5, 0.99], [0.7, 0.2, 0.3]]),
    "Poisson": (lambda D, t: D.Poisson(t([0.5, 4.0, 30.0])), [[0.0, 3.0, 28.0], [2.0, 0.0, 40.0]]),
    "Bernoulli-probs": (lambda D, t: D.Bernoulli(probs=t([0.0, 0.3, 0.9, 1.0])),
                        [[0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]),
    "Bernoulli-logits": (lambda D, t: D.Bernoulli(logits=t([-3.0, 0.0, 2.5])),
                         [[0.0, 1.0, 1.0]]),
    "Binomial": (lambda D, t: D.Binomial(10, t([0.0, 0.35, 0.8, 1.0])),
                 [[0.0, 3.0, 10.0, 10.0], [0.0, 10.0, 7.0, 10.0]]),
    "Binomial-logits": (lambda D, t: D.Binomial(t([4.0, 9.0]), logits=t([-1.0, 2.0])),
                        [[2.0, 9.0]]),
    "Categorical-probs": (lambda D, t: D.Categorical(probs=t([[0.2, 0.3, 0.5], [1.0, 1.0, 2.0]])),
                          [[2, 0], [1, 1]]),
    "Categorical-logits": (lambda D, t: D.Categorical(logits=t([0.3, -1.0, 2.0, 0.0])),
                           [3, 0]),
    "OneHotCategorical": (lambda D, t: D.OneHotCategorical(probs=t([[0.2, 0.8], [0.6, 0.4]])),
                          [[[0.0, 1.0], [1.0, 0.0]]]),
    "MultivariateNormal-cov": (lambda D, t: D.MultivariateNormal(t([[0.0, 1.0, -1.0]]),
                                                                 covariance_matrix=t(COV)),
                               [[0.5, 0.5, 0.5], [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]]),
    "MultivariateNormal-tril": (lambda D, t: D.MultivariateNormal(t([0.0, 1.0, -1.0]),
                                                                  scale_tril=t(TRIL)),
                                [[0.5, 0.5, 0.5]]),
    "MultivariateNormal-prec": (lambda D, t: D.MultivariateNormal(
        t([0.0, 1.0, -1.0]), precision_matrix=t(np.linalg.inv(COV[0]))), [[0.5, -0.5, 2.0]]),
}

# torch raises NotImplementedError for these; checked against SciPy below
NO_TORCH_ENTROPY = {"Poisson", "Binomial-logits"}
# built from Python numbers: these live on the CPU whatever the device under test (as in torch)
ON_CPU = {"Normal-scalar"}


def _pair(name, device):
    ctor, values = CASES[name]
    ours = ctor(GD, lambda v: gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device))
    theirs = ctor(TD, lambda v: torch.tensor(np.asarray(v, dtype=np.float64)))
    return ours, theirs, values


def _close(a, b, rtol=1e-10):
    np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(device, name):
    ours, theirs, values = _pair(name, device)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    assert repr(ours.support).split("(")[0] == repr(theirs.support).split("(")[0]
    assert repr(ours).split("(")[0] == repr(theirs).split("(")[0]
    for attr in ("mean", "variance", "stddev"):
        _close(getattr(ours, attr), getattr(theirs, attr))
    if name != "Beta":  # Beta: see test_beta_mode
        np.testing.assert_array_equal(host(ours.mode), theirs.mode.numpy())
    if name not in NO_TORCH_ENTROPY:
        _close(ours.entropy(), theirs.entropy())
    for v in values:
        dtype = torch.int64 if name.startswith("Categorical") else torch.float64
        tv = torch.tensor(v, dtype=dtype)
        gv = gpuarr.tensor(tv.numpy(), device=device)
        out = ours.log_prob(gv)
        assert out.shape == tuple(theirs.log_prob(tv).shape)
        assert out.device == resolved(device)  # CPU scalar parameters follow the value
        _close(out, theirs.log_prob(tv), rtol=1e-9)
    # sample shapes: sample_shape + batch_shape + event_shape
    for shape in ((), (4,), (2, 3), (0,)):
        s = ours.sample(shape)
        # (torch's Categorical cannot draw 0 samples; gpuarr returns an empty tensor)
        assert tuple(s.shape) == shape + tuple(theirs.batch_shape) + tuple(theirs.event_shape)
        assert s.device == resolved("cpu" if name in ON_CPU else device)
        assert np.all(host(ours.support.check(s)))


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential"])
def test_cdf_icdf_match_torch(device, name):
    ours, theirs, values = _pair(name, device)
    for v in values:
        gv = gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device)
        _close(ours.cdf(gv), theirs.cdf(torch.tensor(np.asarray(v, dtype=np.float64))))
    u = np.array([0.01, 0.5, 0.93])[:, None] * np.ones(tuple(theirs.batch_shape))
    _close(ours.icdf(gpuarr.tensor(u, device=device)), theirs.icdf(torch.tensor(u)), rtol=1e-9)


def test_beta_mode(device):
    a = gpuarr.tensor([2.0, 3.0, 0.5, 0.5, 1.0], device=device)
    b = gpuarr.tensor([5.0, 1.0, 2.0, 0.5, 1.0], device=device)
    # interior mode, J-shaped at 1 and at 0; U-shaped and flat densities have no single mode
    np.testing.assert_allclose(host(GD.Beta(a, b).mode), [0.2, 1.0, 0.0, np.nan, np.nan])
    ta, tb = torch.tensor([2.0, 3.0, 0.5]), torch.tensor([5.0, 1.0, 2.0])
    np.testing.assert_allclose(host(GD.Beta(a, b).mode)[:3], TD.Beta(ta, tb).mode.numpy())


def test_poisson_entropy_matches_scipy(device):
    from scipy import stats

    rates = np.array([0.0, 0.1, 2.5, 40.0, 900.0])
    h = GD.Poisson(gpuarr.tensor(rates, device=device)).entropy()
    np.testing.assert_allclose(host(h), [stats.poisson(r).entropy() for r in rates],
                               rtol=1e-9, atol=1e-12)
    # large rates (where SciPy's sum does not converge): 0.5 log(2 pi e r) - 1/(12 r) + ...
    r = np.array([1e6, 2e6])
    big = GD.Poisson(gpuarr.tensor(r, device=device)).entropy()
    np.testing.assert_allclose(host(big), 0.5 * np.log(2 * np.pi * np.e * r) - 1 / (12 * r),
                               rtol=1e-9)


def test_binomial_entropy_with_mixed_counts_matches_scipy(device):
    from scipy import stats

    n = np.array([0.0, 1.0, 4.0, 9.0, 9.0])
    p = np.array([0.3, 0.5, 0.2, 0.0, 0.7])
    h = GD.Binomial(gpuarr.tensor(n, device=device), gpuarr.tensor(p, device=device)).entropy()
    np.testing.assert_allclose(host(h), stats.binom(n, p).entropy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Bernoulli-probs", "Categorical-probs",
                                  "MultivariateNormal-cov", "Binomial"])
def test_expand(device, name):
    ours, theirs, _ = _pair(name, device)
    new_batch = (2,) + tuple(ours.batch_shape)
    e, te = ours.expand(new_batch), theirs.expand(new_batch)
    assert tuple(e.batch_shape) == tuple(te.batch_shape)
    _close(e.mean if name != "Categorical-probs" else e.probs,
           te.mean if name != "Categorical-probs" else te.probs)
    assert tuple(e.sample((5,)).shape) == tuple(te.sample((5,)).shape)


@pytest.mark.parametrize("name", ["Bernoulli-probs", "Binomial", "Categorical-probs",
                                  "OneHotCategorical"])
def test_enumerate_support(device, name):
    ours, theirs, _ = _pair(name, device)
    for expand in (True, False):
        a, b = ours.enumerate_support(expand), theirs.enumerate_support(expand)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(host(a), b.numpy())
    # the pmf over the support sums to one for each batch member
    total = ours.log_prob(ours.enumerate_support()).exp().sum(0)
    np.testing.assert_allclose(host(total), 1.0, rtol=1e-12)


def test_logits_and_probs_are_consistent(device):
    p = gpuarr.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=gpuarr.float64, device=device)
    c = GD.Categorical(probs=p)
    np.testing.assert_allclose(host(c.probs), [[0.25, 0.75], [0.5, 0.5]])
    tc = TD.Categorical(probs=torch.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=torch.float64))
    _close(c.logits, tc.logits)
    b = GD.Bernoulli(logits=gpuarr.tensor([0.0, 2.0], dtype=gpuarr.float64, device=device))
    np.testing.assert_allclose(host(b.probs), 1 / (1 + np.exp(-np.array([0.0, 2.0]))))
    assert host(GD.Categorical(probs=p).mode).tolist() == [1, 0]


# ---- validation ----------------------------------------------------------------------------


def test_invalid_parameters_raise_like_torch(device):
    def t(v):
        return gpuarr.tensor(v, device=device)

    bad = [
        (lambda: GD.Normal(t([0.0, 1.0]), t([1.0, -1.0])),
         lambda: TD.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, -1.0]))),
        (lambda: GD.Categorical(probs=t([0.5, -0.1])),
         lambda: TD.Categorical(probs=torch.tensor([0.5, -0.1]))),
        (lambda: GD.Bernoulli(probs=t([1.5])), lambda: TD.Bernoulli(probs=torch.tensor([1.5]))),
        (lambda: GD.Gamma(t([-1.0]), t([1.0])),
         lambda: TD.Gamma(torch.tensor([-1.0]), torch.tensor([1.0]))),
        (lambda: GD.Exponential(t([0.0])), lambda: TD.Exponential(torch.tensor([0.0]))),
        (lambda: GD.Poisson(t([-2.0])), lambda: TD.Poisson(torch.tensor([-2.0]))),
        (lambda: GD.Uniform(t([1.0]), t([0.0])),
         lambda: TD.Uniform(torch.tensor([1.0]), torch.tensor([0.0]))),
        (lambda: GD.Binomial(t([2.5]), t([0.5])),
         lambda: TD.Binomial(torch.tensor([2.5]), torch.tensor([0.5]))),
        (lambda: GD.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]])),
         lambda: TD.MultivariateNormal(torch.zeros(2), torch.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ]
    for ours, theirs in bad:
        with pytest.raises(ValueError) as e1:
            ours()
        with pytest.raises(ValueError) as e2:
            theirs()
        # same sentence, with gpuarr's names in place of torch's
        assert str(e1.value).split(" of distribution")[0] == \
            str(e2.value).split(" of distribution")[0]
        assert "to satisfy the constraint" in str(e1.value)
        assert "but found invalid values" in str(e1.value)


def test_normal_error_message_in_full(device):
    with pytest.raises(ValueError) as e:
        GD.Normal(gpuarr.tensor([0.0, 1.0], device=device),
                  gpuarr.tensor([1.0, -1.0], device=device))
    assert str(e.value).startswith(
        "Expected parameter scale (Tensor of shape (2,)) of distribution "
        "Normal(loc: gpuarr.Size([2]), scale: gpuarr.Size([2])) to satisfy the constraint "
        "GreaterThan(lower_bound=0.0), but found invalid values:\n"
    )


def test_probabilities_are_normalised_not_rejected(device):
    # as torch: Categorical normalises probs that do not sum to one...
    c = GD.Categorical(probs=gpuarr.tensor([2.0, 6.0], device=device))
    np.testing.assert_allclose(host(c.probs), [0.25, 0.75])
    # ...but probabilities that cannot be normalised (all zero) are rejected
    with pytest.raises(ValueError, match="Simplex"):
        GD.Categorical(probs=gpuarr.tensor([0.0, 0.0], device=device))
    # and the constraint itself reports vectors that do not sum to one
    chk = GD.constraints.simplex.check(gpuarr.tensor([[0.2, 0.3], [0.5, 0.5]], device=device))
    assert host(chk).tolist() == [False, True]


def test_validate_sample(device):
    n = GD.Normal(gpuarr.zeros(3, device=device), 1.0)
    with pytest.raises(ValueError, match="Value is not broadcastable"):
        n.log_prob(gpuarr.zeros(2, device=device))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        n.log_prob(0.5)
    b = GD.Bernoulli(probs=gpuarr.tensor(0.3, device=device))
    with pytest.raises(ValueError, match=r"to be within the support \(Boolean\(\)\)"):
        b.log_prob(gpuarr.tensor(0.5, device=device))
    c = GD.Categorical(probs=gpuarr.tensor([0.5, 0.5], device=device))
    with pytest.raises(ValueError, match="IntegerInterval"):
        c.log_prob(gpuarr.tensor(2, device=device))
    m = GD.MultivariateNormal(gpuarr.zeros(2, device=device), gpuarr.eye(2, device=device))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        m.log_prob(gpuarr.zeros(3, device=device))
    # validation off: no check, plain arithmetic
    lp = GD.Bernoulli(probs=gpuarr.tensor(0.3, device=device), validate_args=False).log_prob(
        gpuarr.tensor(0.5, device=device))
    assert np.isfinite(host(lp))


def test_default_validation_switch(device):
    GD.Distribution.set_default_validate_args(False)
    try:
        d = GD.Normal(gpuarr.zeros(1, device=device), gpuarr.tensor([-1.0], device=device))
        assert not d._validate_args
    finally:
        GD.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        GD.Normal(gpuarr.zeros(1, device=device), gpuarr.tensor([-1.0], device=device))


def test_constructor_argument_errors(device):
    p = gpuarr.tensor([0.5, 0.5], device=device)
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        GD.Categorical(probs=p, logits=p)
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        GD.Bernoulli()
    with pytest.raises(ValueError, match="at least one-dimensional"):
        GD.Categorical(probs=gpuarr.tensor(1.0, device=device))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
        GD.MultivariateNormal(gpuarr.zeros(2, device=device))
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number"):
        GD.Normal("a", 1.0)


def test_number_parameters_give_scalar_batch(device):
    n = GD.Normal(0.0, 1.0)
    assert n.batch_shape == () and n.loc.dtype == gpuarr.float32
    assert repr(n) == "Normal(loc: 0.0, scale: 1.0)"
    g = GD.Gamma(gpuarr.tensor([2.0], device=device), 3.0)
    assert g.rate.device == resolved(device) and g.rate.shape == (1,)


def test_constraints_module(device):
    C = GD.constraints
    t = gpuarr.tensor([[-1.0, 0.0, 0.5, 1.0, 2.0]], device=device)
    tt = torch.tensor([[-1.0, 0.0, 0.5, 1.0, 2.0]])
    for ours, theirs in ((C.real, TD.constraints.real), (C.positive, TD.constraints.positive),
                         (C.nonnegative, TD.constraints.nonnegative),
                         (C.unit_interval, TD.constraints.unit_interval),
                         (C.boolean, TD.constraints.boolean),
                         (C.nonnegative_integer, TD.constraints.nonnegative_integer),
                         (C.integer_interval(0, 1), TD.constraints.integer_interval(0, 1)),
                         (C.simplex, TD.constraints.simplex),
                         (C.real_vector, TD.constraints.real_vector),
                         (C.half_open_interval(0, 1), TD.constraints.half_open_interval(0, 1))):
        assert repr(ours) == repr(theirs)
        assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
        np.testing.assert_array_equal(host(ours.check(t)), theirs.check(tt).numpy())
    m = np.array([[[2.0, 0.0], [1.0, 3.0]], [[2.0, 1.0], [1.0, 3.0]], [[1.0, 2.0], [2.0, 1.0]]])
    gm, tm = gpuarr.tensor(m, device=device), torch.tensor(m)
    for ours, theirs in ((C.lower_triangular, TD.constraints.lower_triangular),
                         (C.lower_cholesky, TD.constraints.lower_cholesky),
                         (C.positive_definite, TD.constraints.positive_definite),
                         (C.symmetric, TD.constraints.symmetric)):
        np.testing.assert_array_equal(host(ours.check(gm)), theirs.check(tm).numpy())
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    assert C.is_dependent(GD.Uniform.support)


@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
       sample=st.sampled_from([(), (2,), (0,)]), seed=st.integers(0, 2**16))
def test_random_batch_shapes_match_torch(shape, sample, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 3.0, size=shape)
    b = rng.uniform(0.2, 3.0, size=shape)
    p = rng.uniform(0.05, 0.95, size=shape)
    makers = [
        (lambda D, t: D.Normal(t(a - 1.5), t(b)), lambda d: d.sample(sample)),
        (lambda D, t: D.Gamma(t(a), t(b)), lambda d: d.sample(sample)),
        (lambda D, t: D.Beta(t(a), t(b)), lambda d: d.sample(sample)),
        (lambda D, t: D.Bernoulli(probs=t(p)), lambda d: d.sample(sample)),
        (lambda D, t: D.Poisson(t(a)), lambda d: d.sample(sample)),
    ]
    for make, draw in makers:
        ours = make(GD, lambda v: gpuarr.tensor(v, dtype=gpuarr.float64))
        x = draw(ours)
        assert tuple(x.shape) == sample + shape
        lp = ours.log_prob(x)
        assert tuple(lp.shape) == sample + shape
        assert tuple(ours.entropy().shape) == shape
        if x.numel() == 0:  # torch's Beta rejects empty parameters; nothing to compare
            continue
        theirs = make(TD, lambda v: torch.tensor(v, dtype=torch.float64))
        tx = torch.tensor(host(x))
        np.testing.assert_allclose(host(lp), theirs.log_prob(tx).numpy(), rtol=1e-9, atol=1e-12)
        if not isinstance(ours, GD.Poisson):
            np.testing.assert_allclose(host(ours.entropy()), theirs.entropy().numpy(),
                                       rtol=1e-9, atol=1e-12)
