"""Shared helpers for the nn tests: run a gpuarr module and a torch module with the same
weights and inputs, and compare outputs and every gradient."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from device_helpers import resolved

import gpuarr

TORCH_DT = {gpuarr.float32: torch.float32, gpuarr.float64: torch.float64}
NP_DT = {gpuarr.float32: np.float32, gpuarr.float64: np.float64}
TOL = {gpuarr.float32: dict(rtol=1e-5, atol=1e-5), gpuarr.float64: dict(rtol=1e-10, atol=1e-10)}


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def load_from_torch(gm, tm, device="cpu") -> None:
    """Copy torch module ``tm``'s state into gpuarr module ``gm`` (through load_state_dict)."""
    sd = {k: gpuarr.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()}
    res = gm.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []


def check_close(a, b, dtype, msg="", scale=1.0) -> None:
    tol = TOL[dtype]
    np.testing.assert_allclose(a, b, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale,
                               err_msg=msg)


def compare_module(gm, tm, inputs, device, dtype, *, grad_inputs=True, scale=1.0,
                   seed=0, out_index=None):
    """Forward both modules on ``inputs`` (NumPy arrays; integer arrays are not
    differentiated), backward a random upstream gradient, and compare the outputs, the input
    gradients and every parameter gradient. Returns (gpuarr output, torch output)."""
    tdt = TORCH_DT[dtype]
    tm = tm.to(tdt)
    gm.to(device=device, dtype=dtype)
    load_from_torch(gm, tm, device)
    gin, tin = [], []
    for a in inputs:
        if a.dtype.kind == "f":
            a = a.astype(NP_DT[dtype])
            tin.append(torch.tensor(a, requires_grad=grad_inputs))
            gin.append(gpuarr.tensor(a, device=device, requires_grad=grad_inputs))
        else:
            tin.append(torch.tensor(a))
            gin.append(gpuarr.tensor(a, device=device))
    gout = gm(*gin)
    tout = tm(*tin)
    if out_index is not None:
        gout, tout = gout[out_index], tout[out_index]
    check_close(to_np(gout), tout.detach().numpy(), dtype, "output", scale)
    assert gout.dtype == dtype
    assert gout.device == resolved(device)
    w = np.random.default_rng(seed).standard_normal(tuple(tout.shape)).astype(NP_DT[dtype])
    if tout.requires_grad:
        (tout * torch.tensor(w)).sum().backward()
        (gout * gpuarr.tensor(w, device=device)).sum().backward()
        for i, (g, t) in enumerate(zip(gin, tin)):
            if t.grad is not None:
                check_close(to_np(g.grad), t.grad.numpy(), dtype, f"input {i} grad", scale)
        tparams = dict(tm.named_parameters())
        for name, p in gm.named_parameters():
            tg = tparams[name].grad
            if tg is None:
                assert p.grad is None, name
            else:
                check_close(to_np(p.grad), tg.numpy(), dtype, f"grad of {name}", scale)
    return gout, tout


def gpu_tensor(a, device, rg=False):
    return gpuarr.tensor(a, device=device, requires_grad=rg)


def rnd(*shape, seed=0):
    """Standard normal float64 values of ``shape``."""
    return np.random.default_rng(seed).standard_normal(shape)


def spread(*shape, seed=0):
    """Distinct values far enough apart that finite differences never change a maximum."""
    n = int(np.prod(shape))
    vals = np.random.default_rng(seed).permutation(n).astype(np.float64) - n / 2 + 0.5
    return (vals * 0.1).reshape(shape)


def raises_like(tfn, gfn):
    """``gfn`` raises what ``tfn`` raises in torch: the same type and message."""
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value), match="^" + re.escape(str(te.value)) + "$"):
        gfn()
