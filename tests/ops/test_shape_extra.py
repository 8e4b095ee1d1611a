"""gpuarr.ops.shape_extra against torch: unfold, as_strided, searchsorted/bucketize, isin,
tril/triu_indices, cdist, cross, rot90, the splits, index_put, masked_scatter, put, the
*_scatter ops, unique_consecutive, cartesian_prod, combinations, block_diag and the rest."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from ops_helpers import on_device, same_error

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def mk(arr, device, rg=False):
    """The same data as a gpuarr tensor on ``device`` and a torch CPU tensor."""
    arr = np.asarray(arr)
    return (gpuarr.tensor(arr, device=device, requires_grad=rg),
            torch.tensor(arr, requires_grad=rg))


def same(g, t, tol=1e-6):
    """Same type, shape, dtype and values (tensors, or tuples/lists of them)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(g, (tuple, list)) and len(g) == len(t), (g, t)
        for a, b in zip(g, t):
            same(a, b, tol)
        return
    assert isinstance(g, gpuarr.Tensor), type(g)
    assert g.dtype.name == str(t.dtype).removeprefix("torch."), (g.dtype, t.dtype)
    assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
    want = t.detach().numpy()
    if want.dtype.kind == "f":
        np.testing.assert_allclose(to_np(g), want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(to_np(g), want)


def grads_match(gfn, tfn, arrays, device, tol=1e-10):
    """Forward values and gradients (random output weights) of ``gfn``/``tfn`` on float64
    copies of ``arrays`` agree."""
    gs, ts = zip(*(mk(np.asarray(a, dtype=np.float64), device, True) for a in arrays))
    go, to = gfn(*gs), tfn(*ts)
    same(go, to, tol)
    w = RNG.standard_normal(tuple(to.shape))
    (to * torch.tensor(w)).sum().backward()
    (go * gpuarr.tensor(w, device=device)).sum().backward()
    for g, t in zip(gs, ts):
        want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        got = to_np(g.grad) if g.grad is not None else np.zeros(t.shape)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def checks(fn, arrays, device, second=True):
    ins = tuple(gpuarr.tensor(np.asarray(a, dtype=np.float64), device=device,
                              requires_grad=True) for a in arrays)
    assert gradcheck(fn, ins)
    if second:
        assert gradgradcheck(fn, ins)


def err(device, gfn, tfn):
    """gpuarr raises torch's error (type and text); ``gfn`` gets gpuarr on ``device``."""
    same_error(lambda: gfn(on_device(gpuarr, device)), lambda: tfn(torch), device)


# --------------------------------------------------------------------------------------------
# unfold


@pytest.mark.parametrize("shape,dim,size,step", [
    ((7,), 0, 2, 1), ((7,), 0, 3, 2), ((7,), -1, 7, 3), ((3, 6), 1, 2, 2), ((5, 2, 3), 0, 2, 3),
    ((4, 3), 0, 0, 1), ((0, 3), 0, 0, 2), ((4, 0), 0, 2, 1), ((), 0, 1, 1), ((), -1, 0, 2),
])
def test_unfold_values_grads(device, shape, dim, size, step):
    a = RNG.standard_normal(shape)
    grads_match(lambda x: x.unfold(dim, size, step), lambda x: x.unfold(dim, size, step), [a],
                device)


def test_unfold_is_view_and_gradcheck(device):
    g, _ = mk(np.arange(6.0), device)
    u = g.unfold(0, 3, 2)
    g[2] = 100.0  # shared memory: both windows that hold entry 2 see it
    assert to_np(u)[0, 2] == 100.0 and to_np(u)[1, 0] == 100.0
    assert u._version is g._version
    checks(lambda x: x.unfold(1, 2, 1) * x.unfold(1, 2, 1), [RNG.standard_normal((2, 4))],
           device)


def test_unfold_errors(device):
    err(device, lambda m: m.arange(6.0).unfold(0, 7, 1), lambda m: m.arange(6.0).unfold(0, 7, 1))
    err(device, lambda m: m.arange(6.0).unfold(0, 2, 0), lambda m: m.arange(6.0).unfold(0, 2, 0))
    err(device, lambda m: m.arange(6.0).unfold(0, -1, 1),
        lambda m: m.arange(6.0).unfold(0, -1, 1))
    err(device, lambda m: m.arange(6.0).unfold(1, 2, 1), lambda m: m.arange(6.0).unfold(1, 2, 1))
    err(device, lambda m: m.tensor(3.0).unfold(0, 2, 1), lambda m: m.tensor(3.0).unfold(0, 2, 1))


# --------------------------------------------------------------------------------------------
# as_strided / as_strided_scatter


@pytest.mark.parametrize("size,stride,off", [
    ((3, 3), (1, 1), None), ((2, 2), (1, 2), 1), ((4,), (0,), 2), ((2, 3), (3, 1), 0),
    ((0, 2), (5, 1), 11), ((), (), 5),
])
def test_as_strided(device, size, stride, off):
    a = RNG.standard_normal((3, 4))
    grads_match(lambda x: gpuarr.as_strided(x, size, stride, off),
                lambda x: torch.as_strided(x, size, stride, off), [a], device)
    grads_match(lambda x: x.as_strided(size, stride, off),
                lambda x: x.as_strided(size, stride, off), [a], device)


def test_as_strided_view_gradcheck(device):
    g, _ = mk(np.arange(6.0), device)
    v = g.as_strided((2, 2), (1, 1))
    g[1] = -5.0
    assert to_np(v)[0, 1] == -5.0 and to_np(v)[1, 0] == -5.0
    checks(lambda x: x.as_strided((3, 2), (1, 2), 1) ** 2, [RNG.standard_normal(6)], device)
    # a non-contiguous input is read as its contiguous copy
    x = gpuarr.arange(6.0, device=device).reshape(2, 3).t()
    np.testing.assert_array_equal(to_np(x.as_strided((3,), (1,))), [0.0, 3.0, 1.0])


def test_as_strided_errors(device):
    cases = [((3, 3), (1, 1), 5), ((3,), (-1,), None), ((3, -1), (1, 1), None),
             ((3,), (1, 1), None), ((3,), (1,), -1)]
    for size, stride, off in cases:
        err(device, lambda m, s=size, st=stride, o=off: m.arange(6.0).as_strided(s, st, o),
            lambda m, s=size, st=stride, o=off: m.arange(6.0).as_strided(s, st, o))


def test_as_strided_scatter(device):
    a, s = RNG.standard_normal(6), RNG.standard_normal((2, 2))
    # torch 2.13's gradient for `input` is wrong (zero at the positions the output copies from
    # input, the scattered positions' grad instead); gpuarr's is checked numerically below
    grads_match(lambda x, y: gpuarr.as_strided_scatter(x.detach(), y, (2, 2), (1, 2), 1),
                lambda x, y: torch.as_strided_scatter(x.detach(), y, (2, 2), (1, 2), 1),
                [a, s], device)
    g = gpuarr.as_strided_scatter(gpuarr.ones(6, device=device), gpuarr.zeros(2, 2, device=device),
                                  (2, 2), (1, 2), 1)
    np.testing.assert_array_equal(to_np(g), [1, 0, 0, 0, 0, 1])
    checks(lambda x, y: gpuarr.as_strided_scatter(x, y, (2, 2), (1, 2)), [a, s], device)
    err(device, lambda m: m.as_strided_scatter(m.zeros(6), m.ones(2, 3), (2, 2), (1, 2)),
        lambda m: m.as_strided_scatter(m.zeros(6), m.ones(2, 3), (2, 2), (1, 2)))


# --------------------------------------------------------------------------------------------
# searchsorted / bucketize / isin


SEQ = np.array([1.0, 3.0, 3.0, 5.0, 9.0, np.nan])  # NaN last, as sort puts it


@pytest.mark.parametrize("vals", [np.array([0.0, 3.0, 4.0, 9.0, 10.0, np.nan]),
                                  np.array([[3.0, 7.0], [1.0, 2.0]]), np.array([]),
                                  np.array(3.0)])
@pytest.mark.parametrize("kw", [{}, {"right": True}, {"side": "right"}, {"side": "left"},
                                {"out_int32": True}])
def test_searchsorted_1d(device, vals, kw):
    gs, ts = mk(SEQ, device)
    gv, tv = mk(vals, device)
    same(gpuarr.searchsorted(gs, gv, **kw), torch.searchsorted(ts, tv, **kw))


def test_searchsorted_nd_sorter_scalar_out(device):
    seq = np.sort(RNG.integers(0, 10, (2, 3, 6)), -1)
    vals = RNG.integers(-1, 11, (2, 3, 4))
    (gs, ts), (gv, tv) = mk(seq, device), mk(vals, device)
    for right in (False, True):
        same(gpuarr.searchsorted(gs, gv, right=right), torch.searchsorted(ts, tv, right=right))
    for n in (0, 1, 2, 5, 33):
        seq1 = np.sort(RNG.integers(0, 9, n)).astype(np.float32)
        (g1, t1), (gq, tq) = mk(seq1, device), mk(np.arange(-1.0, 10.0, 0.5), device)
        same(gpuarr.searchsorted(g1, gq, side="right"), torch.searchsorted(t1, tq, side="right"))
        same(gpuarr.searchsorted(g1, gq), torch.searchsorted(t1, tq))
    # rows of many lengths, with ties and NaN (ordered last), float and int
    for n in (1, 2, 3, 7, 8, 16):
        seq = np.sort(np.round(RNG.standard_normal((3, n)), 1), -1)
        seq[0, -1] = np.nan
        vals = np.concatenate([np.round(RNG.standard_normal((3, 9)), 1), seq[:, :2],
                               np.full((3, 1), np.nan)], 1)
        (gs, ts), (gv, tv) = mk(seq, device), mk(vals, device)
        for right in (False, True):
            same(gpuarr.searchsorted(gs, gv, right=right),
                 torch.searchsorted(ts, tv, right=right))
            same(gpuarr.searchsorted(gs.to(gpuarr.int64), gv.to(gpuarr.int64), right=right),
                 torch.searchsorted(ts.long(), tv.long(), right=right))
    ge, te = mk(np.zeros((2, 0)), device)
    same(gpuarr.searchsorted(ge, gpuarr.ones(2, 3, dtype=gpuarr.float64, device=device)),
         torch.searchsorted(te, torch.ones(2, 3, dtype=torch.float64)))
    # an unsorted sequence with its sorter; mixed dtypes promote
    raw = RNG.standard_normal(7)
    order = np.argsort(raw)
    (gr, tr), (go, to) = mk(raw, device), mk(order, device)
    gq, tq = mk(np.array([-0.5, 0.0, 0.5], dtype=np.float32), device)
    same(gpuarr.searchsorted(gr, gq, sorter=go), torch.searchsorted(tr, tq, sorter=to))
    gi, ti = mk(np.array([1, 3, 5]), device)
    same(gpuarr.searchsorted(gi, 3), torch.searchsorted(ti, 3))
    same(gpuarr.searchsorted(gi, 3.5), torch.searchsorted(ti, 3.5))
    out = gpuarr.empty(0, dtype=gpuarr.int32, device=device)
    res = gpuarr.searchsorted(gi, gpuarr.tensor([4, 0], device=device), out_int32=True, out=out)
    assert res is out
    np.testing.assert_array_equal(to_np(out), [2, 0])


def test_searchsorted_errors(device):
    seq = [1, 3, 5]
    for kw in ({"side": "left", "right": True}, {"side": "bad"}):
        err(device, lambda m, kw=kw: m.searchsorted(m.tensor(seq), m.tensor([3]), **kw),
            lambda m, kw=kw: m.searchsorted(m.tensor(seq), m.tensor([3]), **kw))
    for sorter in ([0, 1], [0, 1, 3]):
        err(device,
            lambda m, s=sorter: m.searchsorted(m.tensor(seq), m.tensor([3]), sorter=m.tensor(s)),
            lambda m, s=sorter: m.searchsorted(m.tensor(seq), m.tensor([3]), sorter=m.tensor(s)))
    err(device, lambda m: m.searchsorted(m.tensor(seq), m.tensor([3]),
                                         sorter=m.tensor([0, 1, 2], dtype=m.int32)),
        lambda m: m.searchsorted(m.tensor(seq), m.tensor([3]),
                                 sorter=m.tensor([0, 1, 2], dtype=m.int32)))
    err(device, lambda m: m.searchsorted(m.tensor([[1, 3, 5]]), m.tensor([2, 4])),
        lambda m: m.searchsorted(m.tensor([[1, 3, 5]]), m.tensor([2, 4])))
    err(device, lambda m: m.searchsorted(m.tensor([[1, 3, 5]]), 3),
        lambda m: m.searchsorted(m.tensor([[1, 3, 5]]), 3))
    err(device, lambda m: m.searchsorted(m.tensor(1), m.tensor(3)),
        lambda m: m.searchsorted(m.tensor(1), m.tensor(3)))
    err(device, lambda m: m.searchsorted(m.tensor([1.0]), m.tensor([2.0]), out=m.empty(1)),
        lambda m: m.searchsorted(m.tensor([1.0]), m.tensor([2.0]), out=m.empty(1)))
    err(device, lambda m: m.bucketize(m.tensor([[2, 4]]), m.tensor([[1, 3, 5]])),
        lambda m: m.bucketize(m.tensor([[2, 4]]), m.tensor([[1, 3, 5]])))
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        gpuarr.searchsorted(gpuarr.tensor([True], device=device),
                            gpuarr.tensor([True], device=device))


@pytest.mark.parametrize("right", [False, True])
def test_bucketize(device, right):
    vals = np.array([[0, 1, 2], [3, 5, 9]])
    (gv, tv), (gb, tb) = mk(vals, device), mk(np.array([1, 3, 5]), device)
    same(gpuarr.bucketize(gv, gb, right=right), torch.bucketize(tv, tb, right=right))
    same(gpuarr.bucketize(gv, gb, out_int32=True), torch.bucketize(tv, tb, out_int32=True))
    same(gpuarr.bucketize(3, gb, right=right), torch.bucketize(3, tb, right=right))


@pytest.mark.parametrize("invert", [False, True])
def test_isin(device, invert):
    e = np.array([[1, 2, 3], [4, 5, 2]])
    (ge, te), (gt, tt) = mk(e, device), mk(np.array([2.0, 5.0, 7.5]), device)
    same(gpuarr.isin(ge, gt, invert=invert), torch.isin(te, tt, invert=invert))
    same(gpuarr.isin(ge, gt, assume_unique=True), torch.isin(te, tt, assume_unique=True))
    same(gpuarr.isin(2, gt, invert=invert), torch.isin(2, tt, invert=invert))
    same(gpuarr.isin(ge, 2, invert=invert), torch.isin(te, 2, invert=invert))
    same(gpuarr.isin(ge, 2.5), torch.isin(te, 2.5))
    gn, tn = mk(np.array([np.nan, 1.0]), device)
    same(gpuarr.isin(gn, gn), torch.isin(tn, tn))
    ge0, te0 = mk(np.zeros((0, 2)), device)
    same(gpuarr.isin(ge0, gt), torch.isin(te0, tt))
    out = gpuarr.empty(0, dtype=gpuarr.bool, device=device)
    assert gpuarr.isin(ge, gt, out=out) is out
    err(device, lambda m: m.isin(m.tensor([True]), m.tensor([1])),
        lambda m: m.isin(m.tensor([True]), m.tensor([1])))
    err(device, lambda m: m.isin(m.tensor([1.0]), m.tensor([1.0]), out=m.empty(1)),
        lambda m: m.isin(m.tensor([1.0]), m.tensor([1.0]), out=m.empty(1)))
    with pytest.raises(TypeError):
        gpuarr.isin(2, 3)


# --------------------------------------------------------------------------------------------
# tril/triu_indices, unravel_index, broadcast_shapes


@pytest.mark.parametrize("row,col,off", [(3, 4, 0), (3, 4, 1), (4, 3, -2), (0, 0, 0),
                                         (1, 5, 9), (5, 2, -9)])
def test_tri_indices(device, row, col, off):
    same(gpuarr.tril_indices(row, col, off, device=device), torch.tril_indices(row, col, off))
    same(gpuarr.triu_indices(row, col, off, device=device), torch.triu_indices(row, col, off))
    g = gpuarr.tril_indices(row, col, off, dtype=gpuarr.int32, device=device)
    same(g, torch.tril_indices(row, col, off, dtype=torch.int32))
    assert g.device.type == gpuarr.device(device).type
    err(device, lambda m: m.tril_indices(-1, 4), lambda m: m.tril_indices(-1, 4))
    err(device, lambda m: m.triu_indices(3, -4), lambda m: m.triu_indices(3, -4))
    err(device, lambda m: m.tril_indices(3, 4, dtype=m.float32),
        lambda m: m.tril_indices(3, 4, dtype=m.float32))


def test_unravel_index(device):
    gi, ti = mk(np.array([[4, 7], [-1, 9]]), device)
    same(gpuarr.unravel_index(gi, (2, 4)), torch.unravel_index(ti, (2, 4)))
    same(gpuarr.unravel_index(gi, 5), torch.unravel_index(ti, 5))
    same(gpuarr.unravel_index(gi, ()), torch.unravel_index(ti, ()))
    g0, t0 = mk(np.array(5, dtype=np.int32), device)
    same(gpuarr.unravel_index(g0, (3, 3)), torch.unravel_index(t0, (3, 3)))
    err(device, lambda m: m.unravel_index(m.tensor([1]), (2, -4)),
        lambda m: m.unravel_index(m.tensor([1]), (2, -4)))
    with pytest.raises(TypeError, match="integer dtype"):
        gpuarr.unravel_index(gpuarr.tensor([1.0], device=device), (2, 4))


def test_broadcast_shapes():
    for shapes in [((2, 1), (3,)), (2, (3, 1)), (), ((0, 1), (4,)), ((1,), ())]:
        assert gpuarr.broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)
        assert isinstance(gpuarr.broadcast_shapes(*shapes), gpuarr.Size)
    for shapes in [((2,), (3,)), ((-1,), (3,))]:
        err("cpu", lambda m, s=shapes: m.broadcast_shapes(*s),
            lambda m, s=shapes: m.broadcast_shapes(*s))


