"""gpuarr.utils.checkpoint and gpuarr.random.fork_rng: checkpointed blocks give the values and
gradients of the plain blocks (and torch's, with the same weights), in both variants, with
dropout redrawn identically, outputs of any structure, autograd.grad and double backward
(non-reentrant), and torch's warnings and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import gpuarr
from gpuarr import nn
from gpuarr.utils import checkpoint as cp

RNG = np.random.default_rng(0)


def to_np(x):
    return x.detach().cpu().numpy()


def block(device, p=0.0):
    gpuarr.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(p), nn.Linear(8, 6)).to(device)


def run(device, variant, p=0.3, input_grad=True):
    """Loss and gradients of a two-block model, plain (variant None) or checkpointed."""
    m1, m2 = block(device, p), block(device, p)
    x = gpuarr.tensor(np.linspace(-1, 1, 30).reshape(5, 6),
                      dtype=gpuarr.float32, device=device, requires_grad=input_grad)
    gpuarr.manual_seed(7)
    if variant is None:
        h = m1(x)
    else:
        h = cp.checkpoint(m1, x, use_reentrant=variant)
    y = m2(h).pow(2).sum()
    y.backward()
    grads = [to_np(q.grad) for q in m1.parameters()]
    return to_np(y), grads, (None if x.grad is None else to_np(x.grad))


@pytest.mark.parametrize("variant", [True, False])
def test_checkpoint_equals_plain_with_dropout(device, variant):
    plain = run(device, None)
    ours = run(device, variant)
    np.testing.assert_array_equal(ours[0], plain[0])
    for a, b in zip(ours[1], plain[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours[2], plain[2], rtol=1e-6, atol=1e-7)


def test_checkpoint_recomputes_once(device):
    calls = []
    lin = nn.Linear(3, 3).to(device)

    def f(x):
        calls.append(1)
        return lin(x).relu()

    x = gpuarr.randn(2, 3, device=device, requires_grad=True)
    for variant in (True, False):
        calls.clear()
        out = cp.checkpoint(f, x, use_reentrant=variant)
        assert len(calls) == 1
        out.sum().backward()
        assert len(calls) == 2


@pytest.mark.parametrize("variant", [True, False])
def test_checkpoint_matches_torch(device, variant):
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.GELU(), torch.nn.Linear(5, 3))
    gm = nn.Sequential(nn.Linear(4, 5), nn.GELU(), nn.Linear(5, 3)).to(device)
    gm.load_state_dict({k: gpuarr.tensor(v.detach().numpy(), device=device)
                        for k, v in tm.state_dict().items()})
    xa = RNG.standard_normal((3, 4)).astype(np.float32)
    tx = torch.tensor(xa, requires_grad=True)
    gx = gpuarr.tensor(xa, device=device, requires_grad=True)
    tcp.checkpoint(tm, tx, use_reentrant=variant).pow(3).sum().backward()
    cp.checkpoint(gm, gx, use_reentrant=variant).pow(3).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (n, p), q in zip(gm.named_parameters(), tm.parameters(), strict=True):
        np.testing.assert_allclose(to_np(p.grad), q.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)


def test_nonreentrant_params_without_input_grad(device):
    plain = run(device, None, input_grad=False)
    ours = run(device, False, input_grad=False)
    np.testing.assert_array_equal(ours[0], plain[0])
    for a, b in zip(ours[1], plain[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert ours[2] is None


def test_reentrant_without_input_grad_warns_like_torch(device):
    lin = nn.Linear(3, 3).to(device)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = cp.checkpoint(lin, gpuarr.randn(2, 3, device=device), use_reentrant=True)
    assert not out.requires_grad


def test_nonreentrant_autograd_grad_and_double_backward(device):
    lin = nn.Linear(3, 3).to(device).double()
    x = gpuarr.randn(2, 3, dtype=gpuarr.float64, device=device, requires_grad=True)

    def f(a):
        return lin(a).tanh()

    for fn in (f, lambda a: cp.checkpoint(f, a, use_reentrant=False)):
        (gx, gw) = gpuarr.autograd.grad(fn(x).pow(2).sum(), (x, lin.weight), create_graph=True)
        (hx,) = gpuarr.autograd.grad((gx.sum() + gw.sum()), (x,))
        if fn is f:
            ref = (to_np(gx), to_np(gw), to_np(hx))
        else:
            for a, b in zip((to_np(gx), to_np(gw), to_np(hx)), ref, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_nonreentrant_structured_outputs_and_kwargs(device):
    lin = nn.Linear(3, 3).to(device)

    def f(a, *, scale):
        h = lin(a) * scale
        return {"h": h, "pair": (h.sum(), a.argmax(1)), "tag": "x"}

    x = gpuarr.randn(4, 3, device=device, requires_grad=True)
    ref = f(x, scale=2.0)
    out = cp.checkpoint(f, x, use_reentrant=False, scale=2.0)
    assert out["tag"] == "x" and out["pair"][1].dtype == gpuarr.int64
    assert not out["pair"][1].requires_grad
    np.testing.assert_array_equal(to_np(out["h"]), to_np(ref["h"]))
    (out["h"].sum() + out["pair"][0]).backward()
    g1 = to_np(x.grad)
    x.grad = None
    (ref["h"].sum() + ref["pair"][0]).backward()
    np.testing.assert_allclose(g1, to_np(x.grad), rtol=1e-6)


def test_checkpoint_errors_and_warnings():
    lin = nn.Linear(2, 2)
    x = gpuarr.randn(1, 2, requires_grad=True)
    with pytest.raises(ValueError) as ours:
        cp.checkpoint(lambda a, b=1: lin(a), x, use_reentrant=True, b=2)
    with pytest.raises(ValueError) as ref:
        tcp.checkpoint(lambda a, b=1: a, torch.ones(1, requires_grad=True), use_reentrant=True,
                       b=2)
    assert str(ours.value) == str(ref.value)
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        cp.checkpoint(lin, x)
    with warnings.catch_warnings(record=True) as ref_w:
        warnings.simplefilter("always")
        tcp.checkpoint(torch.nn.Linear(2, 2), torch.ones(1, 2, requires_grad=True))
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in ref_w]
    with pytest.raises(ValueError, match="determinism_check"):
        cp.checkpoint(lin, x, use_reentrant=False, determinism_check="bad")


def test_checkpoint_under_no_grad_runs_plainly(device):
    lin = nn.Linear(2, 2).to(device)
    x = gpuarr.randn(3, 2, device=device, requires_grad=True)
    with gpuarr.no_grad():
        for variant in (True, False):
            out = cp.checkpoint(lin, x, use_reentrant=variant)
            assert out.grad_fn is None and not out.requires_grad


def test_checkpoint_context_fn(device):
    entered = []

    class Ctx:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            entered.append(self.name)

        def __exit__(self, *exc):
            return False

    lin = nn.Linear(2, 2).to(device)
    x = gpuarr.randn(3, 2, device=device, requires_grad=True)
    out = cp.checkpoint(lin, x, use_reentrant=False,
                        context_fn=lambda: (Ctx("forward"), Ctx("recompute")))
    out.sum().backward()
    assert entered == ["forward", "recompute"]
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        cp.checkpoint(lin, x, use_reentrant=True, context_fn=lambda: (Ctx("a"), Ctx("b")))


@pytest.mark.parametrize("variant", [True, False])
def test_checkpoint_sequential(device, variant):
    gpuarr.manual_seed(3)
    seq = nn.Sequential(*[nn.Linear(4, 4) for _ in range(5)]).to(device)
    x = gpuarr.randn(2, 4, device=device, requires_grad=True)
    seq(x).sum().backward()
    ref = [to_np(p.grad) for p in seq.parameters()] + [to_np(x.grad)]
    seq.zero_grad()
    x.grad = None
    cp.checkpoint_sequential(seq, 2, x, use_reentrant=variant).sum().backward()
    got = [to_np(p.grad) for p in seq.parameters()] + [to_np(x.grad)]
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoint_autocast_state_is_replayed():
    lin = nn.Linear(4, 4)
    x = gpuarr.randn(2, 4, requires_grad=True)
    seen = []

    def f(a):
        seen.append(gpuarr.is_autocast_enabled("cpu"))
        return lin(a).float()

    with gpuarr.autocast("cpu", dtype=gpuarr.bfloat16):
        out = cp.checkpoint(f, x, use_reentrant=False)
    out.sum().backward()
    assert seen == [True, True]


def test_fork_rng_restores_states(device):
    gpuarr.manual_seed(5)
    devices = [] if device == "cpu" else [0]
    with gpuarr.random.fork_rng(devices=devices):
        a = gpuarr.rand(3, device=device)
        c = gpuarr.rand(2)
    b = gpuarr.rand(3, device=device)
    d = gpuarr.rand(2)
    np.testing.assert_array_equal(to_np(a), to_np(b))
    np.testing.assert_array_equal(to_np(c), to_np(d))
    with gpuarr.random.fork_rng(enabled=False):
        e = gpuarr.rand(2)
    assert not np.array_equal(to_np(e), to_np(d))
    with pytest.raises(RuntimeError, match="torch has no module of `xpu`"):
        with gpuarr.random.fork_rng(device_type="xpu"):
            pass
    assert gpuarr.random.get_rng_state is gpuarr.get_rng_state
