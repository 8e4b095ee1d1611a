"""The probability lecture's facts, checked with gpuarr's samplers and distributions:
likelihood fitting by autograd, expectations (exact sums vs Monte Carlo within the standard
error), linearity of expectation, E[fg] != E[f]E[g] for dependent variables, conditional
probabilities from a joint distribution, and correcting a biased sample by reweighting."""

from __future__ import annotations

import numpy as np

import gpuarr
import gpuarr.distributions as GD


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def t64(v, device):
    return gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device)


def _descend(params, loss_fn, lr: float, steps: int) -> None:
    """Plain gradient descent on ``loss_fn()``."""
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss_fn().backward()
        with gpuarr.no_grad():
            for p in params:
                p -= lr * p.grad


# ---- likelihood ----------------------------------------------------------------------------


def test_log_likelihood_is_the_sum_of_log_probs(device):
    from scipy import stats

    data = np.array([0.3, -1.2, 2.5, 0.0])
    d = GD.Normal(t64(1.0, device), t64(2.0, device))
    ll = d.log_prob(t64(data, device)).sum()
    np.testing.assert_allclose(float(host(ll)), stats.norm(1.0, 2.0).logpdf(data).sum(),
                               rtol=1e-12)
    # independent observations: the likelihood is the product of the probabilities
    c = GD.Categorical(probs=t64([0.2, 0.5, 0.3], device))
    obs = gpuarr.tensor([1, 1, 2, 0, 1], device=device)
    np.testing.assert_allclose(float(host(c.log_prob(obs).sum().exp())),
                               0.5 * 0.5 * 0.3 * 0.2 * 0.5, rtol=1e-12)
    # the helper is the same sum, and differentiable: its gradient is counts - n * probs
    logits = gpuarr.zeros(3, dtype=gpuarr.float64, device=device, requires_grad=True)
    ll = GD.log_likelihood(GD.Categorical(logits=logits), obs)
    np.testing.assert_allclose(float(host(ll)), 5 * np.log(1 / 3), rtol=1e-12)
    ll.backward()
    np.testing.assert_allclose(host(logits.grad), np.array([1, 3, 1]) - 5 / 3, rtol=1e-12)


def test_fitting_a_categorical_recovers_the_frequencies(device):
    counts = np.array([30, 50, 15, 5])
    labels = gpuarr.tensor(np.repeat(np.arange(4), counts), device=device)
    logits = gpuarr.zeros(4, dtype=gpuarr.float64, device=device, requires_grad=True)

    def nll():
        return -GD.Categorical(logits=logits).log_prob(labels).mean()

    _descend([logits], nll, lr=2.0, steps=300)
    fitted = host(GD.Categorical(logits=logits).probs)
    np.testing.assert_allclose(fitted, counts / counts.sum(), atol=1e-4)
    # the maximum: no other distribution gives the data a higher likelihood
    best = float(host(-nll()))
    for other in ([0.25] * 4, [0.3, 0.5, 0.1, 0.1], [0.29, 0.51, 0.15, 0.05]):
        ll = GD.Categorical(probs=t64(other, device)).log_prob(labels).mean()
        assert float(host(ll)) < best


def test_fitting_a_normal_recovers_mean_and_std(device):
    data_np = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    data = t64(data_np, device)
    loc = gpuarr.zeros((), dtype=gpuarr.float64, device=device, requires_grad=True)
    log_scale = gpuarr.zeros((), dtype=gpuarr.float64, device=device, requires_grad=True)

    def nll():
        return -GD.Normal(loc, log_scale.exp()).log_prob(data).mean()

    _descend([loc, log_scale], nll, lr=0.2, steps=400)
    # the maximum-likelihood estimates: the sample mean and the (1/n) standard deviation
    np.testing.assert_allclose(float(host(loc)), data_np.mean(), atol=1e-5)
    np.testing.assert_allclose(float(host(log_scale.exp())), data_np.std(), atol=1e-5)


def test_fitting_a_coin(device):
    flips = t64([1, 0, 1, 1, 0, 1, 1, 1, 0, 1], device)  # 7 heads in 10
    logit = gpuarr.zeros((), dtype=gpuarr.float64, device=device, requires_grad=True)
    _descend([logit], lambda: -GD.Bernoulli(logits=logit).log_prob(flips).mean(), 4.0, 200)
    np.testing.assert_allclose(float(host(GD.Bernoulli(logits=logit).probs)), 0.7, atol=1e-6)


# ---- expectation ---------------------------------------------------------------------------