# --------------------------------------------------------------------------------------------
# cdist


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("shapes", [((4, 3), (5, 3)), ((2, 1, 3, 2), (4, 5, 2)),
                                    ((30, 2), (3, 2)), ((0, 3), (2, 3)), ((2, 0), (3, 0))])
def test_cdist(device, p, shapes):
    a, b = (RNG.standard_normal(s) for s in shapes)
    for mode in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist"):
        grads_match(lambda x, y, mode=mode: gpuarr.cdist(x, y, p, mode),
                    lambda x, y, mode=mode: torch.cdist(x, y, p, mode), [a, b], device, tol=1e-9)
    g1, t1 = mk(a.astype(np.float32), device)
    g2, t2 = mk(b.astype(np.float32), device)
    same(gpuarr.cdist(g1, g2, p), torch.cdist(t1, t2, p), tol=1e-4)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_cdist_gradcheck_and_zero_distance(device, p):
    a, b = RNG.standard_normal((3, 2)), RNG.standard_normal((4, 2))
    checks(lambda x, y: gpuarr.cdist(x, y, p), [a, b], device)
    # a repeated row: distance 0, torch's subgradient 0
    b[1] = a[0]
    grads_match(lambda x, y: gpuarr.cdist(x, y, p, "donot_use_mm_for_euclid_dist"),
                lambda x, y: torch.cdist(x, y, p, "donot_use_mm_for_euclid_dist"), [a, b],
                device)


