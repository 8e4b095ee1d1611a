"""Functional RNN cells and "native" normalisation ops, differential against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.autograd import gradcheck

RTOL, ATOL = 1e-5, 1e-6


def _pair(shape, device, dtype=np.float32, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return gpuarr.tensor(a, device=device), torch.tensor(a)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, gpuarr.Tensor) else t.detach().numpy()


def _close(g, t, rtol=RTOL, atol=ATOL):
    assert tuple(g.shape) == tuple(t.shape)
    np.testing.assert_allclose(_np(g), _np(t), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------- RNN cells

CELLS = [("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3), ("lstm_cell", 4)]


def _cell_args(device, chunks, bias, dtype=np.float32, n=3, i=5, h=4):
    shapes = [(n, i), (n, h), (chunks * h, i), (chunks * h, h)]
    if bias:
        shapes += [(chunks * h,), (chunks * h,)]
    pairs = [_pair(s, device, dtype, seed=k) for k, s in enumerate(shapes)]
    if chunks == 4:
        c = _pair((n, h), device, dtype, seed=9)
        g = [pairs[0][0], (pairs[1][0], c[0]), *(p[0] for p in pairs[2:])]
        t = [pairs[0][1], (pairs[1][1], c[1]), *(p[1] for p in pairs[2:])]
        return g, t
    return [p[0] for p in pairs], [p[1] for p in pairs]


@pytest.mark.parametrize("name,chunks", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(device, name, chunks, bias):
    g, t = _cell_args(device, chunks, bias)
    got = getattr(gpuarr, name)(*g)
    want = getattr(torch, name)(*t)
    if chunks == 4:
        for a, b in zip(got, want):
            _close(a, b)
        assert got[0].device.type == device
    else:
        _close(got, want)
        assert got.device.type == device


@pytest.mark.parametrize("name,chunks", CELLS)
def test_cell_one_bias_only(device, name, chunks):
    g, t = _cell_args(device, chunks, True)
    _close(_first(getattr(gpuarr, name)(*g[:4], None, g[5])),
           _first(getattr(torch, name)(*t[:4], None, t[5])))
    _close(_first(getattr(gpuarr, name)(*g[:5])), _first(getattr(torch, name)(*t[:5])))


def _first(r):
    return r[0] if isinstance(r, tuple) else r


@pytest.mark.parametrize("name,chunks", CELLS)
def test_cell_grads_match_torch(device, name, chunks):
    g, t = _cell_args(device, chunks, True)
    flat_g = [g[0], *(g[1] if chunks == 4 else [g[1]]), *g[2:]]
    flat_t = [t[0], *(t[1] if chunks == 4 else [t[1]]), *t[2:]]
    for a in flat_g:
        a.requires_grad_(True)
    for a in flat_t:
        a.requires_grad_(True)
    out_g = getattr(gpuarr, name)(*g)
    out_t = getattr(torch, name)(*t)
    if chunks == 4:
        (out_g[0].sum() + (out_g[1] * 2).sum()).backward()
        (out_t[0].sum() + (out_t[1] * 2).sum()).backward()
    else:
        out_g.sum().backward()
        out_t.sum().backward()
    for a, b in zip(flat_g, flat_t):
        _close(a.grad, b.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,chunks", CELLS)
def test_cell_gradcheck(device, name, chunks):
    g, _ = _cell_args(device, chunks, True, dtype=np.float64, n=2, i=3, h=2)
    if chunks == 4:
        flat = [g[0], *g[1], *g[2:]]
        for a in flat:
            a.requires_grad_(True)

        def f(x, h, c, *w):
            return gpuarr.lstm_cell(x, (h, c), *w)
    else:
        flat = g
        for a in flat:
            a.requires_grad_(True)

        def f(*args):
            return getattr(gpuarr, name)(*args)
    assert gradcheck(f, tuple(flat))


def _both(fn_name, g_args, t_args):
    with pytest.raises(Exception) as te:
        getattr(torch, fn_name)(*t_args)
    with pytest.raises(type(te.value), match=None) as ge:
        getattr(gpuarr, fn_name)(*g_args)
    assert str(ge.value) == str(te.value).split("\n")[0]


CELL_ERRORS = {
    "input_size": lambda mk: (mk((2, 3)), mk((2, 4)), mk((4, 5)), mk((4, 4))),
    "batch": lambda mk: (mk((2, 3)), mk((3, 4)), mk((4, 3)), mk((4, 4))),
    "hidden_size": lambda mk: (mk((2, 3)), mk((2, 5)), mk((4, 3)), mk((4, 4))),
    "unbatched": lambda mk: (mk((3,)), mk((4,)), mk((4, 3)), mk((4, 4))),
    "dtype": lambda mk: (mk((2, 3)), mk((2, 4), np.float64), mk((4, 3)), mk((4, 4))),
}


@pytest.mark.parametrize("case", sorted(CELL_ERRORS))
def test_cell_errors_match_torch(device, case):
    g_args, t_args = [], []

    def mk(shape, dtype=np.float32):
        a, b = _pair(shape, device, dtype)
        g_args.append(a)
        t_args.append(b)
        return None

    CELL_ERRORS[case](mk)
    _both("rnn_tanh_cell", g_args, t_args)


def test_lstm_cell_needs_two_states(device):
    g, t = _cell_args(device, 4, False)
    with pytest.raises(RuntimeError, match="lstm_cell expects two hidden states"):
        torch.lstm_cell(t[0], (t[1][0],), *t[2:])
    with pytest.raises(RuntimeError, match="lstm_cell expects two hidden states"):
        gpuarr.lstm_cell(g[0], (g[1][0],), *g[2:])


# ------------------------------------------------------------------------------------- norms

@pytest.mark.parametrize("shape,ns", [((2, 3, 4), [4]), ((2, 3, 4), [3, 4]), ((5, 6), [6])])
@pytest.mark.parametrize("affine", [True, False])
def test_native_layer_norm(device, shape, ns, affine):
    xg, xt = _pair(shape, device)
    wg, wt = _pair(ns, device, seed=1) if affine else (None, None)
    bg, bt = _pair(ns, device, seed=2) if affine else (None, None)
    got = gpuarr.native_layer_norm(xg, ns, wg, bg, 1e-5)
    want = torch.native_layer_norm(xt, ns, wt, bt, 1e-5)
    for a, b in zip(got, want):
        _close(a, b, rtol=1e-4, atol=1e-5)
        assert a.dtype == gpuarr.float32


def test_native_layer_norm_gradcheck(device):
    x, _ = _pair((2, 3, 4), device, np.float64)
    w, _ = _pair((4,), device, np.float64, seed=1)
    b, _ = _pair((4,), device, np.float64, seed=2)
    for t in (x, w, b):
        t.requires_grad_(True)
    assert gradcheck(lambda x, w, b: gpuarr.native_layer_norm(x, [4], w, b, 1e-5)[0],
                     (x, w, b))


def test_native_layer_norm_errors(device):
    xg, xt = _pair((2, 3, 4), device)
    _both("native_layer_norm", (xg, [5], None, None, 1e-5), (xt, [5], None, None, 1e-5))
    wg, wt = _pair((3,), device)
    _both("native_layer_norm", (xg, [4], wg, None, 1e-5), (xt, [4], wt, None, 1e-5))


@pytest.mark.parametrize("shape,group", [((2, 6, 4), 3), ((2, 6, 2, 3), 2), ((3, 4), 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_native_group_norm(device, shape, group, affine):
    xg, xt = _pair(shape, device)
    n, c = shape[:2]
    hxw = int(np.prod(shape[2:]))
    wg, wt = _pair((c,), device, seed=1) if affine else (None, None)
    bg, bt = _pair((c,), device, seed=2) if affine else (None, None)
    got = gpuarr.native_group_norm(xg, wg, bg, n, c, hxw, group, 1e-5)
    want = torch.native_group_norm(xt, wt, bt, n, c, hxw, group, 1e-5)
    for a, b in zip(got, want):
        _close(a, b, rtol=1e-4, atol=1e-5)


def test_native_group_norm_gradcheck(device):
    x, _ = _pair((2, 4, 3), device, np.float64)
    w, _ = _pair((4,), device, np.float64, seed=1)
    b, _ = _pair((4,), device, np.float64, seed=2)
    for t in (x, w, b):
        t.requires_grad_(True)
    assert gradcheck(
        lambda x, w, b: gpuarr.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5)[0], (x, w, b))


def test_native_group_norm_errors(device):
    xg, xt = _pair((2, 3, 4), device)
    _both("native_group_norm", (xg, None, None, 2, 3, 4, 2, 1e-5),
          (xt, None, None, 2, 3, 4, 2, 1e-5))
    wg, wt = _pair((4,), device)
    _both("native_group_norm", (xg, wg, None, 2, 3, 4, 3, 1e-5),
          (xt, wt, None, 2, 3, 4, 3, 1e-5))
    with pytest.raises(RuntimeError, match=r"Expected X.numel\(\) == N \* C \* HxW"):
        torch.native_group_norm(xt, None, None, 2, 3, 5, 3, 1e-5)
    with pytest.raises(RuntimeError, match=r"Expected X.numel\(\) == N \* C \* HxW"):
        gpuarr.native_group_norm(xg, None, None, 2, 3, 5, 3, 1e-5)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 2, 2)])
@pytest.mark.parametrize("running", [True, False])
def test_native_batch_norm_training(device, shape, running):
    xg, xt = _pair(shape, device)
    wg, wt = _pair((3,), device, seed=1)
    bg, bt = _pair((3,), device, seed=2)
    if running:
        rmg, rmt = gpuarr.zeros(3, device=device), torch.zeros(3)
        rvg, rvt = gpuarr.ones(3, device=device), torch.ones(3)
    else:
        rmg = rmt = rvg = rvt = None
    got = gpuarr.native_batch_norm(xg, wg, bg, rmg, rvg, True, 0.1, 1e-5)
    want = torch.native_batch_norm(xt, wt, bt, rmt, rvt, True, 0.1, 1e-5)
    for a, b in zip(got, want):
        _close(a, b, rtol=1e-4, atol=1e-5)
    if running:
        _close(rmg, rmt)
        _close(rvg, rvt)


def test_native_batch_norm_eval(device):
    xg, xt = _pair((4, 3, 2), device)
    rmg, rmt = _pair((3,), device, seed=3)
    rvg, rvt = (a.abs() + 0.5 for a in _pair((3,), device, seed=4))
    got = gpuarr.native_batch_norm(xg, None, None, rmg, rvg, False, 0.1, 1e-5)
    want = torch.native_batch_norm(xt, None, None, rmt, rvt, False, 0.1, 1e-5)
    for a, b in zip(got, want):
        _close(a, b)
    assert tuple(got[1].shape) == (0,) and got[1].dtype == gpuarr.float32


def test_native_batch_norm_gradcheck(device):
    x, _ = _pair((3, 2, 2), device, np.float64)
    w, _ = _pair((2,), device, np.float64, seed=1)
    b, _ = _pair((2,), device, np.float64, seed=2)
    for t in (x, w, b):
        t.requires_grad_(True)
    assert gradcheck(
        lambda x, w, b: gpuarr.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0],
        (x, w, b))


def test_native_batch_norm_errors(device):
    xg, xt = _pair((1, 3), device)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        gpuarr.native_batch_norm(xg, None, None, None, None, True, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match="running_mean and running_var must be defined"):
        gpuarr.native_batch_norm(xg, None, None, None, None, False, 0.1, 1e-5)


# ------------------------------------------------------------------------- dropout and norm

@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_native_dropout_train(device, p):
    xg, _ = _pair((50, 40), device)
    out, mask = gpuarr.native_dropout(xg, p, True)
    assert mask.dtype == gpuarr.bool and tuple(mask.shape) == (50, 40)
    m = _np(mask)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    np.testing.assert_allclose(_np(out), _np(xg) * m * scale, rtol=1e-6)
    kept = m.mean()
    assert abs(kept - (1 - p)) < 0.06
    # train=None means training, as in torch
    assert not _np(gpuarr.native_dropout(xg, 0.5, None)[1]).all()


def test_native_dropout_eval_and_grad(device):
    xg, xt = _pair((4, 5), device)
    out, mask = gpuarr.native_dropout(xg, 0.5, False)
    tout, tmask = torch.native_dropout(xt, 0.5, False)
    _close(out, tout)
    assert mask.dtype == gpuarr.bool and _np(mask).all() and tmask.all()
    xg.requires_grad_(True)
    out, mask = gpuarr.native_dropout(xg, 0.25, True)
    out.sum().backward()
    np.testing.assert_allclose(_np(xg.grad), _np(mask) / 0.75, rtol=1e-6)


def test_native_dropout_errors(device):
    xg, xt = _pair((3,), device)
    _both("native_dropout", (xg, 1.5, True), (xt, 1.5, True))
    ig = gpuarr.ones(3, dtype=gpuarr.int64, device=device)
    _both("native_dropout", (ig, 0.5, True), (torch.ones(3, dtype=torch.long), 0.5, True))


@pytest.mark.parametrize("p", [2, 1, 3, float("inf")])
def test_native_norm(device, p):
    xg, xt = _pair((2, 3, 4), device)
    # torch runs native_norm on sparse tensors only; its values are the dense vector norm
    _close(gpuarr.native_norm(xg, p), torch.native_norm(xt.to_sparse(), p))
    _close(gpuarr.native_norm(xg, p, [0, 1, 2], False, None),
           torch.native_norm(xt.to_sparse(), p, [0, 1, 2], False, None))
    _close(gpuarr.native_norm(xg, p, [1], True, None),
           torch.linalg.vector_norm(xt, p, [1], True))


def test_native_norm_gradcheck(device):
    x, _ = _pair((3, 4), device, np.float64)
    x.requires_grad_(True)
    assert gradcheck(lambda x: gpuarr.native_norm(x), (x,))
    assert gradcheck(lambda x: gpuarr.native_norm(x, 3, [1], True, None), (x,))