VALUES = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
PROBS = np.array([0.05, 0.1, 0.35, 0.2, 0.2, 0.1])
N = 50000


def _draw(device, seed):
    """N draws of X with P(X = a) = PROBS[a] (the values are the category indices)."""
    gpuarr.manual_seed(seed)
    return GD.Categorical(probs=t64(PROBS, device)).sample((N,)).to(gpuarr.float64)


def test_expectation_is_the_probability_weighted_sum(device):
    a = t64(VALUES, device)
    p = t64(PROBS, device)
    x = _draw(device, 1)
    for f in (lambda v: v, lambda v: v * v, lambda v: (v - 2.0).abs().sqrt()):
        exact = float(host((p * f(a)).sum()))      # sum_a P(a) f(a)
        fx = host(f(x))
        mc, se = fx.mean(), fx.std() / np.sqrt(N)
        assert abs(mc - exact) < 4 * se


def test_linearity_of_expectation(device):
    a, p = t64(VALUES, device), t64(PROBS, device)

    def expect(fa):
        return float(host((p * fa).sum()))

    f, g = a * a, (a * 0.7).cos()
    # exact: E[2f - 3g + 1] = 2E[f] - 3E[g] + 1
    np.testing.assert_allclose(expect(2 * f - 3 * g + 1), 2 * expect(f) - 3 * expect(g) + 1,
                               rtol=1e-12)
    # and for Monte Carlo means, with X and Y dependent (Y = X^2 + noise)
    x = _draw(device, 2)
    y = x * x + GD.Normal(t64(0.0, device), t64(1.0, device)).sample((N,))
    lhs = float(host((x + y).mean()))
    np.testing.assert_allclose(lhs, float(host(x.mean())) + float(host(y.mean())), rtol=1e-10)


def test_expectation_of_a_product(device):
    x = _draw(device, 3)
    # dependent pair (g is a function of the same X): E[fg] - E[f]E[g] = Var(X) > 0
    f, g = x, x
    gap = host(f * g - f.mean() * g.mean())  # per-sample terms of E[fg] - E[f]E[g]
    exact_var = float((PROBS * VALUES ** 2).sum() - (PROBS * VALUES).sum() ** 2)
    assert abs(gap.mean() - exact_var) < 4 * gap.std() / np.sqrt(N)
    assert gap.mean() > 20 * gap.std() / np.sqrt(N)  # far from 0: E[fg] != E[f]E[g]
    # independent pair: E[XY] = E[X]E[Y] within the standard error
    y = _draw(device, 4)
    prod = host(x * y)
    ex, ey = host(x).mean(), host(y).mean()
    assert abs(prod.mean() - ex * ey) < 4 * prod.std() / np.sqrt(N)


def test_conditional_probability_from_a_joint(device):
    joint = np.array([[0.10, 0.20, 0.05],
                      [0.30, 0.15, 0.20]])  # P(A = i, B = j)
    cond = joint / joint.sum(0, keepdims=True)  # P(A = i | B = j)
    gpuarr.manual_seed(5)
    s = host(GD.Categorical(probs=t64(joint.ravel(), device)).sample((N,)))
    a, b = s // 3, s % 3
    for j in range(3):
        sel = a[b == j]
        est = (sel == 0).mean()
        se = np.sqrt(cond[0, j] * (1 - cond[0, j]) / sel.size)
        assert abs(est - cond[0, j]) < 4 * se
    # Bayes' rule: P(B | A) P(A) = P(A | B) P(B)
    pa, pb = joint.sum(1), joint.sum(0)
    np.testing.assert_allclose((joint / pa[:, None]) * pa[:, None], cond * pb[None, :])


def test_sampling_bias_and_its_correction(device):
    """Drawing from q instead of p biases the mean; weighting by p/q removes the bias."""
    p = t64(PROBS, device)
    q = t64([0.3, 0.3, 0.1, 0.1, 0.1, 0.1], device)
    gpuarr.manual_seed(6)
    x = GD.Categorical(probs=q).sample((N,))
    xv = host(x).astype(np.float64)
    exact = float((PROBS * VALUES).sum())
    biased_se = xv.std() / np.sqrt(N)
    assert abs(xv.mean() - exact) > 20 * biased_se
    w = host((GD.Categorical(probs=p).log_prob(x) - GD.Categorical(probs=q).log_prob(x)).exp())
    terms = w * xv
    assert abs(terms.mean() - exact) < 4 * terms.std() / np.sqrt(N)