def test_cdist_errors(device):
    cases = [
        lambda m: m.cdist(m.ones(3), m.ones(3)),
        lambda m: m.cdist(m.ones(2, 3), m.ones(2, 4)),
        lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), p=-1),
        lambda m: m.cdist(m.ones(2, 3, dtype=m.long), m.ones(2, 3, dtype=m.long)),
        lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3, dtype=m.float64)),
        lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), compute_mode="x"),
        lambda m: m.cdist(m.ones(2, 2, 3), m.ones(3, 2, 3)),
    ]
    for c in cases:
        err(device, c, c)


# --------------------------------------------------------------------------------------------
# cross, rot90, splits


def test_cross(device):
    a, b = RNG.standard_normal((3, 3, 3)), RNG.standard_normal((3, 3, 3))
    for dim in (0, 1, -1, 2):
        grads_match(lambda x, y, d=dim: gpuarr.cross(x, y, dim=d) if d else x.cross(y, d),
                    lambda x, y, d=dim: torch.cross(x, y, dim=d) if d else x.cross(y, d),
                    [a, b[:, :1]] if dim == 0 else [a, b], device)
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        g = gpuarr.cross(gpuarr.tensor(a, device=device), gpuarr.tensor(b, device=device))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(g, torch.cross(torch.tensor(a), torch.tensor(b)))
        same(gpuarr.tensor(a[0], device=device).cross(gpuarr.tensor(b[0], device=device)),
             torch.tensor(a[0]).cross(torch.tensor(b[0])))
    checks(lambda x, y: gpuarr.cross(x, y, dim=1), [a, b], device)
    out = gpuarr.empty(0, dtype=gpuarr.float64, device=device)
    assert gpuarr.cross(gpuarr.tensor(a, device=device), gpuarr.tensor(b, device=device), dim=1,
                        out=out) is out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        err(device, lambda m: m.cross(m.ones(2, 4), m.ones(2, 4)),
            lambda m: m.cross(m.ones(2, 4), m.ones(2, 4)))
    err(device, lambda m: m.cross(m.ones(2, 4), m.ones(2, 4), dim=1),
        lambda m: m.cross(m.ones(2, 4), m.ones(2, 4), dim=1))


