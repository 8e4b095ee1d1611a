"""Every layer against PyTorch CPU with the same weights and inputs: outputs, input
gradients and parameter gradients, in float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import TORCH_DT, compare_module, load_from_torch, to_np

import gpuarr
from gpuarr import nn

DTYPES = [gpuarr.float32, gpuarr.float64]


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (7,), (0, 7)])
def test_linear(device, dtype, bias, shape):
    tm = torch.nn.Linear(7, 4, bias=bias)
    gm = nn.Linear(7, 4, bias=bias)
    compare_module(gm, tm, [rnd(*shape)], device, dtype)


CONV_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
    dict(groups=2, stride=2),
    dict(groups=4, padding=1, bias=False),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(1, 2), padding_mode="circular"),
    dict(padding="same", padding_mode="replicate"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CONV_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in
                                                                  k.items()) or "default")
def test_conv2d(device, dtype, kw):
    groups = kw.get("groups", 1)
    tm = torch.nn.Conv2d(4, 4 * (2 if groups != 4 else 1), 3, **kw)
    gm = nn.Conv2d(4, 4 * (2 if groups != 4 else 1), 3, **kw)
    compare_module(gm, tm, [rnd(2, 4, 7, 6)], device, dtype, scale=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_rect_kernel_unbatched(device, dtype):
    tm = torch.nn.Conv2d(3, 5, (2, 3), stride=(1, 2), padding=(1, 0))
    gm = nn.Conv2d(3, 5, (2, 3), stride=(1, 2), padding=(1, 0))
    compare_module(gm, tm, [rnd(3, 6, 7)], device, dtype, scale=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2, dilation=2),
                                dict(padding="same", groups=3)])
def test_conv1d(device, dtype, kw):
    tm = torch.nn.Conv1d(3, 6, 3, **kw)
    gm = nn.Conv1d(3, 6, 3, **kw)
    compare_module(gm, tm, [rnd(2, 3, 9)], device, dtype, scale=2.0)


POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", POOL_CASES, ids=str)
def test_maxpool2d(device, dtype, kw):
    compare_module(nn.MaxPool2d(**kw), torch.nn.MaxPool2d(**kw), [rnd(2, 3, 7, 6)], device,
                   dtype)


def test_maxpool2d_return_indices(device):
    x = rnd(2, 3, 7, 6)
    kw = dict(kernel_size=3, stride=2, padding=1, return_indices=True)
    out, idx = nn.MaxPool2d(**kw)(gpuarr.tensor(x, device=device))
    tout, tidx = torch.nn.MaxPool2d(**kw)(torch.tensor(x))
    np.testing.assert_array_equal(to_np(idx), tidx.numpy())
    np.testing.assert_allclose(to_np(out), tout.numpy())
    assert idx.dtype == gpuarr.int64


def test_maxpool_ties_and_integers(device):
    x = np.array([[[[1, 1], [1, 1]]]], dtype=np.float32)
    g = gpuarr.tensor(x, device=device, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    nn.functional.max_pool2d(g, 2).sum().backward()
    torch.nn.functional.max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(to_np(g.grad), t.grad.numpy())
    xi = np.arange(16).reshape(1, 1, 4, 4)
    out = nn.functional.max_pool2d(gpuarr.tensor(xi, device=device), 2, padding=1)
    ref = torch.nn.functional.max_pool2d(torch.tensor(xi), 2, padding=1)
    np.testing.assert_array_equal(to_np(out), ref.numpy())
    assert out.dtype == gpuarr.int64


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True, padding=1),
    dict(kernel_size=(2, 3), stride=1, divisor_override=5),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVG_CASES, ids=str)
def test_avgpool2d(device, dtype, kw):
    compare_module(nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw), [rnd(2, 3, 7, 6)], device,
                   dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, (3, 2), (5, 4), (None, 3)])
def test_adaptive_avgpool2d(device, dtype, size):
    compare_module(nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size),
                   [rnd(2, 3, 7, 6)], device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool1d(device, dtype):
    x = [rnd(2, 3, 9)]
    compare_module(nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), x, device, dtype)
    compare_module(nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1), x, device, dtype)
    compare_module(nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), x, device, dtype)


ACTS = [
    ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.7}),
    ("SELU", {}), ("CELU", {"alpha": 1.5}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}), ("Mish", {}), ("Softplus", {"beta": 2.0, "threshold": 3.0}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 0.7}), ("Hardsigmoid", {}), ("Hardswish", {}),
    ("Sigmoid", {}), ("Tanh", {}), ("LogSigmoid", {}), ("Softsign", {}), ("Tanhshrink", {}),
    ("Softmax", {"dim": 1}), ("Softmin", {"dim": -1}), ("LogSoftmax", {"dim": 0}),
    ("GLU", {"dim": 1}), ("PReLU", {}), ("PReLU", {"num_parameters": 4}),
    ("Threshold", {"threshold": 0.1, "value": -2.0}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", ACTS, ids=lambda v: str(v))
def test_activations(device, dtype, name, kw):
    x = rnd(3, 4, 5) * 3
    # torch's hardsigmoid/hardswish kernels use the float constant 1.0f / 6.0f even in float64
    scale = 1e3 if name in ("Hardsigmoid", "Hardswish") and dtype == gpuarr.float64 else 1.0
    compare_module(getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw), [x], device, dtype,
                   scale=scale)


def test_inplace_activations(device):
    for name in ["ReLU", "LeakyReLU", "SiLU", "ELU", "Hardtanh", "ReLU6"]:
        x = rnd(4, 3)
        g = gpuarr.tensor(x, device=device)
        out = getattr(nn, name)(inplace=True)(g)
        ref = getattr(torch.nn, name)()(torch.tensor(x))
        assert out is g
        np.testing.assert_allclose(to_np(g), ref.numpy(), rtol=1e-12, atol=1e-12)


def test_log_softmax_large_logits(device):
    x = gpuarr.tensor([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]], device=device, dtype=gpuarr.float32)
    out = nn.LogSoftmax(dim=1)(x)
    ref = torch.nn.LogSoftmax(dim=1)(torch.tensor(to_np(x)))
    assert np.isfinite(to_np(out)).all()
    np.testing.assert_allclose(to_np(out), ref.numpy(), rtol=1e-6)
    sm = nn.Softmax(dim=1)(x)
    np.testing.assert_allclose(to_np(sm), torch.softmax(torch.tensor(to_np(x)), 1).numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (5, 4, 3)),
                                       ("BatchNorm2d", (3, 4, 5, 2))])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"momentum": None},
                                {"track_running_stats": False}, {"bias": False}],
                         ids=str)
def test_batchnorm_train_then_eval(device, dtype, cls, shape, kw):
    tm = getattr(torch.nn, cls)(4, **kw)
    gm = getattr(nn, cls)(4, **kw)
    for step in range(3):  # running stats follow torch's over several steps
        compare_module(gm, tm, [rnd(*shape, seed=step) * 2 + 1], device, dtype, scale=2.0)
    for name, buf in tm.named_buffers():
        ref = buf.numpy()
        np.testing.assert_allclose(to_np(gm.get_buffer(name)), ref, rtol=1e-5, atol=1e-6)
    tm.eval()
    gm.eval()
    compare_module(gm, tm, [rnd(*shape, seed=9)], device, dtype, scale=2.0)


def test_batchnorm_errors(device):
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(gpuarr.zeros(2, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(gpuarr.zeros(2, 3, 1, 1))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(gpuarr.zeros(1, 3))
    # eval mode accepts a single sample
    assert nn.BatchNorm1d(3).eval()(gpuarr.zeros(1, 3)).shape == (1, 3)


def test_batchnorm_num_batches_tracked_dtype(device):
    bn = nn.BatchNorm1d(3).to(device=device, dtype=gpuarr.float64)
    bn(gpuarr.randn(4, 3, dtype=gpuarr.float64, device=device))
    assert bn.num_batches_tracked.dtype == gpuarr.int64
    assert bn.num_batches_tracked.item() == 1
    assert bn.running_mean.dtype == gpuarr.float64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ns,kw", [((5,), {}), ((4, 5), {}), ((5,), {"bias": False}),
                                   ((5,), {"elementwise_affine": False})], ids=str)
def test_layernorm(device, dtype, ns, kw):
    tm = torch.nn.LayerNorm(ns, **kw)
    gm = nn.LayerNorm(ns, **kw)
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn(p.shape))
    compare_module(gm, tm, [rnd(3, 4, 5) * 3 + 1], device, dtype, scale=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_groupnorm(device, dtype):
    tm = torch.nn.GroupNorm(2, 4)
    gm = nn.GroupNorm(2, 4)
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn(p.shape))
    compare_module(gm, tm, [rnd(3, 4, 5, 2)], device, dtype, scale=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(device, dtype, padding_idx):
    idx = np.array([[0, 2, 2, 5], [1, 2, 5, 5]])  # repeated indices accumulate
    tm = torch.nn.Embedding(6, 3, padding_idx=padding_idx)
    gm = nn.Embedding(6, 3, padding_idx=padding_idx)
    compare_module(gm, tm, [idx], device, dtype)
    if padding_idx is not None:
        assert not to_np(gm.weight.grad)[padding_idx].any()


@pytest.mark.parametrize("idx", [[0, 5], [-1, 2], [4, 0], [[3, -6], [0, 1]]])
@pytest.mark.parametrize("idtype", ["int64", "int32"])
def test_embedding_index_range_against_torch(device, idx, idtype):
    """Indices outside [0, num_embeddings) raise torch's IndexError, negative ones too, for
    Long and Int indices; indices inside look up their rows."""
    w = rnd(5, 3).astype(np.float32)
    i_np = np.array(idx, dtype=idtype)
    gi = gpuarr.tensor(i_np, device=device)
    gw = gpuarr.tensor(w, device=device)
    try:
        want = torch.nn.functional.embedding(torch.tensor(i_np), torch.tensor(w)).numpy()
    except IndexError as e:
        with pytest.raises(IndexError, match=str(e)):
            gpuarr.nn.functional.embedding(gi, gw)
        return
    np.testing.assert_array_equal(to_np(gpuarr.nn.functional.embedding(gi, gw)), want)


def test_embedding_padding_row_starts_at_zero():
    emb = nn.Embedding(5, 3, padding_idx=1)
    np.testing.assert_array_equal(to_np(emb.weight)[1], np.zeros(3))
    assert emb.padding_idx == 1
    assert nn.Embedding(5, 3, padding_idx=-1).padding_idx == 4
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(5, 3, padding_idx=5)


def test_embedding_max_norm(device):
    w = rnd(5, 3) * 3
    tm = torch.nn.Embedding(5, 3, max_norm=1.0)
    gm = nn.Embedding(5, 3, max_norm=1.0).to(device=device, dtype=gpuarr.float64)
    tm = tm.double()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
    load_from_torch(gm, tm, device)
    idx = np.array([0, 3, 3])
    out = gm(gpuarr.tensor(idx, device=device))
    ref = tm(torch.tensor(idx))
    np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy(), rtol=1e-12)


def test_embedding_from_pretrained():
    w = gpuarr.tensor(rnd(4, 2))
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    np.testing.assert_array_equal(to_np(emb(gpuarr.tensor([3]))), to_np(w)[[3]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_flatten_unflatten_identity(device, dtype):
    x = [rnd(2, 3, 4, 5)]
    compare_module(nn.Flatten(), torch.nn.Flatten(), x, device, dtype)
    compare_module(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x, device, dtype)
    compare_module(nn.Unflatten(2, (2, 2)), torch.nn.Unflatten(2, (2, 2)), x, device, dtype)
    compare_module(nn.Identity(3, k=1), torch.nn.Identity(3, k=1), x, device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_cnn(device, dtype):
    def build(m):
        return m.Sequential(
            m.Conv2d(3, 8, 3, padding=1), m.BatchNorm2d(8), m.ReLU(), m.MaxPool2d(2),
            m.Conv2d(8, 8, 3, groups=2, bias=False), m.GELU(), m.AdaptiveAvgPool2d((2, 2)),
            m.Flatten(), m.Dropout(0.0), m.Linear(32, 10), m.LogSoftmax(dim=1))

    compare_module(build(nn), build(torch.nn), [rnd(4, 3, 10, 10)], device, dtype, scale=4.0)


def test_dropout_train_eval(device):
    gpuarr.manual_seed(123)
    d = nn.Dropout(0.3)
    x = gpuarr.ones(2000, device=device, requires_grad=True)
    y = d(x)
    vals = to_np(y)
    kept = vals != 0
    np.testing.assert_allclose(vals[kept], 1 / 0.7, rtol=1e-6)
    assert 0.6 < kept.mean() < 0.8
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), np.where(kept, 1 / 0.7, 0), rtol=1e-6)
    # reproducible under manual_seed
    gpuarr.manual_seed(123)
    np.testing.assert_array_equal(to_np(d(x)), vals)
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(to_np(nn.Dropout(1.0)(x)), np.zeros(2000))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout2d_zeroes_channels(device):
    gpuarr.manual_seed(0)
    y = to_np(nn.Dropout2d(0.5)(gpuarr.ones(8, 16, 3, 3, device=device)))
    per_channel = y.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()


def test_module_dtype_and_device_kwargs(device):
    m = nn.Linear(3, 2, device=device, dtype=gpuarr.float64)
    assert m.weight.dtype == gpuarr.float64 and m.weight.device == resolved(device)
    c = nn.Conv2d(2, 2, 3, device=device, dtype=gpuarr.float64)
    assert c.bias.dtype == gpuarr.float64
    bn = nn.BatchNorm2d(2, device=device, dtype=gpuarr.float64)
    assert bn.running_var.dtype == gpuarr.float64


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        nn.Conv2d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(4, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(4, 4, 3, padding_mode="mirror")


def test_torch_dtype_names_match():
    # the dtype maps above are what compare_module relies on
    assert TORCH_DT[gpuarr.float32] is torch.float32


def test_gradient_penalty_double_backward_matches_torch():
    """d/dweights of ||d(out)/d(input)||^2 through conv, batch norm, pooling, GELU, linear
    and cross entropy (second derivatives of every hot op) equals torch's."""

    def build(m):
        return m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.BatchNorm2d(4), m.GELU(),
                            m.MaxPool2d(2), m.Conv2d(4, 4, 2, groups=2), m.LeakyReLU(0.1),
                            m.AvgPool2d(1), m.Flatten(), m.LayerNorm(16), m.Linear(16, 3))

    gm, tm = build(nn), build(torch.nn).double()
    gm.double()
    load_from_torch(gm, tm)
    x = rnd(3, 2, 6, 6)
    y = np.array([0, 2, 1])
    gx = gpuarr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    gl = nn.functional.cross_entropy(gm(gx), gpuarr.tensor(y))
    tl = torch.nn.functional.cross_entropy(tm(tx), torch.tensor(y))
    (ggx,) = gpuarr.autograd.grad(gl, [gx], create_graph=True)
    (tgx,) = torch.autograd.grad(tl, [tx], create_graph=True)
    np.testing.assert_allclose(to_np(ggx), tgx.detach().numpy(), rtol=1e-9, atol=1e-12)
    (ggx * ggx).sum().backward()
    (tgx * tgx).sum().backward()
    tparams = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        np.testing.assert_allclose(to_np(p.grad), tparams[name].grad.numpy(), rtol=1e-8,
                                   atol=1e-12, err_msg=name)
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-8, atol=1e-12)
