"""AdaptiveLogSoftmaxWithLoss against torch: structure, outputs and gradients with copied
weights, log_prob, predict, gradcheck and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import compare_module, load_from_torch, raises_like, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

CONFIGS = [
    dict(in_features=8, n_classes=20, cutoffs=[4, 10, 15], div_value=2.0, head_bias=True),
    dict(in_features=6, n_classes=10, cutoffs=[3]),
    dict(in_features=16, n_classes=12, cutoffs=(2, 5), div_value=4.0),
]


def _pair(cfg, seed=0):
    torch.manual_seed(seed)
    return nn.AdaptiveLogSoftmaxWithLoss(**cfg), torch.nn.AdaptiveLogSoftmaxWithLoss(**cfg)


def _targets(n, n_classes, seed=0):
    t = np.random.default_rng(seed).integers(0, n_classes, n)
    t[0], t[-1] = 0, n_classes - 1  # the first class and the last cluster's last class
    return t


@pytest.mark.parametrize("cfg", CONFIGS)
def test_structure_matches_torch(cfg, device):
    gm, tm = _pair(cfg)
    assert repr(gm) == repr(tm)
    gsd, tsd = gm.state_dict(), tm.state_dict()
    assert list(gsd) == list(tsd)
    for k in tsd:
        assert tuple(gsd[k].shape) == tuple(tsd[k].shape), k
    for attr in ("in_features", "n_classes", "cutoffs", "div_value", "head_bias",
                 "shortlist_size", "n_clusters", "head_size"):
        assert getattr(gm, attr) == getattr(tm, attr), attr


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
@pytest.mark.parametrize("which", [0, 1])
def test_forward_matches_torch(cfg, dtype, which, device):
    gm, tm = _pair(cfg)
    x = rnd(11, cfg["in_features"], seed=1)
    t = _targets(11, cfg["n_classes"])
    gout, _ = compare_module(gm, tm, [x, t], device, dtype, out_index=which)
    assert gout.shape == ((11,) if which == 0 else ())


def test_named_tuple_and_unbatched(device):
    cfg = CONFIGS[0]
    gm, tm = _pair(cfg)
    x = rnd(cfg["in_features"], seed=2)
    for tgt in (2, 17):
        gout, tout = compare_module(gm, tm, [x, np.array(tgt)], device, gpuarr.float64,
                                    out_index=0)
        assert gout.shape == ()
    res = gm(gpuarr.tensor(x, device=device), gpuarr.tensor(3, device=device))
    assert type(res).__name__ == "_ASMoutput" and res._fields == ("output", "loss")
    assert res.output.device == resolved(device)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_log_prob_matches_torch(cfg, device):
    gm, tm = _pair(cfg)
    tm = tm.double()
    gm.to(device=device, dtype=gpuarr.float64)
    load_from_torch(gm, tm, device)
    x = rnd(7, cfg["in_features"], seed=3)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    glp, tlp = gm.log_prob(gx), tm.log_prob(tx)
    np.testing.assert_allclose(to_np(glp), tlp.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.exp(to_np(glp)).sum(1), 1.0, rtol=1e-10)
    w = rnd(*tlp.shape, seed=4)
    (glp * gpuarr.tensor(w, device=device)).sum().backward()
    (tlp * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bias", ["shortlist", "clusters", "mixed"])
def test_predict_matches_torch_and_log_prob(bias, device):
    cfg = CONFIGS[0]
    gm, tm = _pair(cfg)
    with torch.no_grad():  # steer the head to each of predict's three branches
        b = tm.head.bias
        b.zero_()
        if bias == "shortlist":
            b[:4] += 20
        elif bias == "clusters":
            b[4:] += 20
    gm.to(device)
    load_from_torch(gm, tm, device)
    x = rnd(16, cfg["in_features"], seed=5) * 3
    gx = gpuarr.tensor(x, dtype=gpuarr.float32, device=device)
    tx = torch.tensor(x, dtype=torch.float32)
    gp, tp = gm.predict(gx), tm.predict(tx)
    assert gp.dtype == gpuarr.int64
    np.testing.assert_array_equal(to_np(gp), tp.numpy())
    np.testing.assert_array_equal(to_np(gp), to_np(gm.log_prob(gx).argmax(1)))
    if bias == "mixed":
        assert 0 < (tp >= 4).sum() < 16


def test_gradcheck(device):
    cfg = dict(in_features=4, n_classes=7, cutoffs=[2, 4], div_value=2.0, head_bias=True)
    gm = nn.AdaptiveLogSoftmaxWithLoss(**cfg).to(device=device, dtype=gpuarr.float64)
    x = gpuarr.tensor(rnd(5, 4, seed=6), device=device, requires_grad=True)
    t = gpuarr.tensor(_targets(5, 7), device=device)
    params = tuple(gm.parameters())

    def out(inp, *ps):
        return gm(inp, t).output

    def loss(inp, *ps):
        return gm(inp, t).loss

    for fn in (out, loss):
        assert gradcheck(fn, (x, *params))
        assert gradgradcheck(fn, (x, *params))
    assert gradgradcheck(lambda inp: gm.log_prob(inp), (x,))


def test_same_rng_consumption_as_its_linears(device):
    gpuarr.manual_seed(3)
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10], div_value=2.0, device=device)
    gpuarr.manual_seed(3)
    head = nn.Linear(8, 6, bias=False, device=device)
    t0 = nn.Linear(8, 4, bias=False, device=device)
    np.testing.assert_array_equal(to_np(m.head.weight), to_np(head.weight))
    np.testing.assert_array_equal(to_np(m.tail[0][0].weight), to_np(t0.weight))


def test_dtype_device_and_reset(device):
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4], device=device, dtype=gpuarr.float64)
    for p in m.parameters():
        assert p.dtype == gpuarr.float64 and p.device == resolved(device)
    w = to_np(m.head.weight).copy()
    m.reset_parameters()
    assert not np.array_equal(w, to_np(m.head.weight))


@pytest.mark.parametrize("kw", [
    dict(cutoffs=[]), dict(cutoffs=[5, 3]), dict(cutoffs=[0, 3]), dict(cutoffs=[3, 10]),
    dict(cutoffs=[3, 3]), dict(cutoffs=[2.5]),
])
def test_constructor_errors(kw):
    raises_like(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, **kw),
                lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, **kw))


def _sized(fn):
    """Run ``fn``; the one expected change in the text is the Size class's name."""
    try:
        return fn()
    except RuntimeError as e:
        raise RuntimeError(str(e).replace("gpuarr.Size", "torch.Size")) from None