@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, 0), (0, 2)])
def test_rot90(device, k, dims):
    a = RNG.standard_normal((2, 3, 4))
    grads_match(lambda x: gpuarr.rot90(x, k, dims), lambda x: torch.rot90(x, k, dims), [a],
                device)
    gi, ti = mk(np.arange(6).reshape(2, 3), device)
    same(gi.rot90(k), ti.rot90(k))


def test_rot90_errors_and_gradcheck(device):
    for args in [(1, [0]), (1, [0, 0]), (1, [0, 2]), (1, [0, -2])]:
        err(device, lambda m, a=args: m.rot90(m.ones(2, 3), *a),
            lambda m, a=args: m.rot90(m.ones(2, 3), *a))
    err(device, lambda m: m.rot90(m.ones(2)), lambda m: m.rot90(m.ones(2)))
    checks(lambda x: gpuarr.rot90(x, 1), [RNG.standard_normal((2, 3))], device)


@pytest.mark.parametrize("name,shape,arg", [
    ("hsplit", (2, 4), 2), ("hsplit", (6,), 3), ("hsplit", (2, 4), [1, 3]),
    ("vsplit", (4, 2), 2), ("vsplit", (4, 2), [1, -1]), ("dsplit", (1, 2, 6), 3),
    ("dsplit", (1, 2, 6), [2]), ("split_with_sizes", (5, 2), [2, 3]),
    ("unsafe_split", (5, 2), 2), ("unsafe_chunk", (5, 2), 3),
    ("unsafe_split_with_sizes", (5, 2), [4, 1]),
])
def test_splits(device, name, shape, arg):
    a = RNG.standard_normal(shape)
    g = gpuarr.tensor(a, device=device, requires_grad=True)
    tt = torch.tensor(a, requires_grad=True)
    gp, tp = getattr(gpuarr, name)(g, arg), getattr(torch, name)(tt, arg)
    same(list(gp), list(tp))
    same(list(getattr(g, name)(arg)), list(getattr(tt, name)(arg)))
    sum(p.sum() * (i + 1) for i, p in enumerate(gp)).backward()
    sum(p.sum() * (i + 1) for i, p in enumerate(tp)).backward()
    same(g.grad, tt.grad)


def test_split_errors(device):
    cases = [lambda m: m.hsplit(m.ones(2, 4), 3), lambda m: m.hsplit(m.ones(4), 3),
             lambda m: m.hsplit(m.tensor(1.0), 3), lambda m: m.vsplit(m.ones(4), 2),
             lambda m: m.dsplit(m.ones(4, 4), 2), lambda m: m.dsplit(m.ones(4, 4, 4), 3),
             lambda m: m.hsplit(m.ones(2, 4), 0),
             lambda m: m.split_with_sizes(m.ones(4), [1, 2])]
    for c in cases:
        err(device, c, c)


