"""gpuarr/ops/tensor_extra.py against PyTorch 2.13: per-element callbacks (apply_, map_, map2_),
resize_/resize_as_/resize, as_strided_, new_empty_strided, adjoint, conj_physical, real/imag,
angle, dim_order, is_pinned, record_stream, cauchy_, module_load and the is_<backend>
properties: values, dtypes, devices, errors and gradients, on every device.

Most tests call the module's functions; the tests named ``test_wired_*`` use the Tensor
methods, properties and ``gpuarr.<name>`` exports, which exist once the module's mixin is among
gpuarr.Tensor's bases and gpuarr re-exports its ``__all__``.
"""

from __future__ import annotations

import gc
import math
import warnings
import weakref

import numpy as np
import pytest
import torch
from device_helpers import resolved
from ops_helpers import assert_same, pair, same_error, to_np

import gpuarr
import gpuarr.ops.tensor_extra as te
from gpuarr.autograd import gradcheck, gradgradcheck

FLOAT_DTYPES = ["float16", "float32", "float64"]
INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8"]


def arange(n, shape, dtype="float32"):
    start = 0 if dtype.startswith("u") else n // 3  # no negatives in an unsigned dtype
    return (np.arange(n) - start).astype(dtype).reshape(shape)


def host_only(device: str) -> bool:
    return gpuarr.device(device).type == "cpu"


# --------------------------------------------------------------------------------------------
# apply_ / map_ / map2_


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + ["bool"])
def test_apply_matches_torch_for_every_dtype(dtype):
    a = arange(12, (3, 4), dtype) if dtype != "bool" else arange(12, (3, 4)) > 0
    g, t = pair(a, "cpu")
    seen_g, seen_t = [], []

    def fn(seen):
        def f(x):
            seen.append((type(x), x))
            return x * 3 if not isinstance(x, bool) else not x
        return f

    assert te.apply_(g, fn(seen_g)) is g
    t.apply_(fn(seen_t))
    assert_same(g, t)
    assert seen_g == seen_t  # same Python types, values and order


def test_apply_visits_a_view_in_row_major_order_and_writes_through():
    base_g, base_t = pair(arange(12, (3, 4)), "cpu")
    vg, vt = base_g.t()[1:, ::2], base_t.t()[1:, ::2]
    order_g, order_t = [], []
    te.apply_(vg, lambda x: order_g.append(x) or -x)
    vt.apply_(lambda x: order_t.append(x) or -x)
    assert order_g == order_t
    assert_same(base_g, base_t)


def test_apply_bfloat16_and_empty_and_zero_dim():
    g, t = pair(np.array([1.5, -2.25], dtype="float32"), "cpu")
    g, t = g.bfloat16(), t.bfloat16()
    te.apply_(g, lambda x: x * 3)
    t.apply_(lambda x: x * 3)
    assert g.float().tolist() == t.float().tolist()
    empty = gpuarr.zeros(0, 3)
    assert te.apply_(empty, lambda x: 1 / 0) is empty  # never called
    z = gpuarr.tensor(2.0)
    te.apply_(z, lambda x: x + 1)
    assert z.item() == 3.0 and z.shape == ()


@pytest.mark.parametrize("dtype,ret", [
    ("float32", "a"), ("float32", None), ("float32", 1j), ("float64", 10**400),
    ("float32", np.array([2.5])), ("int32", "a"), ("int32", None), ("int8", 300),
    ("int32", 2**40), ("int32", float("inf")), ("int64", float("nan")), ("int64", 2**70),
    ("uint8", -256), ("uint8", -1.0), ("int32", np.float32(2.5)), ("bool", "s"),
    ("bool", None),
])
def test_apply_conversion_errors_match_torch(dtype, ret):
    g, t = pair(np.zeros(2, dtype), "cpu")
    same_error(lambda: te.apply_(g, lambda x: ret), lambda: t.apply_(lambda x: ret))


@pytest.mark.parametrize("dtype,ret", [
    ("uint8", -1), ("int32", -2.7), ("int32", np.int64(7)), ("bool", 2), ("bool", 0.5),
    ("bool", 2**80), ("float32", 1e300), ("float16", 1e300), ("float32", np.float32(2.5)),
    ("float32", True), ("int64", True),
])
def test_apply_converts_results_as_torch(dtype, ret):
    g, t = pair(np.zeros(2, dtype), "cpu")
    te.apply_(g, lambda x: ret)
    t.apply_(lambda x: ret)
    assert_same(g, t)


def test_apply_converts_a_returned_tensor_as_torch():
    g = te.apply_(gpuarr.zeros(2), lambda x: gpuarr.tensor(3.5))
    assert g.tolist() == torch.zeros(2).apply_(lambda x: torch.tensor(3.5)).tolist()
    same_error(lambda: te.apply_(gpuarr.zeros(2, dtype=gpuarr.int32),
                                 lambda x: gpuarr.tensor(3.5)),
               lambda: torch.zeros(2, dtype=torch.int32).apply_(lambda x: torch.tensor(3.5)))


