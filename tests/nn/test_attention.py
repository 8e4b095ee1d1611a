"""``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward`` and
``nn.MultiheadAttention`` against PyTorch: outputs, attention weights and the gradients of
every input and parameter (torch's weights copied in through ``load_state_dict``), masks of
every kind, grouped-query attention, dropout semantics, float64 gradchecks, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from device_helpers import resolved
from nn_helpers import TORCH_DT, check_close, load_from_torch, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

DTYPES = [gpuarr.float32, gpuarr.float64]
NP = {gpuarr.float32: np.float32, gpuarr.float64: np.float64}


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(a, device, dtype=None, rg=True):
    """The same array as a torch tensor and a gpuarr tensor (float arrays in ``dtype``)."""
    a = np.asarray(a)
    if a.dtype.kind == "f" and dtype is not None:
        a = a.astype(NP[dtype])
    rg = rg and a.dtype.kind == "f"
    return (torch.tensor(a, requires_grad=rg),
            gpuarr.tensor(a, device=device, requires_grad=rg))


def close(g, t, dtype, msg="", scale=1.0):
    check_close(to_np(g), t.detach().numpy(), dtype, msg, scale)


def backward_both(gout, tout, device, dtype, seed=1):
    w = rnd(*tout.shape, seed=seed).astype(NP[dtype])
    (tout * torch.tensor(w)).sum().backward()
    (gout * gpuarr.tensor(w, device=device)).sum().backward()


# --------------------------------------------------------------------------------------------
# scaled_dot_product_attention


def _bool_mask(shape, seed=3, full_row=None):
    m = np.random.default_rng(seed).random(shape) > 0.35
    m[..., 0] = True  # keep every row attending somewhere unless asked otherwise
    if full_row is not None:
        m[..., full_row, :] = False
    return m


SDPA_CASES = [
    ("plain", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}),
    ("causal", (2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8), dict(is_causal=True)),
    ("causal_L>S", (2, 6, 8), (2, 4, 8), (2, 4, 3), dict(is_causal=True)),
    ("causal_L<S", (2, 3, 8), (2, 6, 8), (2, 6, 3), dict(is_causal=True)),
    ("scale", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), dict(scale=0.37)),
    ("bool_mask", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), dict(attn_mask=("bool", (4, 5)))),
    ("bool_mask_bcast", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6),
     dict(attn_mask=("bool", (2, 1, 4, 5)))),
    ("float_mask", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6),
     dict(attn_mask=("float", (3, 4, 5)))),
    ("float_mask_rowbcast", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6),
     dict(attn_mask=("float", (2, 1, 1, 5)))),
    ("unbatched", (4, 8), (5, 8), (5, 6), {}),
    ("batch_bcast", (1, 3, 4, 8), (2, 1, 5, 8), (2, 3, 5, 6), {}),
    ("gqa", (2, 6, 4, 8), (2, 2, 5, 8), (2, 2, 5, 6), dict(enable_gqa=True)),
    ("gqa_causal_mask", (2, 6, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8),
     dict(enable_gqa=True, attn_mask=("float", (6, 5, 5)))),
    ("gqa_kv_differ", (2, 6, 4, 8), (2, 2, 5, 8), (2, 3, 5, 6), dict(enable_gqa=True)),
    ("gqa_3d", (6, 4, 8), (2, 5, 8), (2, 5, 8), dict(enable_gqa=True, is_causal=True)),
    ("empty_L", (2, 0, 8), (2, 5, 8), (2, 5, 3), {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,qs,ks,vs,kw", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_torch(device, dtype, name, qs, ks, vs, kw):
    tq, gq = pair(rnd(*qs), device, dtype)
    tk, gk = pair(rnd(*ks, seed=1), device, dtype)
    tv, gv = pair(rnd(*vs, seed=2), device, dtype)
    kw = dict(kw)
    tm = gm = None
    if "attn_mask" in kw:
        kind, shape = kw.pop("attn_mask")
        arr = _bool_mask(shape) if kind == "bool" else rnd(*shape, seed=4)
        tm, gm = pair(arr, device, dtype)
    tout = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    gout = F.scaled_dot_product_attention(gq, gk, gv, attn_mask=gm, **kw)
    assert gout.shape == tout.shape and gout.dtype == dtype
    assert gout.device == resolved(device)
    close(gout, tout, dtype, "output")
    if tout.numel() == 0:
        return
    backward_both(gout, tout, device, dtype)
    for g, t, n in ((gq, tq, "query"), (gk, tk, "key"), (gv, tv, "value"), (gm, tm, "mask")):
        if t is not None and t.requires_grad:
            close(g.grad, t.grad, dtype, f"grad of {n}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sdpa_fully_masked_rows_are_zero(device, dtype):
    """A query row whose keys are all masked out gives 0 (output and gradients), as torch."""
    tq, gq = pair(rnd(2, 4, 8), device, dtype)
    tk, gk = pair(rnd(2, 5, 8, seed=1), device, dtype)
    tv, gv = pair(rnd(2, 5, 6, seed=2), device, dtype)
    m = _bool_mask((2, 4, 5), full_row=1)
    for mask in (m, np.where(m, 0.0, -np.inf)):
        for t in (tq, tk, tv, gq, gk, gv):
            t.grad = None
        tm, gm = pair(mask, device, dtype, rg=False)
        tout = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm)
        gout = F.scaled_dot_product_attention(gq, gk, gv, attn_mask=gm)
        assert np.all(to_np(gout)[:, 1] == 0)
        close(gout, tout, dtype)
        backward_both(gout, tout, device, dtype)
        assert np.isfinite(to_np(gq.grad)).all()
        for g, t in ((gq, tq), (gk, tk), (gv, tv)):
            close(g.grad, t.grad, dtype)


def test_sdpa_output_may_be_edited_in_place(device):
    """The output is not saved for backward (as in torch's math kernel), so an in-place edit
    before backward is legal and the gradients stay right."""
    tq, gq = pair(rnd(2, 4, 8), device, gpuarr.float64)
    tk, gk = pair(rnd(2, 5, 8, seed=1), device, gpuarr.float64)
    tv, gv = pair(rnd(2, 5, 6, seed=2), device, gpuarr.float64)
    tm, gm = pair(_bool_mask((4, 5)), device, rg=False)
    tout = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm).mul_(3.0)
    gout = F.scaled_dot_product_attention(gq, gk, gv, attn_mask=gm).mul_(3.0)
    backward_both(gout, tout, device, gpuarr.float64)
    for g, t in ((gq, tq), (gk, tk), (gv, tv)):
        close(g.grad, t.grad, gpuarr.float64)


def test_sdpa_float16(device):
    """float16 inputs compute in float32 and return float16, close to torch's."""
    tq, gq = pair(rnd(2, 3, 6, 8).astype(np.float16), device)
    tk, gk = pair(rnd(2, 3, 6, 8, seed=1).astype(np.float16), device)
    tv, gv = pair(rnd(2, 3, 6, 4, seed=2).astype(np.float16), device)
    tout = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    gout = F.scaled_dot_product_attention(gq, gk, gv, is_causal=True)
    assert gout.dtype == gpuarr.float16
    np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), rtol=2e-3, atol=2e-3)
    w = rnd(2, 3, 6, 4, seed=5).astype(np.float16)
    (tout.float() * torch.tensor(w).float()).sum().backward()
    (gout.float() * gpuarr.tensor(w, device=device).float()).sum().backward()
    assert gq.grad.dtype == gpuarr.float16
    for g, t in ((gq, tq), (gk, tk), (gv, tv)):
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-2, atol=1e-2)