# --------------------------------------------------------------------------------------------
# index_put / put / masked_scatter / index_reduce


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(device, accumulate):
    a = RNG.standard_normal((3, 4))
    i0, i1 = np.array([0, 2, 0]), np.array([1, 3, 1])
    if not accumulate:
        i0, i1 = np.array([0, 2, 1]), np.array([1, 3, 1])
    (gi, ti), (gj, tj) = mk(i0, device), mk(i1, device)
    for v in (RNG.standard_normal(3), RNG.standard_normal(())):
        grads_match(lambda x, y: gpuarr.index_put(x, (gi, gj), y, accumulate),
                    lambda x, y: torch.index_put(x, (ti, tj), y, accumulate), [a, v], device)
    # one index: rows; a mask
    v = RNG.standard_normal(4)
    grads_match(lambda x, y: x.index_put((gi,), y, accumulate=accumulate),
                lambda x, y: x.index_put((ti,), y, accumulate=accumulate), [a, v], device)
    mask = a > 0
    gm, tm = mk(mask, device)
    grads_match(lambda x, y: x.index_put([gm], y, accumulate),
                lambda x, y: x.index_put([tm], y, accumulate), [a, np.array(1.5)], device)
    checks(lambda x, y: gpuarr.index_put(x, (gi, gj), y, accumulate),
           [a, RNG.standard_normal(3)], device)
    # in place
    g, t = mk(a, device)
    r = g.index_put_((gi, gj), gpuarr.tensor(np.ones(3), device=device), accumulate=accumulate)
    assert r is g
    same(g, t.index_put_((ti, tj), torch.ones(3, dtype=torch.float64), accumulate=accumulate))
    gz, tz = mk(np.zeros(3, dtype=np.int64), device)
    same(gz.index_put((gi,), gpuarr.tensor([5, 6, 7], device=device), accumulate),
         tz.index_put((ti,), torch.tensor([5, 6, 7]), accumulate))


def test_index_put_errors(device):
    cases = [
        lambda m: m.index_put(m.zeros(2, 3), (m.tensor([0]),), m.tensor(1, dtype=m.float64)),
        lambda m: m.index_put(m.zeros(2, 3), m.tensor([0, 0]), m.tensor(1.0)),
        lambda m: m.index_put(m.zeros(2, 3), (m.tensor([5]),), m.tensor(1.0)),
        lambda m: m.index_put(m.zeros(2, 3), (m.tensor([5]),), m.tensor(1.0), True),
        lambda m: m.index_put(m.zeros(2, 3), (None, m.tensor([1])), m.tensor(1.0)),
        lambda m: m.index_put(m.zeros(3, 4), (m.tensor([0, 0]),), m.ones(1, 1, 4)),
        lambda m: m.index_put(m.zeros(3, 4), (m.tensor([0, 0]),), m.ones(3), True),
        lambda m: m.index_put(m.zeros(3, 4), (m.tensor([0, 0]),), m.ones(1, 1, 4), True),
    ]
    for c in cases:
        err(device, c, c)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put(device, accumulate):
    a = RNG.standard_normal((2, 3))
    idx = np.array([[0, 4], [-1, 2]]) if not accumulate else np.array([[0, 5], [-1, 0]])
    gi, ti = mk(idx, device)
    grads_match(lambda x, y: gpuarr.put(x, gi, y, accumulate),
                lambda x, y: torch.put(x, ti, y, accumulate), [a, RNG.standard_normal((2, 2))],
                device)
    checks(lambda x, y: x.put(gi, y, accumulate), [a, RNG.standard_normal(4)], device)
    g, t = mk(a, device)
    assert g.put_(gi, gpuarr.ones(2, 2, dtype=gpuarr.float64, device=device), accumulate) is g
    same(g, t.put_(ti, torch.ones(2, 2, dtype=torch.float64), accumulate))


def test_put_errors(device):
    cases = [
        lambda m: m.zeros(2, 3).put(m.tensor([0, 6]), m.tensor([1.0, 2.0])),
        lambda m: m.zeros(2, 3).put(m.tensor([0, -7]), m.tensor([1.0, 2.0])),
        lambda m: m.zeros(2, 3).put(m.tensor([0, 1]), m.tensor([1.0])),
        lambda m: m.zeros(2, 3).put(m.tensor([0, 1]), m.tensor([1, 2])),
        lambda m: m.zeros(2, 3).put(m.tensor([0.0, 1]), m.tensor([1.0, 2])),
        lambda m: m.zeros(0).put(m.tensor([0]), m.tensor([1.0])),
    ]
    for c in cases:
        err(device, c, c)