def test_apply_exception_midway_keeps_earlier_results_as_torch():
    g, t = pair(np.arange(5.0), "cpu")

    def boom(x):
        if x == 3:
            raise ZeroDivisionError("stop")
        return -x

    with pytest.raises(ZeroDivisionError):
        te.apply_(g, boom)
    with pytest.raises(ZeroDivisionError):
        t.apply_(boom)
    assert_same(g, t)


def test_apply_moves_the_version_so_saved_tensors_are_checked():
    w = gpuarr.ones(3, requires_grad=True)
    x = gpuarr.arange(3.0)
    y = w * x
    te.apply_(x, lambda v: v + 1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_apply_errors(device):
    same_error(lambda: te.apply_(gpuarr.ones(2, requires_grad=True, device=device), abs),
               lambda: torch.ones(2, requires_grad=True).apply_(abs))
    same_error(lambda: te.apply_(gpuarr.ones(2, requires_grad=True, device=device) * 2, abs),
               lambda: (torch.ones(2, requires_grad=True) * 2).apply_(abs))
    if host_only(device):
        same_error(lambda: te.apply_(gpuarr.ones(2), 5), lambda: torch.ones(2).apply_(5))
        return
    x = gpuarr.ones(2, device=device)
    with pytest.raises(TypeError, match="^apply_ is only implemented on CPU tensors$"):
        te.apply_(x, abs)
    assert x.tolist() == [1.0, 1.0]


def test_map_and_map2_match_torch_with_broadcasting():
    sg, st = pair(arange(6, (2, 3)), "cpu")
    og, ot = pair(arange(3, (3,)), "cpu")
    te.map_(sg, og, lambda a, b: a * 10 + b)
    st.map_(ot, lambda a, b: a * 10 + b)
    assert_same(sg, st)
    xg, xt = pair(arange(2, (2, 1)), "cpu")
    te.map2_(sg, og, xg, lambda a, b, c: a - b * c)
    st.map2_(ot, xt, lambda a, b, c: a - b * c)
    assert_same(sg, st)
    ig, it = pair(arange(6, (2, 3), "int64"), "cpu")
    te.map_(ig, ig, lambda a, b: a * b + 1)
    it.map_(it, lambda a, b: a * b + 1)
    assert_same(ig, it)


def test_map_errors_match_torch(device):
    m = gpuarr

    def pairs(shape, dtype=torch.float32, rg=False):
        return (m.ones(*shape, dtype=getattr(gpuarr, str(dtype)[6:]), device=device,
                       requires_grad=rg),
                torch.ones(*shape, dtype=dtype, requires_grad=rg))

    s, ts = pairs((2, 3))
    for shape, dtype, rg in [((3,), torch.float64, False), ((3,), torch.int64, False),
                             ((3,), torch.float32, True)]:
        o, to = pairs(shape, dtype, rg)
        same_error(lambda o=o: te.map_(s, o, max), lambda to=to: ts.map_(to, max), device)
        same_error(lambda o=o: te.map2_(s, o, o, max), lambda to=to: ts.map2_(to, to, max),
                   device)
        same_error(lambda o=o: te.map2_(s, s, o, max), lambda to=to: ts.map2_(ts, to, max),
                   device)
    same_error(lambda: te.map_(s, 3, max), lambda: ts.map_(3, max), device)
    if host_only(device):
        for shape in [(2,), (2, 2, 3)]:
            o, to = pairs(shape)
            same_error(lambda o=o: te.map_(s, o, max), lambda to=to: ts.map_(to, max))
        same_error(lambda: te.map_(s, s, 5), lambda: ts.map_(ts, 5))
        return
    with pytest.raises(TypeError, match="^map_ is only implemented on CPU tensors$"):
        te.map_(s, s, max)
    with pytest.raises(TypeError, match="^map2_ is only implemented on CPU tensors$"):
        te.map2_(s, s, s, max)
    with pytest.raises(TypeError, match=r"^map_: expected gpuarr\.cuda\.FloatTensor for "
                                        r"'other' \(got gpuarr\.FloatTensor\)$"):
        te.map_(s, gpuarr.ones(3), max)


# --------------------------------------------------------------------------------------------
# resize_ / resize_as_ / resize


@pytest.mark.parametrize("size", [(2, 2), (4,), [5], (6,), (), (0,), (3, 0, 2), (1, 6)])
def test_resize_shrinking_or_same_numel_matches_torch(device, size):
    g, t = pair(arange(6, (2, 3)), device)
    assert te.resize_(g, size) is g
    t.resize_(size)
    assert_same(g, t)
    assert g.stride() == t.stride()


def test_resize_spellings_and_shared_memory_on_shrink(device):
    g = gpuarr.arange(6.0, device=device)
    view = g.view(2, 3)
    te.resize_(g, 2, 2)
    te.resize_(g, gpuarr.Size([4]))
    te.resize_(g, [2, 2])
    assert g.shape == (2, 2)
    view[0, 0] = 100.0  # shrinking keeps the memory: both see the write, as in torch
    assert g[0, 0].item() == 100.0


def test_resize_growing_keeps_the_prefix_and_zero_fills(device):
    g, t = pair(arange(6, (2, 3)), device)
    before = g.clone()
    te.resize_(g, 3, 4)
    t.resize_(3, 4)
    assert g.shape == t.shape and g.stride() == t.stride()
    np.testing.assert_array_equal(to_np(g).reshape(-1)[:6], t.numpy().reshape(-1)[:6])
    np.testing.assert_array_equal(to_np(g).reshape(-1)[6:], 0)  # torch: uninitialised
    assert to_np(before).reshape(-1).tolist() == to_np(g).reshape(-1)[:6].tolist()
    assert g.device == resolved(device)


@pytest.mark.parametrize("fmt,size", [("channels_last", (1, 2, 3, 4)),
                                      ("channels_last", (2, 2, 1, 3)),
                                      ("contiguous_format", (1, 2, 3, 4)),
                                      ("channels_last_3d", (1, 2, 3, 2, 2))])
@pytest.mark.parametrize("n", [24, 48])
def test_resize_memory_format_matches_torch(device, fmt, size, n):
    g, t = pair(np.arange(float(n), dtype="float32"), device)
    te.resize_(g, size, memory_format=getattr(gpuarr, fmt))
    t.resize_(size, memory_format=getattr(torch, fmt))
    assert g.stride() == t.stride()
    if n >= math.prod(size):
        assert_same(g, t)


def test_resize_same_size_is_a_no_op_unless_a_format_is_given(device):
    g, t = pair(np.arange(24.0, dtype="float32").reshape(1, 2, 3, 4), device)
    data, version = g._data, g._version_value()
    te.resize_(g, 1, 2, 3, 4)
    assert g._data is data and g._version_value() == version
    te.resize_(g, 1, 2, 3, 4, memory_format=gpuarr.channels_last)
    t.resize_(1, 2, 3, 4, memory_format=torch.channels_last)
    assert_same(g, t)
    assert g.stride() == t.stride()


def test_resize_errors_match_torch(device):
    g, t = gpuarr.ones(2, 3, device=device), torch.ones(2, 3)
    for args, kw in [((2.0,), {}), ((), {}), ((2, 3), {"memory_format": gpuarr.preserve_format}),
                     ((2, 3), {"memory_format": gpuarr.channels_last})]:
        tkw = {k: getattr(torch, v._name) for k, v in kw.items()}
        same_error(lambda a=args, k=kw: te.resize_(g, *a, **k),
                   lambda a=args, k=tkw: t.resize_(*a, **k), device)
    with pytest.raises(TypeError, match="memory_format"):
        te.resize_(g, 2, memory_format="channels_last")
    dev = {"device": device}
    with pytest.raises(RuntimeError, match=r"^Trying to create tensor with negative dimension "
                                           r"-1: \[2, -1\]$"):
        te.resize_(g, 2, -1)  # torch: "numel: integer multiplication overflow"
    for make in [lambda m: m.ones(2, requires_grad=True, **({} if m is torch else dev)),
                 lambda m: m.ones(2, requires_grad=True, **({} if m is torch else dev)) * 2]:
        for n in (3, 2):
            x, tx = make(gpuarr), make(torch)
            same_error(lambda x=x, n=n: te.resize_(x, n), lambda x=tx, n=n: x.resize_(n), device)
        x, tx = make(gpuarr), make(torch)
        with gpuarr.no_grad(), torch.no_grad():  # even without grad mode, as torch
            same_error(lambda x=x: te.resize_(x, 3), lambda x=tx: x.resize_(3), device)


def test_resize_moves_the_version_counter(device):
    w = gpuarr.ones(2, requires_grad=True, device=device)
    x = gpuarr.arange(2.0, device=device)
    y = w * x
    te.resize_(x, 3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_resize_of_a_non_contiguous_tensor_reads_row_major(device):
    # gpuarr's "storage" is the elements in row-major order (torch reads its storage instead)
    g = gpuarr.arange(6.0, device=device).view(2, 3).t()
    te.resize_(g, 2, 2)
    assert g.tolist() == [[0.0, 3.0], [1.0, 4.0]]
    assert g.stride() == (2, 1)


def test_resize_as_matches_torch(device):
    g, t = pair(arange(24, (24,)), device)
    te.resize_as_(g, gpuarr.ones(2, 3, dtype=gpuarr.int64, device=device))
    t.resize_as_(torch.ones(2, 3, dtype=torch.int64))
    assert_same(g, t)
    cl = gpuarr.ones(1, 2, 3, 4, device=device).contiguous(memory_format=gpuarr.channels_last)
    tcl = torch.ones(1, 2, 3, 4).contiguous(memory_format=torch.channels_last)
    te.resize_as_(g, cl)
    t.resize_as_(tcl)
    assert g.stride() == t.stride()
    te.resize_as_(g, cl, memory_format=gpuarr.channels_last)
    t.resize_as_(tcl, memory_format=torch.channels_last)
    assert g.stride() == t.stride()
    same_error(lambda: te.resize_as_(g, [3]), lambda: t.resize_as_([3]), device)
    same_error(lambda: te.resize_as_(gpuarr.ones(2, requires_grad=True, device=device), g),
               lambda: torch.ones(2, requires_grad=True).resize_as_(t), device)


def test_deprecated_resize_matches_torch(device):
    g, t = pair(arange(6, (2, 3), "float64"), device, requires_grad=True)
    with pytest.warns(UserWarning, match="^non-inplace resize is deprecated$"):
        rg = te.resize(g, 3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt = t.resize(3, 2)
    assert_same(rg, rt)
    assert type(rg.grad_fn).__name__ == "ResizeBackward"
    (rg * rg).sum().backward()
    (rt * rt).sum().backward()
    assert_same(g.grad, t.grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(lambda x: te.resize(x, 6), (g,))
        assert gradgradcheck(lambda x: te.resize(x, 1, 6) ** 2, (g,))
        same_error(lambda: te.resize(g, 4), lambda: t.resize(4), device)
        same_error(lambda: te.resize(g, 2, 4), lambda: t.resize(2, 4), device)
        # a contiguous input shares memory with the result, as in torch
        x = gpuarr.arange(6.0, device=device)
        te.resize(x, 3, 2)[0, 0] = 100.0
        assert x[0].item() == 100.0
        y = gpuarr.arange(6.0, device=device).view(2, 3).t()
        assert te.resize(y, 6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    with pytest.warns(UserWarning, match="^non-inplace resize_as is deprecated$"):
        assert te.resize_as(g, gpuarr.ones(6)).shape == (6,)


# --------------------------------------------------------------------------------------------
# as_strided_ / new_empty_strided


@pytest.mark.parametrize("geom", [((2, 2), (1, 2), None), ((2, 2), (1, 2), 1), ((3,), (2,), 0),
                                  ((2, 3), (0, 1), 2), ((0, 4), (1, 1), None)])
def test_as_strided_inplace_matches_torch(device, geom):
    g, t = pair(np.arange(6.0, dtype="float32"), device)
    data = g._data
    assert te.as_strided_(g, *geom) is g
    t.as_strided_(*geom)
    assert_same(g, t)
    assert g.stride() == t.stride()
    if g.numel():
        data[geom[2] or 0] = 50.0  # still a view of the same memory
        assert g.reshape(-1)[0].item() == 50.0
    assert g._version_value() == 1


def test_as_strided_inplace_errors_and_gradient(device):
    g, t = pair(np.arange(6.0), device, requires_grad=True)
    same_error(lambda: te.as_strided_(gpuarr.ones(6), (2, 4), (1, 2)),
               lambda: torch.ones(6).as_strided_((2, 4), (1, 2)), device)
    same_error(lambda: te.as_strided_(g, (2,), (1,)), lambda: t.as_strided_((2,), (1,)), device)
    yg, yt = g * 2, t * 2
    te.as_strided_(yg, (2, 2), (1, 2), 1)
    yt.as_strided_((2, 2), (1, 2), 1)
    assert_same(yg, yt)
    assert type(yg.grad_fn).__name__.startswith("AsStridedBackward")
    (yg * yg).sum().backward()
    (yt * yt).sum().backward()
    assert_same(g.grad, t.grad)
    x = g.detach().requires_grad_()
    assert gradcheck(lambda u: te.as_strided_(u * 1, (2, 2), (1, 2)), (x,))
    assert gradgradcheck(lambda u: te.as_strided_(u * u, (3,), (2,)), (x,))


def test_new_empty_strided_matches_torch(device):
    g, t = gpuarr.ones((), device=device), torch.ones(())
    for args, kw in [(((2, 3), (1, 2)), {}), (((2, 3), (3, 1)), {"dtype": "int32"}),
                     (([2, 3], [0, 0]), {}), (((2, 3), (5, 1)), {"requires_grad": True}),
                     (((0, 3), (3, 1)), {})]:
        rg = te.new_empty_strided(g, *args, **{k: getattr(gpuarr, v) if k == "dtype" else v
                                               for k, v in kw.items()})
        rt = t.new_empty_strided(*args, **{k: getattr(torch, v) if k == "dtype" else v
                                           for k, v in kw.items()})
        assert (rg.shape, rg.stride(), rg.dtype.name, rg.requires_grad, rg.is_leaf) == (
            rt.shape, rt.stride(), str(rt.dtype)[6:], rt.requires_grad, rt.is_leaf)
        assert rg.device == resolved(device)
    other = "cpu" if device != "cpu" else device
    assert te.new_empty_strided(g, (2,), (1,), device=other).device == resolved(other)
    for args in [((2, 3), (1,)), ((2, -3), (1, 1)), ((2, 3), (-1, 1)), (2, 3)]:
        same_error(lambda a=args: te.new_empty_strided(g, *a),
                   lambda a=args: t.new_empty_strided(*a), device)


def test_new_empty_strided_pinned():
    g = gpuarr.ones(1)
    if not gpuarr.cuda.is_available():
        with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
            te.new_empty_strided(g, (2, 3), (1, 2), pin_memory=True)
        return
    p = te.new_empty_strided(g, (2, 3), (1, 2), pin_memory=True)
    assert p.stride() == (1, 2) and p.device.type == "cpu"
    assert te.is_pinned(p) and te.is_pinned(p[1])
    assert not te.is_pinned(gpuarr.empty_strided((2, 3), (1, 2)))


# --------------------------------------------------------------------------------------------
# adjoint / conj_physical / real / imag


@pytest.mark.parametrize("shape,dtype", [((2, 3), "float32"), ((4, 2, 3), "float64"),
                                         ((0, 3), "float32"), ((2, 3), "int64")])
def test_adjoint_matches_torch(device, shape, dtype):
    g, t = pair(arange(math.prod(shape), shape, dtype), device)
    r = te.adjoint(g)
    assert_same(r, torch.adjoint(t))
    assert r._base is g  # a view, as torch's
    if g.numel():
        assert r.stride() == t.adjoint().stride()


def test_adjoint_zero_and_one_dim_and_gradients(device):
    same_error(lambda: te.adjoint(gpuarr.ones(3, device=device)),
               lambda: torch.adjoint(torch.ones(3)), device)
    same_error(lambda: te.adjoint(3), lambda: torch.adjoint(3), device)
    z = gpuarr.tensor(2.0, device=device)
    te._warned_adjoint_0d = False
    with pytest.warns(UserWarning, match=r"^adjoint\(\) is deprecated on 0-D tensors\. "
                                         r"Consider using x\.conj\(\)\.$"):
        assert te.adjoint(z) is z
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, as torch's TORCH_WARN_ONCE
        assert te.adjoint(z) is z
    x = gpuarr.randn(2, 3, 4, dtype=gpuarr.float64, device=device, requires_grad=True)
    assert type(te.adjoint(x).grad_fn).__name__ == "TransposeBackward0"
    assert gradcheck(te.adjoint, (x,))
    assert gradgradcheck(lambda u: te.adjoint(u) ** 2, (x,))


def test_conj_physical_matches_torch(device):
    g, t = pair(arange(6, (2, 3)), device)
    assert te.conj_physical(g) is g and torch.conj_physical(t) is t
    out = gpuarr.empty(2, 3, device=device)
    assert te.conj_physical(g, out=out) is out
    assert_same(out, torch.conj_physical(t, out=torch.empty(2, 3)))
    i = gpuarr.arange(3, device=device)
    assert te.conj_physical_(i) is i and i.tolist() == [0, 1, 2]
    same_error(lambda: te.conj_physical(g, out=gpuarr.empty(2, 3, dtype=gpuarr.float64,
                                                             device=device)),
               lambda: torch.conj_physical(t, out=torch.empty(2, 3, dtype=torch.float64)),
               device)
    same_error(lambda: te.conj_physical(3), lambda: torch.conj_physical(3), device)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        te.conj_physical(gpuarr.ones(2, requires_grad=True, device=device),
                         out=gpuarr.empty(2, device=device))  # torch: grad_fn=<NotImplemented>


def test_conj_physical_inplace_version_and_graph(device):
    x = gpuarr.ones(2, device=device)
    v = x._version_value()
    assert te.conj_physical_(x) is x and x._version_value() == v + 1
    same_error(lambda: te.conj_physical_(gpuarr.ones(2, requires_grad=True, device=device)),
               lambda: torch.ones(2, requires_grad=True).conj_physical_(), device)
    a = gpuarr.randn(3, dtype=gpuarr.float64, device=device, requires_grad=True)
    y = te.conj_physical_(a * 2)
    assert y.grad_fn.name() == "ConjPhysicalBackward1"
    y.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]
    assert gradcheck(lambda u: te.conj_physical_(u * 1), (a,))
    assert gradgradcheck(lambda u: te.conj_physical_(u * u), (a,))


def test_real_and_imag_functions(device):
    g, t = pair(arange(6, (2, 3)), device)
    assert te.real(g) is g and torch.real(t) is t
    same_error(lambda: te.imag(g), lambda: torch.imag(t), device)
    same_error(lambda: te.real(3), lambda: torch.real(3), device)


# --------------------------------------------------------------------------------------------
# angle

SPECIAL = np.array([-2.0, -0.0, 0.0, 3.0, np.nan, -np.inf, np.inf, -1e-30])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_angle_matches_torch_at_special_values(device, dtype):
    g, t = pair(SPECIAL.astype(dtype), device)
    assert_same(te.angle(g), torch.angle(t), rtol=1e-3 if dtype == "float16" else 1e-6)


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint8", "bool"])
def test_angle_of_integers_is_float(device, dtype):
    a = np.array([-2, 0, 3]).astype(dtype) if dtype != "bool" else np.array([True, False])
    g, t = pair(a, device)
    assert_same(te.angle(g), torch.angle(t))
    prev = gpuarr.get_default_dtype()
    gpuarr.set_default_dtype(gpuarr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        assert_same(te.angle(g), torch.angle(t))
    finally:
        gpuarr.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (3, 4)])
def test_angle_shapes(device, shape):
    a = np.random.default_rng(0).standard_normal(shape).astype("float32")
    g, t = pair(a, device)
    assert_same(te.angle(g), torch.angle(t))


def test_angle_out_and_errors(device):
    g, t = pair(SPECIAL, device)
    out = gpuarr.empty(8, dtype=gpuarr.float64, device=device)
    assert te.angle(g.float(), out=out) is out
    assert_same(out, torch.angle(t.float(), out=torch.empty(8, dtype=torch.float64)))
    gi, ti = pair(np.array([-2, 0]), device)
    same_error(lambda: te.angle(gi, out=gpuarr.empty(2, dtype=gpuarr.int64, device=device)),
               lambda: torch.angle(ti, out=torch.empty(2, dtype=torch.int64)), device)
    same_error(lambda: te.angle(3), lambda: torch.angle(3), device)
    gr, tr = pair(np.ones(2), device, requires_grad=True)
    same_error(lambda: te.angle(gr, out=gpuarr.empty(2, device=device, dtype=gpuarr.float64)),
               lambda: torch.angle(tr, out=torch.empty(2, dtype=torch.float64)), device)


def test_angle_gradient_is_zero_as_torch(device):
    g, t = pair(SPECIAL, device, requires_grad=True)
    yg, yt = te.angle(g), torch.angle(t)
    assert type(yg.grad_fn).__name__ == type(yt.grad_fn).__name__ == "AngleBackward0"
    yg.backward(gpuarr.full((8,), float("nan"), dtype=gpuarr.float64, device=device))
    yt.backward(torch.full((8,), float("nan"), dtype=torch.float64))
    assert_same(g.grad, t.grad)
    x = gpuarr.tensor([-2.0, 3.0, 0.5], dtype=gpuarr.float64, device=device, requires_grad=True)
    assert gradcheck(te.angle, (x,))
    assert gradgradcheck(te.angle, (x,))


# --------------------------------------------------------------------------------------------
# dim_order

LAYOUTS = [
    ((2, 3, 5, 7), None), ((2, 3, 5, 7), (0, 2, 1, 3)), ((2, 3, 5, 7), "cl"),
    ((1, 2, 3, 4), None), ((1, 2, 3, 4), "cl"), ((2, 1, 3, 1), "cl"), ((3,), None), ((), None),
    ((4, 4), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 1), None),
    ((3, 3, 3), (1, 2, 0)), ((2, 3, 4, 5, 6), (0, 2, 3, 4, 1)), ((5, 1, 5), (2, 1, 0)),
]
CHECKS = [False, True, ["contiguous_format", "channels_last"], ["channels_last"], []]


def _layout(mod, shape, how, device=None):
    kw = {} if device is None else {"device": device}
    if how == "cl":
        return mod.empty(shape, **kw).contiguous(memory_format=mod.channels_last)
    if how is None:
        return mod.empty(shape, **kw)
    base = mod.empty(tuple(shape[i] for i in np.argsort(how)), **kw)
    return base.permute(*how)


@pytest.mark.parametrize("shape,how", LAYOUTS)
@pytest.mark.parametrize("check", range(len(CHECKS)))
def test_dim_order_matches_torch(device, shape, how, check):
    g, t = _layout(gpuarr, shape, how, device), _layout(torch, shape, how)
    assert g.shape == t.shape and g.stride() == t.stride()
    amb = CHECKS[check]
    ga = [getattr(gpuarr, f) for f in amb] if isinstance(amb, list) else amb
    ta = [getattr(torch, f) for f in amb] if isinstance(amb, list) else amb
    try:
        want = t.dim_order(ambiguity_check=ta)
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match="^" + str(e).replace(".", r"\.") + "$"):
            te.dim_order(g, ambiguity_check=ga)
        return
    assert te.dim_order(g, ambiguity_check=ga) == want


def test_dim_order_of_a_sliced_view_and_bad_checks(device):
    g = gpuarr.empty(4, 6, device=device)[:, ::2].t()
    t = torch.empty(4, 6)[:, ::2].t()
    assert te.dim_order(g) == t.dim_order()
    for bad in ["ILLEGAL", [1], (gpuarr.channels_last,)]:
        with pytest.raises(TypeError, match="^The ambiguity_check argument must be a bool or a "
                                            "list of memory formats.$"):
            te.dim_order(g, ambiguity_check=bad)
    with pytest.raises(TypeError):
        te.dim_order(g, True)  # keyword-only, as torch


# --------------------------------------------------------------------------------------------
# is_pinned / record_stream


def test_is_pinned_follows_what_gpuarr_pinned(device):
    x = gpuarr.ones(2, 3, device=device)
    assert te.is_pinned(x) is False
    with pytest.warns(DeprecationWarning, match="argument 'device' of Tensor.is_pinned"):
        if gpuarr.cuda.is_available():
            assert te.is_pinned(x, "cuda") is False
        else:
            with pytest.raises(RuntimeError, match="^Cannot access accelerator device when "
                                                   "none is available.$"):
                te.is_pinned(x, "cuda")
    buf = np.empty((2, 3), dtype=np.float32)
    te.mark_pinned(buf)
    p = gpuarr.from_numpy(buf)
    assert te.is_pinned(p) and te.is_pinned(p[1:]) and te.is_pinned(p.t())
    assert not te.is_pinned(p.clone())
    key = id(buf)
    del p, buf
    gc.collect()
    assert key not in te._PINNED  # forgotten with its array


def test_record_stream(device):
    x = gpuarr.ones(4, device=device)
    with pytest.raises(RuntimeError, match="^record_stream\\(\\): unknown parameter type"):
        te.record_stream(x, 5)
    if not gpuarr.cuda.is_available():
        return
    s = gpuarr.cuda.Stream()
    if host_only(device):
        with pytest.raises(NotImplementedError, match="^Could not run 'aten::record_stream' "
                                                      "with arguments from the 'CPU' backend"):
            te.record_stream(x, s)
        return
    with gpuarr.cuda.stream(s):
        y = x * 2
    arr = weakref.ref(y._data)
    assert te.record_stream(y, s) is None
    del y
    gc.collect()
    assert arr() is not None  # held until the stream's work queued by now has run
    s.synchronize()
    te.record_stream(gpuarr.ones(1, device=device), s)  # any later call releases what is done
    gc.collect()
    assert arr() is None


# --------------------------------------------------------------------------------------------
# cauchy_


def test_cauchy_draws_follow_the_distribution(device):
    x = gpuarr.empty(40000, dtype=gpuarr.float64, device=device)
    assert te.cauchy_(x, 1.5, 2.0) is x
    q = np.quantile(to_np(x), [0.25, 0.5, 0.75])
    # Cauchy(m, s): quartiles m - s, m, m + s
    np.testing.assert_allclose(q, [-0.5, 1.5, 3.5], atol=0.1)
    assert x.device == resolved(device)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_cauchy_generator_reproducible(device, dtype):
    def draw(seed):
        gen = gpuarr.Generator(device=device).manual_seed(seed)
        return te.cauchy_(gpuarr.empty(5, dtype=getattr(gpuarr, dtype), device=device),
                          generator=gen)

    a, b, c = draw(3), draw(3), draw(4)
    assert a.dtype.name == dtype
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    gpuarr.manual_seed(7)
    d = te.cauchy_(gpuarr.empty(5, device=device))
    gpuarr.manual_seed(7)
    assert te.cauchy_(gpuarr.empty(5, device=device)).tolist() == d.tolist()


def test_cauchy_special_parameters(device):
    assert np.isnan(to_np(te.cauchy_(gpuarr.empty(3, device=device), median=float("nan")))).all()
    assert (to_np(te.cauchy_(gpuarr.empty(3, device=device), median=float("inf"))) ==
            np.inf).all()
    assert np.isinf(to_np(te.cauchy_(gpuarr.empty(3, device=device), sigma=float("inf")))).all()
    assert te.cauchy_(gpuarr.empty(0, 2, device=device)).shape == (0, 2)


def test_cauchy_errors_match_torch(device):
    def pairs(dtype="float32", rg=False):
        return (gpuarr.empty(3, dtype=getattr(gpuarr, dtype), device=device, requires_grad=rg),
                torch.empty(3, dtype=getattr(torch, dtype), requires_grad=rg))

    g, t = pairs()
    for kw in [{"sigma": 0}, {"sigma": -1}, {"sigma": -1.5}, {"sigma": -1e-7},
               {"sigma": float("nan")}, {"sigma": "a"}, {"median": None}]:
        same_error(lambda k=kw: te.cauchy_(g, **k), lambda k=kw: t.cauchy_(**k), device)
    for dtype in ["int64", "bool", "uint8"]:
        gi, ti = pairs(dtype)
        same_error(lambda x=gi: te.cauchy_(x), lambda x=ti: x.cauchy_(), device)
    same_error(lambda: te.cauchy_(g, generator=5), lambda: t.cauchy_(generator=5), device)
    gr, tr = pairs(rg=True)
    same_error(lambda: te.cauchy_(gr), lambda: tr.cauchy_(), device)
    if not host_only(device):
        with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator"):
            te.cauchy_(g, generator=gpuarr.Generator())


def test_cauchy_gradient_is_zero_as_torch(device):
    g, t = pair(np.ones(3), device, requires_grad=True)
    yg, yt = te.cauchy_(g * 3), (t * 3).cauchy_()
    assert yg.grad_fn.name() == yt.grad_fn.name() == "CauchyBackward0"
    (yg * 2).sum().backward()
    (yt * 2).sum().backward()
    assert_same(g.grad, t.grad)
    x = gpuarr.empty(3, device=device)
    v = x._version_value()
    te.cauchy_(x)
    assert x._version_value() == v + 1
    with gpuarr.no_grad():
        leaf = gpuarr.zeros(2, device=device, requires_grad=True)
        te.cauchy_(leaf)
    assert leaf.requires_grad and leaf.is_leaf


# --------------------------------------------------------------------------------------------
# module_load


def test_module_load_matches_torch(device):
    g, t = pair(np.zeros(2, dtype="float32"), device)
    src_g, src_t = pair(np.array([1.0, 2.0], dtype="float32"), device)
    rg, rt = te.module_load(g, src_g), t.module_load(src_t)
    assert_same(rg, rt)
    assert_same(g, t)  # copied into self
    assert rg is not g and rg is not src_g
    rg = te.module_load(g, src_g * 5, assign=True)
    assert rg.tolist() == [5.0, 10.0] and g.tolist() == [1.0, 2.0]
    p = gpuarr.nn.Parameter(gpuarr.ones(2, device=device))
    pt = torch.nn.Parameter(torch.ones(2))
    same_error(lambda: te.module_load(p, gpuarr.zeros(2, device=device)),
               lambda: pt.module_load(torch.zeros(2)), device)
    with gpuarr.no_grad():
        r = te.module_load(p, gpuarr.zeros(2, device=device))
    assert type(r) is gpuarr.Tensor and not r.requires_grad and p.tolist() == [0.0, 0.0]
    o = gpuarr.zeros(2, requires_grad=True, device=device)
    r = te.module_load(p, o, assign=True)
    assert r is not o and not r.requires_grad
    same_error(lambda: te.module_load(g, gpuarr.ones(3, device=device)),
               lambda: t.module_load(torch.ones(3)), device)


# --------------------------------------------------------------------------------------------
# wired: the Tensor methods and properties, and gpuarr's exports


def test_wired_tensor_methods(device):
    x = gpuarr.arange(6.0, device=device).view(2, 3)
    assert x.adjoint().shape == (3, 2)
    assert x.conj_physical() is x and x.conj_physical_() is x
    assert x.angle().tolist() == te.angle(x).tolist()
    assert not hasattr(x, "angle_")  # torch has no Tensor.angle_
    assert x.dim_order() == (0, 1) and x.t().dim_order() == (1, 0)
    assert x.is_pinned() is False
    assert x.clone().resize_(4).shape == (4,) and x.clone().resize_as_(x[0]).shape == (3,)
    y = gpuarr.arange(6.0, device=device)
    assert y.as_strided_((2, 2), (1, 2)).shape == (2, 2)
    assert x.new_empty_strided((2, 3), (1, 2)).stride() == (1, 2)
    assert x.clone().cauchy_(generator=None).shape == (2, 3)
    assert x.module_load(x * 2, assign=True).tolist() == (x * 2).tolist()
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        assert x.resize(3, 2).shape == (3, 2)
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        assert x.resize_as(x.t()).shape == (3, 2)
    if host_only(device):
        c = gpuarr.ones(2)
        assert c.apply_(lambda v: v + 1).tolist() == [2.0, 2.0]
        assert c.map_(c, lambda a, b: a * b).tolist() == [4.0, 4.0]
        assert c.map2_(c, c, lambda a, b, d: a + b + d).tolist() == [12.0, 12.0]
    else:
        with pytest.raises(TypeError, match="only implemented on CPU tensors"):
            x.apply_(abs)
        s = gpuarr.cuda.Stream()
        x.record_stream(s)


def test_wired_properties(device):
    x = gpuarr.arange(6.0, device=device).view(2, 3)
    t = torch.arange(6.0).view(2, 3)
    assert x.real is x
    with pytest.raises(RuntimeError, match="^imag is not implemented for tensors with "
                                           "non-complex dtypes.$"):
        x.imag  # noqa: B018
    x.real = gpuarr.tensor([1.0, 2.0, 3.0], device=device)
    t.real = torch.tensor([1.0, 2.0, 3.0])
    assert_same(x, t)
    x.real = 5
    t.real = 5
    assert_same(x, t)
    same_error(lambda: setattr(x, "real", "a"), lambda: setattr(t, "real", "a"), device)
    same_error(lambda: setattr(x, "real", gpuarr.ones(4, device=device)),
               lambda: setattr(t, "real", torch.ones(4)), device)
    same_error(lambda: setattr(x, "imag", x), lambda: setattr(t, "imag", t), device)
    for name in ["is_xla", "is_xpu", "is_mps", "is_ipu", "is_vulkan", "is_maia", "is_mtia"]:
        assert getattr(x, name) is False is getattr(t, name)


def test_wired_gpuarr_exports(device):
    x = gpuarr.arange(6.0, device=device).view(2, 3)
    assert gpuarr.adjoint(x).shape == (3, 2)
    assert gpuarr.conj_physical(x) is x and gpuarr.conj_physical_(x) is x
    assert gpuarr.real(x) is x
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        gpuarr.imag(x)
    assert gpuarr.angle(-x).tolist()[0][1] == pytest.approx(math.pi)
    assert gpuarr.resize_as_(x.clone(), x[0]).shape == (3,)


def test_wired_pin_memory_is_pinned():
    x = gpuarr.ones(2, 3)
    if not gpuarr.cuda.is_available():
        assert not x.is_pinned()
        return
    p = x.pin_memory()
    assert p.is_pinned() and p[0].is_pinned() and not x.is_pinned()
