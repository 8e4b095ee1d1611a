"""F.linear_cross_entropy, nn.LinearCrossEntropyLoss and nn.LinearCrossEntropyOptions against
PyTorch CPU: values and gradients on the reference and the chunked path, options resolution,
the fallback warning, errors; plus checks that the chunked path really works chunk by chunk."""

from __future__ import annotations

import dataclasses
import inspect
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from device_helpers import resolved
from nn_helpers import compare_module, raises_like, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.nn import functional as F
from gpuarr.nn.functional import _linear_cross_entropy as lce_mod

TOpts = torch.nn.LinearCrossEntropyOptions
GOpts = nn.LinearCrossEntropyOptions

# path name -> options kwargs (None: the reference path)
PATHS = {
    "reference": None,
    "one_chunk": {},
    "chunks_of_3": {"batch_chunk_size": 3},
    "aspect_ratio": {"chunking_method": "aspect_ratio:2"},
}


def _opts(path):
    kw = PATHS[path]
    return (None, None) if kw is None else (TOpts(**kw), GOpts(**kw))


def _run(device, x, w, target, *, b=None, cw=None, up_seed=5, topts=None, gopts=None, **kw):
    """Loss and grads (x, w, b) from torch and gpuarr; a random upstream gradient."""
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    gx = gpuarr.tensor(x, device=device, requires_grad=True)
    gw = gpuarr.tensor(w, device=device, requires_grad=True)
    tb = gb = None
    if b is not None:
        tb = torch.tensor(b, requires_grad=True)
        gb = gpuarr.tensor(b, device=device, requires_grad=True)
    tcw = None if cw is None else torch.tensor(cw)
    gcw = None if cw is None else gpuarr.tensor(cw, device=device)
    tl = TF.linear_cross_entropy(tx, tw, torch.tensor(target), linear_bias=tb, weight=tcw,
                                 options=topts, **kw)
    gl = F.linear_cross_entropy(gx, gw, gpuarr.tensor(target, device=device), linear_bias=gb,
                                weight=gcw, options=gopts, **kw)
    assert gl.device == resolved(device)
    assert tuple(gl.shape) == tuple(tl.shape) and gl.dtype == gpuarr.float64
    np.testing.assert_allclose(to_np(gl), tl.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = np.random.default_rng(up_seed).standard_normal(tuple(tl.shape))
    (tl * torch.tensor(up)).sum().backward()
    (gl * gpuarr.tensor(up, device=device)).sum().backward()
    pairs = [(gx, tx), (gw, tw)] + ([(gb, tb)] if b is not None else [])
    for g, t in pairs:
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    return gl, tl


# ------------------------------------------------------------------------------------------
# values and gradients


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 2])
def test_matches_torch(device, path, reduction, weighted, ignore_index):
    n, fi, c = 7, 4, 6
    target = np.array([0, 5, 2, -100 if ignore_index is None else 2, 3, 2, 1])
    cw = np.random.default_rng(3).random(c) + 0.1 if weighted else None
    topts, gopts = _opts(path)
    _run(device, rnd(n, fi), rnd(c, fi, seed=1), target, b=rnd(c, seed=2), cw=cw,
         reduction=reduction, ignore_index=ignore_index, topts=topts, gopts=gopts)


@pytest.mark.parametrize("path", ["reference", "chunks_of_3"])
def test_no_bias_unbatched_and_float32(device, path):
    topts, gopts = _opts(path)
    for red in ("mean", "none"):
        _run(device, rnd(5, 3), rnd(4, 3, seed=1), np.array([1, 0, 3, 3, 2]),
             reduction=red, topts=topts, gopts=gopts)
        gl, tl = _run(device, rnd(3), rnd(4, 3, seed=1), np.array(2), b=rnd(4, seed=2),
                      reduction=red, topts=topts, gopts=gopts)
        assert gl.shape == () and tl.shape == ()
    x, w = rnd(6, 5).astype(np.float32), rnd(9, 5, seed=1).astype(np.float32)
    t = np.array([0, 8, 3, 3, 1, 7])
    want = TF.linear_cross_entropy(torch.tensor(x), torch.tensor(w), torch.tensor(t),
                                   options=topts)
    got = F.linear_cross_entropy(gpuarr.tensor(x, device=device), gpuarr.tensor(w, device=device),
                                 gpuarr.tensor(t, device=device), options=gopts)
    assert got.dtype == gpuarr.float32
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-5)