@pytest.mark.parametrize("xshape,mshape", [((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (2, 3)),
                                           ((0, 3), (3,)), ((), ())])
def test_masked_scatter(device, xshape, mshape):
    a = RNG.standard_normal(xshape)
    mask = RNG.random(mshape) > 0.4
    src = RNG.standard_normal(7)
    gm, tm = mk(mask, device)
    grads_match(lambda x, s: x.masked_scatter(gm, s), lambda x, s: x.masked_scatter(tm, s),
                [a, src], device)
    grads_match(lambda x, s: gpuarr.masked_scatter(x, gm, s),
                lambda x, s: torch.masked_scatter(x, tm, s), [a, src], device)
    checks(lambda x, s: x.masked_scatter(gm, s), [a, src], device)


def test_masked_scatter_inplace_errors(device):
    a = RNG.standard_normal((2, 3))
    g, t = mk(a, device)
    gm, tm = mk(np.array([True, False, True]), device)
    s = np.arange(6.0)
    assert g.masked_scatter_(gm, gpuarr.tensor(s, device=device)) is g
    same(g, t.masked_scatter_(tm, torch.tensor(s)))
    cases = [
        lambda m: m.zeros(2, 3).masked_scatter(m.tensor([True, False, True]), m.arange(3.0)),
        lambda m: m.zeros(2, 3).masked_scatter(m.tensor([1, 0, 1]), m.arange(6.0)),
        lambda m: m.zeros(2, 3).masked_scatter(m.tensor([True, False, True]), m.arange(6)),
    ]
    for c in cases:
        err(device, c, c)
    with pytest.raises(RuntimeError, match=r"expand\((CPU|CUDA)BoolType\{\[2, 3\]\}, size=\[3\]\): "
                       "the number of sizes provided"):
        gpuarr.zeros(3, device=device).masked_scatter_(
            gpuarr.ones(2, 3, dtype=gpuarr.bool, device=device), gpuarr.arange(6.0, device=device))


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(device, reduce, include_self):
    a, s = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 5))
    gi, ti = mk(np.array([0, 2, 0, 3, 0]), device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grads_match(lambda x, y: x.index_reduce(1, gi, y, reduce, include_self=include_self),
                    lambda x, y: x.index_reduce(1, ti, y, reduce, include_self=include_self),
                    [a, s], device)
        gx, tx = mk(np.arange(12).reshape(4, 3), device)
        gs, ts = mk(np.arange(6).reshape(2, 3) - 2, device)
        gk, tk = mk(np.array([1, 1]), device)
        same(gx.index_reduce(0, gk, gs, reduce, include_self=include_self),
             tx.index_reduce(0, tk, ts, reduce, include_self=include_self))
        assert gx.index_reduce_(0, gk, gs, reduce, include_self=include_self) is gx
        same(gx, tx.index_reduce_(0, tk, ts, reduce, include_self=include_self))
    checks(lambda x, y: gpuarr.index_reduce(x, 1, gi, y, reduce, include_self=include_self),
           [a, s], device, second=False)


@pytest.mark.filterwarnings("ignore:index_reduce")
def test_index_reduce_errors(device):
    cases = [
        lambda m: m.ones(3).index_reduce(0, m.tensor([0]), m.ones(1), "sum"),
        lambda m: m.ones(3).index_reduce(0, m.tensor([[0]]), m.ones(1), "prod"),
        lambda m: m.ones(3).index_reduce(0, m.tensor([0.0]), m.ones(1), "prod"),
        lambda m: m.ones(3).index_reduce(0, m.tensor([0]), m.ones(1, dtype=m.float64), "prod"),
        lambda m: m.ones(3).index_reduce(0, m.tensor([0, 1]), m.ones(1), "prod"),
        lambda m: m.ones(3).index_reduce(0, m.tensor([5]), m.ones(1), "prod"),
        lambda m: m.ones(3).index_reduce(0, m.tensor([-1]), m.ones(1), "prod"),
        lambda m: m.ones(3, 2).index_reduce(1, m.tensor([0]), m.ones(3), "prod"),
        lambda m: m.ones(3, 2).index_reduce(1, m.tensor([0]), m.ones(2, 1), "prod"),
    ]
    for c in cases:
        err(device, c, c)
    g = gpuarr.tensor(2.0, device=device).index_reduce(0, gpuarr.tensor([0], device=device),
                                                      gpuarr.tensor(3.0, device=device), "prod")
    same(g, torch.tensor(2.0).index_reduce(0, torch.tensor([0]), torch.tensor(3.0), "prod"))


# --------------------------------------------------------------------------------------------
# slice / select / diagonal scatter, diagflat, fill_diagonal_


def test_slice_select_scatter(device):
    a = RNG.standard_normal((4, 3))
    for start, end, step in [(1, 3, 1), (None, None, 2), (-3, -1, 1), (5, None, 1)]:
        n = len(range(4)[start:end:step])
        grads_match(lambda x, y, s=(start, end, step): gpuarr.slice_scatter(x, y, 0, *s),
                    lambda x, y, s=(start, end, step): torch.slice_scatter(x, y, 0, *s),
                    [a, RNG.standard_normal((n, 3))], device)
    grads_match(lambda x, y: x.slice_scatter(y, dim=1, start=1),
                lambda x, y: x.slice_scatter(y, dim=1, start=1),
                [a, RNG.standard_normal((4, 2))], device)
    for dim, index in [(0, 1), (1, -1), (-1, 0)]:
        n = 3 if dim == 0 else 4
        grads_match(lambda x, y, d=dim, i=index: gpuarr.select_scatter(x, y, d, i),
                    lambda x, y, d=dim, i=index: torch.select_scatter(x, y, d, i),
                    [a, RNG.standard_normal(n)], device)
    checks(lambda x, y: gpuarr.slice_scatter(x, y, 0, 0, 4, 2), [a, RNG.standard_normal((2, 3))],
           device)
    checks(lambda x, y: gpuarr.select_scatter(x, y, 1, 2), [a, RNG.standard_normal(4)], device)
    out = gpuarr.empty(0, dtype=gpuarr.float64, device=device)
    assert gpuarr.slice_scatter(gpuarr.tensor(a, device=device),
                                gpuarr.ones(4, 3, dtype=gpuarr.float64, device=device),
                                out=out) is out
    cases = [
        lambda m: m.slice_scatter(m.zeros(4, 2), m.ones(3, 2), 0, 1, 3),
        lambda m: m.slice_scatter(m.zeros(4, 2), m.ones(4, 2), 0, None, None, 0),
        lambda m: m.select_scatter(m.zeros(4, 2), m.ones(3), 0, 1),
        lambda m: m.select_scatter(m.zeros(4, 2), m.ones(2), 0, 4),
    ]
    for c in cases:
        err(device, c, c)


@pytest.mark.parametrize("shape,offset,d1,d2", [((3, 2), 0, 0, 1), ((3, 4), 1, 0, 1),
                                                ((3, 4), -2, 1, 0), ((2, 3, 4), 0, 2, 0)])
def test_diagonal_scatter_diagflat(device, shape, offset, d1, d2):
    a = RNG.standard_normal(shape)
    n = torch.zeros(shape).diagonal(offset, d1, d2).shape
    s = RNG.standard_normal(tuple(n))
    grads_match(lambda x, y: gpuarr.diagonal_scatter(x, y, offset, d1, d2),
                lambda x, y: torch.diagonal_scatter(x, y, offset, d1, d2), [a, s], device)
    checks(lambda x, y: x.diagonal_scatter(y, offset, d1, d2), [a, s], device)
    grads_match(lambda x: gpuarr.diagflat(x, offset), lambda x: torch.diagflat(x, offset),
                [RNG.standard_normal(shape[:2])], device)
    err(device, lambda m: m.diagonal_scatter(m.zeros(3, 2), m.ones(3)),
        lambda m: m.diagonal_scatter(m.zeros(3, 2), m.ones(3)))


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), False), ((7, 3), True),
                                        ((3, 5), True), ((2, 2, 2), False), ((0, 3), False)])
