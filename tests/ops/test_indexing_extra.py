"""scatter_reduce, index_fill, index_copy and several-ellipsis indexing, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.autograd import gradcheck


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


REDUCES = ["sum", "prod", "mean", "amax", "amin"]


def _case(seed=0, dim=1, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 5))
    shape = (3, 4) if dim == 1 else (2, 5)
    src = rng.standard_normal(shape)  # torch's backward needs src of index's shape
    if ties:  # repeated values: amax/amin ties share the gradient
        x = np.round(x)
        src = np.round(src)
    idx = rng.integers(0, 5 if dim == 1 else 3, size=shape)
    return x, src, idx


def _both(dt, device, *arrays, rg=True):
    g = [gpuarr.tensor(a.astype(dt), device=device, requires_grad=rg) for a in arrays]
    t = [torch.tensor(a.astype(dt), requires_grad=rg) for a in arrays]
    return g, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim,ties", [(1, False), (0, False), (1, True)])
def test_scatter_reduce_float(device, dtype, reduce, include_self, dim, ties):
    x, src, idx = _case(1, dim, ties)
    if ties and reduce == "prod":
        src[0, 0] = 0.0  # a single zero among a slot's factors
    (gx, gs), (tx, ts) = _both(dtype, device, x, src)
    gi, ti = gpuarr.tensor(idx, device=device), torch.tensor(idx)
    go = gx.scatter_reduce(dim, gi, gs, reduce, include_self=include_self)
    to = tx.scatter_reduce(dim, ti, ts, reduce, include_self=include_self)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=tol, atol=tol)
    w = np.random.default_rng(2).standard_normal(x.shape).astype(dtype)
    (to * torch.tensor(w)).sum().backward()
    (go * gpuarr.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(to_np(gs.grad), ts.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_gradcheck(device, reduce):
    x, src, idx = _case(3)
    gi = gpuarr.tensor(idx, device=device)
    ins = tuple(gpuarr.tensor(a, device=device, requires_grad=True) for a in (x, src))
    for inc in (True, False):
        assert gradcheck(lambda a, b, inc=inc: a.scatter_reduce(1, gi, b, reduce,
                                                                  include_self=inc), ins)


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_int_and_inplace(device, reduce, include_self):
    rng = np.random.default_rng(4)
    x = rng.integers(-9, 9, size=(4, 3))
    src = rng.integers(-9, 9, size=(5, 3))
    idx = rng.integers(0, 4, size=(5, 3))
    go = gpuarr.tensor(x, device=device).scatter_reduce(0, gpuarr.tensor(idx, device=device),
                                                        gpuarr.tensor(src, device=device),
                                                        reduce, include_self=include_self)
    to = torch.tensor(x).scatter_reduce(0, torch.tensor(idx), torch.tensor(src), reduce,
                                        include_self=include_self)
    np.testing.assert_array_equal(to_np(go), to.numpy())
    g = gpuarr.tensor(x, device=device)
    r = g.scatter_reduce_(0, gpuarr.tensor(idx, device=device), gpuarr.tensor(src, device=device),
                          reduce, include_self=include_self)
    assert r is g
    np.testing.assert_array_equal(to_np(g), to.numpy())


def test_scatter_reduce_larger_src(device):
    rng = np.random.default_rng(5)
    x, src, idx = rng.standard_normal((3, 5)), rng.standard_normal((4, 7)), \
        rng.integers(0, 5, size=(3, 4))
    for reduce in REDUCES:
        go = gpuarr.tensor(x, device=device).scatter_reduce(
            1, gpuarr.tensor(idx, device=device), gpuarr.tensor(src, device=device), reduce)
        to = torch.tensor(x).scatter_reduce(1, torch.tensor(idx), torch.tensor(src), reduce)
        np.testing.assert_allclose(to_np(go), to.numpy(), rtol=1e-12)


def test_scatter_reduce_errors(device):
    x = gpuarr.zeros(3, device=device)
    with pytest.raises(RuntimeError):
        x.scatter_reduce(0, gpuarr.tensor([0], device=device), gpuarr.ones(1, device=device),
                         "max")
    with pytest.raises(RuntimeError):
        x.scatter_reduce(0, gpuarr.tensor([3], device=device), gpuarr.ones(1, device=device),
                         "sum")


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_fill(device, dim):
    x = np.random.default_rng(0).standard_normal((3, 4))
    neg = np.array([0, -1])  # negative indices count from the end (forward only: torch's
    np.testing.assert_array_equal(  # backward rejects them)
        to_np(gpuarr.tensor(x, device=device).index_fill(dim, gpuarr.tensor(neg, device=device),
                                                         1.0)),
        torch.tensor(x).index_fill(dim, torch.tensor(neg), 1.0).numpy())
    idx = np.array([0, 2, 0])
    (gx,), (tx,) = _both(np.float64, device, x)
    go = gx.index_fill(dim, gpuarr.tensor(idx, device=device), -2.5)
    to = tx.index_fill(dim, torch.tensor(idx), -2.5)
    np.testing.assert_array_equal(to_np(go), to.detach().numpy())
    go.sum().backward()
    to.sum().backward()
    np.testing.assert_array_equal(to_np(gx.grad), tx.grad.numpy())
    # 0-d tensor value, differentiable
    (gv,), (tv,) = _both(np.float64, device, np.array(1.5))
    go = gpuarr.tensor(x, device=device).index_fill(dim, gpuarr.tensor(idx, device=device), gv)
    to = torch.tensor(x).index_fill(dim, torch.tensor(idx), tv)
    np.testing.assert_array_equal(to_np(go), to.detach().numpy())
    (go * go).sum().backward()
    (to * to).sum().backward()
    np.testing.assert_allclose(to_np(gv.grad), tv.grad.numpy())
    # in place, integer
    gi = gpuarr.tensor(np.arange(12).reshape(3, 4), device=device)
    ti = torch.arange(12).reshape(3, 4)
    assert gi.index_fill_(dim, gpuarr.tensor(idx, device=device), 7) is gi
    ti.index_fill_(dim, torch.tensor(idx), 7)
    np.testing.assert_array_equal(to_np(gi), ti.numpy())


@pytest.mark.parametrize("dim", [0, 1])
def test_index_copy(device, dim):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    idx = np.array([3, 0, 1])
    src = rng.standard_normal((3, 5) if dim == 0 else (4, 3))
    (gx, gs), (tx, ts) = _both(np.float64, device, x, src)
    go = gx.index_copy(dim, gpuarr.tensor(idx, device=device), gs)
    to = tx.index_copy(dim, torch.tensor(idx), ts)
    np.testing.assert_array_equal(to_np(go), to.detach().numpy())
    w = rng.standard_normal(x.shape)
    (go * gpuarr.tensor(w, device=device)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy())
    np.testing.assert_allclose(to_np(gs.grad), ts.grad.numpy())
    ins = tuple(gpuarr.tensor(a, device=device, requires_grad=True) for a in (x, src))
    gidx = gpuarr.tensor(idx, device=device)
    assert gradcheck(lambda a, b: a.index_copy(dim, gidx, b), ins)
    g = gpuarr.tensor(x, device=device)
    assert g.index_copy_(dim, gidx, gpuarr.tensor(src, device=device)) is g
    np.testing.assert_array_equal(to_np(g), to.detach().numpy())
    with pytest.raises(RuntimeError):
        g.index_copy(dim, gidx, gpuarr.zeros(2, 2, device=device, dtype=gpuarr.float64))


ELL = ["x[..., ...]", "x[..., 0, ...]", "x[..., None, ...]", "x[None, ..., ...]",
       "x[1, ..., 2, ...]", "x[..., 0, 1, ...]", "x[0, 1, ..., ..., 2]", "x[0, ..., 1, 2, ...]",
       "x[..., [0, 1], ...]", "x[[0, 1], ..., [0, 1], ...]", "x[..., ..., ...]",
       "x[..., x > 5, ...]", "x[0, 0, 0, ..., ...]", "x[..., 1:, ..., ]"]
ELL_BAD = ["x[0, ..., ..., 1]", "x[..., ..., None]", "x[..., 1, ..., 2]", "x[..., 0, ..., None]"]


@pytest.mark.parametrize("expr", ELL)
def test_several_ellipses(device, expr):
    t = torch.arange(24).reshape(2, 3, 4)
    g = gpuarr.tensor(t.numpy(), device=device)
    want = eval(expr, {"x": t})
    got = eval(expr, {"x": g})
    np.testing.assert_array_equal(to_np(got), want.numpy())


@pytest.mark.parametrize("expr", ELL_BAD)
def test_several_ellipses_errors(device, expr):
    t = torch.arange(24).reshape(2, 3, 4)
    with pytest.raises(IndexError):
        eval(expr, {"x": t})
    with pytest.raises(IndexError):
        eval(expr, {"x": gpuarr.tensor(t.numpy(), device=device)})


def test_several_ellipses_setitem_and_grad(device):
    t = torch.zeros(2, 3, 4)
    t[..., 1, ...] = 5.0
    g = gpuarr.zeros(2, 3, 4, device=device)
    g[..., 1, ...] = 5.0
    np.testing.assert_array_equal(to_np(g), t.numpy())
    x = gpuarr.ones(2, 3, device=device, requires_grad=True)
    x[..., 0, ...].sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[1, 0, 0], [1, 0, 0]])