def test_sdpa_gradcheck_float64(device):
    q = gpuarr.tensor(rnd(2, 3, 4), device=device, requires_grad=True)
    k = gpuarr.tensor(rnd(2, 5, 4, seed=1), device=device, requires_grad=True)
    v = gpuarr.tensor(rnd(2, 5, 3, seed=2), device=device, requires_grad=True)
    m = gpuarr.tensor(rnd(3, 5, seed=3), device=device, requires_grad=True)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                     (q, k, v))
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m,
                                                                       scale=0.7), (q, k, v, m))
    # second derivatives (create_graph=True recomputes with differentiable ops)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                         (q, k, v))


def test_sdpa_dropout_gradcheck(device):
    """With the generator reseeded before each call the dropout mask is fixed, so the
    dropped-out attention is a plain function: its gradients must be exact."""
    q = gpuarr.tensor(rnd(2, 3, 4), device=device, requires_grad=True)
    k = gpuarr.tensor(rnd(2, 5, 4, seed=1), device=device, requires_grad=True)
    v = gpuarr.tensor(rnd(2, 5, 3, seed=2), device=device, requires_grad=True)

    def fn(q, k, v):
        gpuarr.manual_seed(7)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4, is_causal=True)

    assert gradcheck(fn, (q, k, v))
    assert gradgradcheck(fn, (q, k, v))