@pytest.mark.parametrize("path", ["reference", "chunks_of_3"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_empty_batch_and_all_ignored(device, path, reduction):
    topts, gopts = _opts(path)
    gl, _ = _run(device, rnd(0, 3), rnd(4, 3, seed=1), np.zeros(0, np.int64), b=rnd(4, seed=2),
                 reduction=reduction, topts=TOpts() if topts else None,
                 gopts=GOpts() if gopts else None)
    assert gl.shape == ((0,) if reduction == "none" else ())
    # every target ignored: a nan mean, and exactly zero gradients as torch's reference path
    # gives (its chunked path makes them nan)
    _run(device, rnd(4, 3), rnd(4, 3, seed=1), np.array([1, 1, 1, 1]), b=rnd(4, seed=2),
         reduction=reduction, ignore_index=1, gopts=gopts)
    # every weight zero: nan everywhere in the mean's gradient, as torch's reference
    _run(device, rnd(4, 3), rnd(4, 3, seed=1), np.array([1, 0, 1, 1]),
         cw=np.array([0.0, 0.0, 1.0, 1.0]), reduction=reduction, topts=topts, gopts=gopts)


def test_smoothing_probabilities_kdim(device):
    """The configurations only the reference path takes (with options they warn and fall
    back, and still match torch)."""
    x, w, b = rnd(4, 3), rnd(5, 3, seed=1), rnd(5, seed=2)
    cw = np.random.default_rng(3).random(5) + 0.1
    idx = np.array([0, 4, -100, 2])
    probs = np.random.default_rng(4).dirichlet(np.ones(5), 4)
    cases = [
        dict(target=idx, label_smoothing=0.3),
        dict(target=idx, label_smoothing=0.2, cw=cw, reduction="none"),
        dict(target=probs, reduction="sum", cw=cw),
        dict(target=probs, label_smoothing=0.1),
    ]
    for kw in cases:
        kw = dict(kw)
        target = kw.pop("target")
        _run(device, x, w, target, b=b, **kw)
    # K-dimensional: weight (C, 2, 3, F), bias (C, 2, 3); index and probability targets
    wk, bk = rnd(5, 2, 3, 3, seed=5), rnd(5, 2, 3, seed=6)
    tk = np.random.default_rng(7).integers(0, 5, (4, 2, 3))
    tk[0, 1, 2] = 1
    for red in ("mean", "sum", "none"):
        gl, _ = _run(device, x, wk, tk, b=bk, reduction=red, ignore_index=1, cw=cw)
        if red == "none":
            assert gl.shape == (4, 2, 3)
    pk = np.random.default_rng(8).dirichlet(np.ones(5), (4, 2, 3)).transpose(0, 3, 1, 2)
    _run(device, x, wk, np.ascontiguousarray(pk), b=bk, label_smoothing=0.1)


@pytest.mark.parametrize("case", ["smoothing", "probs", "kdim", "int32"])
def test_options_fall_back_with_torchs_warning(device, case):
    x, w = rnd(4, 3), rnd(5, 3, seed=1)
    kw, target = {}, np.array([0, 4, 1, 2])
    if case == "smoothing":
        kw = dict(label_smoothing=0.25)
    elif case == "probs":
        target = np.random.default_rng(4).dirichlet(np.ones(5), 4)
    elif case == "kdim":
        w, target = rnd(5, 1, 3, seed=1), target[:, None]
    tt, gt = torch.tensor(target), gpuarr.tensor(target, device=device)
    if case == "int32":
        tt, gt = tt.to(torch.int32), gt.to(gpuarr.int32)
    gx, gw = gpuarr.tensor(x, device=device), gpuarr.tensor(w, device=device)

    def tcall():
        return TF.linear_cross_entropy(torch.tensor(x), torch.tensor(w), tt, options=TOpts(),
                                       **kw)

    def gcall():
        return F.linear_cross_entropy(gx, gw, gt, options=GOpts(), **kw)

    with warnings.catch_warnings(record=True) as trec:
        warnings.simplefilter("always")
        if case == "int32":  # after the warning the reference path raises
            with pytest.raises(RuntimeError):
                tcall()
        else:
            want = tcall()
    with warnings.catch_warnings(record=True) as grec:
        warnings.simplefilter("always")
        if case == "int32":
            raises_like(tcall, gcall)  # warns from both libraries
        else:
            np.testing.assert_allclose(to_np(gcall()), want.numpy(), rtol=1e-10)
    # torch's message, naming gpuarr's dtypes
    twarn = [str(r.message) for r in trec if "options" in str(r.message)]
    gwarn = [r for r in grec if "options" in str(r.message) and "gpuarr." in str(r.message)]
    assert len(gwarn) == 1 and str(gwarn[0].message) == twarn[0].replace("torch.", "gpuarr.")
    # the warning points at the caller, not at gpuarr's code
    assert gwarn[0].filename == __file__


@pytest.mark.parametrize("wdtype", ["float16", "float32"])
def test_float16_chunked(device, wdtype):
    """float16 input, accumulated in float32; a float32 head is torch's mixed precision."""
    x, w, b = rnd(6, 4), rnd(7, 4, seed=1), rnd(7, seed=2)
    t = np.array([0, 6, 2, 2, 5, 1])
    tx = torch.tensor(x, dtype=torch.float16, requires_grad=True)
    tw = torch.tensor(w, dtype=getattr(torch, wdtype), requires_grad=True)
    tb = torch.tensor(b, dtype=getattr(torch, wdtype), requires_grad=True)
    want = TF.linear_cross_entropy(tx, tw, torch.tensor(t), linear_bias=tb,
                                   options=TOpts(batch_chunk_size=4))
    want.backward()
    gx = gpuarr.tensor(x, device=device).to(gpuarr.float16).requires_grad_()
    gw = gpuarr.tensor(w, device=device).to(getattr(gpuarr, wdtype)).requires_grad_()
    gb = gpuarr.tensor(b, device=device).to(getattr(gpuarr, wdtype)).requires_grad_()
    got = F.linear_cross_entropy(gx, gw, gpuarr.tensor(t, device=device), linear_bias=gb,
                                 options=GOpts(batch_chunk_size=4))
    assert got.dtype == gpuarr.float16
    np.testing.assert_allclose(float(to_np(got)), want.item(), rtol=2e-3)
    got.backward()
    for g, tt in ((gx, tx), (gw, tw), (gb, tb)):
        assert str(g.grad.dtype).split(".")[1] == str(tt.grad.dtype).split(".")[1]
        np.testing.assert_allclose(to_np(g.grad).astype(np.float64), tt.grad.double().numpy(),
                                   rtol=1e-2, atol=2e-3)
    if wdtype == "float32":  # not mixed precision on the reference path: torch's error
        raises_like(lambda: TF.linear_cross_entropy(tx, tw, torch.tensor(t)),
                    lambda: F.linear_cross_entropy(gx, gw, gpuarr.tensor(t, device=device)))


@pytest.mark.parametrize("path", ["reference", "chunks_of_3"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradcheck(device, path, reduction):
    _, gopts = _opts(path)
    x = gpuarr.tensor(rnd(5, 3), device=device, requires_grad=True)
    w = gpuarr.tensor(rnd(4, 3, seed=1), device=device, requires_grad=True)
    b = gpuarr.tensor(rnd(4, seed=2), device=device, requires_grad=True)
    t = gpuarr.tensor(np.array([0, 3, 2, 2, -100]), device=device)
    cw = gpuarr.tensor(np.array([0.5, 1.0, 2.0, 1.5]), device=device)

    def fn(x, w, b):
        return F.linear_cross_entropy(x, w, t, linear_bias=b, weight=cw, reduction=reduction,
                                      options=gopts)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_chunked_backward_twice(device):
    """gpuarr's chunked backward recomputes from saved inputs: a retained graph backs twice
    (torch raises unless allow_retain_graph=True)."""
    x = gpuarr.tensor(rnd(5, 3), device=device, requires_grad=True)
    w = gpuarr.tensor(rnd(4, 3, seed=1), device=device, requires_grad=True)
    t = gpuarr.tensor(np.array([0, 3, 2, 2, 1]), device=device)
    loss = F.linear_cross_entropy(x, w, t, reduction="sum", options=GOpts(batch_chunk_size=2))
    loss.backward(retain_graph=True)
    first = to_np(w.grad).copy()
    loss.backward()
    np.testing.assert_allclose(to_np(w.grad), 2 * first, rtol=1e-12)


def test_chunked_path_works_chunk_by_chunk(device, monkeypatch):
    """No (N, C) logits: forward and backward only ever see (chunk, C) blocks."""
    seen = []
    nll, sm = lce_mod._chunk_nll, lce_mod.softmax

    def spy_nll(xp, x, *a):
        seen.append(("fwd", x.shape[0]))
        return nll(xp, x, *a)

    def spy_softmax(z, dim):
        seen.append(("bwd", z.shape[0]))
        return sm(z, dim)

    monkeypatch.setattr(lce_mod, "_chunk_nll", spy_nll)
    monkeypatch.setattr(lce_mod, "softmax", spy_softmax)
    x = gpuarr.tensor(rnd(10, 2), device=device, requires_grad=True)
    w = gpuarr.tensor(rnd(16, 2, seed=1), device=device, requires_grad=True)
    t = gpuarr.tensor(np.arange(10) % 16, device=device)
    F.linear_cross_entropy(x, w, t, options=GOpts(batch_chunk_size=4)).backward()
    assert seen == [("fwd", 4), ("fwd", 4), ("fwd", 2), ("bwd", 4), ("bwd", 4), ("bwd", 2)]
    seen.clear()
    # "aspect_ratio": next_pow2(ceil(10 / ceil(16 / 2))) = 2 rows per chunk
    F.linear_cross_entropy(x, w, t, options=GOpts(chunking_method="aspect_ratio"))
    assert seen == [("fwd", 2)] * 5


# ------------------------------------------------------------------------------------------
# LinearCrossEntropyOptions


def test_options_fields_and_validation():
    tf = [(f.name, f.default) for f in dataclasses.fields(TOpts)]
    gf = [(f.name, f.default) for f in dataclasses.fields(GOpts)]
    assert gf == tf
    assert repr(GOpts(batch_chunk_size=3)) == repr(TOpts(batch_chunk_size=3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        GOpts().batch_chunk_size = 2
    for kw in (dict(acc_policy="fast"), dict(chunking_method="rows"),
               dict(chunking_method="aspect_ratio:0"), dict(chunking_method="aspect_ratio:x"),
               dict(batch_chunk_size=0), dict(batch_chunk_size=2.0)):
        raises_like(lambda kw=kw: TOpts(**kw), lambda kw=kw: GOpts(**kw))
    GOpts(chunking_method="aspect_ratio:4", acc_dtype=gpuarr.bfloat16)  # valid
    with pytest.raises(ValueError, match=re.escape(
            "acc_dtype must be one of {None, gpuarr.float16, gpuarr.bfloat16, gpuarr.float32, "
            "gpuarr.float64}, got gpuarr.int32.")):
        GOpts(acc_dtype=gpuarr.int32)


@pytest.mark.parametrize("kw", [
    {}, dict(batch_chunk_size=3), dict(batch_chunk_size=100), dict(chunking_method=None),
    dict(chunking_method="aspect_ratio"), dict(chunking_method="aspect_ratio:3"),
    dict(acc_policy="balanced"), dict(acc_policy="accurate", acc_dtype="float32"),
    dict(batch_chunk_size=8, chunking_method="aspect_ratio"),
])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(10, 3, 50), (64, 16, 8), (1, 4, 4)])
def test_options_adjust_like_torch(kw, dtype, shape):
    tkw = {k: getattr(torch, v) if k == "acc_dtype" else v for k, v in kw.items()}
    gkw = {k: getattr(gpuarr, v) if k == "acc_dtype" else v for k, v in kw.items()}
    args = (*shape, getattr(torch, dtype), torch.device("cpu"))
    gargs = (*shape, getattr(gpuarr, dtype), gpuarr.device("cpu"))
    try:
        want = TOpts(**tkw)._adjust(*args)
    except ValueError as e:
        with pytest.raises(ValueError, match="^" + re.escape(str(e)) + "$"):
            GOpts(**gkw)._adjust(*gargs)
        return
    got = GOpts(**gkw)._adjust(*gargs)
    assert repr(got) == repr(want).replace("torch.", "gpuarr.")


def test_options_errors_at_call(device):
    x = gpuarr.tensor(rnd(10, 3), device=device)
    w = gpuarr.tensor(rnd(50, 3, seed=1), device=device)
    t = gpuarr.tensor(np.arange(10), device=device)
    tx, tw, tt = torch.tensor(rnd(10, 3)), torch.tensor(rnd(50, 3, seed=1)), torch.arange(10)
    kw = dict(batch_chunk_size=3, chunking_method="aspect_ratio")
    raises_like(lambda: TF.linear_cross_entropy(tx, tw, tt, options=TOpts(**kw)),
                lambda: F.linear_cross_entropy(x, w, t, options=GOpts(**kw)))
    with pytest.raises(RuntimeError, match=re.escape(
            "linear_cross_entropy supports float32 acc_dtype with float16/bfloat16 inputs, but "
            "got gpuarr.float64 acc_dtype and gpuarr.float32 inputs.")):
        F.linear_cross_entropy(x.float(), w.float(), t, options=GOpts(acc_dtype=gpuarr.float64))
    with pytest.raises(RuntimeError, match="float32 acc_dtype"):
        TF.linear_cross_entropy(tx.float(), tw.float(), tt, options=TOpts(acc_dtype=torch.float64))


# ------------------------------------------------------------------------------------------
# errors


@pytest.mark.filterwarnings("ignore:linear_cross_entropy")
@pytest.mark.parametrize("path", ["reference", "one_chunk"])
def test_errors_like_torch(device, path):
    topts, gopts = _opts(path)

    def both(x, w, t, **kw):
        def conv(a, dev):
            if a is None or not isinstance(a, np.ndarray):
                return a
            return torch.tensor(a) if dev is None else gpuarr.tensor(a, device=dev)

        tkw = {k: conv(v, None) for k, v in kw.items()}
        gkw = {k: conv(v, device) for k, v in kw.items()}
        raises_like(
            lambda: TF.linear_cross_entropy(conv(x, None), conv(w, None), conv(t, None),
                                            options=topts, **tkw),
            lambda: F.linear_cross_entropy(conv(x, device), conv(w, device), conv(t, device),
                                           options=gopts, **gkw))

    x, w, t = rnd(4, 3), rnd(5, 3, seed=1), np.array([0, 1, 4, 2])
    both(rnd(2, 4, 3), w, t)
    both(rnd(), w, t)
    both(x, rnd(5), t)
    both(x, rnd(5, 2), t)
    both(x, w, t, linear_bias=rnd(4))
    both(x, rnd(5, 2, 3), t[:, None], linear_bias=rnd(5))
    both(rnd(3), rnd(5, 2, 3), t[:1, None])
    both(x, w, np.random.default_rng(0).dirichlet(np.ones(5), 4), ignore_index=-100)
    both(x.astype(np.float32), w, t)
    both(x, w.astype(np.float32), t)
    if path == "reference":  # torch's chunked path casts the bias; gpuarr raises on both
        both(x, w, t, linear_bias=rnd(5).astype(np.float32))
    both(x, w, t, reduction="avg")
    both(x, w, t, label_smoothing=1.5)
    both(x, w, t, weight=np.ones(5), ignore_index=1, reduction="bad")
    if path == "reference":  # torch's chunked path fails its own way: see the next test
        both(x, w, t[:3])  # the batch sizes differ
        both(x, w, t, weight=np.ones(4))
        both(x, w, np.array([0, 5, 1, 2]))  # a target out of range
    with pytest.raises(TypeError, match="must be Tensor"):
        F.linear_cross_entropy(x, gpuarr.tensor(w, device=device), gpuarr.tensor(t))


def test_chunked_path_errors_are_the_reference_ones(device):
    """Where torch's chunked path fails by accident (gather/narrow errors), gpuarr raises what
    the reference path raises."""
    x = gpuarr.tensor(rnd(4, 3), device=device)
    w = gpuarr.tensor(rnd(5, 3, seed=1), device=device)
    opts = GOpts(batch_chunk_size=2)
    for bad in ([0, 5, 1, 2], [0, -1, 1, 2]):
        with pytest.raises(IndexError, match=re.escape(f"Target {bad[1]} is out of bounds.")):
            F.linear_cross_entropy(x, w, gpuarr.tensor(bad, device=device), options=opts)
    with pytest.raises(ValueError, match=re.escape(
            "Expected input batch_size (4) to match target batch_size (3).")):
        F.linear_cross_entropy(x, w, gpuarr.tensor([0, 1, 2], device=device), options=opts)
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        F.linear_cross_entropy(x[0], w, gpuarr.tensor([[2]], device=device), options=opts)
    with pytest.raises(ValueError, match=re.escape(
            "For 1D input, 1D target must have size 1, but got target size: 2")):
        F.linear_cross_entropy(x[0], w, gpuarr.tensor([2, 1], device=device), options=opts)
    # one unbatched sample takes a (1,) class target as the () one, as the reference path does
    one = F.linear_cross_entropy(x[0], w, gpuarr.tensor([2], device=device), options=opts)
    ref = F.linear_cross_entropy(x[0], w, gpuarr.tensor(2, device=device))
    assert one.shape == () and one.item() == pytest.approx(ref.item(), rel=1e-12)
    with pytest.raises(RuntimeError, match=re.escape("Expected target size [4], got [4, 1]")):
        F.linear_cross_entropy(x, w, gpuarr.tensor([[0], [1], [2], [3]], device=device),
                               options=opts)
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 5"):
        F.linear_cross_entropy(x, w, gpuarr.tensor([0, 1, 2, 3], device=device),
                               weight=gpuarr.ones(4, device=device), options=opts)
    # an ignored target may lie outside [0, C)
    F.linear_cross_entropy(x, w, gpuarr.tensor([0, 7, 1, 2], device=device), ignore_index=7,
                           options=opts)


# ------------------------------------------------------------------------------------------
# the module


@pytest.mark.parametrize("kw", [
    dict(),
    dict(bias=True, reduction="sum"),
    dict(out_features=(2, 3), bias=True, ignore_index=1),
    dict(bias=True, label_smoothing=0.1, reduction="none"),
    dict(bias=True, options="chunked"),
])
def test_module_matches_torch(device, kw):
    kw = dict(kw)
    topts = gopts = None
    if kw.pop("options", None):
        topts, gopts = TOpts(batch_chunk_size=2), GOpts(batch_chunk_size=2)
    cw = np.random.default_rng(1).random(5) + 0.1
    tm = torch.nn.LinearCrossEntropyLoss(3, 5, weight=torch.tensor(cw, dtype=torch.float32),
                                         options=topts, **kw)
    gm = nn.LinearCrossEntropyLoss(3, 5, weight=gpuarr.tensor(cw, dtype=gpuarr.float32),
                                   options=gopts, **kw)
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert repr(gm) == repr(tm)
    shape = (4, *kw.get("out_features", ()))
    target = np.random.default_rng(2).integers(0, 5, shape)
    compare_module(gm, tm, [rnd(4, 3), target], device, gpuarr.float64)


def test_module_init(device):
    gm = nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, device=device,
                                   dtype=gpuarr.float64)
    assert gm.linear.weight.shape == (6, 4) and gm.linear.bias.shape == (6,)
    assert gm.linear.weight.dtype == gpuarr.float64
    assert gm.linear.weight.device == resolved(device)
    assert gm.weight is None and gm.ignore_index is None and gm.options is None
    for kw in (dict(weight=torch.ones(4)), dict(label_smoothing=-0.5)):
        gkw = {k: gpuarr.ones(4) if k == "weight" else v for k, v in kw.items()}
        raises_like(lambda kw=kw: torch.nn.LinearCrossEntropyLoss(3, 5, **kw),
                    lambda gkw=gkw: nn.LinearCrossEntropyLoss(3, 5, **gkw))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = gm(gpuarr.randn(5, 4, device=device, dtype=gpuarr.float64),
                 gpuarr.randint(0, 3, (5, 2), device=device))
    assert out.shape == () and out.device == resolved(device)


def test_signatures_match_torch():
    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert params(F.linear_cross_entropy) == params(TF.linear_cross_entropy)
    assert params(nn.LinearCrossEntropyLoss) == params(torch.nn.LinearCrossEntropyLoss)
