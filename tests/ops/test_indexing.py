"""Indexing (``t[key]``, ``t[key] = v``, gather/scatter, masks, nonzero) against PyTorch 2.13:
values, views, version counters, errors and gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ops_helpers import assert_same, both, on_device, pair, same_error, to_np

import gpuarr
import gpuarr.ops.indexing  # noqa: F401 - installs Tensor.__getitem__ and friends
import gpuarr.ops.stacking  # noqa: F401 - Tensor.repeat for the course cells
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.ops.indexing import (
    argwhere,
    gather,
    index_add,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    select,
    take,
    take_along_dim,
)


class _Namespace:
    """``gpuarr`` plus the ops of this module's files, looked up by name (the top-level exports
    may lag behind the ops modules)."""

    def __getattr__(self, name):
        for mod in (gpuarr.ops.indexing, gpuarr.ops.stacking):
            if name in getattr(mod, "__all__", ()):
                return getattr(mod, name)
        return getattr(gpuarr, name)


ga = _Namespace()

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------------------------
# helpers


def to_torch_key(key):
    def conv(k):
        if isinstance(k, gpuarr.Tensor):
            return torch.tensor(to_np(k))
        return k

    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def index_keys(draw, shape, device, unique: bool = False):
    """A valid torch index for ``shape``: ints, slices, None, ``...``, and either up to two
    integer index arrays (lists or int64/int32 tensors, one common shape) or one bool mask.
    With ``unique``, index arrays address distinct positions (for deterministic setitem)."""
    ndim = len(shape)
    adv_kind = draw(st.sampled_from(["basic", "ints", "mask", "bool"]))
    plan = []
    consumed = 0
    n_arr = 0
    for _ in range(draw(st.integers(0, 4))):
        opts = ["none"]
        if "ell" not in [p[0] for p in plan]:
            opts.append("ell")
        if consumed < ndim:
            opts += ["int", "slice", "slice"]
            if adv_kind == "ints" and n_arr < 2:
                opts.append("arr")
            if adv_kind == "mask" and "mask" not in [p[0] for p in plan]:
                opts.append("mask")
        if adv_kind == "bool" and "bool" not in [p[0] for p in plan]:
            opts.append("bool")
        kind = draw(st.sampled_from(opts))
        width = 0
        if kind in ("int", "slice", "arr"):
            width = 1
        elif kind == "mask":
            width = draw(st.integers(1, ndim - consumed))
        consumed += width
        n_arr += kind == "arr"
        plan.append((kind, width))
    # assign dims: items after the ellipsis address the trailing dims
    fill = ndim - consumed
    dims = []
    d = 0
    for kind, width in plan:
        dims.append(d)
        d += fill if kind == "ell" else width
    arr_dims = [dd for (k, _), dd in zip(plan, dims) if k == "arr"]
    if arr_dims:
        m = min(shape[dd] for dd in arr_dims)
        if unique:
            adv_shape = (draw(st.integers(0, m)),)
        else:
            adv_shape = tuple(draw(st.lists(st.integers(0 if m == 0 else 1, 3), max_size=2)))
            if m == 0 and 0 not in adv_shape:
                adv_shape = adv_shape + (0,)
    items = []
    for (kind, width), dd in zip(plan, dims):
        n = shape[dd] if dd < ndim else 0
        if kind == "none":
            items.append(None)
        elif kind == "ell":
            items.append(Ellipsis)
        elif kind == "bool":
            items.append(draw(st.booleans()))
        elif kind == "int" and n > 0:
            v = draw(st.integers(-n, n - 1))
            items.append(gpuarr.tensor(v, device=device) if draw(st.booleans()) else v)
        elif kind in ("int", "slice"):
            bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3]))))
        elif kind == "arr":
            count = int(np.prod(adv_shape))
            if unique:
                vals = draw(st.permutations(range(n)))[:count]
                vals = [v - n if draw(st.booleans()) else v for v in vals]
            else:
                vals = [draw(st.integers(-n, n - 1)) for _ in range(count)]
            a = np.array(vals, dtype=np.int64).reshape(adv_shape)
            form = draw(st.sampled_from(["list", "int64", "int32"]))
            items.append(a.tolist() if form == "list" and a.ndim == 1
                         else gpuarr.tensor(a, dtype=gpuarr.int32 if form == "int32"
                                            else gpuarr.int64, device=device))
        else:  # mask
            m = np.array([draw(st.booleans()) for _ in range(int(np.prod(shape[dd:dd + width])))],
                         dtype=bool).reshape(shape[dd:dd + width])
            items.append(m.tolist() if width == 1 and draw(st.booleans())
                         else gpuarr.tensor(m, device=device))
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


def arange_np(shape, dtype=np.float32) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape).astype(dtype)


# --------------------------------------------------------------------------------------------
# the course's cells


def test_course_cells(device):
    a = gpuarr.arange(10, device=device)
    b = gpuarr.arange(10, device=device) * 10
    assert a[None].shape == (1, 10)
    assert a[:, None].shape == (10, 1)
    c = a[:, None]
    np.testing.assert_array_equal(to_np(c[:, 0]), np.arange(10))
    d = a[None]
    np.testing.assert_array_equal(to_np(d[0]), np.arange(10))
    np.testing.assert_array_equal(to_np(d[0, :]), np.arange(10))
    grid = a[None, :].repeat(10, 1) + b[:, None].repeat(1, 10)
    np.testing.assert_array_equal(to_np(grid), np.arange(100).reshape(10, 10))
    np.testing.assert_array_equal(to_np(a[None, :] + b[:, None]), to_np(grid))


# --------------------------------------------------------------------------------------------
# getitem


@SETTINGS
@given(shape=shapes, data=st.data())
def test_getitem_matches_torch(device, shape, data):
    x_np = arange_np(shape)
    x, tx = pair(x_np, device)
    key = data.draw(index_keys(shape, device))
    g, t = both(lambda: x[key], lambda: tx[to_torch_key(key)])
    if t is None:
        return
    assert_same(g, t)
    # basic indexing gives a view exactly where torch's does
    assert (g._base is not None) == (t._base is not None), key


@SETTINGS
@given(shape=shapes, data=st.data())
def test_getitem_grad_matches_torch(device, shape, data):
    x_np = np.random.default_rng(data.draw(st.integers(0, 99))).standard_normal(shape)
    x, tx = pair(x_np, device, requires_grad=True)
    key = data.draw(index_keys(shape, device))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tout = tx[to_torch_key(key)]
    except (IndexError, RuntimeError, ValueError):
        assume(False)
    w = np.random.default_rng(1).standard_normal(tuple(tout.shape))
    (tout * torch.tensor(w)).sum().backward()
    out = x[key]
    assert out.grad_fn is not None
    (out * gpuarr.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


GRAD_KEYS = [
    1,
    -1,
    (slice(1, None), None),
    (Ellipsis, 0),
    ([0, 0, 2],),
    (slice(None), [3, 1, 3]),
    (0, [1, 1]),
    ([[0, 2], [2, 2]], slice(None, None, 2)),
    ([0, 2], slice(None), [1, 1]) ,
    (None, [2, 0], None, [0, 3]),
    True,
]


@pytest.mark.parametrize("key", GRAD_KEYS, ids=repr)
def test_getitem_gradcheck(device, key):
    shape = (3, 4) if not (isinstance(key, tuple) and len(key) == 3 and key[1] == slice(None)) \
        else (3, 2, 4)
    x = gpuarr.randn(*shape, dtype=gpuarr.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: t[key], (x,))
    assert gradgradcheck(lambda t: t[key], (x,))


def test_getitem_mask_gradcheck(device):
    x = gpuarr.randn(3, 4, dtype=gpuarr.float64, device=device, requires_grad=True)
    m = gpuarr.tensor(np.random.default_rng(0).random((3, 4)) > 0.5, device=device)
    assert gradcheck(lambda t: t[m], (x,))
    assert gradgradcheck(lambda t: t[m] * t[m], (x,))
    assert gradcheck(lambda t: t[:, m[0]], (x,))


def test_getitem_views_share_memory_and_version(device):
    x = gpuarr.zeros(3, 4, device=device)
    v = x[1:, None, ::2]
    assert v.shape == (2, 1, 2)
    assert v._base is x
    v[...] = 7.0  # write through the view
    assert to_np(x)[1:, ::2].tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert to_np(x)[0].tolist() == [0.0] * 4
    assert x._version_value() == v._version_value() == 1
    x[2, 0] = -1.0  # the base's writes show in the view
    assert to_np(v)[1, 0, 0] == -1.0
    assert v._version_value() == 2
    w = v[0]  # a view of a view points at the root
    assert w._base is x
    adv = x[[0, 1]]
    adv[...] = 5.0  # advanced indexing copies
    assert to_np(x)[0, 0] == 0.0


def test_getitem_zero_dim_int_tensor_is_an_int(device):
    x = gpuarr.tensor(arange_np((3, 4)), device=device)
    i = gpuarr.tensor(1, device=device)
    assert x[i]._base is x
    np.testing.assert_array_equal(to_np(x[i, :, None]), np.arange(4.0, 8.0)[:, None])
    np.testing.assert_array_equal(to_np(x[i, [0, 3]]), [4.0, 7.0])


def test_getitem_ints_before_advanced(device):
    # torch applies ints first: x[0, :, [1, 2]] is (3, 2), not NumPy's (2, 3)
    x_np = arange_np((2, 3, 4))
    x, tx = pair(x_np, device)
    for key in [(0, slice(None), [1, 2]), ([0], slice(None), [1, 2]),
                (slice(None), None, [0, 1], None, [0, 1]), (None, [0, 1], 0, [0, 1])]:
        assert_same(x[key], tx[key])


def test_getitem_list_rules(device):
    x_np = arange_np((2, 3, 4))
    x, tx = pair(x_np, device)
    # a list holding slices / sequences is a tuple of indices; a flat list is one index
    for key in [[0, slice(None)], [[0, 1]], [[0, 1], [1, 0]], [0, 1], [], [True, False],
                [1.0], np.array([0, 1]), np.int64(1), (np.array([True, False]),)]:
        g, t = x[key], tx[key]
        assert_same(g, t)


def test_getitem_hot_path_values(device):
    x_np = arange_np((3, 2))
    x, tx = pair(x_np, device)
    for i in range(-3, 3):
        assert_same(x[i], tx[i])
    assert x[0]._base is x
    rows = list(x)
    assert len(rows) == 3 and rows[2].tolist() == [4.0, 5.0]


# --------------------------------------------------------------------------------------------
# setitem


def _has_bool_tensor(key) -> bool:
    """Whether ``key`` indexes with a bool tensor, or a list of bools (which torch turns into
    one); a Python ``True``/``False`` on its own is basic indexing."""
    items = key if isinstance(key, tuple) else (key,)
    return any((isinstance(k, gpuarr.Tensor) and k.dtype == gpuarr.bool)
               or (isinstance(k, list) and k and all(isinstance(v, bool) for v in k))
               for k in items)


@SETTINGS
@given(shape=shapes, data=st.data())
def test_setitem_matches_torch(device, shape, data):
    dt = data.draw(st.sampled_from(["float32", "int64", "bool"]))
    x_np = arange_np(shape).astype(dt)
    x, tx = pair(x_np, device)
    key = data.draw(index_keys(shape, device, unique=True))
    tkey = to_torch_key(key)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsel = tx[tkey]
    except (IndexError, RuntimeError, ValueError):
        assume(False)
    rs = tuple(tsel.shape)
    advanced = tkey is not False and not tsel._is_view()  # basic indexing gives a view
    if data.draw(st.booleans()):
        value = data.draw(st.sampled_from([2, -1.5, True]))
        gv, tv = value, value
    else:
        k = data.draw(st.integers(0, len(rs)))
        vshape = tuple(1 if data.draw(st.booleans()) else s for s in rs[len(rs) - k:])
        if data.draw(st.booleans()):
            vshape = (1,) + vshape
        vdt = data.draw(st.sampled_from(["float32", "float64", "int32"]))
        v_np = (np.arange(int(np.prod(vshape))).reshape(vshape) + 100).astype(vdt)
        gv, tv = pair(v_np, device)
    before, tbefore = x._version_value(), tx._version
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tx[tkey] = tv
        except Exception as e:  # noqa: BLE001 - any torch error must be mirrored
            with pytest.raises(type(e)):
                x[key] = gv
            assert x._version_value() == before
            return
    if (device != "cpu" and advanced and isinstance(tv, torch.Tensor) and tv.dtype != tx.dtype
            and _has_bool_tensor(key)):
        # The reference ran on the CPU, where index_put_ turned this write through one bool
        # mask into a casting masked_fill_: torch takes that shortcut only for a one-element
        # CPU value. With the value on the GPU, as here, torch on CUDA needs equal dtypes.
        with pytest.raises(RuntimeError, match="Index put requires the source and destination "
                                               "dtypes match"):
            x[key] = gv
        assert x._version_value() == before
        return
    x[key] = gv
    assert_same(x, tx)
    assert x._version_value() - before == tx._version - tbefore  # one bump (none for False)


def test_setitem_broadcast_and_cast(device):
    x, tx = pair(np.zeros((2, 3, 4), np.int64), device)
    v, tv = pair(np.array([1.7, 2.2, 3.9, -4.5]), device)
    x[0] = v
    tx[0] = tv
    x[:, 1:] = 9.9
    tx[:, 1:] = 9.9
    x[[1, 0], 0, [3, 2]] = gpuarr.tensor([[5]], device=device)
    tx[[1, 0], 0, [3, 2]] = torch.tensor([[5]])
    x[0, 0] = gpuarr.ones(1, 1, 4, device=device)  # leading 1s of the value are dropped
    tx[0, 0] = torch.ones(1, 1, 4)
    assert_same(x, tx)
    b, tb = pair(np.zeros(3, bool), device)
    b[1] = 2.5
    tb[1] = 2.5
    assert_same(b, tb)


def test_setitem_mask_and_duplicates_scalar(device):
    x_np = arange_np((3, 4))
    x, tx = pair(x_np, device)
    x[x > 5] = 0.0
    tx[tx > 5] = 0.0
    x[[0, 0, 1]] = -1.0  # duplicates with a scalar are deterministic
    tx[[0, 0, 1]] = -1.0
    assert_same(x, tx)
    x[x < 0] = gpuarr.arange(8.0, device=device)
    tx[tx < 0] = torch.arange(8.0)
    assert_same(x, tx)


def test_setitem_version_counter_shared_with_views(device):
    y = gpuarr.zeros(3, device=device)
    assert y._version_value() == 0
    y[0] = 1
    assert y._version_value() == 1
    y[gpuarr.tensor([0], device=device)] = 1
    assert y._version_value() == 2
    w = y[1:]
    w[0] = 5
    assert to_np(y).tolist() == [1.0, 5.0, 0.0]
    assert y._version_value() == w._version_value() == 3


def test_setitem_autograd_non_leaf(device):
    rng = np.random.default_rng(0)
    a_np, v_np = rng.standard_normal((3, 4)), rng.standard_normal((2, 1))
    a, ta = pair(a_np, device, requires_grad=True)
    v, tv = pair(v_np, device, requires_grad=True)
    y = a * 2
    ty = ta * 2
    y[[0, 2], 1:] = v
    ty[[0, 2], 1:] = tv
    y[1, 0] = 3.0
    ty[1, 0] = 3.0
    assert y.grad_fn is not None and not y.is_leaf
    w = rng.standard_normal((3, 4))
    (y * gpuarr.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_same(y, ty)
    np.testing.assert_allclose(to_np(a.grad), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_np(v.grad), tv.grad.numpy(), rtol=1e-12)


def test_setitem_value_requiring_grad_into_plain_tensor(device):
    v = gpuarr.ones(2, dtype=gpuarr.float64, device=device, requires_grad=True)
    z = gpuarr.zeros(3, dtype=gpuarr.float64, device=device)
    z[gpuarr.tensor([0, 2], device=device)] = v
    assert z.requires_grad and not z.is_leaf
    z.sum().backward()
    assert to_np(v.grad).tolist() == [1.0, 1.0]


def test_setitem_gradcheck(device):
    def f(a, v):
        y = a * 1.0
        y[1:, [0, 2]] = v
        y[0] = v[0, 0]
        return y

    a = gpuarr.randn(3, 4, dtype=gpuarr.float64, device=device, requires_grad=True)
    v = gpuarr.randn(1, 2, dtype=gpuarr.float64, device=device, requires_grad=True)
    assert gradcheck(f, (a, v))
    assert gradgradcheck(f, (a, v))


def test_setitem_leaf_errors_and_no_grad(device):
    leaf_t = torch.ones(3, requires_grad=True)
    leaf = gpuarr.ones(3, device=device, requires_grad=True)
    for key in [slice(None), Ellipsis, [0], 0, None]:
        def tset(key=key):
            leaf_t[key] = 2.0

        def gset(key=key):
            leaf[key] = 2.0

        same_error(gset, tset, device)
    with gpuarr.no_grad():
        leaf[0] = 2.0
    assert to_np(leaf).tolist() == [2.0, 1.0, 1.0]
    assert leaf.is_leaf and leaf.grad_fn is None


def test_setitem_errors(device):
    x, tx = pair(arange_np((2, 3, 4)), device)

    def cases(m, t):
        return [
            lambda: t.__setitem__(0, m.ones(2)),
            lambda: t.__setitem__(0, m.ones(2, 3, 4)),
            lambda: t.__setitem__(m.tensor([0, 1]), m.ones(5)),
            lambda: t.__setitem__(t > 10, m.tensor([1.0, 2.0])),
            lambda: t.__setitem__(0, [1.0, 2.0, 3.0, 4.0]),
            lambda: t.__setitem__(0, "a"),
            lambda: t.__setitem__(slice(None, None, -1), 1.0),
            lambda: t.__setitem__(5, 1.0),
            lambda: t.__setitem__(1.0, 1.0),
        ]

    for gfn, tfn in zip(cases(on_device(ga, device), x), cases(torch, tx)):
        same_error(gfn, tfn, device)
    xi, txi = pair(np.zeros(3, np.int8), device)
    same_error(lambda: xi.__setitem__(0, 300), lambda: txi.__setitem__(0, 300), device)


# --------------------------------------------------------------------------------------------
# getitem errors


def test_getitem_errors(device):
    a, ta = pair(np.arange(3.0, dtype=np.float32), device)
    x, tx = pair(arange_np((2, 3, 4)), device)
    s, ts = pair(np.float32(5.0), device)

    def cases(m, a, x, s):
        return [
            lambda: a[5],
            lambda: a[-4],
            lambda: a[0, 0],
            lambda: a[1.0],
            lambda: a[m.tensor([1.0])],
            lambda: a[m.tensor([1], dtype=m.int16)],
            lambda: a[m.tensor([True, False])],
            lambda: x[m.ones(2, 2, dtype=m.bool)],
            lambda: x[0, m.tensor([True, False])],
            lambda: x[None, m.tensor([True, False, True])],
            lambda: x[..., m.tensor([[True] * 4] * 2)],
            lambda: a[::-1],
            lambda: a[::0],
            lambda: a[0:1.5],
            lambda: a[m.tensor([5])],
            lambda: x[:, [0], [9]],
            lambda: x[[0], :, [-9]],
            lambda: x[0, 5],
            lambda: x[0, :, 5],
            lambda: x[m.tensor([0, 1]), m.tensor([0, 1, 2])],
            lambda: x[[True, False, True]],
            lambda: x[:, :, :, :],
            lambda: x[..., ...],
            lambda: s[0],
            lambda: s[:],
            lambda: s[m.tensor([0])],
        ]

    g_cases = cases(ga, a, x, s)
    t_cases = cases(torch, ta, tx, ts)
    for i, (gfn, tfn) in enumerate(zip(g_cases, t_cases)):
        if i == 22:  # x[..., ...]: torch 2.13 accepts several ellipses, and so does gpuarr
            np.testing.assert_array_equal(gfn().cpu().numpy(), tfn().numpy())
            continue
        same_error(gfn, tfn, device)


def test_index_device_rules(device):
    # a CPU index (tensor or list) works on a tensor of any device: torch moves it
    x = gpuarr.arange(6.0, device=device).view(2, 3)
    idx = gpuarr.tensor([1, 0])
    np.testing.assert_array_equal(to_np(x[idx]), [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]])
    np.testing.assert_array_equal(to_np(x[:, [2, 2]]), [[2.0, 2.0], [5.0, 5.0]])
    x[idx, 0] = 9.0
    assert to_np(x)[:, 0].tolist() == [9.0, 9.0]
    # an index on `device` used on a CPU tensor: fine on CPU, refused when it lives on CUDA
    c = gpuarr.arange(3.0)
    i_dev = gpuarr.tensor([2], device=device)
    if device == "cpu":
        assert c[i_dev].tolist() == [2.0]
    else:
        with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same "
                                               r"device as the indexed tensor \(cpu\)"):
            c[i_dev]


# --------------------------------------------------------------------------------------------
# select / index_select / take


@SETTINGS
@given(shape=shapes.filter(lambda s: len(s) > 0), data=st.data())
def test_index_select_matches_torch(device, shape, data):
    x, tx = pair(arange_np(shape), device)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    vals = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=4 if n else 0))
    dt = data.draw(st.sampled_from([np.int64, np.int32]))
    i, ti = pair(np.array(vals, dtype=dt), device)
    assert_same(index_select(x, dim, i), torch.index_select(tx, dim, ti))
    assert_same(x.index_select(dim, i), tx.index_select(dim, ti))
    if n:
        j = data.draw(st.integers(-n, n - 1))
        assert_same(select(x, dim, j), tx.select(dim, j))
        assert x.select(dim, j)._base is x


def test_index_select_take_grad_and_errors(device):
    x = gpuarr.randn(3, 4, dtype=gpuarr.float64, device=device, requires_grad=True)
    i = gpuarr.tensor([2, 0, 2], device=device)
    assert gradcheck(lambda t: t.index_select(1, i), (x,))
    assert gradgradcheck(lambda t: t.index_select(0, i), (x,))
    assert gradcheck(lambda t: take(t, gpuarr.tensor([[0, 11], [-1, 0]], device=device)), (x,))
    assert gradcheck(lambda t: t.select(1, -1), (x,))
    g, tg = pair(arange_np((2, 3, 4)), device)
    s, ts = pair(np.float32(5.0), device)

    def cases(m, x, s):
        return [
            lambda: m.index_select(x, 1, m.tensor([[0, 2]])),
            lambda: m.index_select(x, 1, m.tensor([0.0])),
            lambda: m.index_select(x, 1, m.tensor([0], dtype=m.int16)),
            lambda: m.index_select(x, 1, m.tensor([5])),
            lambda: m.index_select(x, 1, m.tensor([-1])),
            lambda: m.index_select(x, 3, m.tensor([0])),
            lambda: m.index_select(s, 0, m.tensor([1])),
            lambda: m.take(x, m.tensor([[24, 0]])),
            lambda: m.take(x, m.tensor([0], dtype=m.int32)),
            lambda: x.select(1, 3),
        ]

    for gfn, tfn in zip(cases(on_device(ga, device), g, s), cases(torch, tg, ts)):
        same_error(gfn, tfn, device)
    assert_same(index_select(s, 0, gpuarr.tensor([0], device=device)),
                torch.index_select(ts, 0, torch.tensor([0])))
    assert_same(take(g, gpuarr.tensor([[5, -24]], device=device)),
                torch.take(tg, torch.tensor([[5, -24]])))


# --------------------------------------------------------------------------------------------
# gather / scatter / take_along_dim


@st.composite
def gather_case(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    ishape = tuple(draw(st.integers(0, s)) if a != d else draw(st.integers(0, 4))
                   for a, s in enumerate(shape))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    idx = rng.integers(0, shape[d], size=ishape)
    return shape, dim, idx


@SETTINGS
@given(case=gather_case(), dt=st.sampled_from([np.int64, np.int32]))
def test_gather_matches_torch(device, case, dt):
    shape, dim, idx = case
    x, tx = pair(np.random.default_rng(0).standard_normal(shape), device, requires_grad=True)
    i, ti = pair(idx.astype(dt), device)
    out, tout = gather(x, dim, i), torch.gather(tx, dim, ti)
    assert_same(out, tout)
    w = np.random.default_rng(1).standard_normal(idx.shape)
    (out * gpuarr.tensor(w, device=device)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(case=gather_case(), use_value=st.booleans(), add=st.booleans())
def test_scatter_matches_torch(device, case, use_value, add):
    shape, dim, idx = case
    d = dim % len(shape)
    # one writer per target position keeps scatter deterministic: use a permutation along dim
    rng = np.random.default_rng(idx.size)
    if not add and idx.shape[d] <= shape[d]:
        perm = np.argsort(rng.random(tuple(s if a == d else i for a, (s, i) in
                                           enumerate(zip(shape, idx.shape)))), axis=d)
        idx = np.take(perm, np.arange(idx.shape[d]), axis=d)
    elif not add:
        use_value = True
    x, tx = pair(rng.standard_normal(shape), device)
    i, ti = pair(idx, device)
    src_shape = tuple(s + 1 for s in idx.shape)
    s, ts = pair(rng.standard_normal(src_shape), device)
    if add:
        assert_same(scatter_add(x, dim, i, s), torch.scatter_add(tx, dim, ti, ts), rtol=1e-12)
        assert_same(x.scatter(dim, i, s, reduce="add"), tx.scatter(dim, ti, ts, reduce="add"))
        y, ty = x.clone(), tx.clone()
        y.scatter_add_(dim, i, s)
        ty.scatter_add_(dim, ti, ts)
        assert_same(y, ty, rtol=1e-12)
    elif use_value:
        assert_same(scatter(x, dim, i, 1.5), torch.scatter(tx, dim, ti, 1.5))
        y, ty = x.clone(), tx.clone()
        y.scatter_(dim, i, value=-2.0)
        ty.scatter_(dim, ti, value=-2.0)
        assert_same(y, ty)
    else:
        assert_same(scatter(x, dim, i, s), torch.scatter(tx, dim, ti, ts))
        v0 = x._version_value()
        x.scatter_(dim, i, s)
        tx.scatter_(dim, ti, ts)
        assert_same(x, tx)
        assert x._version_value() == v0 + 1


def test_gather_scatter_gradcheck(device):
    def f64(*shape):
        return gpuarr.randn(*shape, dtype=gpuarr.float64, device=device, requires_grad=True)

    x = f64(3, 4)
    i = gpuarr.tensor([[0, 0], [3, 1], [2, 2]], device=device)
    assert gradcheck(lambda t: t.gather(1, i), (x,))
    assert gradgradcheck(lambda t: t.gather(1, i), (x,))
    j = gpuarr.tensor([[0, 2, 1]], device=device)  # distinct targets along dim 0
    src = f64(2, 4)
    assert gradcheck(lambda a, b: a.scatter(0, j, b), (x, src))
    assert gradgradcheck(lambda a, b: a.scatter(0, j, b), (x, src))
    assert gradcheck(lambda a, b: a.scatter_add(1, i, b), (x, f64(3, 2)))
    assert gradgradcheck(lambda a, b: a.scatter_add(1, i, b), (x, f64(3, 2)))
    assert gradcheck(lambda a: a.scatter(1, i, 0.5), (x,))
    assert gradcheck(lambda a: take_along_dim(a, i, 1), (x,))

    def inplace(a, b):
        y = a * 1.0
        y.scatter_(0, j, b)
        y.scatter_add_(1, i, b[:, :2].repeat(2, 1)[:3])
        return y

    assert gradcheck(inplace, (x, src))


def test_gather_scatter_0d(device):
    s, ts = pair(np.float64(5.0), device)
    i0, ti0 = pair(np.int64(0), device)
    assert_same(gather(s, 0, i0), torch.gather(ts, 0, ti0))
    assert_same(gather(s, 0, gpuarr.tensor([0, 0], device=device)),
                torch.gather(ts, 0, torch.tensor([0, 0])))
    a, ta = pair(np.arange(3.0), device)
    assert_same(gather(a, 0, gpuarr.tensor(1, device=device)), torch.gather(ta, 0,
                                                                            torch.tensor(1)))
    z, tz = pair(np.zeros(3), device)
    two = gpuarr.tensor(2.0, dtype=gpuarr.float64, device=device)
    assert_same(z.scatter(0, gpuarr.tensor([1], device=device), two),
                tz.scatter(0, torch.tensor([1]), torch.tensor(2.0, dtype=torch.float64)))
    zi, tzi = pair(np.zeros(3, np.int64), device)
    assert_same(zi.scatter(0, gpuarr.tensor([1], device=device), 2.5),
                tzi.scatter(0, torch.tensor([1]), 2.5))


def test_one_hot_by_scatter(device):
    target = gpuarr.tensor([2, 0, 1], device=device)
    oh = gpuarr.zeros(3, 4, device=device).scatter_(1, target[:, None], 1.0)
    np.testing.assert_array_equal(to_np(oh), np.eye(4, dtype=np.float32)[[2, 0, 1]])


def test_gather_scatter_errors(device):
    x, tx = pair(arange_np((2, 3, 4)), device)
    z, tz = pair(np.zeros((3, 5), np.float32), device)
    src, tsrc = pair(arange_np((2, 5)) + 1, device)

    def cases(m, x, z, src):
        return [
            lambda: m.gather(x, 1, m.tensor([[0, 2]])),
            lambda: m.gather(x, 1, m.zeros(3, 3, 3, dtype=m.long)),
            lambda: m.gather(x, 1, m.zeros(1, 1, 5, dtype=m.long)),
            lambda: m.gather(x, 1, m.full((1, 1, 1), 3)),
            lambda: m.gather(x, 1, m.full((1, 1, 1), -1)),
            lambda: m.gather(x, 1, m.full((1, 1, 1), 0.0)),
            lambda: m.gather(x, 5, m.full((1, 1, 1), 0)),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 0]]), src, reduce="mean"),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 5]]), src),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 0]] * 3), src),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 0, 0, 0]]), src),
            lambda: m.scatter(z, 0, m.tensor([0, 1, 2, 0]), src),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 0]]), src.double()),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 0]]).float(), src),
            lambda: m.scatter(z, 0, m.tensor([[0, 1, 2, 0]]), m.tensor(2.0)),
            lambda: m.scatter_add(z, 0, m.tensor([[0, 1, 2, 0]]), src.double()),
            lambda: m.take_along_dim(x, m.tensor([0, 1]), 1),
            lambda: m.take_along_dim(x, m.tensor([[[0, 1]]]).float(), 1),
            lambda: m.take_along_dim(x, m.tensor([[[0]], [[1]], [[1]]]), 1),
            lambda: m.take_along_dim(x, m.tensor([[[30]]])),
        ]

    for gfn, tfn in zip(cases(on_device(ga, device), x, z, src), cases(torch, tx, tz, tsrc)):
        same_error(gfn, tfn, device)


@SETTINGS
@given(data=st.data())
def test_take_along_dim_matches_torch(device, data):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    x, tx = pair(arange_np(shape), device)
    if data.draw(st.booleans()):
        idx = np.random.default_rng(0).integers(0, x.numel(), size=(data.draw(
            st.integers(0, 4)),))
        i, ti = pair(idx, device)
        assert_same(take_along_dim(x, i), torch.take_along_dim(tx, ti))
        return
    dim = data.draw(st.integers(0, len(shape) - 1))
    ishape = tuple(data.draw(st.sampled_from([1, s])) if a != dim else data.draw(
        st.integers(0, 3)) for a, s in enumerate(shape))
    idx = np.random.default_rng(1).integers(0, shape[dim], size=ishape)
    i, ti = pair(idx, device)
    assert_same(x.take_along_dim(i, dim), tx.take_along_dim(ti, dim))


# --------------------------------------------------------------------------------------------
# index_add


@SETTINGS
@given(shape=shapes.filter(lambda s: len(s) > 0 and min(s) > 0), data=st.data())
def test_index_add_matches_torch(device, shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    k = data.draw(st.integers(0, 4))
    idx = np.random.default_rng(k).integers(0, shape[dim], size=k)
    sshape = tuple(k if a == dim else s for a, s in enumerate(shape))
    x, tx = pair(arange_np(shape, np.float64), device)
    s, ts = pair(np.ones(sshape), device)
    i, ti = pair(idx, device)
    alpha = data.draw(st.sampled_from([1, 2.5]))
    assert_same(index_add(x, dim, i, s, alpha=alpha), tx.index_add(dim, ti, ts, alpha=alpha))
    x.index_add_(dim, i, s, alpha=alpha)
    tx.index_add_(dim, ti, ts, alpha=alpha)
    assert_same(x, tx)


def test_index_add_grad_and_errors(device):
    x = gpuarr.randn(3, 2, dtype=gpuarr.float64, device=device, requires_grad=True)
    s = gpuarr.randn(4, 2, dtype=gpuarr.float64, device=device, requires_grad=True)
    i = gpuarr.tensor([0, 2, 0, 1], device=device)
    assert gradcheck(lambda a, b: a.index_add(0, i, b, alpha=3), (x, s))
    assert gradgradcheck(lambda a, b: a.index_add(0, i, b), (x, s))
    z, tz = pair(np.zeros((3, 2), np.float32), device)

    def cases(m, z):
        return [
            lambda: z.index_add(0, m.tensor([0, 0, 2]), m.ones(2, 2)),
            lambda: z.index_add(0, m.tensor([0, 0, 5]), m.ones(3, 2)),
            lambda: z.index_add(0, m.tensor([0, 0, 2]), m.ones(3, 2).double()),
            lambda: z.index_add(0, m.tensor([0, 0, 2]), m.ones(3, 3)),
            lambda: z.index_add(0, m.tensor([0, 0, 2.0]), m.ones(3, 2)),
            lambda: z.index_add(0, m.tensor([[0, 0, 2]]), m.ones(3, 2)),
        ]

    for gfn, tfn in zip(cases(on_device(ga, device), z), cases(torch, tz)):
        same_error(gfn, tfn, device)


# --------------------------------------------------------------------------------------------
# masked_fill / masked_select


@SETTINGS
@given(shape=shapes, data=st.data())
def test_masked_fill_select_matches_torch(device, shape, data):
    dt = data.draw(st.sampled_from(["float32", "int64", "bool"]))
    x, tx = pair(arange_np(shape).astype(dt), device)
    k = data.draw(st.integers(0, len(shape)))
    mshape = tuple(1 if data.draw(st.booleans()) else s for s in shape[len(shape) - k:])
    m_np = np.random.default_rng(len(mshape)).random(mshape) > 0.5
    m, tm = pair(m_np, device)
    value = data.draw(st.sampled_from([-1, 2.5, True]))
    assert_same(masked_fill(x, m, value), torch.masked_fill(tx, tm, value))
    vt, tvt = pair(np.array(7.0), device)
    assert_same(x.masked_fill(m, vt), tx.masked_fill(tm, tvt))
    assert_same(masked_select(x, m), torch.masked_select(tx, tm))
    assert_same(masked_select(m if m.ndim else m, x > 3), torch.masked_select(tm, tx > 3))
    y, ty = x.clone(), tx.clone()
    y.masked_fill_(m, value)
    ty.masked_fill_(tm, value)
    assert_same(y, ty)
    assert y._version_value() == 1


def test_masked_grads(device):
    rng = np.random.default_rng(0)
    x = gpuarr.randn(3, 4, dtype=gpuarr.float64, device=device, requires_grad=True)
    v = gpuarr.tensor(0.5, dtype=gpuarr.float64, device=device, requires_grad=True)
    m = gpuarr.tensor(rng.random((3, 4)) > 0.5, device=device)
    mb = gpuarr.tensor([True, False, True, False], device=device)
    assert gradcheck(lambda a, b: a.masked_fill(m, b), (x, v))
    assert gradgradcheck(lambda a, b: a.masked_fill(mb, b) * a, (x, v))
    assert gradcheck(lambda a: a.masked_select(mb), (x,))
    assert gradgradcheck(lambda a: a.masked_select(m) * 2, (x,))
    small = gpuarr.randn(4, dtype=gpuarr.float64, device=device, requires_grad=True)
    assert gradcheck(lambda a: a.masked_select(m), (small,))  # input broadcast to the mask

    def inplace(a, b):
        y = a * 1.0
        y.masked_fill_(m, b)
        return y

    assert gradcheck(inplace, (x, v))


def test_masked_errors(device):
    a, ta = pair(arange_np((2, 3)), device)
    m, tm = pair(np.array([True, False, True]), device)

    def cases(mod, a, m):
        return [
            lambda: a.masked_fill(m.float(), -1),
            lambda: a.masked_fill(m.byte(), -1),
            lambda: a.masked_fill(m.long(), -1),
            lambda: a.masked_fill(m, mod.tensor([2.0])),
            lambda: a.clone().masked_fill_(mod.ones(2, 2, 3, dtype=mod.bool), 1),
            lambda: a.clone().masked_fill_(mod.ones(2, dtype=mod.bool), 1),
            lambda: a.masked_fill(mod.ones(2, dtype=mod.bool), 1),
            lambda: mod.masked_select(a, m.float()),
            lambda: mod.masked_select(a, mod.ones(2, dtype=mod.bool)),
        ]

    for gfn, tfn in zip(cases(on_device(ga, device), a, m), cases(torch, ta, tm)):
        same_error(gfn, tfn, device)
    # masked_fill (out of place) broadcasts the output like torch
    assert masked_fill(a, gpuarr.ones(2, 2, 3, dtype=gpuarr.bool, device=device), 1).shape == (
        2, 2, 3)


# --------------------------------------------------------------------------------------------
# nonzero / argwhere


@SETTINGS
@given(shape=shapes, data=st.data())
def test_nonzero_matches_torch(device, shape, data):
    dt = data.draw(st.sampled_from(["float32", "int32", "bool"]))
    x_np = (np.random.default_rng(data.draw(st.integers(0, 9))).random(shape) > 0.5).astype(dt)
    x, tx = pair(x_np, device)
    assert_same(nonzero(x), torch.nonzero(tx))
    assert_same(argwhere(x), torch.argwhere(tx))
    got, want = x.nonzero(as_tuple=True), torch.nonzero(tx, as_tuple=True)
    assert len(got) == len(want)
    for g, t in zip(got, want):
        assert_same(g, t)
    if x.ndim:
        assert_same(x[x.nonzero(as_tuple=True)], tx[want])


def test_nonzero_0d(device):
    for v in (0.0, 2.0):
        s, ts = pair(np.float32(v), device)
        assert_same(s.nonzero(), ts.nonzero())
        (g,), (t,) = s.nonzero(as_tuple=True), ts.nonzero(as_tuple=True)
        assert_same(g, t)
