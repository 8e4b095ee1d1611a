"""``nn.TransformerEncoderLayer`` / ``DecoderLayer`` / ``Encoder`` / ``Decoder`` /
``Transformer`` against PyTorch with torch's weights loaded: outputs, input and parameter
gradients, masks, norm_first, batch_first, activations; state-dict keys, dropout
train/eval semantics, the nested-tensor inference path, warnings and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from nn_helpers import TORCH_DT, check_close, load_from_torch, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn

DTYPES = [gpuarr.float32, gpuarr.float64]
NP = {gpuarr.float32: np.float32, gpuarr.float64: np.float64}
D, H, FF = 8, 2, 16


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def causal(n):
    return np.triu(np.full((n, n), -np.inf), 1)


def kpm(n, s, seed=5):
    m = np.random.default_rng(seed).random((n, s)) > 0.6
    m[:, 0] = False
    return m


def _act(lib, name):
    if name in ("relu", "gelu"):
        return name
    if name == "fn_silu":
        return lib.nn.functional.silu
    return lib.nn.GELU(approximate="tanh")


def _build(cls_name, dtype, device, *args, **kw):
    act = kw.pop("activation", None)
    torch.manual_seed(0)
    tk, gk = dict(kw), dict(kw)
    if act is not None:
        tk["activation"], gk["activation"] = _act(torch, act), _act(gpuarr, act)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # enable_nested_tensor notes
        tm = getattr(torch.nn, cls_name)(*args, **tk).to(TORCH_DT[dtype])
        gm = getattr(nn, cls_name)(*args, **gk).to(device=device, dtype=dtype)
    assert list(gm.state_dict()) == list(tm.state_dict())
    load_from_torch(gm, tm, device)
    return gm, tm


def _compare(gm, tm, device, dtype, inputs, masks, call, grads=True):
    """Run ``call(module, inputs, masks)`` on both sides; compare the output, the gradients of
    the float inputs and of every parameter."""
    tin = {k: torch.tensor(v.astype(NP[dtype]), requires_grad=grads) for k, v in inputs.items()}
    gin = {k: gpuarr.tensor(v.astype(NP[dtype]), device=device, requires_grad=grads)
           for k, v in inputs.items()}
    tms, gms = {}, {}
    for k, v in masks.items():
        if v.dtype.kind == "f":
            v = v.astype(NP[dtype])
        tms[k], gms[k] = torch.tensor(v), gpuarr.tensor(v, device=device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Support for mismatched")  # both libraries warn
        tout = call(tm, tin, tms)
        gout = call(gm, gin, gms)
    assert gout.shape == tout.shape and gout.dtype == dtype
    check_close(to_np(gout), tout.detach().numpy(), dtype, "output", scale=10)
    if not grads:
        return gout, tout
    w = rnd(*tout.shape, seed=11).astype(NP[dtype])
    (tout * torch.tensor(w)).sum().backward()
    (gout * gpuarr.tensor(w, device=device)).sum().backward()
    for k in inputs:
        check_close(to_np(gin[k].grad), tin[k].grad.numpy(), dtype, f"grad of {k}", scale=10)
    tp = dict(tm.named_parameters())
    for n, p in gm.named_parameters():
        check_close(to_np(p.grad), tp[n].grad.numpy(), dtype, f"grad of {n}", scale=10)
    return gout, tout


ENC_CASES = [
    ("post_norm", dict(), dict()),
    ("pre_norm_gelu", dict(norm_first=True, activation="gelu"), dict()),
    ("batch_first_causal", dict(batch_first=True), dict(mask="causal", is_causal=True)),
    ("causal_mask_no_hint", dict(), dict(mask="causal")),
    ("bool_mask", dict(norm_first=True), dict(mask="bool")),
    ("kpm", dict(batch_first=True, activation="fn_silu"), dict(kpm=True)),
    ("kpm_and_mask", dict(activation="gelu_module"), dict(kpm=True, mask="causal")),
    ("no_bias", dict(bias=False, norm_first=True), dict(mask="causal", is_causal=True)),
    ("unbatched", dict(batch_first=True), dict(unbatched=True, mask="causal")),
]


def _src_masks(c, L, N):
    masks = {}
    if c.get("mask") == "causal":
        masks["src_mask"] = causal(L)
    elif c.get("mask") == "bool":
        m = np.random.default_rng(3).random((L, L)) > 0.6
        np.fill_diagonal(m, False)
        masks["src_mask"] = m
    if c.get("kpm"):
        masks["src_key_padding_mask"] = kpm(N, L)
    return masks


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ctor,c", ENC_CASES, ids=[x[0] for x in ENC_CASES])
def test_encoder_layer_matches_torch(device, dtype, name, ctor, c):
    gm, tm = _build("TransformerEncoderLayer", dtype, device, D, H, FF, dropout=0.0, **ctor)
    L, N = 5, 3
    bf = ctor.get("batch_first", False)
    shape = (L, D) if c.get("unbatched") else ((N, L, D) if bf else (L, N, D))
    masks = _src_masks(c, L, N)

    def call(m, ins, ms):
        return m(ins["src"], is_causal=c.get("is_causal", False), **ms)

    _compare(gm, tm, device, dtype, {"src": rnd(*shape)}, masks, call)


DEC_CASES = [
    ("post_norm", dict(), dict()),
    ("pre_norm_bf", dict(norm_first=True, batch_first=True), dict(tgt_mask=True, hint=True)),
    ("all_masks", dict(activation="gelu"), dict(tgt_mask=True, tgt_kpm=True, mem_kpm=True,
                                                mem_mask=True)),
    ("no_bias", dict(bias=False), dict(tgt_mask=True)),
]


def _dec_masks(c, T, S, N):
    masks = {}
    if c.get("tgt_mask"):
        masks["tgt_mask"] = causal(T)
    if c.get("mem_mask"):
        masks["memory_mask"] = rnd(T, S, seed=6)
    if c.get("tgt_kpm"):
        masks["tgt_key_padding_mask"] = kpm(N, T, seed=7)
    if c.get("mem_kpm"):
        masks["memory_key_padding_mask"] = kpm(N, S, seed=8)
    return masks


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ctor,c", DEC_CASES, ids=[x[0] for x in DEC_CASES])
def test_decoder_layer_matches_torch(device, dtype, name, ctor, c):
    gm, tm = _build("TransformerDecoderLayer", dtype, device, D, H, FF, dropout=0.0, **ctor)
    T, S, N = 4, 6, 2
    bf = ctor.get("batch_first", False)
    tshape, mshape = ((N, T, D), (N, S, D)) if bf else ((T, N, D), (S, N, D))
    masks = _dec_masks(c, T, S, N)

    def call(m, ins, ms):
        return m(ins["tgt"], ins["memory"], tgt_is_causal=c.get("hint", False), **ms)

    _compare(gm, tm, device, dtype, {"tgt": rnd(*tshape), "memory": rnd(*mshape, seed=1)},
             masks, call)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_decoder_stacks_match_torch(device, dtype, norm_first):
    """Stacks (deep-copied layers, optional final norm, causal-mask detection)."""
    torch.manual_seed(0)
    kw = dict(dropout=0.0, norm_first=norm_first, batch_first=True)
    tl = torch.nn.TransformerEncoderLayer(D, H, FF, **kw)
    gl = nn.TransformerEncoderLayer(D, H, FF, **kw)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(D),
                                     enable_nested_tensor=False).to(TORCH_DT[dtype])
    gm = nn.TransformerEncoder(gl, 2, norm=nn.LayerNorm(D),
                               enable_nested_tensor=False).to(device=device, dtype=dtype)
    assert list(gm.state_dict()) == list(tm.state_dict())
    load_from_torch(gm, tm, device)
    masks = {"mask": causal(5), "src_key_padding_mask": kpm(2, 5)}
    _compare(gm, tm, device, dtype, {"src": rnd(2, 5, D)}, masks,
             lambda m, ins, ms: m(ins["src"], **ms))

    tdl = torch.nn.TransformerDecoderLayer(D, H, FF, **kw)
    gdl = nn.TransformerDecoderLayer(D, H, FF, **kw)
    tdm = torch.nn.TransformerDecoder(tdl, 2).to(TORCH_DT[dtype])
    gdm = nn.TransformerDecoder(gdl, 2).to(device=device, dtype=dtype)
    load_from_torch(gdm, tdm, device)
    masks = {"tgt_mask": causal(4), "memory_key_padding_mask": kpm(2, 5)}
    _compare(gdm, tdm, device, dtype, {"tgt": rnd(2, 4, D), "memory": rnd(2, 5, D, seed=1)},
             masks, lambda m, ins, ms: m(ins["tgt"], ins["memory"], **ms))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_matches_torch(device, dtype):
    gm, tm = _build("Transformer", dtype, device, d_model=D, nhead=H, num_encoder_layers=2,
                    num_decoder_layers=2, dim_feedforward=FF, dropout=0.0)
    S, T, N = 6, 4, 2
    masks = {"tgt_mask": causal(T), "src_key_padding_mask": kpm(N, S),
             "memory_key_padding_mask": kpm(N, S)}
    _compare(gm, tm, device, dtype, {"src": rnd(S, N, D), "tgt": rnd(T, N, D, seed=1)}, masks,
             lambda m, ins, ms: m(ins["src"], ins["tgt"], **ms))


def test_transformer_state_dict_keys_equal_torch():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tm = torch.nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2,
                                  num_decoder_layers=1, dim_feedforward=32)
        gm = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                            dim_feedforward=32)
    tsd, gsd = tm.state_dict(), gm.state_dict()
    assert list(gsd) == list(tsd)
    assert "encoder.layers.0.self_attn.in_proj_weight" in gsd
    assert "decoder.layers.0.multihead_attn.out_proj.weight" in gsd
    for k in tsd:
        assert tuple(gsd[k].shape) == tuple(tsd[k].shape), k
    # xavier_uniform_ on every matrix (torch's _reset_parameters)
    w = to_np(gm.encoder.layers[0].linear1.weight)
    bound = np.sqrt(6.0 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    # the stacked layers are copies, not the same module
    assert gm.encoder.layers[0] is not gm.encoder.layers[1]
    assert gm.encoder.layers[0].linear1.weight is not gm.encoder.layers[1].linear1.weight


@pytest.mark.parametrize("sz,dtype", [(1, None), (4, None), (3, gpuarr.float64)])
def test_generate_square_subsequent_mask(sz, dtype):
    tdt = None if dtype is None else TORCH_DT[dtype]
    t = torch.nn.Transformer.generate_square_subsequent_mask(sz, dtype=tdt)
    g = nn.Transformer.generate_square_subsequent_mask(sz, dtype=dtype)
    assert g.dtype == (dtype or gpuarr.float32)
    np.testing.assert_array_equal(to_np(g), t.numpy())


def test_dropout_train_eval(device):
    """Training mode drops (two calls differ); eval mode is deterministic and equals torch."""
    gm, tm = _build("TransformerEncoderLayer", gpuarr.float64, device, D, H, FF, dropout=0.3,
                    batch_first=True)
    x = rnd(2, 5, D)
    gx = gpuarr.tensor(x, device=device)
    a, b = gm(gx), gm(gx)
    assert not np.allclose(to_np(a), to_np(b))
    gm.eval()
    tm.eval()
    c, d = gm(gx), gm(gx)
    assert np.array_equal(to_np(c), to_np(d))
    with torch.no_grad():
        ref = tm(torch.tensor(x))
    check_close(to_np(c), ref.numpy(), gpuarr.float64, scale=10)


def test_nested_tensor_inference_path(device):
    """Where torch converts to nested tensors (eval, no grad, left-aligned padding mask), the
    padded positions of the encoder output are zero; elsewhere the values match torch."""
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.1, batch_first=True)
    gl = nn.TransformerEncoderLayer(D, H, FF, dropout=0.1, batch_first=True)
    tm = torch.nn.TransformerEncoder(tl, 2).double().eval()
    gm = nn.TransformerEncoder(gl, 2).to(device=device, dtype=gpuarr.float64).eval()
    assert tm.use_nested_tensor and gm.use_nested_tensor
    load_from_torch(gm, tm, device)
    x = rnd(3, 6, D)
    pad = np.zeros((3, 6), bool)
    pad[0, 4:] = True
    pad[2, 2:] = True
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The PyTorch API of nested tensors")
        ref = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).numpy()
    with gpuarr.no_grad():
        out = to_np(gm(gpuarr.tensor(x, device=device),
                       src_key_padding_mask=gpuarr.tensor(pad, device=device)))
    assert np.all(out[pad] == 0) and np.all(ref[pad] == 0)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    # not left-aligned: no nested path in either library, padded positions are not zeroed
    pad2 = np.zeros((3, 6), bool)
    pad2[1, 1] = True
    with torch.no_grad():
        ref2 = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(pad2)).numpy()
    with gpuarr.no_grad():
        out2 = to_np(gm(gpuarr.tensor(x, device=device),
                        src_key_padding_mask=gpuarr.tensor(pad2, device=device)))
    assert not np.all(out2[pad2] == 0)
    np.testing.assert_allclose(out2, ref2, rtol=1e-10, atol=1e-10)
    # with grad enabled and parameters requiring grad: the regular path
    ref3 = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).detach().numpy()
    out3 = to_np(gm(gpuarr.tensor(x, device=device),
                    src_key_padding_mask=gpuarr.tensor(pad, device=device)))
    assert not np.all(out3[pad] == 0)
    np.testing.assert_allclose(out3, ref3, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, norm_first=True),
                                dict(batch_first=True, activation=F.silu)])
def test_enable_nested_tensor_warning_matches_torch(kw):
    tkw = dict(kw)
    if "activation" in tkw:
        tkw["activation"] = torch.nn.functional.silu
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, **tkw), 1)
    with warnings.catch_warnings(record=True) as gw:
        warnings.simplefilter("always")
        gm = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, **kw), 1)
    assert [str(w.message) for w in gw] == [str(w.message) for w in tw if
                                            "nested" in str(w.message)]
    assert gm.use_nested_tensor == tm.use_nested_tensor


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared below
        return type(e), str(e)
    return None


ERRORS = [
    ("bad_activation", lambda lib: lib.nn.TransformerEncoderLayer(D, H, activation="tanh")),
    ("batch_mismatch", lambda lib: lib.nn.Transformer(D, H, 1, 1, FF)(
        lib.zeros(3, 2, D), lib.zeros(3, 4, D))),
    ("batch_mismatch_bf", lambda lib: lib.nn.Transformer(D, H, 1, 1, FF, batch_first=True)(
        lib.zeros(2, 3, D), lib.zeros(4, 3, D))),
    ("feature_mismatch", lambda lib: lib.nn.Transformer(D, H, 1, 1, FF)(
        lib.zeros(3, 2, D), lib.zeros(3, 2, D + 2))),
    ("mask_type", lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        lib.zeros(3, 2, D), src_mask=lib.zeros(3, 3, dtype=lib.int64))),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        te, ge = _err(lambda: fn(torch)), _err(lambda: fn(gpuarr))
    assert te is not None and ge == te


def test_float16_encoder_layer_runs(device):
    """float16 end to end (the attention computes in float32 inside)."""
    torch.manual_seed(0)
    gm = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    gm.to(device=device, dtype=gpuarr.float16)
    x = gpuarr.randn(2, 5, D, device=device, dtype=gpuarr.float16, requires_grad=True)
    out = gm(x, src_mask=nn.Transformer.generate_square_subsequent_mask(5, device=device,
                                                                        dtype=gpuarr.float16),
             is_causal=True)
    assert out.dtype == gpuarr.float16 and np.isfinite(to_np(out)).all()
    out.float().sum().backward()
    assert x.grad.dtype == gpuarr.float16 and np.isfinite(to_np(x.grad)).all()