def test_sdpa_dropout_semantics(device):
    """dropout_p zeroes attention weights with probability p and scales the rest by 1/(1-p);
    it is applied whenever p > 0 (the caller passes 0.0 in eval, as with torch)."""
    L, S, p = 64, 50, 0.3
    q = gpuarr.zeros(4, L, 8, device=device)  # uniform weights 1/S
    k = gpuarr.randn(4, S, 8, device=device)
    v = gpuarr.ones(4, S, 1, device=device)
    out = to_np(F.scaled_dot_product_attention(q, k, v, dropout_p=p))[..., 0]
    # each output = (number of kept keys) / (S * (1 - p))
    kept = out * S * (1 - p)
    np.testing.assert_allclose(kept, np.round(kept), atol=1e-4)
    assert abs(kept.mean() / S - (1 - p)) < 0.03
    base = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    np.testing.assert_allclose(to_np(base), 1.0, rtol=1e-6)
    assert np.all(to_np(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)) == 0)
    gpuarr.manual_seed(5)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    gpuarr.manual_seed(5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    assert np.array_equal(to_np(a), to_np(b))


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared below
        return type(e), str(e)
    return None


SDPA_ERRORS = [
    ("mask_and_causal", lambda m, q, k, v: m.scaled_dot_product_attention(
        q, k, v, attn_mask=m.ones(4, 5, dtype=m.bool), is_causal=True)),
    ("dtype_mismatch", lambda m, q, k, v: m.scaled_dot_product_attention(q, k.double(), v)),
    ("embed_mismatch", lambda m, q, k, v: m.scaled_dot_product_attention(q, k[..., :7], v)),
    ("seq_mismatch", lambda m, q, k, v: m.scaled_dot_product_attention(q, k, v[..., :4, :])),
    ("1d", lambda m, q, k, v: m.scaled_dot_product_attention(q[0, 0, 0], k[0, 0, 0],
                                                              v[0, 0, 0])),
    ("int_mask", lambda m, q, k, v: m.scaled_dot_product_attention(
        q, k, v, attn_mask=m.ones(4, 5, dtype=m.int64))),
    ("double_mask", lambda m, q, k, v: m.scaled_dot_product_attention(
        q, k, v, attn_mask=m.ones(4, 5, dtype=m.float64))),
    ("mask_shape", lambda m, q, k, v: m.scaled_dot_product_attention(q, k, v,
                                                                      attn_mask=m.ones(3, 5))),
    ("mask_1d", lambda m, q, k, v: m.scaled_dot_product_attention(q, k, v,
                                                                   attn_mask=m.ones(5))),
    ("mask_grows_output", lambda m, q, k, v: m.scaled_dot_product_attention(
        q, k, v, attn_mask=m.ones(3, 2, 3, 4, 5))),
    ("dropout", lambda m, q, k, v: m.scaled_dot_product_attention(q, k, v, dropout_p=1.5)),
    ("heads_no_gqa", lambda m, q, k, v: m.scaled_dot_product_attention(q, k[:, :2], v[:, :2])),
    ("gqa_not_divisible", lambda m, q, k, v: m.scaled_dot_product_attention(
        q, k[:, :2], v[:, :2], enable_gqa=True)),
    ("gqa_2d", lambda m, q, k, v: m.scaled_dot_product_attention(q[0, 0], k[0, 0], v[0, 0],
                                                                  enable_gqa=True)),
    ("not_tensor", lambda m, q, k, v: m.scaled_dot_product_attention(np.ones((4, 8)), k, v)),
]


@pytest.mark.parametrize("name,fn", SDPA_ERRORS, ids=[c[0] for c in SDPA_ERRORS])
def test_sdpa_errors_match_torch(device, name, fn):
    # value's feature size differs from the query's: torch then runs its math kernel, whose
    # checks are the documented ones (its CPU flash kernel silently combines attn_mask with
    # is_causal instead of raising)
    a = [rnd(2, 3, 4, 8), rnd(2, 3, 5, 8, seed=1), rnd(2, 3, 5, 6, seed=2)]
    ta = [torch.tensor(x, dtype=torch.float32) for x in a]
    ga = [gpuarr.tensor(x, dtype=gpuarr.float32, device=device) for x in a]

    class TorchNS:
        scaled_dot_product_attention = staticmethod(TF.scaled_dot_product_attention)
        bool, int64, float64 = torch.bool, torch.int64, torch.float64

        @staticmethod
        def ones(*s, dtype=torch.float32):
            return torch.ones(*s, dtype=dtype)

    class GpuNS:
        scaled_dot_product_attention = staticmethod(F.scaled_dot_product_attention)
        bool, int64, float64 = gpuarr.bool, gpuarr.int64, gpuarr.float64

        @staticmethod
        def ones(*s, dtype=gpuarr.float32):
            return gpuarr.ones(*s, dtype=dtype, device=device)

    te = _err(lambda: fn(TorchNS, *ta))
    ge = _err(lambda: fn(GpuNS, *ga))
    assert te is not None and ge is not None, (te, ge)
    assert ge[0] is te[0]
    assert ge[1] == te[1]


# --------------------------------------------------------------------------------------------
# MultiheadAttention


def _mha_pair(device, dtype, E=8, H=2, **kw):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, **kw).to(TORCH_DT[dtype])
    gm = nn.MultiheadAttention(E, H, **kw).to(device=device, dtype=dtype)
    assert list(gm.state_dict()) == list(tm.state_dict())
    load_from_torch(gm, tm, device)
    return gm, tm


