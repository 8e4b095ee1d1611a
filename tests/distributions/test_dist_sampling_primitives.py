"""Sampling primitives: statistical goodness of fit at fixed seeds (chi-squared for discrete
samplers, Kolmogorov-Smirnov for continuous ones; SciPy is the oracle), determinism under a
seed, shapes/dtypes, and torch's errors.

Every statistical test uses a fixed seed and asserts p > 1e-4, so a correct sampler fails
with another seed only about once in 10,000 runs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import gpuarr
from gpuarr.ops.sampling import bernoulli, binomial, multinomial, poisson

P_MIN = 1e-4


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def gen(device, seed=1234):
    return gpuarr.Generator(device).manual_seed(seed)


def chi2_counts(samples: np.ndarray, probs: np.ndarray) -> float:
    """p-value of a chi-squared goodness-of-fit test of integer samples against probs.

    Categories with an expected count below 5 are pooled into one bin (the test's validity
    condition).
    """
    probs = np.asarray(probs, dtype=np.float64)
    n = samples.size
    counts = np.bincount(samples.astype(np.int64).ravel(), minlength=probs.size)
    assert counts.size == probs.size, "a sample fell outside the support"
    exp = probs * n
    big = exp >= 5
    obs_b = np.append(counts[big], counts[~big].sum())
    exp_b = np.append(exp[big], exp[~big].sum())
    if exp_b[-1] == 0:
        assert obs_b[-1] == 0
        obs_b, exp_b = obs_b[:-1], exp_b[:-1]
    if obs_b.size == 1:  # a single possible outcome: it must be all the samples
        return 1.0 if obs_b[0] == n else 0.0
    return stats.chisquare(obs_b, exp_b).pvalue


# ---- multinomial ---------------------------------------------------------------------------


def test_multinomial_with_replacement_fits(device):
    p = np.array([0.1, 0.0, 0.25, 0.05, 0.6])
    w = gpuarr.tensor(p * 3.0, device=device)  # unnormalised weights
    s = multinomial(w, 20000, replacement=True, generator=gen(device))
    assert s.dtype == gpuarr.int64 and s.shape == (20000,) and s.device == w.device
    arr = host(s)
    assert not (arr == 1).any()  # zero weight: never drawn
    assert chi2_counts(arr, p) > P_MIN


def test_multinomial_rows_are_independent_distributions(device):
    p = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    s = host(multinomial(gpuarr.tensor(p, device=device), 6000, True, generator=gen(device)))
    assert s.shape == (3, 6000)
    for r in range(3):
        assert chi2_counts(s[r], p[r]) > P_MIN


def test_multinomial_without_replacement(device):
    p = np.array([0.5, 0.3, 0.2])
    s = host(multinomial(gpuarr.tensor(p, device=device).expand(20000, 3), 2,
                         generator=gen(device)))
    assert s.shape == (20000, 2)
    assert (s[:, 0] != s[:, 1]).all()
    assert chi2_counts(s[:, 0], p) > P_MIN
    # the second draw: P(j second) = sum_i p_i p_j / (1 - p_i)
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(3) if i != j)
                       for j in range(3)])
    assert chi2_counts(s[:, 1], second) > P_MIN


def test_multinomial_without_replacement_takes_zero_weights_last(device):
    w = gpuarr.tensor([0.5, 0.0, 0.5], device=device)
    for seed in range(5):
        s = host(multinomial(w, 3, generator=gen(device, seed)))
        assert sorted(s[:2]) == [0, 2] and s[2] == 1


def test_multinomial_seeded(device):
    w = gpuarr.rand(4, 10, device=device)
    a = multinomial(w, 7, True, generator=gen(device, 5))
    b = multinomial(w, 7, True, generator=gen(device, 5))
    c = multinomial(w, 7, True, generator=gen(device, 6))
    assert np.array_equal(host(a), host(b)) and not np.array_equal(host(a), host(c))
    gpuarr.manual_seed(3)
    d = w.multinomial(5)
    gpuarr.manual_seed(3)
    assert np.array_equal(host(d), host(w.multinomial(5)))


def test_multinomial_empty_rows(device):
    out = multinomial(gpuarr.ones(0, 3, device=device), 2, True)
    assert out.shape == (0, 2) and out.dtype == gpuarr.int64


@pytest.mark.parametrize("args, msg", [
    ((lambda d: gpuarr.tensor([0.5, 0.5], device=d), 3, False),
     "cannot sample n_sample > prob_dist.size(-1) samples without replacement"),
    ((lambda d: gpuarr.tensor([-0.5, 0.5], device=d), 1, True),
     "probability tensor contains either `inf`, `nan` or element < 0"),
    ((lambda d: gpuarr.tensor([float("nan"), 1.0], device=d), 1, True),
     "probability tensor contains either `inf`, `nan` or element < 0"),
    ((lambda d: gpuarr.tensor([[1.0, 0.0], [0.0, 0.0]], device=d), 1, True),
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    # several draws with replacement: torch's sampling kernel and its own messages
    ((lambda d: gpuarr.tensor([-0.5, 0.5], device=d), 3, True),
     "invalid multinomial distribution (encountering probability entry < 0)"),
    ((lambda d: gpuarr.tensor([float("nan"), 1.0], device=d), 3, True),
     "invalid multinomial distribution (encountering probability entry < 0)"),
    ((lambda d: gpuarr.tensor([float("inf"), 1.0], device=d), 3, True),
     "invalid multinomial distribution (encountering probability entry = infinity or NaN)"),
    ((lambda d: gpuarr.tensor([[1.0, 1.0], [0.0, 0.0], [-1.0, 1.0]], device=d), 3, True),
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    ((lambda d: gpuarr.ones(2, 0, device=d), 3, True),
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    ((lambda d: gpuarr.tensor(0.5, device=d), 1, True), "prob_dist must be 1 or 2 dim"),
    ((lambda d: gpuarr.ones(2, 2, 2, device=d), 1, True), "prob_dist must be 1 or 2 dim"),
    ((lambda d: gpuarr.ones(2, device=d), 0, True), "cannot sample n_sample <= 0 samples"),
    ((lambda d: gpuarr.ones(2, dtype=gpuarr.int64, device=d), 1, True),
     "multinomial only supports floating-point dtypes for input, got: Long"),
])
def test_multinomial_errors_match_torch(device, args, msg):
    make, n, repl = args
    with pytest.raises(RuntimeError) as ours:
        multinomial(make(device), n, repl)
    assert str(ours.value) == msg
    with pytest.raises(RuntimeError) as theirs:
        t = make("cpu")
        torch.multinomial(torch.tensor(t.numpy()), n, repl)
    assert msg in str(theirs.value)


# ---- bernoulli / poisson / binomial --------------------------------------------------------


def test_bernoulli_fits_and_keeps_dtype(device):
    p = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    probs = gpuarr.tensor(p, device=device).expand(8000, 5)
    s = bernoulli(probs, generator=gen(device))
    assert s.dtype == gpuarr.float64 and s.shape == (8000, 5)
    a = host(s)
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert (a[:, 0] == 0).all() and (a[:, 4] == 1).all()
    for j in (1, 2, 3):
        assert chi2_counts(a[:, j], [1 - p[j], p[j]]) > P_MIN


def test_bernoulli_scalar_p_and_inplace(device):
    x = gpuarr.zeros(20000, dtype=gpuarr.int64, device=device)
    s = x.bernoulli(0.3, generator=gen(device))
    assert s.dtype == gpuarr.int64
    assert chi2_counts(host(s), [0.7, 0.3]) > P_MIN
    y = gpuarr.empty(20000, device=device)
    assert y.bernoulli_(0.25, generator=gen(device)) is y
    assert chi2_counts(host(y), [0.75, 0.25]) > P_MIN
    pt = gpuarr.tensor([0.0, 1.0], device=device)
    z = gpuarr.empty(3, 2, device=device).bernoulli_(pt)
    assert np.array_equal(host(z), [[0, 1]] * 3)


def test_bernoulli_errors(device):
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        gpuarr.tensor([0.5, 1.5], device=device).bernoulli()
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got "
                                           r"p=1.5"):
        gpuarr.zeros(3, device=device).bernoulli_(1.5)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        gpuarr.tensor([1, 0], device=device).bernoulli()
    leaf = gpuarr.zeros(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.bernoulli_()


def test_poisson_fits(device):
    rates = gpuarr.tensor([0.0, 0.7, 4.0, 30.0], device=device).expand(10000, 4)
    s = poisson(rates, generator=gen(device))
    assert s.dtype == gpuarr.float32 and s.shape == (10000, 4)
    a = host(s)
    assert (a[:, 0] == 0).all()
    for j, lam in ((1, 0.7), (2, 4.0), (3, 30.0)):
        k = np.arange(int(lam + 12 * np.sqrt(lam) + 20))
        pmf = stats.poisson.pmf(k, lam)
        pmf[-1] += 1 - pmf.sum()
        assert chi2_counts(a[:, j], pmf) > P_MIN


def test_poisson_errors(device):
    with pytest.raises(RuntimeError, match="invalid Poisson rate, expected rate to be "
                                           "non-negative"):
        poisson(gpuarr.tensor([-1.0], device=device))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        poisson(gpuarr.tensor([1, 2], device=device))


def test_binomial_fits(device):
    n = gpuarr.tensor([10.0, 25.0], device=device).expand(10000, 2)
    p = gpuarr.tensor([0.3, 0.9], device=device)
    a = host(binomial(n, p, generator=gen(device)))
    assert a.shape == (10000, 2)
    for j, (nn, pp) in enumerate(((10, 0.3), (25, 0.9))):
        assert chi2_counts(a[:, j], stats.binom.pmf(np.arange(nn + 1), nn, pp)) > P_MIN
    with pytest.raises(RuntimeError, match="prob to be in"):
        binomial(gpuarr.tensor([3.0], device=device), gpuarr.tensor([1.5], device=device))
    with pytest.raises(ValueError, match="floating-point dtypes for count"):
        binomial(gpuarr.tensor([3], device=device), gpuarr.tensor([0.5], device=device))


def test_zero_dim_and_empty_inputs(device):
    g = gen(device)
    for fn in (lambda t: poisson(t, generator=g), lambda t: bernoulli(t * 0.1, generator=g),
               lambda t: binomial(t, t * 0.1, generator=g)):
        for shape in ((), (0,), (2, 0)):
            t = gpuarr.full(shape, 3.0, device=device)
            out = fn(t)
            assert out.shape == shape and out.dtype == t.dtype and out.device == t.device


# ---- in-place continuous / discrete fills --------------------------------------------------


def test_exponential_fits(device):
    x = gpuarr.empty(20000, device=device, dtype=gpuarr.float64)
    assert x.exponential_(2.5, generator=gen(device)) is x
    a = host(x)
    assert (a >= 0).all()
    assert stats.kstest(a, stats.expon(scale=1 / 2.5).cdf).pvalue > P_MIN
    with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0.0, but found "
                                           "lambda=0"):
        x.exponential_(0)
    with pytest.raises(RuntimeError, match="dtype must be a floating point but you specified "
                                           "Long"):
        gpuarr.zeros(3, dtype=gpuarr.int64, device=device).exponential_()


def test_geometric_fits(device):
    x = gpuarr.empty(20000, device=device)
    x.geometric_(0.3, generator=gen(device))
    a = host(x)
    assert a.min() >= 1
    k = np.arange(0, 40)
    pmf = np.where(k >= 1, stats.geom.pmf(k, 0.3), 0.0)
    pmf[-1] += 1 - pmf.sum()
    assert chi2_counts(np.minimum(a, 39), pmf) > P_MIN
    with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\)"):
        x.geometric_(1.0)


def test_log_normal_fits(device):
    x = gpuarr.empty(20000, dtype=gpuarr.float64, device=device)
    x.log_normal_(0.5, 0.8, generator=gen(device))
    dist = stats.lognorm(s=0.8, scale=np.exp(0.5))
    assert stats.kstest(host(x), dist.cdf).pvalue > P_MIN
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0.0"):
        x.log_normal_(0.0, 0.0)


# ---- the existing generators: rand, randn, randint, randperm, normal, uniform_, normal_ ------


def test_continuous_generators_fit(device):
    g = gen(device)
    n = 20000
    checks = [
        (gpuarr.rand(n, generator=g, device=device, dtype=gpuarr.float64), stats.uniform.cdf),
        (gpuarr.randn(n, generator=g, device=device, dtype=gpuarr.float64), stats.norm.cdf),
        (gpuarr.normal(2.0, 3.0, (n,), generator=g, device=device, dtype=gpuarr.float64),
         stats.norm(2.0, 3.0).cdf),
        (gpuarr.empty(n, device=device, dtype=gpuarr.float64).uniform_(-1.0, 3.0, generator=g),
         stats.uniform(-1.0, 4.0).cdf),
        (gpuarr.empty(n, device=device, dtype=gpuarr.float64).normal_(-1.0, 0.5, generator=g),
         stats.norm(-1.0, 0.5).cdf),
    ]
    for t, cdf in checks:
        assert stats.kstest(host(t), cdf).pvalue > P_MIN


def test_randint_and_randperm(device):
    g = gen(device)
    s = gpuarr.randint(-3, 4, (30000,), generator=g, device=device)
    assert s.dtype == gpuarr.int64
    a = host(s)
    assert a.min() >= -3 and a.max() <= 3
    assert chi2_counts(a + 3, np.full(7, 1 / 7)) > P_MIN
    perms = np.stack([host(gpuarr.randperm(4, generator=g, device=device))
                      for _ in range(2400)])
    assert (np.sort(perms, axis=1) == np.arange(4)).all()
    # all 24 orderings equally likely
    codes = perms @ (4 ** np.arange(4))
    _, counts = np.unique(codes, return_counts=True)
    assert counts.size == 24
    assert stats.chisquare(counts).pvalue > P_MIN


def test_same_seed_same_samples(device):
    def draw(seed):
        g = gen(device, seed)
        w = gpuarr.tensor([0.2, 0.3, 0.5], device=device)
        return np.concatenate([
            host(gpuarr.rand(5, generator=g, device=device)),
            host(gpuarr.randn(5, generator=g, device=device)),
            host(gpuarr.randint(0, 9, (5,), generator=g, device=device)).astype(float),
            host(multinomial(w, 5, True, generator=g)).astype(float),
            host(bernoulli(w, generator=g)),
            host(gpuarr.empty(5, device=device).exponential_(generator=g)),
            host(gpuarr.empty(5, device=device).bernoulli_(0.5, generator=g)),
        ])

    assert np.array_equal(draw(7), draw(7))
    assert not np.array_equal(draw(7), draw(8))

    # the default generator follows gpuarr.manual_seed
    gpuarr.manual_seed(11)
    a = host(gpuarr.empty(6, device=device).exponential_())
    gpuarr.manual_seed(11)
    assert np.array_equal(a, host(gpuarr.empty(6, device=device).exponential_()))
