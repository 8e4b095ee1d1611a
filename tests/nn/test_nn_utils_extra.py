"""nn.utils: the hook forms of weight_norm / spectral_norm, BatchNorm fusion, skip_init and
stateless.functional_call, against torch with the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils as TU
from nn_helpers import raises_like, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.nn import utils as U
from gpuarr.nn.utils import stateless


def g_state(tm, device):
    return {k: gpuarr.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()}


def pair(name, *args, device="cpu"):
    tm = getattr(torch.nn, name)(*args).double()
    gm = getattr(nn, name)(*args).to(device=device, dtype=gpuarr.float64)
    gm.load_state_dict(g_state(tm, device))
    return gm, tm


def assert_same(gm, tm, x, device, rtol=1e-10):
    """Same output and the same gradient of every parameter."""
    yt = tm(torch.tensor(x))
    yg = gm(gpuarr.tensor(x, device=device))
    np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    w = rnd(*yt.shape, seed=5)
    (yt * torch.tensor(w)).sum().backward()
    (yg * gpuarr.tensor(w, device=device)).sum().backward()
    tp = dict(tm.named_parameters())
    gp = dict(gm.named_parameters())
    assert list(gp) == list(tp)
    for k in tp:
        np.testing.assert_allclose(to_np(gp[k].grad), tp[k].grad.numpy(), rtol=rtol,
                                   atol=1e-12, err_msg=k)


# ---- weight_norm (hook form) -----------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hook_form(device, dim):
    gm, tm = pair("Linear", 4, 3, device=device)
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
        U.weight_norm(gm, dim=dim)
    with pytest.warns(FutureWarning):
        TU.weight_norm(tm, dim=dim)
    assert list(gm.state_dict()) == list(tm.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert gm.weight_g.shape == tm.weight_g.shape
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.3)
    topt = torch.optim.SGD(tm.parameters(), lr=0.3)
    for _ in range(3):
        gopt.zero_grad()
        topt.zero_grad()
        assert_same(gm, tm, rnd(5, 4), device)
        gopt.step()
        topt.step()
    U.remove_weight_norm(gm)
    TU.remove_weight_norm(tm)
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert isinstance(gm.weight, nn.Parameter)
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy(), rtol=1e-10)


def test_weight_norm_hook_errors():
    with pytest.warns(FutureWarning):
        g = U.weight_norm(nn.Linear(2, 2))
        t = TU.weight_norm(torch.nn.Linear(2, 2))
        raises_like(lambda: TU.weight_norm(t), lambda: U.weight_norm(g))
    raises_like(lambda: TU.remove_weight_norm(torch.nn.Linear(2, 2)),
                lambda: U.remove_weight_norm(nn.Linear(2, 2)))


# ---- spectral_norm (hook form) ---------------------------------------------------------------

@pytest.mark.parametrize("name,args,kw", [
    ("Linear", (5, 3), {}),
    ("Conv2d", (2, 4, 3), {"n_power_iterations": 2, "eps": 1e-6}),
    ("ConvTranspose2d", (4, 2, 3), {}),
])
def test_spectral_norm_hook_form(device, name, args, kw):
    gm, tm = pair(name, *args, device=device)
    TU.spectral_norm(tm, **kw)
    U.spectral_norm(gm, **kw)
    assert list(gm.state_dict()) == list(tm.state_dict()) == [
        "bias", "weight_orig", "weight_u", "weight_v"]
    gm.load_state_dict(g_state(tm, device))  # the same u, v
    x = rnd(2, args[0]) if name == "Linear" else rnd(2, args[0], 5, 5)
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(2):
        gopt.zero_grad()
        topt.zero_grad()
        assert_same(gm, tm, x, device, rtol=1e-8)
        gopt.step()
        topt.step()
    for k, v in gm.state_dict().items():
        np.testing.assert_allclose(to_np(v), tm.state_dict()[k].numpy(), rtol=1e-8,
                                   atol=1e-12, err_msg=k)
    gm.eval()
    tm.eval()
    u = to_np(gm.weight_u).copy()
    gopt.zero_grad()
    topt.zero_grad()
    assert_same(gm, tm, x, device, rtol=1e-8)
    np.testing.assert_array_equal(to_np(gm.weight_u), u)
    U.remove_spectral_norm(gm)
    TU.remove_spectral_norm(tm)
    assert list(gm.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy(), rtol=1e-8)
    assert not gm._state_dict_hooks and not gm._load_state_dict_pre_hooks


def test_spectral_norm_old_checkpoint_solves_v():
    """A checkpoint from before the ``weight_v`` buffer (weight, weight_orig, weight_u)."""
    tm = TU.spectral_norm(torch.nn.Linear(4, 3).double())
    tm(torch.randn(2, 4, dtype=torch.float64))
    sd = {k: v.clone() for k, v in tm.state_dict().items()}
    sd["weight"] = tm.weight.detach().clone()
    del sd["weight_v"]
    gm = U.spectral_norm(nn.Linear(4, 3).double())
    gm.load_state_dict({k: gpuarr.tensor(v.numpy()) for k, v in sd.items()})
    gm.eval()
    np.testing.assert_allclose(to_np(gm(gpuarr.eye(4, dtype=gpuarr.float64))),
                               tm.eval()(torch.eye(4, dtype=torch.float64)).detach().numpy(),
                               rtol=1e-6)


def test_spectral_norm_hook_errors():
    g = U.spectral_norm(nn.Linear(2, 2))
    t = TU.spectral_norm(torch.nn.Linear(2, 2))
    raises_like(lambda: TU.spectral_norm(t), lambda: U.spectral_norm(g))
    raises_like(lambda: TU.spectral_norm(torch.nn.Linear(2, 2), n_power_iterations=0),
                lambda: U.spectral_norm(nn.Linear(2, 2), n_power_iterations=0))
    raises_like(lambda: TU.remove_spectral_norm(torch.nn.Linear(2, 2)),
                lambda: U.remove_spectral_norm(nn.Linear(2, 2)))
    raises_like(lambda: TU.spectral_norm(torch.nn.Linear(2, 2, bias=False), name="bias"),
                lambda: U.spectral_norm(nn.Linear(2, 2, bias=False), name="bias"))


# ---- fusion ----------------------------------------------------------------------------------

def _trained_bn(name, n, device):
    gbn, tbn = pair(name, n, device=device)
    stats = {"running_mean": rnd(n, seed=1), "running_var": np.abs(rnd(n, seed=2)) + 0.5,
             "weight": rnd(n, seed=3), "bias": rnd(n, seed=4)}
    tbn.load_state_dict({**tbn.state_dict(), **{k: torch.tensor(v) for k, v in stats.items()}})
    gbn.load_state_dict(g_state(tbn, device))
    return gbn.eval(), tbn.eval()


@pytest.mark.parametrize("conv,bn,args,transpose,bias", [
    ("Conv2d", "BatchNorm2d", (2, 3, 3), False, True),
    ("Conv1d", "BatchNorm1d", (2, 3, 2), False, False),
    ("ConvTranspose2d", "BatchNorm2d", (2, 3, 3), True, True),
])
def test_fuse_conv_bn_eval(device, conv, bn, args, transpose, bias):
    tc = getattr(torch.nn, conv)(*args, bias=bias).double().eval()
    gc = getattr(nn, conv)(*args, bias=bias).to(device=device, dtype=gpuarr.float64).eval()
    gc.load_state_dict(g_state(tc, device))
    gbn, tbn = _trained_bn(bn, args[1], device)
    tf = TU.fuse_conv_bn_eval(tc, tbn, transpose=transpose)
    gf = U.fuse_conv_bn_eval(gc, gbn, transpose=transpose)
    assert gf is not gc and type(gf) is type(gc)
    assert isinstance(gf.weight, nn.Parameter) and isinstance(gf.bias, nn.Parameter)
    x = rnd(2, 2, 6, 6) if "2d" in conv else rnd(2, 2, 7)
    ref = tbn(tc(torch.tensor(x))).detach().numpy()
    np.testing.assert_allclose(to_np(gf(gpuarr.tensor(x, device=device))), ref, rtol=1e-10)
    np.testing.assert_allclose(tf(torch.tensor(x)).detach().numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(to_np(gf.bias), tf.bias.detach().numpy(), rtol=1e-12)
    assert gf.bias.requires_grad == tf.bias.requires_grad


def test_fuse_linear_bn_eval(device):
    gl, tl = pair("Linear", 4, 3, device=device)
    gl.eval()
    tl.eval()
    gbn, tbn = _trained_bn("BatchNorm1d", 3, device)
    gf = U.fuse_linear_bn_eval(gl, gbn)
    tf = TU.fuse_linear_bn_eval(tl, tbn)
    x = rnd(5, 4)
    np.testing.assert_allclose(to_np(gf(gpuarr.tensor(x, device=device))),
                               tf(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    w, b = U.fuse_linear_bn_weights(gl.weight, None, gbn.running_mean, gbn.running_var, 1e-5,
                                    gbn.weight, gbn.bias)
    tw, tb = TU.fuse_linear_bn_weights(tl.weight, None, tbn.running_mean, tbn.running_var,
                                       1e-5, tbn.weight, tbn.bias)
    np.testing.assert_allclose(to_np(b), tb.detach().numpy(), rtol=1e-12)
    assert b.requires_grad == tb.requires_grad and w.requires_grad == tw.requires_grad


def test_fuse_weights_dtypes_and_none_affine(device):
    w = gpuarr.tensor(rnd(3, 2, 1, 1), device=device, dtype=gpuarr.float32)
    rm = gpuarr.tensor(rnd(3, seed=1), device=device)
    rv = gpuarr.tensor(np.abs(rnd(3, seed=2)) + 1, device=device)
    fw, fb = U.fuse_conv_bn_weights(w, None, rm, rv, 1e-5, None, None)
    tw, tb = TU.fuse_conv_bn_weights(torch.tensor(to_np(w)), None, torch.tensor(to_np(rm)),
                                     torch.tensor(to_np(rv)), 1e-5, None, None)
    assert fw.dtype == fb.dtype == gpuarr.float32 and tw.dtype == tb.dtype == torch.float32
    np.testing.assert_allclose(to_np(fw), tw.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(to_np(fb), tb.detach().numpy(), rtol=1e-6)


def test_fusion_errors():
    c, bn = nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)
    tc, tbn = torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3)
    raises_like(lambda: TU.fuse_conv_bn_eval(tc, tbn), lambda: U.fuse_conv_bn_eval(c, bn))
    raises_like(lambda: TU.fuse_linear_bn_eval(torch.nn.Linear(2, 3).eval(),
                                               torch.nn.BatchNorm1d(4).eval()),
                lambda: U.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(4).eval()))


# ---- skip_init -------------------------------------------------------------------------------

def test_skip_init(device):
    m = U.skip_init(nn.Linear, 5, 1, device=device)
    assert isinstance(m, nn.Linear) and m.weight.shape == (1, 5)
    assert m.weight.device.type == m.bias.device.type == device
    m = U.skip_init(nn.Linear, 2, 3, bias=False, dtype=gpuarr.float64)
    assert m.weight.dtype == gpuarr.float64 and m.bias is None

    class NoDevice(nn.Module):
        def __init__(self):
            super().__init__()

    class TNoDevice(torch.nn.Module):
        def __init__(self):
            super().__init__()

    raises_like(lambda: TU.skip_init(TNoDevice), lambda: U.skip_init(NoDevice))
    raises_like(lambda: TU.skip_init(int), lambda: U.skip_init(int))


# ---- stateless.functional_call ---------------------------------------------------------------

def test_functional_call_replaces_for_the_call_only(device):
    gm, tm = pair("Linear", 3, 2, device=device)
    w = rnd(2, 3, seed=9)
    gw = gpuarr.tensor(w, device=device, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    x = rnd(4, 3)
    with pytest.warns(FutureWarning, match="functional_call` is deprecated"):
        gy = stateless.functional_call(gm, {"weight": gw}, gpuarr.tensor(x, device=device))
    with pytest.warns(FutureWarning):
        ty = TU.stateless.functional_call(tm, {"weight": tw}, (torch.tensor(x),))
    np.testing.assert_allclose(to_np(gy), ty.detach().numpy(), rtol=1e-12)
    gy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(to_np(gw.grad), tw.grad.numpy(), rtol=1e-12)
    assert gm.weight.grad is None and isinstance(gm.weight, nn.Parameter)
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy())


def test_functional_call_kwargs_buffers_and_strict(device):
    gbn, tbn = pair("BatchNorm1d", 3, device=device)
    x = rnd(4, 3)
    gd = {"running_mean": gpuarr.zeros(3, device=device, dtype=gpuarr.float64) + 1.0}
    td = {"running_mean": torch.zeros(3, dtype=torch.float64) + 1.0}
    with pytest.warns(FutureWarning):
        gy = stateless.functional_call(gbn, gd, kwargs={"input": gpuarr.tensor(x, device=device)})
        ty = TU.stateless.functional_call(tbn, td, kwargs={"input": torch.tensor(x)})
    np.testing.assert_allclose(to_np(gy), ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(to_np(gd["running_mean"]), td["running_mean"].numpy(),
                               rtol=1e-10)  # the running-stat update is seen in the dict
    np.testing.assert_allclose(to_np(gbn.running_mean), tbn.running_mean.numpy())
    gl, tl = pair("Linear", 3, 2)
    for given in ({"weight": gl.weight}, {"weight": gl.weight, "bias": gl.bias, "extra": gl.bias}):
        tgiven = {k: torch.zeros(1) for k in given}
        with pytest.warns(FutureWarning):
            raises_like(
                lambda t=tgiven: TU.stateless.functional_call(tl, t, torch.zeros(1, 3),
                                                              strict=True),
                lambda g=given: stateless.functional_call(gl, g, gpuarr.zeros(1, 3),
                                                          strict=True))


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2, bias=False)
        self.b = nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


class _TTied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(2, 2, bias=False)
        self.b = torch.nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


def test_functional_call_tie_weights():
    g, t = _Tied(), _TTied()
    x = np.ones((1, 2), dtype=np.float32)
    eye = np.eye(2, dtype=np.float32) * 2.0
    for tie in (True, False):
        with pytest.warns(FutureWarning):
            gy = stateless.functional_call(g, {"a.weight": gpuarr.tensor(eye)},
                                           gpuarr.tensor(x), tie_weights=tie)
            ty = TU.stateless.functional_call(t, {"a.weight": torch.tensor(eye)},
                                              torch.tensor(x), tie_weights=tie)
        ref = x @ eye.T @ eye.T if tie else None
        if tie:
            np.testing.assert_allclose(to_np(gy), ref)
        assert gy.shape == ty.shape
    with pytest.warns(FutureWarning):
        raises_like(
            lambda: TU.stateless.functional_call(
                t, {"a.weight": torch.eye(2), "b.weight": torch.eye(2) * 3}, torch.ones(1, 2)),
            lambda: stateless.functional_call(
                g, {"a.weight": gpuarr.eye(2), "b.weight": gpuarr.eye(2) * 3},
                gpuarr.ones(1, 2)))
    assert isinstance(g.a.weight, nn.Parameter) and g.a.weight is g.b.weight


# ---- memory formats --------------------------------------------------------------------------

def test_convert_conv_weight_memory_format(device):
    gm = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Conv3d(2, 2, 1), nn.ConvTranspose2d(3, 2, 2),
                       nn.Sequential(nn.ConvTranspose3d(2, 2, 2))).to(device)
    tm = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Conv3d(2, 2, 1),
                             torch.nn.ConvTranspose2d(3, 2, 2),
                             torch.nn.Sequential(torch.nn.ConvTranspose3d(2, 2, 2)))
    gm.load_state_dict(g_state(tm, device))
    w0 = gm[0].weight
    x = rnd(1, 2, 5, 5)
    before = to_np(gm[0](gpuarr.tensor(x, device=device, dtype=gpuarr.float32)))
    for fmt in ("channels_last", "contiguous_format"):
        assert U.convert_conv2d_weight_memory_format(gm, getattr(gpuarr, fmt)) is gm
        TU.convert_conv2d_weight_memory_format(tm, getattr(torch, fmt))
        assert [p.stride() for p in gm.parameters()] == [p.stride() for p in tm.parameters()]
    for fmt in ("channels_last_3d", "contiguous_format"):
        U.convert_conv3d_weight_memory_format(gm, getattr(gpuarr, fmt))
        TU.convert_conv3d_weight_memory_format(tm, getattr(torch, fmt))
        assert [p.stride() for p in gm.parameters()] == [p.stride() for p in tm.parameters()]
    U.convert_conv2d_weight_memory_format(gm, gpuarr.channels_last)
    assert gm[0].weight is w0 and isinstance(w0, nn.Parameter)
    after = to_np(gm[0](gpuarr.tensor(x, device=device, dtype=gpuarr.float32)))
    np.testing.assert_allclose(after, before, rtol=1e-6)
    for fmt in ("preserve_format", "channels_last_3d"):
        raises_like(
            lambda f=fmt: TU.convert_conv2d_weight_memory_format(tm, getattr(torch, f)),
            lambda f=fmt: U.convert_conv2d_weight_memory_format(gm, getattr(gpuarr, f)))