def _run_mha(gm, tm, device, dtype, *, L=4, S=5, N=2, mode="self", unbatched=False,
             masks=None, **fkw):
    """Forward both modules with the same inputs (``mode``: 'self' q is k is v, 'kv' k is v,
    'sep' three tensors), compare outputs, weights and every gradient."""
    E, bf = tm.embed_dim, tm.batch_first
    kd, vd = tm.kdim, tm.vdim

    def shape(n, e):
        if unbatched:
            return (n, e)
        return (N, n, e) if bf else (n, N, e)

    if mode == "self":
        S = L
    tq, gq = pair(rnd(*shape(L, E)), device, dtype)
    tk, gk = pair(rnd(*shape(S, kd), seed=1), device, dtype)
    tv, gv = pair(rnd(*shape(S, vd), seed=2), device, dtype)
    if mode == "self":
        targs, gargs = (tq, tq, tq), (gq, gq, gq)
    elif mode == "kv":
        targs, gargs = (tq, tk, tk), (gq, gk, gk)
    else:
        targs, gargs = (tq, tk, tv), (gq, gk, gv)
    tkw, gkw = dict(fkw), dict(fkw)
    for name, arr in (masks or {}).items():
        tkw[name], gkw[name] = pair(arr, device, dtype, rg=False)
    tout, tw = tm(*targs, **tkw)
    gout, gw = gm(*gargs, **gkw)
    assert gout.shape == tout.shape and gout.dtype == dtype
    close(gout, tout, dtype, "output")
    if tw is None:
        assert gw is None
    else:
        assert gw.shape == tw.shape
        assert np.array_equal(np.isnan(to_np(gw)), np.isnan(tw.detach().numpy()))
        close(gw, tw, dtype, "weights")
    w = rnd(*tout.shape, seed=9).astype(NP[dtype])
    tl = (tout * torch.tensor(w)).sum()
    gl = (gout * gpuarr.tensor(w, device=device)).sum()
    if tw is not None:  # the weights are differentiable too
        ww = rnd(*tw.shape, seed=10).astype(NP[dtype])
        tl = tl + (torch.nan_to_num(tw) * torch.tensor(ww)).sum()
        gl = gl + (gpuarr.nan_to_num(gw) * gpuarr.tensor(ww, device=device)).sum()
    tl.backward()
    gl.backward()
    for g, t, n in ((gq, tq, "query"), (gk, tk, "key"), (gv, tv, "value")):
        if t.grad is not None:
            close(g.grad, t.grad, dtype, f"grad of {n}")
    tp = dict(tm.named_parameters())
    for n, p in gm.named_parameters():
        close(p.grad, tp[n].grad, dtype, f"grad of {n}")
    return gout, gw


