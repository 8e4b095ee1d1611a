"""Generic tests over the op table: forward, gradients, gradcheck, gradgradcheck vs torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from op_table import op_table, sample

import gpuarr

OPS = op_table()
IDS = [o.name for o in OPS]
DIFF = [o for o in OPS if o.differentiable]
GG = [o for o in DIFF if o.gradgrad]

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _shapes(info):
    if info.shapes is not None:
        return st.sampled_from(info.shapes)
    if info.nargs == 1 or not info.broadcast:
        base = st.lists(st.integers(0, 4), min_size=info.min_ndim, max_size=3).map(tuple)
        return base.map(lambda s: (s,) * info.nargs)
    return mutually_broadcastable_shapes(num_shapes=info.nargs, min_dims=info.min_ndim,
                                         max_dims=3, min_side=0, max_side=4).map(
        lambda bs: bs.input_shapes)


def _run_both(info, arrays, device):
    gx = [gpuarr.tensor(a, device=device) for a in arrays]
    tx = [torch.tensor(a) for a in arrays]
    t_err = g_err = None
    try:
        expect = info.ref(*tx, **info.kwargs)
    except Exception as e:  # torch rejects: gpuarr must too, with the same kind of error
        t_err = e
    try:
        got = info.op(*gx, **info.kwargs)
    except Exception as e:
        g_err = e
    if t_err is not None or g_err is not None:
        assert t_err is not None and g_err is not None, (
            f"{info.name}: torch raised {t_err!r}, gpuarr raised {g_err!r}")
        assert isinstance(g_err, type(t_err)) or isinstance(t_err, type(g_err)), (t_err, g_err)
        return None, None
    return got, expect


def _compare(got, expect, info, dtype):
    gots = got if isinstance(got, (tuple, list)) else (got,)
    exps = expect if isinstance(expect, (tuple, list)) else (expect,)
    assert len(gots) == len(exps)
    for g, e in zip(gots, exps):
        e_np = e.detach().numpy()
        g_np = g.detach().cpu().numpy()
        assert g_np.shape == e_np.shape, (info.name, g_np.shape, e_np.shape)
        assert str(g.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], (
            info.name, g.dtype, e.dtype)
        if e_np.dtype.kind == "f":
            f64 = dtype == "float64"
            np.testing.assert_allclose(g_np, e_np, rtol=1e-12 if f64 else info.rtol,
                                       atol=1e-10 if f64 else info.atol,
                                       equal_nan=True, err_msg=info.name)
        else:
            np.testing.assert_array_equal(g_np, e_np, err_msg=info.name)


@pytest.mark.parametrize("info", OPS, ids=IDS)
def test_forward_matches_torch(info, device):
    @SETTINGS
    @given(shapes=_shapes(info), seed=st.integers(0, 2**16))
    def check(shapes, seed):
        rng = np.random.default_rng(seed)
        for dtype in info.dtypes:
            arrays = [sample(info, rng, s, dtype) for s in shapes]
            got, expect = _run_both(info, arrays, device)
            if got is not None:
                _compare(got, expect, info, dtype)

    check()


def _grad_inputs(info, rng, shapes, device):
    arrays = [sample(info, rng, s, "float64") for s in shapes]
    gx = [gpuarr.tensor(a, device=device, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    return gx, tx


def _first(x):
    return x[0] if isinstance(x, (tuple, list)) else x


@pytest.mark.parametrize("info", DIFF, ids=[o.name for o in DIFF])
def test_grad_matches_torch(info, device):
    @SETTINGS
    @given(shapes=_shapes(info), seed=st.integers(0, 2**16))
    def check(shapes, seed):
        rng = np.random.default_rng(seed)
        gx, tx = _grad_inputs(info, rng, shapes, device)
        try:
            texp = _first(info.ref(*tx, **info.kwargs))
        except Exception:
            return
        gout = _first(info.op(*gx, **info.kwargs))
        if not texp.requires_grad:
            return
        cot = rng.standard_normal(tuple(texp.shape))
        try:
            texp.backward(torch.tensor(cot))
        except RuntimeError:  # torch's own backward rejects some degenerate broadcasts
            return
        gout.backward(gpuarr.tensor(cot, device=device))
        for g, t in zip(gx, tx):
            if t.grad is None:
                assert g.grad is None or not np.any(g.grad.cpu().numpy()), info.name
                continue
            np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-9,
                                       atol=1e-10, err_msg=info.name)

    check()


def _fixed_shapes(info):
    if info.shapes is not None:
        return info.shapes[0]
    if info.nargs == 1 or not info.broadcast:
        return ((2, 3),) * info.nargs
    return ((2, 3),) + ((3,),) * (info.nargs - 1)  # exercise broadcasting in the gradient


@pytest.mark.parametrize("info", DIFF, ids=[o.name for o in DIFF])
def test_gradcheck(info, device):
    rng = np.random.default_rng(0)
    gx, _ = _grad_inputs(info, rng, _fixed_shapes(info), device)
    assert gpuarr.autograd.gradcheck(lambda *xs: info.op(*xs, **info.kwargs), tuple(gx))


@pytest.mark.parametrize("info", GG, ids=[o.name for o in GG])
def test_gradgradcheck(info, device):
    rng = np.random.default_rng(1)
    gx, _ = _grad_inputs(info, rng, _fixed_shapes(info), device)
    assert gpuarr.autograd.gradgradcheck(lambda *xs: info.op(*xs, **info.kwargs), tuple(gx))


def test_table_lists_each_op_once():
    assert len(IDS) == len(set(IDS))