def test_fill_diagonal(device, shape, wrap):
    g, t = mk(np.zeros(shape), device)
    assert g.fill_diagonal_(2.5, wrap=wrap) is g
    same(g, t.fill_diagonal_(2.5, wrap=wrap))
    x = gpuarr.tensor(RNG.standard_normal(shape), device=device, requires_grad=True)
    y = x * 1
    y.fill_diagonal_(0.0, wrap)
    y.sum().backward()
    # the filled entries get no gradient (torch's own backward through its strided view fails)
    same(x.grad, torch.ones(shape, dtype=torch.float64).fill_diagonal_(0.0, wrap))
    err(device, lambda m: m.zeros(3).fill_diagonal_(1), lambda m: m.zeros(3).fill_diagonal_(1))
    err(device, lambda m: m.zeros(2, 3, 2).fill_diagonal_(1),
        lambda m: m.zeros(2, 3, 2).fill_diagonal_(1))


# --------------------------------------------------------------------------------------------
# unique_consecutive


@pytest.mark.parametrize("arr,dim", [
    (np.array([1, 1, 2, 2, 3, 1, 1, 2]), None), (np.array([[1, 1], [1, 1], [2, 3]]), 0),
    (np.array([[1, 1], [1, 1], [2, 3]]), 1), (np.array([[1, 1], [1, 1], [2, 3]]), None),
    (np.array(3.0), None), (np.array([]), None), (np.zeros((0, 2)), 0),
    (np.array([np.nan, np.nan, 1.0, 1.0]), None), (np.array([[1.0, 2.0], [1.0, 2.0]]), -1),
])
def test_unique_consecutive(device, arr, dim):
    g, t = mk(arr, device)
    for inv in (False, True):
        for cnt in (False, True):
            same(gpuarr.unique_consecutive(g, inv, cnt, dim),
                 torch.unique_consecutive(t, return_inverse=inv, return_counts=cnt, dim=dim))
    same(g.unique_consecutive(return_counts=True), t.unique_consecutive(return_counts=True))


def test_unique_consecutive_errors(device):
    cases = [lambda m: m.unique_consecutive(m.tensor([[1, 1]]), dim=2),
             lambda m: m.unique_consecutive(m.tensor(3.0), dim=0),
             lambda m: m.unique_consecutive(m.zeros(2, 0), dim=0)]
    for c in cases:
        err(device, c, c)


# --------------------------------------------------------------------------------------------
# cartesian_prod, combinations, block_diag, vander


def test_cartesian_prod(device):
    grads_match(lambda x, y, z: gpuarr.cartesian_prod(x, y, z),
                lambda x, y, z: torch.cartesian_prod(x, y, z),
                [RNG.standard_normal(2), RNG.standard_normal(3), RNG.standard_normal(2)], device)
    grads_match(lambda x: gpuarr.cartesian_prod(x), lambda x: torch.cartesian_prod(x),
                [RNG.standard_normal(3)], device)
    grads_match(lambda x, y: gpuarr.cartesian_prod(x, y), lambda x, y: torch.cartesian_prod(x, y),
                [RNG.standard_normal(0), RNG.standard_normal(3)], device)
    checks(lambda x, y: gpuarr.cartesian_prod(x, y),
           [RNG.standard_normal(2), RNG.standard_normal(3)], device)
    err(device, lambda m: m.cartesian_prod(m.ones(2, 2)), lambda m: m.cartesian_prod(m.ones(2, 2)))
    err(device, lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3.0])),
        lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3.0])))


@pytest.mark.parametrize("n", [0, 1, 4])
@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("rep", [False, True])
def test_combinations(device, n, r, rep):
    if r:  # torch's r=0 result has no graph
        grads_match(lambda x: gpuarr.combinations(x, r, rep),
                    lambda x: torch.combinations(x, r, rep), [RNG.standard_normal(n)], device)
    g, t = mk(np.arange(n), device)
    same(gpuarr.combinations(g, r, with_replacement=rep), torch.combinations(t, r, rep))


def test_combinations_errors_gradcheck(device):
    err(device, lambda m: m.combinations(m.tensor([1, 2, 3]), -1),
        lambda m: m.combinations(m.tensor([1, 2, 3]), -1))
    err(device, lambda m: m.combinations(m.ones(2, 2)), lambda m: m.combinations(m.ones(2, 2)))
    checks(lambda x: gpuarr.combinations(x, 2, True), [RNG.standard_normal(3)], device)


def test_block_diag(device):
    ins = [RNG.standard_normal(()), RNG.standard_normal(2), RNG.standard_normal((2, 3)),
           RNG.standard_normal((0, 2)), RNG.standard_normal((2, 0))]
    grads_match(lambda *xs: gpuarr.block_diag(*xs), lambda *xs: torch.block_diag(*xs), ins,
                device)
    checks(lambda *xs: gpuarr.block_diag(*xs), ins[:3], device)
    gi, ti = mk(np.ones((2, 1), dtype=np.int32), device)
    gf, tf = mk(np.array([2.0, 3.0], dtype=np.float32), device)
    same(gpuarr.block_diag(gi, gf), torch.block_diag(ti, tf))
    same(gpuarr.block_diag(), torch.block_diag())
    err(device, lambda m: m.block_diag(m.ones(1, 1, 1)), lambda m: m.block_diag(m.ones(1, 1, 1)))