def _kpm(N, S, seed=5, full=None):
    m = np.random.default_rng(seed).random((N, S)) > 0.6
    m[:, 0] = False
    if full is not None:
        m[full] = True
    return m


MHA_CASES = [
    ("default", {}, dict()),
    ("batch_first", dict(batch_first=True), dict()),
    ("no_weights", dict(batch_first=True), dict(need_weights=False)),
    ("per_head_weights", {}, dict(mode="kv", average_attn_weights=False)),
    ("kdim_vdim", dict(kdim=3, vdim=6), dict(mode="sep")),
    ("kdim_vdim_bf_noweights", dict(kdim=3, vdim=6, batch_first=True),
     dict(mode="sep", need_weights=False)),
    ("bias_kv_zero_attn", dict(add_bias_kv=True, add_zero_attn=True, batch_first=True),
     dict(mode="kv")),
    ("bias_kv_noweights", dict(add_bias_kv=True), dict(mode="sep", need_weights=False)),
    ("no_bias", dict(bias=False), dict(mode="sep")),
    ("bool_attn_mask", {}, dict(mode="kv", masks=dict(attn_mask=_bool_mask((4, 5)) == 0))),
    ("bool_attn_mask_sdpa", {}, dict(mode="kv", need_weights=False,
                                     masks=dict(attn_mask=_bool_mask((4, 5)) == 0))),
    ("float_attn_mask_3d", {}, dict(mode="kv", masks=dict(attn_mask=rnd(4, 4, 5, seed=6)))),
    ("float_attn_mask_3d_sdpa", {}, dict(mode="kv", need_weights=False,
                                         masks=dict(attn_mask=rnd(4, 4, 5, seed=6)))),
    ("key_padding", {}, dict(mode="kv", masks=dict(key_padding_mask=_kpm(2, 5)))),
    ("key_padding_full_row", {}, dict(mode="kv", masks=dict(key_padding_mask=_kpm(2, 5, full=1)))),
    ("key_padding_full_row_sdpa", {}, dict(mode="kv", need_weights=False,
                                           masks=dict(key_padding_mask=_kpm(2, 5, full=1)))),
    ("float_kpm_and_mask", dict(batch_first=True), dict(
        mode="sep", need_weights=False,
        masks=dict(key_padding_mask=np.where(_kpm(2, 5), -np.inf, 0.0),
                   attn_mask=rnd(4, 5, seed=7)))),
    ("causal_hint", dict(batch_first=True), dict(
        need_weights=False, is_causal=True,
        masks=dict(attn_mask=np.triu(np.full((4, 4), -np.inf), 1)))),
    ("causal_hint_weights", dict(batch_first=True), dict(
        is_causal=True, masks=dict(attn_mask=np.triu(np.full((4, 4), -np.inf), 1)))),
    ("causal_hint_kpm", dict(batch_first=True), dict(
        need_weights=False, is_causal=True,
        masks=dict(attn_mask=np.triu(np.ones((4, 4), bool), 1), key_padding_mask=_kpm(2, 4)))),
    ("zero_attn_masks", dict(add_zero_attn=True), dict(
        mode="kv", masks=dict(attn_mask=_bool_mask((4, 5)) == 0, key_padding_mask=_kpm(2, 5)))),
    ("unbatched", dict(batch_first=True), dict(unbatched=True)),
    ("unbatched_kpm_3d_mask", {}, dict(
        unbatched=True, mode="kv", need_weights=False,
        masks=dict(key_padding_mask=_kpm(1, 5)[0], attn_mask=rnd(2, 4, 5, seed=8)))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ctor,call", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_mha_matches_torch(device, dtype, name, ctor, call):
    gm, tm = _mha_pair(device, dtype, **ctor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mixed mask types warn in both
        _run_mha(gm, tm, device, dtype, **call)


@pytest.mark.parametrize("kw", [{}, dict(kdim=3, vdim=5), dict(add_bias_kv=True, bias=False)])
def test_mha_state_dict_keys_and_shapes(kw):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(8, 2, **kw)
    gm = nn.MultiheadAttention(8, 2, **kw)
    tsd, gsd = tm.state_dict(), gm.state_dict()
    assert list(gsd) == list(tsd)
    for k in tsd:
        assert tuple(gsd[k].shape) == tuple(tsd[k].shape), k
    assert type(gm.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(gm.out_proj, nn.Linear)
    assert gm.head_dim == tm.head_dim and gm._qkv_same_embed_dim == tm._qkv_same_embed_dim


def test_mha_init_statistics():
    """xavier_uniform_ in-projection, zero biases, as torch."""
    gm = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = to_np(gm.in_proj_weight)
    bound = np.sqrt(6.0 / (64 + 3 * 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(to_np(gm.in_proj_bias) == 0) and np.all(to_np(gm.out_proj.bias) == 0)
    assert to_np(gm.bias_k).std() > 0


def test_mha_gradcheck_float64(device):
    gm = nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3, vdim=2).to(device=device,
                                                                        dtype=gpuarr.float64)
    q = gpuarr.tensor(rnd(3, 1, 4), device=device, requires_grad=True)
    k = gpuarr.tensor(rnd(2, 1, 3, seed=1), device=device, requires_grad=True)
    v = gpuarr.tensor(rnd(2, 1, 2, seed=2), device=device, requires_grad=True)
    assert gradcheck(lambda q, k, v: gm(q, k, v)[0], (q, k, v))
    params = [gm.q_proj_weight, gm.in_proj_bias, gm.bias_k, gm.out_proj.weight]

    def of_params(*ps):
        return F.multi_head_attention_forward(
            q.detach(), k.detach(), v.detach(), 4, 2, None, ps[1], ps[2], gm.bias_v, False, 0.0,
            ps[3], gm.out_proj.bias, training=False, use_separate_proj_weight=True,
            q_proj_weight=ps[0], k_proj_weight=gm.k_proj_weight,
            v_proj_weight=gm.v_proj_weight)
    ps = [gpuarr.tensor(to_np(p), device=device, requires_grad=True) for p in params]
    assert gradcheck(of_params, tuple(ps))


def test_mha_functional_matches_torch(device):
    """``F.multi_head_attention_forward`` called directly (seq-first), static_k/v included."""
    E, H, L, S, N = 8, 2, 4, 5, 2
    arr = dict(q=rnd(L, N, E), k=rnd(S, N, E, seed=1), w=rnd(3 * E, E, seed=2) * 0.3,
               b=rnd(3 * E, seed=3), ow=rnd(E, E, seed=4) * 0.3, ob=rnd(E, seed=5),
               sk=rnd(N * H, S, E // H, seed=6), sv=rnd(N * H, S, E // H, seed=7))
    t = {k: torch.tensor(v, requires_grad=True) for k, v in arr.items()}
    g = {k: gpuarr.tensor(v, device=device, requires_grad=True) for k, v in arr.items()}

    def call(F_, d):
        return F_.multi_head_attention_forward(
            d["q"], d["k"], d["k"], E, H, d["w"], d["b"], None, None, False, 0.0, d["ow"],
            d["ob"], training=False, static_k=d["sk"], static_v=d["sv"])

    to, tw = call(TF, t)
    go, gw = call(F, g)
    close(go, to, gpuarr.float64)
    close(gw, tw, gpuarr.float64)
    backward_both(go, to, device, gpuarr.float64)
    for k in ("q", "w", "b", "ow", "ob", "sk", "sv"):
        close(g[k].grad, t[k].grad, gpuarr.float64, k)


def test_mha_dropout_train_eval(device):
    """Dropout on the attention weights in training mode only: eval is deterministic and
    equals torch's eval output; training drops weights (zeros, the rest scaled)."""
    gm, tm = _mha_pair(device, gpuarr.float64, E=16, H=4, dropout=0.5, batch_first=True)
    x = rnd(2, 12, 16)
    gx = gpuarr.tensor(x, device=device)
    gm.eval()
    tm.eval()
    a, wa = gm(gx, gx, gx)
    b, _ = gm(gx, gx, gx)
    assert np.array_equal(to_np(a), to_np(b))
    tx = torch.tensor(x)
    close(a, tm(tx, tx, tx)[0], gpuarr.float64)
    gm.train()
    c, wc = gm(gx, gx, gx, average_attn_weights=False)
    d, _ = gm(gx, gx, gx)
    assert not np.allclose(to_np(c), to_np(a)) and not np.allclose(to_np(c), to_np(d))
    wc = to_np(wc)
    assert 0.3 < (wc == 0).mean() < 0.7
    wa_full = to_np(gm.eval()(gx, gx, gx, average_attn_weights=False)[1])
    kept = wc != 0
    np.testing.assert_allclose(wc[kept], 2.0 * wa_full[kept], rtol=1e-12)
    # need_weights=False takes the fused path: dropout there too
    gm.train()
    e, _ = gm(gx, gx, gx, need_weights=False)
    assert not np.allclose(to_np(e), to_np(a))


MHA_ERRORS = [
    ("not_divisible", lambda nn_: nn_.MultiheadAttention(10, 3)),
    ("zero_heads", lambda nn_: nn_.MultiheadAttention(8, 0)),
]


@pytest.mark.parametrize("name,fn", MHA_ERRORS, ids=[c[0] for c in MHA_ERRORS])
def test_mha_constructor_errors(name, fn):
    te, ge = _err(lambda: fn(torch.nn)), _err(lambda: fn(nn))
    assert te is not None and ge == te


def _forward_err(lib, device, call):
    torch.manual_seed(0)
    m = lib.nn.MultiheadAttention(8, 2)
    kw = {"device": device} if lib is gpuarr else {}
    if lib is gpuarr:
        m.to(device)
    x = lib.ones(4, 2, 8, **kw)
    return _err(lambda: call(lib, m, x, kw))


MHA_FORWARD_ERRORS = [
    ("causal_without_mask", lambda lib, m, x, kw: m(x, x, x, is_causal=True)),
    ("mask_2d_shape", lambda lib, m, x, kw: m(x, x, x, attn_mask=lib.zeros(3, 4, **kw))),
    ("mask_3d_shape", lambda lib, m, x, kw: m(x, x, x, attn_mask=lib.zeros(3, 4, 4, **kw))),
    ("mask_4d", lambda lib, m, x, kw: m(x, x, x, attn_mask=lib.zeros(1, 1, 4, 4, **kw))),
    ("int_mask", lambda lib, m, x, kw: m(x, x, x, attn_mask=lib.zeros(4, 4, dtype=lib.int64,
                                                                      **kw))),
    ("key_2d", lambda lib, m, x, kw: m(x, x[0], x[0])),
    ("query_4d", lambda lib, m, x, kw: m(x[None], x, x)),
    ("kpm_shape", lambda lib, m, x, kw: m(x, x, x, key_padding_mask=lib.zeros(
        2, 3, dtype=lib.bool, **kw))),
    ("embed_dim", lambda lib, m, x, kw: m(x[..., :6], x, x)),
    ("kv_shape", lambda lib, m, x, kw: m(x, x, x[:3])),
]


@pytest.mark.parametrize("name,call", MHA_FORWARD_ERRORS, ids=[c[0] for c in MHA_FORWARD_ERRORS])
def test_mha_forward_errors_match_torch(device, name, call):
    te = _forward_err(torch, "cpu", call)
    ge = _forward_err(gpuarr, device, call)
    assert te is not None and ge is not None, (te, ge)
    assert ge[0] is te[0]
    assert ge[1] == te[1].replace("torch.Size", "gpuarr.Size")
