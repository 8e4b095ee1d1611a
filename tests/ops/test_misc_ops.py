"""The misc tensor surface (gpuarr/ops/misc_ops.py) against PyTorch 2.13: ``new_*`` factories,
``addcmul``/``addcdiv``, ``copysign``, ``cummax``/``cummin``, ``diff`` and the in-place reshapes
``t_``/``squeeze_``/``unsqueeze_``/``transpose_``: values, dtypes, devices, errors and
gradients, on every device."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch
from device_helpers import resolved
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import assert_same, both, on_device, pair, same_error, to_np

import gpuarr
import gpuarr.ops.misc_ops as M
from gpuarr.autograd import gradcheck, gradgradcheck

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def rand(shape, dtype="float32", seed: int = 0, low: int = -5, high: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith(("int", "uint")):
        return rng.integers(max(low, 0) if dtype.startswith("u") else low, high,
                            shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def grads_vs_torch(gfn, tfn, arrays, device, rtol: float = 1e-10) -> None:
    """Same gradients as torch for sum(out * w), each array an input requiring grad."""
    gs = [gpuarr.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = tfn(*ts)
    w = rand(tuple(tout.shape), "float64", seed=7)
    (tout * torch.tensor(w)).sum().backward()
    gout = gfn(*gs)
    assert_same(gout, tout.detach(), rtol=1e-12, atol=1e-12)
    (gout * gpuarr.tensor(w, device=device)).sum().backward()
    for g, t in zip(gs, ts):
        want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        got = to_np(g.grad) if g.grad is not None else np.zeros(t.shape)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


def errors(cases, device: str) -> None:
    """Each case raises in gpuarr (tensors on ``device``) exactly as in torch."""
    for gfn, tfn in zip(cases(on_device(gpuarr, device)), cases(torch)):
        same_error(gfn, tfn, device)


# --------------------------------------------------------------------------------------------
# new_* factories

DTYPES = ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_new_factories_match_torch(device, dtype):
    g, t = pair(rand((2, 3), dtype), device)
    for name in ("new_zeros", "new_ones", "new_empty"):
        for args in [(2, 3), ((4,),), ([],), (gpuarr.Size([1, 2]),)]:
            targs = tuple(torch.Size(a) if isinstance(a, gpuarr.Size) else a for a in args)
            gr, tr = getattr(g, name)(*args), getattr(t, name)(*targs)
            assert gr.device == resolved(device) and not gr.requires_grad
            if name == "new_empty":
                assert gr.dtype.name == str(tr.dtype)[6:] and tuple(gr.shape) == tuple(tr.shape)
            else:
                assert_same(gr, tr)
        gr = getattr(g, name)(3, dtype=gpuarr.float64)
        assert gr.dtype == gpuarr.float64 and tuple(gr.shape) == (3,)
    for fill in (7, 2.5, True, -1):
        gr, tr = g.new_full((2, 2), fill), t.new_full((2, 2), fill)
        assert_same(gr, tr)
        assert gr.device == resolved(device)
    assert_same(g.new_full([3], 1.5, dtype=gpuarr.float64), t.new_full([3], 1.5,
                                                                        dtype=torch.float64))


def test_new_factories_requires_grad_and_device(device):
    g = gpuarr.ones(2, device=device)
    z = g.new_zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf and z.device == resolved(device)
    c = g.new_ones(2, device="cpu")
    assert c.device == gpuarr.device("cpu")
    with pytest.raises(RuntimeError, match="floating point"):
        g.new_zeros(2, dtype=gpuarr.int64, requires_grad=True)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool"])
def test_new_tensor_matches_torch(device, dtype):
    g, t = pair(rand((2,), dtype), device)
    for data in ([1, 2], [[1.5, 2.0]], 3, (True, False), range(3)):
        gr, tr = both(lambda d=data: g.new_tensor(d), lambda d=data: t.new_tensor(d))
        if tr is not None:
            assert_same(gr, tr)
            assert gr.device == resolved(device)
    assert_same(g.new_tensor([1, 2], dtype=gpuarr.float16), t.new_tensor([1, 2],
                                                                         dtype=torch.float16))
    src_g, src_t = pair(np.array([1.0, 2.0], np.float32), device)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        gr = g.new_tensor(src_g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = t.new_tensor(src_t)
    assert_same(gr, tr)
    gr[0] = 0  # a copy: the source keeps its values
    assert to_np(src_g).tolist() == [1.0, 2.0]
    r = g.new_tensor([1.0], dtype=gpuarr.float32, requires_grad=True)
    assert r.requires_grad and r.is_leaf


def test_new_factories_errors(device):
    def cases(m):
        x = m.ones(2)
        return [
            lambda: x.new_full(2, 1),
            lambda: x.new_zeros(-1),
            lambda: x.new_ones(2.5),
            lambda: x.new_tensor("ab"),
            lambda: x.new_zeros(2, 2.5),
            lambda: x.new_empty((2, "a")),
        ]

    errors(cases, device)


# --------------------------------------------------------------------------------------------
# addcmul / addcdiv

BSHAPES = [((3,), (3,), (3,)), ((2, 3), (3,), (1, 3)), ((1,), (2, 1), (3,)), ((), (2,), ()),
           ((0, 2), (2,), (1, 2)), ((2, 1, 3), (4, 1), (1,))]


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("shapes", BSHAPES)
def test_addc_matches_torch(device, op, shapes):
    for dts in [("float32",) * 3, ("float64",) * 3, ("float16",) * 3,
                ("float32", "float64", "float32"), ("int64", "float32", "float32"),
                ("int64", "int64", "int64"), ("float16", "float32", "int32")]:
        arrs = [rand(s, d, seed=i) for i, (s, d) in enumerate(zip(shapes, dts))]
        if op == "addcdiv":  # keep denominators away from 0
            arrs[2] = np.where(np.abs(arrs[2]) < 0.5, 2, arrs[2]).astype(arrs[2].dtype)
        gs = [gpuarr.tensor(a, device=device) for a in arrs]
        ts = [torch.tensor(a) for a in arrs]
        for value in (1, -2, 0.5, 3):
            try:
                want = getattr(torch, op)(*ts, value=value)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    getattr(gpuarr, op)(*gs, value=value)
                continue
            tol = 2e-3 if "float16" in dts else 1e-6
            assert_same(getattr(gpuarr, op)(*gs, value=value), want, rtol=tol, atol=tol)
            assert_same(getattr(gs[0], op)(gs[1], gs[2], value=value), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addc_gradients_match_torch(device, op):
    for shapes in BSHAPES:
        arrs = [rand(s, "float64", seed=i) + (3.0 if i == 2 else 0.0)
                for i, s in enumerate(shapes)]
        for value in (1, -0.5):
            grads_vs_torch(lambda a, b, c, v=value: getattr(gpuarr, op)(a, b, c, value=v),
                           lambda a, b, c, v=value: getattr(torch, op)(a, b, c, value=v),
                           arrs, device)
    a, b, c = (gpuarr.tensor(rand((2, 3), "float64", seed=i) + 3.0, device=device,
                             requires_grad=True) for i in range(3))
    assert gradgradcheck(lambda a, b, c: getattr(gpuarr, op)(a, b, c, value=0.7), (a, b, c))


@pytest.mark.parametrize("op", ["addcmul_", "addcdiv_"])
def test_addc_inplace_matches_torch(device, op):
    a, ta = pair(rand((2, 3), "float32"), device)
    b, tb = pair(rand((3,), "float64", seed=1), device)
    c, tc = pair(rand((2, 1), "float32", seed=2) + 3, device)
    ver = a._version_value()
    assert getattr(a, op)(b, c, value=0.25) is a
    getattr(ta, op)(tb, tc, value=0.25)
    assert_same(a, ta)
    assert a._version_value() == ver + 1
    out = gpuarr.empty(0, device=device)
    fn = op.rstrip("_")
    assert getattr(gpuarr, fn)(b, b, c, value=2, out=out) is out
    tout = torch.empty(0)
    getattr(torch, fn)(tb, tb, tc, value=2, out=tout)
    assert_same(out, tout)
    # through the graph: gradients of an in-place update of a non-leaf
    arrs = [rand((2, 3), "float64", seed=i) + 3.0 for i in range(3)]

    def f(mod):
        def fn(x, y, z):
            w = x * 1
            getattr(w, op)(y, z, value=2)
            return w
        return fn

    grads_vs_torch(f(gpuarr), f(torch), arrs, device)


def test_addc_errors(device):
    def cases(m):
        f, i = m.ones(3), m.ones(3, dtype=m.int64)
        bl = m.ones(3, dtype=m.bool)
        return [
            lambda: m.addcdiv(f, i, i),
            lambda: m.addcdiv(i, i, i),
            lambda: m.addcmul(bl, bl, bl),
            lambda: m.addcmul(f, f[:2], f),
            lambda: m.addcmul(f[:2], f, f),
            lambda: i.clone().addcmul_(f, f),
            lambda: m.ones(1).addcmul_(f, f),
            lambda: m.addcmul(f, 2, f),
        ]

    errors(cases, device)
    leaf = gpuarr.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.addcmul_(leaf, leaf)


def test_addcmul_integer_value_truncates_as_torch(device):
    g, t = pair(np.array([1, 2, 3]), device)
    for value in (0.5, 2.7, -1.2):
        assert_same(gpuarr.addcmul(g, g, g, value=value), torch.addcmul(t, t, t, value=value))


# --------------------------------------------------------------------------------------------
# copysign

SIGNS = np.array([1.0, -1.0, 0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 2.5, -3.0],
                 np.float32)


def _signbits(x) -> np.ndarray:
    return np.signbit(x.detach().cpu().numpy())


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("float64", "float32"),
                                    ("float16", "float16"), ("int64", "int64"),
                                    ("int32", "float64"), ("bool", "int64"),
                                    ("float32", "int64")])
def test_copysign_matches_torch(device, dtypes):
    a = rand((4, 10), dtypes[0])
    b = np.broadcast_to(SIGNS if dtypes[1].startswith("float") else
                        rand((10,), dtypes[1], seed=3), (4, 10)).astype(dtypes[1])
    ga, ta = pair(a, device)
    gb, tb = pair(np.ascontiguousarray(b[:1]), device)  # broadcast along dim 0
    gr, tr = gpuarr.copysign(ga, gb), torch.copysign(ta, tb)
    assert_same(gr, tr)
    np.testing.assert_array_equal(_signbits(gr), _signbits(tr))
    assert_same(ga.copysign(gb), tr)
    for s in (-1, 2, -0.0, 0.0, -2.5):
        gr, tr = gpuarr.copysign(ga, s), torch.copysign(ta, s)
        assert_same(gr, tr)
        np.testing.assert_array_equal(_signbits(gr), _signbits(tr))


def test_copysign_gradients_match_torch(device):
    a = rand((3, 4), "float64")
    a[0, :2] = 0.0  # input zeros: gradient 0 there
    a[1, 0] = -0.0
    b = rand((4,), "float64", seed=1)
    b[0] = -0.0
    grads_vs_torch(gpuarr.copysign, torch.copysign, [a, b], device)
    grads_vs_torch(lambda x: gpuarr.copysign(x, -1.0), lambda x: torch.copysign(x, -1.0),
                   [a], device)
    x = gpuarr.tensor(a + 2.0, device=device, requires_grad=True)
    y = gpuarr.tensor(b + 0.5, device=device, requires_grad=True)
    assert gradcheck(lambda u: gpuarr.copysign(u, y.detach()), (x,))
    assert gradgradcheck(lambda u, v: gpuarr.copysign(u, v) * u, (x, y))
    # other gets a zero gradient, as in torch
    gpuarr.copysign(x, y).sum().backward()
    assert to_np(y.grad).tolist() == [0.0] * 4


def test_copysign_inplace_and_errors(device):
    g, t = pair(rand((2, 3)), device)
    assert g.copysign_(-1.0) is g
    t.copysign_(-1.0)
    assert_same(g, t)

    def cases(m):
        i = m.ones(3, dtype=m.int64)
        return [
            lambda: i.copysign_(-1),
            lambda: m.copysign(2, m.ones(3)),
            lambda: m.copysign(m.ones(3), m.ones(2)),
            lambda: m.copysign(m.ones(3), "a"),
        ]

    errors(cases, device)


# --------------------------------------------------------------------------------------------
# cummax / cummin

cum_shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)


@SETTINGS
@given(shape=cum_shapes, data=st.data())
def test_cummax_cummin_match_torch(device, shape, data):
    dtype = data.draw(st.sampled_from(["float32", "float64", "int64", "int32", "bool",
                                       "float16", "uint8"]))
    a = rand(shape, dtype, seed=data.draw(st.integers(0, 100)), low=-2, high=3)
    if dtype.startswith("float") and a.size and data.draw(st.booleans()):
        flat = a.reshape(-1)
        for k in data.draw(st.lists(st.integers(0, a.size - 1), max_size=3)):
            flat[k] = np.nan
        if data.draw(st.booleans()):
            flat[:] = np.round(flat)  # many ties
    nd = max(len(shape), 1)
    dim = data.draw(st.integers(-nd, nd - 1))
    g, t = pair(a, device)
    for name in ("cummax", "cummin"):
        gr, tr = getattr(gpuarr, name)(g, dim), getattr(torch, name)(t, dim)
        assert type(gr).__name__ == name and gr._fields == ("values", "indices")
        assert_same(gr.values, tr.values)
        assert_same(gr.indices, tr.indices)
        mr = getattr(g, name)(dim=dim)
        assert_same(mr.values, tr.values)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_gradients_match_torch(device, name):
    for shape, dim in [((7,), 0), ((3, 5), 1), ((4, 3), 0), ((2, 3, 4), -1), ((), 0),
                       ((0, 3), 1)]:
        a = np.round(rand(shape, "float64", seed=3) * 2) / 2  # ties
        grads_vs_torch(lambda x, d=dim: getattr(gpuarr, name)(x, d).values,
                       lambda x, d=dim: getattr(torch, name)(x, d).values, [a], device)
    x = gpuarr.tensor(rand((3, 4), "float64", seed=5), device=device, requires_grad=True)
    assert gradcheck(lambda u: getattr(gpuarr, name)(u, 1).values, (x,))
    assert gradgradcheck(lambda u: getattr(gpuarr, name)(u * u, 0).values, (x,))
    r = getattr(gpuarr, name)(x, 1)
    assert r.values.grad_fn is not None and not r.indices.requires_grad


def test_cummax_errors(device):
    def cases(m):
        return [
            lambda: m.cummax(m.ones(3), 1),
            lambda: m.cummin(m.ones(2, 3), -3),
            lambda: m.cummax([1, 2], 0),
        ]

    errors(cases, device)


# --------------------------------------------------------------------------------------------
# diff


@SETTINGS
@given(shape=cum_shapes.filter(len), data=st.data())
def test_diff_matches_torch(device, shape, data):
    dtype = data.draw(st.sampled_from(["float32", "float64", "int64", "bool", "uint8",
                                       "float16", "int16"]))
    a = rand(shape, dtype, seed=1)
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    n = data.draw(st.integers(0, 5))
    g, t = pair(a, device)
    kw_g, kw_t = {}, {}
    for key in ("prepend", "append"):
        if data.draw(st.booleans()):
            s = list(shape)
            s[dim] = data.draw(st.integers(0, 2))
            extra = rand(tuple(s), data.draw(st.sampled_from([dtype, "float32"])), seed=2)
            kw_g[key] = gpuarr.tensor(extra, device=device)
            kw_t[key] = torch.tensor(extra)
    tr = torch.diff(t, n, dim, **kw_t)
    tol = 1e-2 if dtype == "float16" else 1e-6
    assert_same(gpuarr.diff(g, n, dim, **kw_g), tr, rtol=tol, atol=tol)
    assert_same(g.diff(n=n, dim=dim, **kw_g), tr, rtol=tol, atol=tol)


def test_diff_gradients_match_torch(device):
    a, p, q = rand((3, 5), "float64"), rand((3, 2), "float64", seed=1), rand((3, 1), "float64",
                                                                              seed=2)
    for n in (1, 2, 3):
        grads_vs_torch(lambda x, y, z, k=n: gpuarr.diff(x, k, 1, prepend=y, append=z),
                       lambda x, y, z, k=n: torch.diff(x, k, 1, prepend=y, append=z),
                       [a, p, q], device)
    grads_vs_torch(lambda x: gpuarr.diff(x, 2, 0), lambda x: torch.diff(x, 2, 0), [a], device)
    x = gpuarr.tensor(a, device=device, requires_grad=True)
    assert gradgradcheck(lambda u: gpuarr.diff(u * u, 2), (x,))


def test_diff_errors(device):
    def cases(m):
        x = m.ones(2, 3)
        return [
            lambda: m.diff(m.tensor(1.0)),
            lambda: m.diff(x, -1),
            lambda: m.diff(x, prepend=m.ones(3)),
            lambda: m.diff(x, append=m.ones(1, 2, 3)),
            lambda: m.diff(x, dim=2),
            lambda: m.diff(x, dim=0, prepend=m.ones(1, 2)),
        ]

    errors(cases, device)


# --------------------------------------------------------------------------------------------
# in-place reshapes


INPLACE = [("t_", (2, 3), ()), ("t_", (3,), ()), ("t_", (), ()),
           ("transpose_", (2, 3, 4), (0, 2)), ("transpose_", (2, 3), (-1, 0)),
           ("swapdims_", (2, 3), (0, 1)), ("squeeze_", (3, 1, 1), ()),
           ("squeeze_", (3, 1, 1), (1,)), ("squeeze_", (3, 1, 1), ((1, 2),)),
           ("squeeze_", (1,), ()), ("unsqueeze_", (2, 3), (0,)), ("unsqueeze_", (2, 3), (-1,)),
           ("unsqueeze_", (), (0,))]


@pytest.mark.parametrize("name,shape,args", INPLACE)
def test_inplace_reshape_matches_torch(device, name, shape, args):
    g, t = pair(rand(shape), device)
    view = g[...]  # a view of the same memory made before
    assert getattr(g, name)(*args) is g
    getattr(t, name)(*args)
    assert_same(g, t)
    assert g.stride() == t.stride() and g.is_contiguous() == t.is_contiguous()
    if g.numel():  # still the same memory: a write shows through the older view
        g[(0,) * g.ndim] = 42.0
        assert to_np(view).reshape(-1)[0] == 42.0


@pytest.mark.parametrize("name,shape,args", INPLACE)
def test_inplace_reshape_gradients_match_torch(device, name, shape, args):
    def f(mod):
        def fn(x):
            y = x * 2
            getattr(y, name)(*args)
            w = mod.arange(1.0, y.numel() + 1.0, dtype=mod.float64).reshape(y.shape)
            return y * w.to(y.device)
        return fn

    grads_vs_torch(f(gpuarr), f(torch), [rand(shape, "float64")], device)
    x = gpuarr.tensor(rand(shape, "float64"), device=device, requires_grad=True)
    y = x * 1
    getattr(y, name)(*args)
    assert y.grad_fn is not None and y._version_value() >= 1


def test_inplace_reshape_errors(device):
    leaf = gpuarr.ones(2, 3, device=device, requires_grad=True)
    tleaf = torch.ones(2, 3, requires_grad=True)
    same_error(lambda: leaf.t_(), lambda: tleaf.t_(), device)
    with gpuarr.no_grad():
        leaf.t_()  # allowed without grad mode, as in torch
    assert tuple(leaf.shape) == (3, 2) and leaf.is_leaf

    def cases(m):
        return [
            lambda: m.ones(2, 3, 4).t_(),
            lambda: m.ones(2, 3).transpose_(0, 2),
            lambda: m.ones(2, 3).squeeze_(3),
            lambda: m.ones(2, 3).unsqueeze_(4),
        ]

    errors(cases, device)


def test_saved_tensor_reshaped_in_place_is_detected(device):
    x = gpuarr.ones(2, 3, device=device, requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    y.t_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_methods_installed_from_misc_ops():
    for name in ("new_tensor", "new_zeros", "new_ones", "new_full", "new_empty", "addcmul",
                 "addcmul_", "addcdiv", "addcdiv_", "copysign", "copysign_", "cummax", "cummin",
                 "diff", "t_", "squeeze_", "unsqueeze_", "transpose_"):
        assert getattr(gpuarr.Tensor, name) is getattr(M, name), name
    for name in M.__all__:  # the public function may wrap it to add out= (see ops/_out.py)
        assert inspect.unwrap(getattr(gpuarr, name)) is getattr(M, name)
