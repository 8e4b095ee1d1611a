"""F.embedding_bag and nn.EmbeddingBag against PyTorch CPU: outputs, weight and
per_sample_weights gradients, reprs and argument errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import TORCH_DT, check_close, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.nn import functional as F

DTYPES = [gpuarr.float32, gpuarr.float64]


def run_both(device, dtype, idx, offsets=None, psw=None, backward=True, **kw):
    """Forward and backward both libraries on the same table; compare output and grads."""
    w = rnd(7, 4).astype(np.float64 if dtype == gpuarr.float64 else np.float32)
    tw = torch.tensor(w, requires_grad=True)
    gw = gpuarr.tensor(w, device=device, requires_grad=True)
    ti, gi = torch.tensor(idx), gpuarr.tensor(idx, device=device)
    to = None if offsets is None else torch.tensor(offsets)
    go = None if offsets is None else gpuarr.tensor(offsets, device=device)
    tp = gp = None
    if psw is not None:
        psw = psw.astype(w.dtype)
        tp = torch.tensor(psw, requires_grad=True)
        gp = gpuarr.tensor(psw, device=device, requires_grad=True)
    tout = TF.embedding_bag(ti, tw, to, per_sample_weights=tp, **kw)
    gout = F.embedding_bag(gi, gw, go, per_sample_weights=gp, **kw)
    assert gout.dtype == dtype and tuple(gout.shape) == tuple(tout.shape)
    check_close(to_np(gout), tout.detach().numpy(), dtype, "output")
    if not backward:
        return gout, tout
    up = rnd(*tout.shape, seed=1).astype(w.dtype)
    (tout * torch.tensor(up)).sum().backward()
    (gout * gpuarr.tensor(up, device=device)).sum().backward()
    check_close(to_np(gw.grad), tw.grad.numpy(), dtype, "weight grad")
    if psw is not None:
        check_close(to_np(gp.grad), tp.grad.numpy(), dtype, "per_sample_weights grad")
    return gout, tout


IDX1 = np.array([3, 1, 1, 6, 0, 2, 5, 4, 2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_offsets(device, dtype, mode, padding_idx):
    # an empty bag in the middle and one at the end
    run_both(device, dtype, IDX1, np.array([0, 3, 3, 5, 9]), mode=mode, padding_idx=padding_idx)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_2d_input(device, dtype, mode):
    idx = np.array([[0, 2, 2], [6, 5, 1], [3, 3, 3], [1, 4, 0]])
    run_both(device, dtype, idx, mode=mode)
    run_both(device, dtype, idx, mode=mode, padding_idx=3)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_include_last_offset(device, mode):
    run_both(device, gpuarr.float64, IDX1, np.array([0, 2, 2, 9]), mode=mode,
             include_last_offset=True)
    run_both(device, gpuarr.float32, IDX1, np.array([0, 2, 2, 9]), mode=mode,
             include_last_offset=True, padding_idx=6)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_include_last_offset_short(device, mode):
    # indices past a last offset below len(input) belong to no bag (not even checked for
    # range); torch's CPU kernels disagree with each other here, so compare with the bags
    # cut short by hand
    w = gpuarr.tensor(rnd(7, 4), device=device)
    idx = IDX1.copy()
    idx[-1] = 100
    got = F.embedding_bag(gpuarr.tensor(idx, device=device), w,
                          gpuarr.tensor([0, 2, 2, 7], device=device), mode=mode,
                          include_last_offset=True)
    want = F.embedding_bag(gpuarr.tensor(idx[:7], device=device), w,
                           gpuarr.tensor([0, 2, 2], device=device), mode=mode)
    np.testing.assert_allclose(to_np(got), to_np(want), rtol=1e-12)
    assert not np.allclose(to_np(got)[2], to_np(w)[list(idx[2:8])].sum(0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_per_sample_weights(device, dtype, padding_idx):
    run_both(device, dtype, IDX1, np.array([0, 4, 4, 6]), psw=rnd(9, seed=3), mode="sum",
             padding_idx=padding_idx)
    idx = np.array([[0, 2, 2], [6, 5, 1]])
    run_both(device, dtype, idx, psw=rnd(2, 3, seed=4), mode="sum")


def test_int32_and_empty(device):
    run_both(device, gpuarr.float32, IDX1.astype(np.int32), np.array([0, 4], dtype=np.int32))
    # mixed index and offset dtypes are allowed, as in torch
    run_both(device, gpuarr.float32, IDX1, np.array([0, 4], dtype=np.int32), mode="sum")
    for mode in ["sum", "mean", "max"]:
        # torch's max backward over no indices crashes: forward only there
        g, t = run_both(device, gpuarr.float32, np.zeros(0, np.int64), np.array([0, 0]),
                        mode=mode, backward=mode != "max")
        assert (to_np(g) == 0).all()
        if mode == "max":
            w = gpuarr.randn(3, 2, device=device, requires_grad=True)
            F.embedding_bag(gpuarr.zeros(0, dtype=gpuarr.int64, device=device), w,
                            gpuarr.tensor([0, 0], device=device), mode="max").sum().backward()
            assert (to_np(w.grad) == 0).all()
        # no bags at all gives (0, embedding_dim) in torch, whose CPU kernels can crash on it
        w = gpuarr.randn(7, 4, device=device, requires_grad=True)
        g = F.embedding_bag(gpuarr.tensor(IDX1, device=device), w,
                            gpuarr.zeros(0, dtype=gpuarr.int64, device=device), mode=mode)
        assert tuple(g.shape) == (0, 4)
        g.sum().backward()
        assert (to_np(w.grad) == 0).all()


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm(device, mode, norm_type):
    w = rnd(7, 4) * 3
    tw, gw = torch.tensor(w), gpuarr.tensor(w, device=device)
    idx, off = np.array([0, 2, 2, 5]), np.array([0, 1])
    tout = TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(off), max_norm=1.5,
                            norm_type=norm_type, mode=mode)
    gout = F.embedding_bag(gpuarr.tensor(idx, device=device), gw,
                           gpuarr.tensor(off, device=device), max_norm=1.5,
                           norm_type=norm_type, mode=mode)
    np.testing.assert_allclose(to_np(gout), tout.numpy(), rtol=1e-10, atol=1e-10)
    # the table is renormalised in place, only at the rows looked up
    np.testing.assert_allclose(to_np(gw), tw.numpy(), rtol=1e-10, atol=1e-10)
    assert not np.allclose(to_np(gw), w)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck(device, mode):
    w = gpuarr.tensor(rnd(6, 3), device=device, requires_grad=True)
    idx = gpuarr.tensor([0, 2, 2, 5, 1, 3], device=device)
    off = gpuarr.tensor([0, 2, 2, 5], device=device)
    assert gradcheck(lambda w: F.embedding_bag(idx, w, off, mode=mode, padding_idx=1), (w,))
    assert gradgradcheck(lambda w: F.embedding_bag(idx, w, off, mode=mode), (w,))


def test_gradcheck_per_sample_weights(device):
    w = gpuarr.tensor(rnd(6, 3), device=device, requires_grad=True)
    p = gpuarr.tensor(rnd(6, seed=2), device=device, requires_grad=True)
    idx = gpuarr.tensor([0, 2, 2, 5, 1, 3], device=device)
    off = gpuarr.tensor([0, 2, 3], device=device)

    def f(w, p):
        return F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=p)

    assert gradcheck(f, (w, p))
    assert gradgradcheck(f, (w, p))


@pytest.mark.parametrize("kw", [dict(mode="sum"), dict(mode="max", padding_idx=0),
                                dict(mode="mean", include_last_offset=True, max_norm=2.0)])
def test_module(device, kw):
    tm = torch.nn.EmbeddingBag(7, 4, **kw).double()
    gm = nn.EmbeddingBag(7, 4, **kw)
    gm.to(device=device, dtype=gpuarr.float64)
    gm.load_state_dict({"weight": gpuarr.tensor(tm.weight.detach().numpy(), device=device)})
    assert gm.weight.dtype == gpuarr.float64
    idx = np.array([3, 1, 1, 6, 0, 2])
    off = np.array([0, 2, 6] if kw.get("include_last_offset") else [0, 2, 5])
    tout = tm(torch.tensor(idx), torch.tensor(off))
    gout = gm(gpuarr.tensor(idx, device=device), gpuarr.tensor(off, device=device))
    np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), rtol=1e-10, atol=1e-10)
    tout.sum().backward()
    gout.sum().backward()
    np.testing.assert_allclose(to_np(gm.weight.grad), tm.weight.grad.numpy(), atol=1e-10)
    assert repr(gm) == repr(tm)


def test_module_init_and_from_pretrained(device):
    gm = nn.EmbeddingBag(5, 3, padding_idx=-2, device=device, dtype=gpuarr.float64)
    assert gm.padding_idx == 3 and gm.weight.dtype == gpuarr.float64
    assert (to_np(gm.weight)[3] == 0).all() and (to_np(gm.weight)[0] != 0).all()
    tm = torch.nn.EmbeddingBag(5, 3, padding_idx=-2, max_norm=1.0, norm_type=3.0,
                               scale_grad_by_freq=True)
    gm = nn.EmbeddingBag(5, 3, padding_idx=-2, max_norm=1.0, norm_type=3.0,
                         scale_grad_by_freq=True)
    assert repr(gm) == repr(tm)
    w = rnd(4, 2)
    for freeze in (True, False):
        gm = nn.EmbeddingBag.from_pretrained(gpuarr.tensor(w, device=device), freeze=freeze,
                                             mode="max")
        tm = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=freeze, mode="max")
        assert gm.weight.requires_grad == tm.weight.requires_grad == (not freeze)
        assert repr(gm) == repr(tm)
        idx = np.array([[0, 3], [2, 1]])
        np.testing.assert_allclose(to_np(gm(gpuarr.tensor(idx, device=device))),
                                   tm(torch.tensor(idx)).detach().numpy())
    with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(5, 3, padding_idx=5)
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        nn.EmbeddingBag.from_pretrained(gpuarr.ones(3))
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.EmbeddingBag(5, 3, _weight=gpuarr.ones(3, 5))


L = np.array([0, 1, 2, 3])
O = np.array([0, 2])
W = rnd(5, 3).astype(np.float32)
ERROR_CASES = [
    ("off0", L, np.array([1, 2]), {}),
    ("offbig", L, np.array([0, 5]), {}),
    ("offbig_last", L, np.array([0, 2, 5]), dict(include_last_offset=True)),
    ("negoff", L, np.array([0, -1]), {}),
    ("idx_oob", np.array([0, 5]), np.array([0]), {}),
    ("idx_neg", np.array([0, -1]), np.array([0]), {}),
    ("idx_oob_max", np.array([0, 5]), np.array([0]), dict(mode="max")),
    ("off0_before_idx", np.array([9, 1, 2]), np.array([1, 2]), {}),
    ("float_input", L.astype(np.float32), O, {}),
    ("float_offsets", L, O.astype(np.float32), {}),
    ("uint8_input", L.astype(np.uint8), O.astype(np.uint8), {}),
    ("psw_max", L, O, dict(mode="max", per_sample_weights=np.ones(4, np.float32))),
    ("psw_mean", L, O, dict(mode="mean", per_sample_weights=np.ones(4, np.float32))),
    ("psw_shape", L, O, dict(mode="sum", per_sample_weights=np.ones(3, np.float32))),
    ("psw_dtype", L, O, dict(mode="sum", per_sample_weights=np.ones(4, np.float64))),
    ("bad_mode", L, O, dict(mode="min")),
    ("3d", L.reshape(1, 2, 2), None, {}),
    ("2d_offsets", L.reshape(2, 2), np.array([0]), {}),
    ("1d_no_offsets", L, None, {}),
    ("2d_offsets_arg", L, np.array([[0]]), {}),
    ("2d_zero_len", np.zeros((3, 0), np.int64), None, {}),
    ("last_offset_empty", L, np.zeros(0, np.int64), dict(include_last_offset=True)),
    ("pad_oob", L, O, dict(padding_idx=7)),
    ("pad_oob_neg", L, O, dict(padding_idx=-6)),
    ("max_sparse", L, O, dict(mode="max", sparse=True)),
    ("max_freq", L, O, dict(mode="max", scale_grad_by_freq=True)),
]


@pytest.mark.parametrize("name,idx,off,kw", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(device, name, idx, off, kw):
    tkw, gkw = dict(kw), dict(kw)
    if "per_sample_weights" in kw:
        tkw["per_sample_weights"] = torch.tensor(kw["per_sample_weights"])
        gkw["per_sample_weights"] = gpuarr.tensor(kw["per_sample_weights"], device=device)
    to = None if off is None else torch.tensor(off)
    go = None if off is None else gpuarr.tensor(off, device=device)
    with pytest.raises(Exception) as te:
        TF.embedding_bag(torch.tensor(idx), torch.tensor(W), to, **tkw)
    # torch appends the offending value's repr on a new line; class paths differ
    msg = str(te.value).split("\n")[0].split(" <class")[0].replace("torch.", "gpuarr.")
    with pytest.raises(te.type, match="^" + re.escape(msg)):
        F.embedding_bag(gpuarr.tensor(idx, device=device), gpuarr.tensor(W, device=device), go,
                        **gkw)


def test_decreasing_offsets(device):
    idx = gpuarr.tensor([0, 1, 2, 3], device=device)
    with pytest.raises(RuntimeError):
        TF.embedding_bag(torch.tensor([0, 1, 2, 3]), torch.tensor(W), torch.tensor([0, 3, 1]))
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F.embedding_bag(idx, gpuarr.tensor(W, device=device),
                        gpuarr.tensor([0, 3, 1], device=device))


def test_weight_dtype_error():
    with pytest.raises(RuntimeError, match="'weight' to have one of the following scalar types"):
        TF.embedding_bag(torch.tensor([0]), torch.ones(2, 2, dtype=torch.long),
                         torch.tensor([0]))
    with pytest.raises(RuntimeError, match="'weight' to have one of the following scalar types"):
        F.embedding_bag(gpuarr.tensor([0]), gpuarr.ones(2, 2, dtype=gpuarr.int64),
                        gpuarr.tensor([0]))
    with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
        F.embedding_bag(gpuarr.tensor([0]), gpuarr.ones(2), gpuarr.tensor([0]))


def test_half_dtype(device):
    w = rnd(5, 3).astype(np.float16)
    out = F.embedding_bag(gpuarr.tensor([0, 1, 4], device=device), gpuarr.tensor(w, device=device),
                          gpuarr.tensor([0, 1], device=device))
    tout = TF.embedding_bag(torch.tensor([0, 1, 4]), torch.tensor(w), torch.tensor([0, 1]))
    assert out.dtype == gpuarr.float16 and tout.dtype == TORCH_DT.get(None, torch.float16)
    np.testing.assert_allclose(to_np(out).astype(np.float32), tout.float().numpy(), atol=1e-3)
