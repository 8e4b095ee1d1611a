"""``nn.init`` and the layers' default initialisation: bounds and statistics follow torch's
formulas, ``generator=`` makes them reproducible, and no graph is recorded."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from nn_helpers import to_np

import gpuarr
from gpuarr import nn
from gpuarr.nn import init


def gen(seed=0):
    return gpuarr.Generator().manual_seed(seed)


def test_calculate_gain_matches_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                        ("leaky_relu", math.sqrt(5)), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_linear_and_conv_default_init_bounds():
    # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = to_np(lin.weight), to_np(lin.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(w.mean()) < 0.01 * bound
    conv = nn.Conv2d(16, 32, 3)
    cb = 1 / math.sqrt(16 * 9)
    assert np.abs(to_np(conv.weight)).max() <= cb
    assert to_np(conv.weight).std() == pytest.approx(cb / math.sqrt(3), rel=0.05)
    assert np.abs(to_np(conv.bias)).max() <= cb
    emb = nn.Embedding(300, 100)
    assert to_np(emb.weight).std() == pytest.approx(1.0, rel=0.02)
    bn, ln = nn.BatchNorm2d(5), nn.LayerNorm(5)
    for t, v in [(bn.weight, 1), (bn.bias, 0), (bn.running_mean, 0), (bn.running_var, 1),
                 (ln.weight, 1), (ln.bias, 0)]:
        assert (to_np(t) == v).all()


def test_default_init_reproducible_with_manual_seed():
    gpuarr.manual_seed(7)
    a = to_np(nn.Linear(5, 3).weight)
    gpuarr.manual_seed(7)
    b = to_np(nn.Linear(5, 3).weight)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, to_np(nn.Linear(5, 3).weight))


@pytest.mark.parametrize("fn,kw,stat", [
    (init.uniform_, dict(a=-2.0, b=3.0), "uniform"),
    (init.normal_, dict(mean=1.0, std=0.5), "normal"),
    (init.xavier_uniform_, dict(gain=2.0), "xu"),
    (init.xavier_normal_, dict(), "xn"),
    (init.kaiming_uniform_, dict(a=0.1, mode="fan_out", nonlinearity="leaky_relu"), "ku"),
    (init.kaiming_normal_, dict(nonlinearity="relu"), "kn"),
    (init.trunc_normal_, dict(mean=0.5, std=2.0, a=-1.0, b=2.0), "tn"),
])
def test_init_statistics_and_generator(device, fn, kw, stat):
    t = gpuarr.empty(200, 300, device=device).requires_grad_()
    out = fn(t, **kw, generator=None if device != "cpu" else gen(1))
    assert out is t and t.grad_fn is None and t.requires_grad
    v = to_np(t)
    fan_in, fan_out = 300, 200
    if stat == "uniform":
        assert v.min() >= -2 and v.max() < 3 and v.mean() == pytest.approx(0.5, abs=0.03)
    elif stat == "normal":
        assert v.mean() == pytest.approx(1.0, abs=0.01) and v.std() == pytest.approx(0.5,
                                                                                      rel=0.02)
    elif stat == "xu":
        bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
        assert np.abs(v).max() <= bound and v.std() == pytest.approx(bound / math.sqrt(3),
                                                                     rel=0.02)
    elif stat == "xn":
        assert v.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    elif stat == "ku":
        bound = math.sqrt(2 / (1 + 0.01)) * math.sqrt(3 / fan_out)
        assert np.abs(v).max() <= bound and v.std() == pytest.approx(bound / math.sqrt(3),
                                                                     rel=0.02)
    elif stat == "kn":
        assert v.std() == pytest.approx(math.sqrt(2) / math.sqrt(fan_in), rel=0.02)
    elif stat == "tn":
        ref = torch.nn.init.trunc_normal_(torch.empty(200, 300), 0.5, 2.0, -1.0, 2.0,
                                          generator=torch.Generator().manual_seed(0)).numpy()
        assert v.min() >= -1.0 and v.max() <= 2.0
        assert v.mean() == pytest.approx(ref.mean(), abs=0.02)
        assert v.std() == pytest.approx(ref.std(), rel=0.02)
    if device == "cpu":  # the same generator seed gives the same values
        again = fn(gpuarr.empty(200, 300), **kw, generator=gen(1))
        np.testing.assert_array_equal(to_np(again), v)
        other = fn(gpuarr.empty(200, 300), **kw, generator=gen(2))
        assert not np.array_equal(to_np(other), v)


def test_trunc_normal_extreme_interval():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        t = init.trunc_normal_(gpuarr.empty(1000, dtype=gpuarr.float64), 0.0, 1.0, 3.0, 3.5,
                               generator=gen())
    v = to_np(t)
    assert v.min() >= 3.0 and v.max() <= 3.5 and np.isfinite(v).all()


def test_trunc_normal_without_scipy_fallback(monkeypatch):
    import sys

    xs = np.linspace(-0.999, 0.999, 101)
    from scipy.special import erfinv

    monkeypatch.setitem(sys.modules, "scipy.special", None)  # pretend SciPy is missing
    from gpuarr.backends import NUMPY

    approx = NUMPY.erfinv(xs)
    np.testing.assert_allclose(approx, erfinv(xs), rtol=1e-10, atol=1e-12)


def test_constant_like_inits(device):
    t = gpuarr.empty(3, 4, device=device)
    assert (to_np(init.constant_(t, 0.3)) == np.float32(0.3)).all()
    assert (to_np(init.ones_(t)) == 1).all() and not to_np(init.zeros_(t)).any()
    np.testing.assert_array_equal(to_np(init.eye_(t)), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(gpuarr.empty(2, 2, 2))


def test_dirac_makes_identity_conv():
    w = init.dirac_(gpuarr.empty(4, 2, 3, 3), groups=2)
    x = gpuarr.randn(1, 4, 5, 5)
    out = nn.functional.conv2d(x, w, padding=1, groups=2)
    np.testing.assert_allclose(to_np(out), to_np(x), rtol=1e-6)
    ref = torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2)
    np.testing.assert_array_equal(to_np(w), ref.numpy())


def test_orthogonal():
    for shape in [(6, 4), (4, 6), (3, 2, 2)]:
        t = init.orthogonal_(gpuarr.empty(*shape, dtype=gpuarr.float64), gain=2.0,
                             generator=gen())
        m = to_np(t).reshape(shape[0], -1)
        small = m @ m.T if shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(small, 4 * np.eye(small.shape[0]), atol=1e-10)


def test_sparse_init():
    t = init.sparse_(gpuarr.empty(10, 6), sparsity=0.3, generator=gen())
    assert ((to_np(t) == 0).sum(0) >= 3).all()


def test_fan_errors_and_zero_element_warning():
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor "
                                         "with fewer than 2 dimensions"):
        init.xavier_uniform_(gpuarr.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(gpuarr.empty(3, 3), mode="fan_avg")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        init.kaiming_uniform_(gpuarr.empty(0, 3))
    assert any("Initializing zero-element tensors is a no-op" in str(i.message) for i in w)


def test_init_on_parameter_records_no_graph():
    p = nn.Parameter(gpuarr.empty(3, 3))
    init.kaiming_normal_(p)
    assert p.is_leaf and p.grad_fn is None
    (p * 2).sum().backward()
    np.testing.assert_array_equal(to_np(p.grad), np.full((3, 3), 2.0))
