"""Optimizer updates against torch.optim: same parameters, same gradients, 20 steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_helpers import make_pair, set_grads

import gpuarr
import gpuarr.optim as optim

SHAPES = [(5, 3), (7,), (), (0, 4), (2, 3, 2)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.2, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9))),  # 1 - beta1 >= 0.5: lerp's other branch
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, maximize=True, eps=1e-6)),
    ("RMSprop", dict(lr=0.005, alpha=0.3, centered=True)),
]

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
# CUDA runs fused update kernels: same formulas, different rounding (FMA contraction)
TOL_CUDA = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def _tol(dtype, device):
    return (TOL_CUDA if str(device).startswith("cuda") else TOL)[dtype]


def _check(gp, tp, dtype):
    for g, t in zip(gp, tp):
        np.testing.assert_allclose(g.detach().cpu().numpy(), t.detach().numpy(),
                                   **_tol(dtype, g.device))


def _run(name, gspec, tspec, gp, tp, dtype, steps=20, skip_at=None):
    gopt = getattr(optim, name)(gspec)
    topt = getattr(torch.optim, name)(tspec)
    rng = np.random.default_rng(1)
    for k in range(steps):
        skip = skip_at(k) if skip_at else ()
        set_grads(gp, tp, rng, dtype, skip)
        gopt.step()
        topt.step()
        _check(gp, tp, dtype)
    return gopt, topt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_matches_torch(name, kwargs, dtype, device):
    gp, tp = make_pair(SHAPES, dtype, device)
    cls_g = getattr(optim, name)
    cls_t = getattr(torch.optim, name)
    gopt = cls_g(gp, **kwargs)
    topt = cls_t(tp, **kwargs)
    rng = np.random.default_rng(1)
    for _ in range(20):
        set_grads(gp, tp, rng, dtype)
        gopt.step()
        topt.step()
        _check(gp, tp, dtype)
    # the state tensors match torch's too, key for key
    for g, t in zip(gp, tp):
        gs, ts = gopt.state[g], topt.state[t]
        assert set(gs) == set(ts)
        for key in ts:
            np.testing.assert_allclose(gs[key].cpu().numpy(), ts[key].numpy(),
                                       **_tol(dtype, device))


@pytest.mark.parametrize("name,kwargs", CONFIGS[::3])
def test_param_groups_match_torch(name, kwargs, device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    extra = {"lr": kwargs["lr"] * 3}
    if name == "SGD":
        extra["momentum"] = 0.7
    elif name == "RMSprop":
        extra["alpha"] = 0.8
    else:
        extra["betas"] = (0.7, 0.95)
    gspec = [{"params": gp[:2]}, {"params": gp[2:], **extra}]
    tspec = [{"params": tp[:2]}, {"params": tp[2:], **extra}]
    gopt, topt = _run(name, gspec, tspec, gp, tp, np.float32)
    # whichever options were not set per group come from the defaults, as in torch
    gopt2 = getattr(optim, name)(gspec, **kwargs)
    topt2 = getattr(torch.optim, name)(tspec, **kwargs)
    for gg, tg in zip(gopt2.param_groups, topt2.param_groups):
        for key in gg:
            if key != "params":
                assert gg[key] == tg[key], key


def test_add_param_group_and_skipped_grads(device):
    gp, tp = make_pair(SHAPES, np.float32, device)
    gopt = optim.Adam(gp[:3], lr=0.01, amsgrad=True)
    topt = torch.optim.Adam(tp[:3], lr=0.01, amsgrad=True)
    gopt.add_param_group({"params": gp[3:], "lr": 0.05, "amsgrad": False})
    topt.add_param_group({"params": tp[3:], "lr": 0.05, "amsgrad": False})
    assert gopt.param_groups[1]["betas"] == topt.param_groups[1]["betas"]
    rng = np.random.default_rng(3)
    for k in range(20):
        # parameter 1 gets no gradient on odd steps: both skip it (and its step count)
        skip = (1,) if k % 2 else ()
        set_grads(gp, tp, rng, np.float32, skip)
        gopt.step()
        topt.step()
        _check(gp, tp, np.float32)
    assert float(gopt.state[gp[1]]["step"]) == float(topt.state[tp[1]]["step"]) == 10.0


def test_sgd_without_momentum_keeps_no_state():
    p = gpuarr.zeros(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    p.grad = gpuarr.ones(3)
    opt.step()
    assert p.tolist() == [-0.5, -0.5, -0.5]
    assert opt.state_dict()["state"] == {}


def test_zero_grad():
    p = gpuarr.ones(3, requires_grad=True)
    q = gpuarr.ones(2, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0, 0.0]
    assert q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_closure_runs_with_grad_and_returns_loss():
    p = gpuarr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with gpuarr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert p.tolist() == [1.5]  # 3 - 0.25 * 6


def test_step_is_not_recorded_and_bumps_version():
    p = gpuarr.ones(2, requires_grad=True)
    y = p * p  # saves p for backward
    opt = optim.SGD([p], lr=0.1)
    p.grad = gpuarr.ones(2)
    opt.step()
    assert p.grad_fn is None and p.is_leaf
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_hooks():
    p = gpuarr.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    p.grad = gpuarr.ones(2)
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
        (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda p: optim.SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (lambda p: optim.Adam(p, eps=-1), "Invalid epsilon value"),
        (lambda p: optim.RMSprop(p, alpha=-1), "Invalid alpha value"),
        (lambda p: optim.AdamW([], lr=0.1), "empty parameter list"),
    ],
)
def test_bad_options(make, match):
    p = [gpuarr.ones(2, requires_grad=True)]
    with pytest.raises(ValueError, match=match):
        make(p)


def test_bad_params():
    p = gpuarr.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_named_params_and_repr():
    p = gpuarr.ones(2, requires_grad=True)
    opt = optim.SGD([("w", p)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w"]
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_large_and_non_contiguous_tensors_match_torch(name, kwargs, device):
    """Parameters bigger than one update piece (with a partial last piece), and
    non-contiguous parameters or gradients, take the same trajectory as torch."""
    rng = np.random.default_rng(5)
    init = [rng.standard_normal((300, 250)).astype(np.float32),  # 75,000 elements
            rng.standard_normal((200, 200)).astype(np.float32),
            rng.standard_normal((6, 4)).astype(np.float32)]
    gp = [gpuarr.tensor(a, device=device).requires_grad_() for a in init[:2]]
    gp.append(gpuarr.tensor(init[2], device=device).t().requires_grad_())  # non-contiguous leaf
    tp = [torch.tensor(a, requires_grad=True) for a in init[:2]]
    tp.append(torch.tensor(init[2]).t().requires_grad_())
    assert not gp[2].is_contiguous()
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    for _ in range(5):
        grads = [rng.standard_normal(tuple(p.shape)).astype(np.float32) for p in tp]
        gp[0].grad = gpuarr.tensor(grads[0], device=device)
        # a transposed view: the same values, not contiguous
        gp[1].grad = gpuarr.tensor(np.ascontiguousarray(grads[1].T), device=device).t()
        gp[2].grad = gpuarr.tensor(grads[2], device=device)
        assert gp[0].grad.is_contiguous() and not gp[1].grad.is_contiguous()
        for t, a in zip(tp, grads):
            t.grad = torch.tensor(a)
        gopt.step()
        topt.step()
        _check(gp, tp, np.float32)