@pytest.mark.parametrize("xs,ts", [
    ((4, 8), (3,)), ((2, 4, 8), (2,)), ((4, 8), ()), ((4, 8), (4, 1)), ((4, 8), (4,)),
])
def test_forward_errors(xs, ts, device):
    gm, tm = _pair(dict(in_features=8, n_classes=10, cutoffs=[3, 6], div_value=2.0))
    gm.to(device)
    x = rnd(*xs)
    t = np.arange(int(np.prod(ts))).reshape(ts) % 10
    if xs == (4, 8) and ts == (4,):
        t = np.array([1, -2, 12, 4])  # outside [0, n_classes)
    raises_like(lambda: tm(torch.tensor(x, dtype=torch.float32), torch.tensor(t)),
                lambda: _sized(lambda: gm(gpuarr.tensor(x, dtype=gpuarr.float32,
                                                        device=device),
                                          gpuarr.tensor(t, device=device))))


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_single_batch(n, device):
    cfg = CONFIGS[0]
    gm, tm = _pair(cfg)
    x, t = rnd(n, cfg["in_features"], seed=7), _targets(4, cfg["n_classes"])[:n]
    gout, _ = compare_module(gm, tm, [x, t], device, gpuarr.float64, out_index=0)
    assert gout.shape == (n,)
    gloss = gm(gpuarr.tensor(x, device=device), gpuarr.tensor(t, device=device)).loss
    assert gloss.shape == () and (np.isnan(to_np(gloss)) if n == 0 else True)
    assert gm.log_prob(gpuarr.tensor(x, device=device)).shape == (n, cfg["n_classes"])
    np.testing.assert_array_equal(to_np(gm.predict(gpuarr.tensor(x, device=device))),
                                  tm.predict(torch.tensor(x)).numpy())
