"""Joining, splitting, tiling and reordering ops against PyTorch 2.13: values, dtypes, views,
errors and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import assert_same, on_device, pair, same_error, to_np

import gpuarr
import gpuarr.ops.indexing  # noqa: F401 - installs Tensor.__getitem__ and friends
import gpuarr.ops.stacking as S
from gpuarr.autograd import gradcheck, gradgradcheck

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class _Namespace:
    """``gpuarr`` plus the ops of the stacking module, looked up by name (the top-level exports
    may lag behind the ops modules)."""

    def __getattr__(self, name):
        if name in S.__all__:
            return getattr(S, name)
        return getattr(gpuarr, name)


ga = _Namespace()


# --------------------------------------------------------------------------------------------
# helpers


def assert_all_same(gs, ts) -> None:
    assert isinstance(gs, tuple) and len(gs) == len(ts)
    for g, t in zip(gs, ts):
        assert_same(g, t)


def check_errors(cases, *args_g, args_t, device: str) -> None:
    """Each case raises in gpuarr (tensors on ``device``, new ones built there too) as in
    torch."""
    for gfn, tfn in zip(cases(on_device(ga, device), *args_g), cases(torch, *args_t)):
        same_error(gfn, tfn, device)


def rand(shape, dtype="float32", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("int"):
        return rng.integers(-5, 5, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def f64(device, *shape):
    return gpuarr.randn(*shape, dtype=gpuarr.float64, device=device, requires_grad=True)


def grad_vs_torch(gfn, tfn, arrays, device) -> None:
    """Same gradients as torch for sum(out * w) (float64) over each array input."""
    gs = [gpuarr.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = tfn(*ts)
    w = rand(tuple(tout.shape), "float64", seed=7)
    (tout * torch.tensor(w)).sum().backward()
    (gfn(*gs) * gpuarr.tensor(w, device=device)).sum().backward()
    for g, t in zip(gs, ts):
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-12, atol=1e-12)


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
dtypes = st.sampled_from(["float32", "float64", "int64", "int32", "bool", "float16"])


# --------------------------------------------------------------------------------------------
# cat / stack


@SETTINGS
@given(shape=shapes.filter(len), data=st.data())
def test_cat_matches_torch(device, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = data.draw(st.integers(1, 3))
    arrs = []
    for k in range(n):
        s = list(shape)
        s[dim] = data.draw(st.integers(0, 3))
        arrs.append(rand(tuple(s), data.draw(dtypes), seed=k))
    if data.draw(st.booleans()):
        arrs.insert(data.draw(st.integers(0, len(arrs))), np.zeros(0, np.float32))  # legacy skip
    gs = [gpuarr.tensor(a, device=device) for a in arrs]
    ts = [torch.tensor(a) for a in arrs]
    assert_same(S.cat(gs, dim), torch.cat(ts, dim))
    assert_same(S.concat(tuple(gs), dim=dim), torch.concat(tuple(ts), dim=dim))
    floats = [a.astype(np.float64) for a in arrs]
    grad_vs_torch(lambda *xs: S.cat(xs, dim), lambda *xs: torch.cat(xs, dim), floats, device)


@SETTINGS
@given(shape=shapes, data=st.data())
def test_stack_matches_torch(device, shape, data):
    n = data.draw(st.integers(1, 3))
    arrs = [rand(shape, data.draw(dtypes), seed=k) for k in range(n)]
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    gs = [gpuarr.tensor(a, device=device) for a in arrs]
    ts = [torch.tensor(a) for a in arrs]
    assert_same(S.stack(gs, dim), torch.stack(ts, dim))
    floats = [a.astype(np.float64) for a in arrs]
    grad_vs_torch(lambda *xs: S.stack(xs, dim), lambda *xs: torch.stack(xs, dim), floats, device)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack", "row_stack"])
def test_hvd_stack(device, name):
    cases = [[(3,), (3,)], [(), ()], [(2, 3), (2, 3)], [(2, 1), (2, 4)], [(1, 3), (2, 3)],
             [(3,), (3, 2)], [(2, 2, 1), (2, 2, 3)]]
    for shapes_ in cases:
        arrs = [rand(s, seed=i) for i, s in enumerate(shapes_)]
        gs = [gpuarr.tensor(a, device=device) for a in arrs]
        ts = [torch.tensor(a) for a in arrs]
        try:
            want = getattr(torch, name)(ts)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                getattr(S, name)(gs)
            continue
        assert_same(getattr(S, name)(gs), want)


def test_atleast(device):
    for s in [(), (3,), (2, 3), (2, 3, 4)]:
        g, t = pair(rand(s), device)
        for n in (1, 2, 3):
            assert_same(getattr(S, f"atleast_{n}d")(g), getattr(torch, f"atleast_{n}d")(t))
    g1, t1 = pair(rand(()), device)
    assert_all_same(S.atleast_2d(g1, g1), torch.atleast_2d(t1, t1))


def test_cat_stack_gradcheck(device):
    a, b = f64(device, 2, 3), f64(device, 1, 3)
    assert gradcheck(lambda x, y: S.cat([x, y, x]), (a, b))
    assert gradgradcheck(lambda x, y: S.cat([x, y], 0), (a, b))
    assert gradcheck(lambda x, y: S.stack([x, x * y], 1), (a, b))
    assert gradgradcheck(lambda x: S.stack([x, x], -1), (a,))
    e = f64(device, 0)
    assert gradcheck(lambda x, y: S.cat([y, x], 1), (e, a))
    assert gradcheck(lambda x: S.hstack([x, x]), (a,))
    # mixed dtypes promote; each input's gradient comes back in its own dtype
    y32 = gpuarr.ones(1, 3, device=device, requires_grad=True)
    out = S.cat([a, y32])
    assert out.dtype == gpuarr.float64
    out.sum().backward()
    assert y32.grad.dtype == gpuarr.float32 and to_np(y32.grad).tolist() == [[1.0] * 3]


def test_cat_stack_errors(device):
    a, ta = pair(np.ones((2, 3), np.float32), device)
    b, tb = pair(np.zeros((2, 4), np.float32), device)

    def cases(m, a, b):
        return [
            lambda: m.cat([a, b]),
            lambda: m.cat([a, m.ones(3)]),
            lambda: m.cat([m.ones(0, 4), a]),
            lambda: m.cat([]),
            lambda: m.cat([m.tensor(1.0)]),
            lambda: m.cat([a, m.tensor(1.0)]),
            lambda: m.cat([a, a], 2),
            lambda: m.cat([a, a], -3),
            lambda: m.cat(a),
            lambda: m.cat([a, 1]),
            lambda: m.cat([a, m.ones(2, 3, 4)]),
            lambda: m.stack([a, a], 3),
            lambda: m.stack([a, b]),
            lambda: m.stack([]),
            lambda: m.stack([a, m.ones(3)]),
        ]

    check_errors(cases, a, b, args_t=(ta, tb), device=device)


# --------------------------------------------------------------------------------------------
# split / chunk / unbind


@SETTINGS
@given(shape=shapes.filter(len), data=st.data())
def test_split_chunk_unbind_match_torch(device, shape, data):
    x, tx = pair(rand(shape, data.draw(dtypes)), device)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    size = data.draw(st.integers(1 if n else 0, n + 1))
    assert_all_same(S.split(x, size, dim), torch.split(tx, size, dim))
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    assert_all_same(x.split(sizes, dim), tx.split(sizes, dim))
    chunks = data.draw(st.integers(1, 5))
    assert_all_same(x.chunk(chunks, dim), tx.chunk(chunks, dim))
    assert_all_same(S.tensor_split(x, chunks, dim), torch.tensor_split(tx, chunks, dim))
    assert_all_same(x.tensor_split(cuts, dim), tx.tensor_split(cuts, dim))
    assert_all_same(x.unbind(dim), tx.unbind(dim))
    for piece in x.split(size, dim) + x.unbind(dim):
        assert piece._base is x  # views


def test_split_views_share_memory(device):
    x = gpuarr.zeros(4, 3, device=device)
    a, b = x.split([1, 3])
    b[0, 0] = 5.0
    assert to_np(x)[1, 0] == 5.0
    assert x._version_value() == a._version_value() == 1
    rows = x.unbind(0)
    rows[3][...] = 2.0
    assert to_np(x)[3].tolist() == [2.0, 2.0, 2.0]
    c0, c1 = x.chunk(2, dim=1)
    assert c0.shape == (4, 2) and c1.shape == (4, 1)
    c1[...] = -1.0
    assert to_np(x)[:, 2].tolist() == [-1.0] * 4


def test_split_unbind_gradcheck(device):
    x = f64(device, 4, 3)
    assert gradcheck(lambda t: t.split(3), (x,))
    assert gradcheck(lambda t: t.split([1, 2], 1)[1], (x,))  # unused piece gets zeros
    assert gradgradcheck(lambda t: t.split([3, 1]), (x,))
    assert gradcheck(lambda t: t.chunk(2, 1), (x,))
    assert gradcheck(lambda t: t.unbind(1), (x,))
    assert gradgradcheck(lambda t: t.unbind(0)[2], (x,))
    assert gradcheck(lambda t: t.tensor_split([1, 3]), (x,))


def test_split_errors(device):
    x, tx = pair(np.arange(10.0, dtype=np.float32), device)
    s, ts = pair(np.float32(1.0), device)

    def cases(m, x, s):
        return [
            lambda: m.split(x, [3, 6]),
            lambda: m.split(x, 0),
            lambda: m.split(x, -1),
            lambda: m.split(x, [3, -1, 8]),
            lambda: m.split(s, 1),
            lambda: x.split(3, 1),
            lambda: m.chunk(x, 0),
            lambda: m.chunk(s, 3),
            lambda: m.unbind(s),
        ]

    check_errors(cases, x, s, args_t=(tx, ts), device=device)
    e, te = pair(np.zeros(0, np.float32), device)
    assert_all_same(S.split(e, 0), torch.split(te, 0))
    assert_all_same(e.chunk(3), te.chunk(3))


# --------------------------------------------------------------------------------------------
# flip / roll


@SETTINGS
@given(shape=shapes, data=st.data())
def test_flip_roll_match_torch(device, shape, data):
    x, tx = pair(rand(shape, data.draw(dtypes)), device)
    nd = max(len(shape), 1)
    dims = data.draw(st.lists(st.integers(-nd, nd - 1), unique_by=lambda d: d % nd, max_size=nd))
    assert_same(S.flip(x, dims), torch.flip(tx, dims))
    assert_same(S.flip(x, dims=dims), torch.flip(tx, dims=dims))
    if dims:
        assert_same(x.flip(*dims), tx.flip(*dims))
    if len(shape) >= 1:
        assert_same(S.flipud(x), torch.flipud(tx))
    if len(shape) >= 2:
        assert_same(x.fliplr(), tx.fliplr())
    shift = data.draw(st.integers(-6, 6))
    assert_same(S.roll(x, shift), torch.roll(tx, shift))
    if shape:
        shifts = [data.draw(st.integers(-6, 6)) for _ in dims]
        if dims:
            assert_same(x.roll(shifts, dims), tx.roll(shifts, dims))


def test_flip_roll_grad_and_errors(device):
    x = f64(device, 3, 4)
    assert gradcheck(lambda t: t.flip(0, 1), (x,))
    assert gradgradcheck(lambda t: t.flip(1), (x,))
    assert gradcheck(lambda t: t.roll(2), (x,))
    assert gradgradcheck(lambda t: t.roll((1, -3), (0, 1)), (x,))
    assert gradcheck(lambda t: S.fliplr(t), (x,))
    flipped = gpuarr.arange(4.0, device=device).flip(0)
    assert flipped._base is None and flipped.is_contiguous()
    a, ta = pair(np.ones((2, 3), np.float32), device)
    s, ts = pair(np.float32(1.0), device)

    def cases(m, a, s):
        return [
            lambda: m.flip(a, (0, 0)),
            lambda: m.flip(a, (2,)),
            lambda: m.fliplr(m.ones(3)),
            lambda: m.flipud(s),
            lambda: m.roll(a, (1, 2), (0,)),
            lambda: m.roll(a, 1, 3),
            lambda: m.roll(s, 1, 0),
            lambda: m.roll(a, (), ()),
        ]

    check_errors(cases, a, s, args_t=(ta, ts), device=device)


# --------------------------------------------------------------------------------------------
# repeat / tile / repeat_interleave


@SETTINGS
@given(shape=shapes, data=st.data())
def test_repeat_tile_match_torch(device, shape, data):
    x, tx = pair(rand(shape, data.draw(dtypes)), device)
    extra = data.draw(st.integers(0 if shape else 1, 2))
    reps = [data.draw(st.integers(0, 3)) for _ in range(len(shape) + extra)]
    assert_same(x.repeat(*reps), tx.repeat(*reps))
    assert_same(x.repeat(reps), tx.repeat(reps))
    short = reps[:data.draw(st.integers(0, len(reps)))]
    assert_same(S.tile(x, short), torch.tile(tx, short))
    grad_vs_torch(lambda t: t.repeat(*reps), lambda t: t.repeat(*reps),
                  [rand(shape, "float64")], device)


@SETTINGS
@given(shape=shapes, data=st.data())
def test_repeat_interleave_matches_torch(device, shape, data):
    x, tx = pair(rand(shape, data.draw(dtypes)), device)
    r = data.draw(st.integers(0, 3))
    assert_same(S.repeat_interleave(x, r), torch.repeat_interleave(tx, r))
    if shape:
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        assert_same(x.repeat_interleave(r, dim), tx.repeat_interleave(r, dim))
        counts = np.array([data.draw(st.integers(0, 3)) for _ in range(shape[dim])],
                          dtype=np.int64)
        c, tc = pair(counts, device)
        assert_same(x.repeat_interleave(c, dim=dim), tx.repeat_interleave(tc, dim=dim))
        grad_vs_torch(lambda t: t.repeat_interleave(c, dim=dim),
                      lambda t: t.repeat_interleave(tc, dim=dim), [rand(shape, "float64")],
                      device)
        grad_vs_torch(lambda t: t.repeat_interleave(r, dim), lambda t: t.repeat_interleave(r, dim),
                      [rand(shape, "float64")], device)
        c1, tc1 = pair(np.array([r]), device)
        assert_same(x.repeat_interleave(c1, dim=dim), tx.repeat_interleave(tc1, dim=dim))


def test_repeat_grad_and_errors(device):
    x = f64(device, 2, 3)
    assert gradcheck(lambda t: t.repeat(2, 1, 3), (x,))
    assert gradgradcheck(lambda t: t.repeat(2, 2), (x,))
    assert gradcheck(lambda t: S.tile(t, (2,)), (x,))
    counts = gpuarr.tensor([2, 0], device=device)
    assert gradcheck(lambda t: t.repeat_interleave(counts, dim=0), (x,))
    assert gradgradcheck(lambda t: t.repeat_interleave(2, dim=1), (x,))
    assert gradcheck(lambda t: t.repeat_interleave(2), (x,))
    idx = S.repeat_interleave(gpuarr.tensor([1, 2, 0], device=device))
    assert_same(idx, torch.repeat_interleave(torch.tensor([1, 2, 0])))
    a, ta = pair(np.arange(6.0, dtype=np.float32).reshape(2, 3), device)

    def cases(m, a):
        return [
            lambda: a.repeat(2),
            lambda: a.repeat(-1, 2),
            lambda: a.repeat(),
            lambda: m.repeat_interleave(a, m.tensor([1, 2])),
            lambda: m.repeat_interleave(a, m.tensor([1, 2, 3]), dim=0),
            lambda: m.repeat_interleave(a, m.tensor([-1, 2]), dim=0),
            lambda: m.repeat_interleave(a, -1, dim=0),
            lambda: m.repeat_interleave(a, m.tensor([1.0, 2.0]), dim=0),
            lambda: m.repeat_interleave(a, m.tensor([[1, 2]]), dim=0),
        ]

    check_errors(cases, a, args_t=(ta,), device=device)


# --------------------------------------------------------------------------------------------
# tril / triu / diag / diagonal / diag_embed


@SETTINGS
@given(shape=st.lists(st.integers(0, 4), min_size=2, max_size=3).map(tuple), data=st.data())
def test_tril_triu_match_torch(device, shape, data):
    x, tx = pair(rand(shape, data.draw(dtypes)), device)
    k = data.draw(st.integers(-4, 4))
    assert_same(S.tril(x, k), torch.tril(tx, k))
    assert_same(x.triu(diagonal=k), tx.triu(diagonal=k))
    y, ty = x.clone(), tx.clone()
    y.tril_(k)
    ty.tril_(k)
    assert_same(y, ty)


@SETTINGS
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple), data=st.data())
def test_diag_family_matches_torch(device, shape, data):
    x, tx = pair(rand(shape, data.draw(dtypes)), device)
    k = data.draw(st.integers(-4, 4))
    nd = len(shape)
    if nd <= 2:
        assert_same(S.diag(x, k), torch.diag(tx, k))
    assert_same(S.diag_embed(x, k), torch.diag_embed(tx, k))
    dims = data.draw(st.lists(st.integers(-nd - 1, nd), min_size=2, max_size=2,
                              unique_by=lambda d: d % (nd + 1)))
    assert_same(x.diag_embed(k, *dims), tx.diag_embed(k, *dims))
    if nd >= 2:
        d1, d2 = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2,
                                    unique_by=lambda d: d % nd))
        got = S.diagonal(x, k, d1, d2)
        assert_same(got, torch.diagonal(tx, k, d1, d2))
        assert got._base is x


def test_diagonal_is_a_writable_view(device):
    x = gpuarr.zeros(3, 4, device=device)
    d = x.diagonal(1)
    d[...] = gpuarr.tensor([1.0, 2.0, 3.0], device=device)
    want = np.zeros((3, 4), np.float32)
    want[[0, 1, 2], [1, 2, 3]] = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(to_np(x), want)
    assert x._version_value() == 1


def test_tri_diag_grad_and_errors(device):
    x = f64(device, 3, 4)
    v = f64(device, 3)
    b = f64(device, 2, 3, 4)
    assert gradcheck(lambda t: t.tril(-1), (x,))
    assert gradgradcheck(lambda t: t.triu(1), (b,))
    assert gradcheck(lambda t: S.diag(t, 1), (v,))
    assert gradgradcheck(lambda t: S.diag(t, -2), (v,))
    assert gradcheck(lambda t: S.diag(t, 1), (x,))
    assert gradcheck(lambda t: t.diagonal(0, 0, 2), (b,))
    assert gradgradcheck(lambda t: t.diagonal(-1, 2, 1), (b,))
    assert gradcheck(lambda t: S.diag_embed(t, 1, 0, 2), (x,))
    assert gradgradcheck(lambda t: S.diag_embed(t), (x,))

    def inplace(t):
        y = t * 1.0
        y.triu_(1)
        return y

    assert gradcheck(inplace, (x,))
    a, ta = pair(np.ones((3, 4), np.float32), device)

    def cases(m, a):
        return [
            lambda: m.tril(m.ones(3)),
            lambda: m.triu(m.tensor(1.0)),
            lambda: m.diag(m.ones(2, 2, 2)),
            lambda: m.diag(m.tensor(1.0)),
            lambda: m.diagonal(a, 0, 1, 1),
            lambda: m.diagonal(m.ones(3)),
            lambda: m.diag_embed(m.ones(2, 3), 0, 1, 1),
            lambda: m.diag_embed(m.tensor(3.0)),
        ]

    check_errors(cases, a, args_t=(ta,), device=device)


# --------------------------------------------------------------------------------------------
# meshgrid


@SETTINGS
@given(sizes=st.lists(st.integers(0, 3), min_size=1, max_size=3), data=st.data())
def test_meshgrid_matches_torch(device, sizes, data):
    dt = data.draw(dtypes)
    arrs = [rand((n,), dt, seed=i) for i, n in enumerate(sizes)]
    if sizes[0] and data.draw(st.booleans()):
        arrs[0] = arrs[0][:1].reshape(())  # 0-d inputs are allowed
    gs = [gpuarr.tensor(a, device=device) for a in arrs]
    ts = [torch.tensor(a) for a in arrs]
    for indexing in ("ij", "xy"):
        got = S.meshgrid(*gs, indexing=indexing)
        assert_all_same(got, torch.meshgrid(*ts, indexing=indexing))
        assert_all_same(S.meshgrid(gs, indexing=indexing), torch.meshgrid(ts, indexing=indexing))
        for g in got:
            assert g._base is not None  # views of the inputs


def test_meshgrid_grad_and_errors(device):
    a, b = f64(device, 3), f64(device, 2)
    assert gradcheck(lambda x, y: S.meshgrid(x, y, indexing="xy"), (a, b))
    assert gradgradcheck(lambda x, y: S.meshgrid(x, y, indexing="ij")[0] * y, (a, b))
    x, tx = pair(np.arange(3.0, dtype=np.float32), device)

    def cases(m, x):
        return [
            lambda: m.meshgrid(x, m.arange(2), indexing="ij"),
            lambda: m.meshgrid(x, indexing="foo"),
            lambda: m.meshgrid(indexing="ij"),
        ]

    check_errors(cases, x, args_t=(tx,), device=device)
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor"):
        S.meshgrid(x, gpuarr.ones(2, 2, device=device), indexing="ij")


def test_jacobian_uses_stack(device):
    x = gpuarr.tensor([1.0, 2.0], device=device)
    jac = gpuarr.autograd.functional.jacobian(lambda t: t * t, x)
    np.testing.assert_allclose(to_np(jac), [[2.0, 0.0], [0.0, 4.0]])