@pytest.mark.parametrize("N", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander(device, N, increasing):
    # torch 2.13's vander backward fails (an in-place edit of a saved view); gpuarr's gradient
    # is the one of its cumprod construction, checked numerically below
    x = np.array([0.0, 1.5, -2.0])
    same(gpuarr.vander(gpuarr.tensor(x, device=device), N, increasing),
         torch.vander(torch.tensor(x), N, increasing))
    for dt in (np.int8, np.int64, np.bool_, np.float32):
        g, t = mk(np.array([1, 0, 3]).astype(dt), device)
        same(gpuarr.vander(g, N, increasing), torch.vander(t, N, increasing), tol=1e-5)
    if N is None or N > 1:  # else the result is all ones, with no graph (as in torch)
        checks(lambda x: gpuarr.vander(x, N, increasing), [np.array([0.5, -1.0, 2.0])], device)
        checks(lambda x: gpuarr.vander(x, N, increasing), [np.array([0.0, 1.0])], device)
    else:
        assert not gpuarr.vander(gpuarr.ones(2, device=device, requires_grad=True), N).requires_grad
    err(device, lambda m: m.vander(m.tensor([1, 2]), N=-1),
        lambda m: m.vander(m.tensor([1, 2]), N=-1))
    err(device, lambda m: m.vander(m.ones(2, 2)), lambda m: m.vander(m.ones(2, 2)))


# --------------------------------------------------------------------------------------------
# sum_to_size, nonzero_static, narrow_copy, the *_copy functions


@pytest.mark.parametrize("size", [(3,), (1, 3), (2, 1), (1, 1), (2, 3), ()])
def test_sum_to_size(device, size):
    a = RNG.standard_normal((2, 3))
    grads_match(lambda x: x.sum_to_size(size), lambda x: x.sum_to_size(size), [a], device)
    if size:
        grads_match(lambda x: x.sum_to_size(*size), lambda x: x.sum_to_size(*size), [a], device)
    err(device, lambda m: m.ones(2, 3).sum_to_size(), lambda m: m.ones(2, 3).sum_to_size())
    err(device, lambda m: m.ones(2, 3).sum_to_size(2), lambda m: m.ones(2, 3).sum_to_size(2))


@pytest.mark.parametrize("arr", [np.array([0, 3, 0, 4]), np.array([[0, 1.5], [2, 0]]),
                                 np.array(7), np.array(0), np.zeros((0, 3))])
@pytest.mark.parametrize("size", [0, 1, 3])
def test_nonzero_static(device, arr, size):
    g, t = mk(arr, device)
    same(gpuarr.nonzero_static(g, size=size), torch.nonzero_static(t, size=size))
    same(g.nonzero_static(size=size, fill_value=9), t.nonzero_static(size=size, fill_value=9))
    out = gpuarr.empty(0, dtype=gpuarr.int64, device=device)
    assert gpuarr.nonzero_static(g, size=size, out=out) is out


def test_copy_errors(device):
    cases = [
        lambda m: m.nonzero_static(m.ones(3), size=-1),
        lambda m: m.nonzero_static(m.ones(3), size=2, fill_value=2.5),
        lambda m: m.narrow_copy(m.ones(3), 0, 2, 2),
        lambda m: m.narrow_copy(m.ones(3), 0, -5, 2),
        lambda m: m.narrow_copy(m.ones(3), 0, 1, -1),
        lambda m: m.narrow_copy(m.tensor(1.0), 0, 0, 1),
        lambda m: m.unfold_copy(m.ones(3), 0, 4, 1),
        lambda m: m.expand_copy(m.ones(3), (2, 4)),
        lambda m: m.view_copy(m.ones(3), (4,)),
        lambda m: m.rot90(m.ones(2, 3), 1.5),
    ]
    for c in cases:
        err(device, c, c)
    # view_copy copies where a view is impossible, as torch's does
    g, t = mk(np.arange(6.0).reshape(2, 3), device)
    same(gpuarr.view_copy(g.t(), (6,)), torch.view_copy(t.t(), (6,)))


def test_narrow_copy(device):
    a = RNG.standard_normal((4, 3))
    grads_match(lambda x: gpuarr.narrow_copy(x, 0, 1, 2), lambda x: torch.narrow_copy(x, 0, 1, 2),
                [a], device)
    g = gpuarr.tensor(a, device=device)
    c = g.narrow_copy(1, -2, 2)
    same(gpuarr.narrow_copy(g, 0, -4, 4), torch.narrow_copy(torch.tensor(a), 0, -4, 4))
    g[0, 1] = 99.0
    same(c, torch.tensor(a).narrow_copy(1, -2, 2))  # a copy: unchanged by the write


COPIES = [
    ("alias_copy", (), {}), ("as_strided_copy", ((2, 2), (1, 2)), {}), ("detach_copy", (), {}),
    ("diagonal_copy", (0, 0, 1), {}), ("expand_copy", ((2, 4, 3),), {}),
    ("permute_copy", ((1, 0),), {}), ("select_copy", (1, 2), {}),
    ("slice_copy", (0, 1, 4, 2), {}), ("split_copy", (2,), {}),
    ("split_with_sizes_copy", ([1, 3],), {}), ("squeeze_copy", (), {}), ("t_copy", (), {}),
    ("transpose_copy", (0, 1), {}), ("unbind_copy", (1,), {}), ("unfold_copy", (0, 2, 1), {}),
    ("unsqueeze_copy", (1,), {}), ("view_copy", ((3, 4),), {}),
]


@pytest.mark.parametrize("name,args,kw", COPIES)
def test_copies(device, name, args, kw):
    a = RNG.standard_normal((4, 3))
    g, t = mk(a, device)
    gr, tr = getattr(gpuarr, name)(g, *args, **kw), getattr(torch, name)(t, *args, **kw)
    same(gr, tr)
    g.fill_(0.0)  # results are copies: they keep their values
    same(gr, tr)
    if name == "detach_copy":
        return
    if isinstance(tr, (tuple, list)):
        out = tuple(gpuarr.empty(0, dtype=gpuarr.float64, device=device) for _ in tr)
    else:
        out = gpuarr.empty(0, dtype=gpuarr.float64, device=device)
    res = getattr(gpuarr, name)(gpuarr.tensor(a, device=device), *args, out=out, **kw)
    same(res, tr)
    gx = gpuarr.tensor(a, device=device, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    gy, ty = getattr(gpuarr, name)(gx, *args, **kw), getattr(torch, name)(tx, *args, **kw)
    gy = gy if isinstance(gy, gpuarr.Tensor) else gpuarr.cat([p.reshape(-1) for p in gy])
    ty = ty if isinstance(ty, torch.Tensor) else torch.cat([p.reshape(-1) for p in ty])
    w = RNG.standard_normal(tuple(ty.shape))
    (gy * gpuarr.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    same(gx.grad, tx.grad)


def test_view_copy_dtype(device):
    g, t = mk(np.arange(4, dtype=np.int32), device)
    same(gpuarr.view_copy(g, gpuarr.float32), torch.view_copy(t, torch.float32))


def test_tensor_methods_take_no_out(device):
    x = gpuarr.ones(3, 3, device=device)
    o = gpuarr.empty(0, device=device)
    calls = [lambda: x.cross(x, dim=0, out=o), lambda: x.slice_scatter(x, out=o),
             lambda: x.narrow_copy(0, 0, 1, out=o), lambda: x.nonzero_static(size=1, out=o),
             lambda: x.index_reduce(0, gpuarr.tensor([0], device=device), x[:1], "prod", out=o)]
    for c in calls:
        with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
            c()
