"""CTCLoss / F.ctc_loss against torch: losses and gradients for every target layout, length
kind and reduction, impossible alignments, gradcheck, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from device_helpers import resolved
from nn_helpers import raises_like, rnd, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck

TOL = {gpuarr.float32: dict(rtol=2e-5, atol=2e-5), gpuarr.float64: dict(rtol=1e-10, atol=1e-10)}
TDT = {gpuarr.float32: torch.float32, gpuarr.float64: torch.float64}


def _case(T=8, N=4, C=5, S=4, seed=0, blank=0):
    """Log-probabilities (T, N, C), padded targets (N, S) avoiding ``blank`` with repeats,
    and lengths including an empty target, a short input and an impossible alignment."""
    rng = np.random.default_rng(seed)
    lp = rnd(T, N, C, seed=seed)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    labels = [c for c in range(C) if c != blank]
    tg = rng.choice(labels, size=(N, S))
    tg[0, 1] = tg[0, 0]  # a repeat needs a blank between
    il = [T, T - 1, T - 3, 2][:N] + [T] * max(0, N - 4)
    tl = [S, S - 1, 0, 3][:N] + [1] * max(0, N - 4)  # the last: 3 labels in 2 frames
    return lp, tg, il, tl


def _run(lp, tg, il, tl, device, dtype, *, concat=False, as_tensor=False, unbatched=False,
         **kw):
    """Loss and gradient (of a random weighting of the loss) from torch and from gpuarr."""
    if concat:
        tg = np.concatenate([tg[n, :tl[n]] for n in range(len(tl))]).astype(np.int64)
    outs = []
    for lib, mk in ((torch, lambda a, **k: torch.tensor(a, **k)),
                    (gpuarr, lambda a, **k: gpuarr.tensor(a, device=device, **k))):
        fdt = TDT[dtype] if lib is torch else dtype
        x = mk(lp, dtype=fdt, requires_grad=True)
        lens = (mk(il), mk(tl)) if as_tensor else (list(il), tuple(tl))
        if unbatched:
            lens = (mk(il[0]), mk(tl[0])) if as_tensor else ([il[0]], [tl[0]])
        ctc = TF.ctc_loss if lib is torch else F.ctc_loss
        loss = ctc(x, mk(tg), *lens, **kw)
        w = rnd(*loss.shape, seed=5) if loss.ndim else np.array(1.0)
        (loss * mk(w, dtype=fdt)).sum().backward()
        outs.append((loss, x.grad))
    return outs


def _compare(outs, dtype, device):
    (tl_, tg_), (gl, gg) = outs
    assert gl.dtype == dtype and gl.shape == tuple(tl_.shape)
    assert gl.device == resolved(device)
    np.testing.assert_allclose(to_np(gl), tl_.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(to_np(gg), tg_.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_matches_torch(dtype, reduction, zero_infinity, device):
    lp, tg, il, tl = _case()
    kw = dict(reduction=reduction, zero_infinity=zero_infinity)
    if not zero_infinity and reduction != "none":
        il, tl = il[:3], tl[:3]  # an infinite loss would make the reduced values inf/NaN
        lp = lp[:, :3]
        tg = tg[:3]
    _compare(_run(lp, tg, il, tl, device, dtype, **kw), dtype, device)


@pytest.mark.parametrize("concat", [False, True])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_target_layouts_and_length_kinds(concat, as_tensor, device):
    lp, tg, il, tl = _case(seed=1)
    outs = _run(lp, tg, il, tl, device, gpuarr.float64, concat=concat, as_tensor=as_tensor,
                reduction="none")
    _compare(outs, gpuarr.float64, device)
    assert np.isinf(to_np(outs[1][0])[3])  # 3 labels cannot fit in 2 frames


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_unbatched(as_tensor, reduction, device):
    lp, tg, il, tl = _case(N=1)
    outs = _run(lp[:, 0], tg[0], il, tl, device, gpuarr.float64, as_tensor=as_tensor,
                unbatched=True, reduction=reduction)
    _compare(outs, gpuarr.float64, device)
    assert outs[1][0].shape == ()


@pytest.mark.parametrize("seed", range(4))
def test_random_sizes_blank_and_longer_sequences(seed, device):
    rng = np.random.default_rng(seed)
    T, N, C = rng.integers(1, 30), rng.integers(1, 6), rng.integers(2, 8)
    blank = int(rng.integers(0, C))
    lp = rnd(T, N, C, seed=seed)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    il = list(rng.integers(0, T + 1, N))
    tl = [int(rng.integers(0, max(1, n // 2) + 1)) for n in il]
    S = max(tl + [1])
    tg = rng.choice([c for c in range(C) if c != blank], size=(N, S))
    for dtype in (gpuarr.float64, gpuarr.float32):
        _compare(_run(lp, tg, il, tl, device, dtype, blank=blank, reduction="none",
                      zero_infinity=True), dtype, device)


def test_empty_targets_and_inputs(device):
    lp, tg, _, _ = _case()
    outs = _run(lp, tg[:, :0], [8, 0, 3, 5], [0, 0, 0, 0], device, gpuarr.float64,
                reduction="none")
    _compare(outs, gpuarr.float64, device)
    outs = _run(lp, tg, [0, 0, 8, 8], [0, 2, 1, 0], device, gpuarr.float64, reduction="none")
    _compare(outs, gpuarr.float64, device)
    assert str(to_np(outs[1][0])[0]) == "-0.0"  # torch's -0 for nothing to explain


def test_gradcheck(device):
    lp, tg, il, tl = _case(T=5, N=3, C=4, S=3)
    x = gpuarr.tensor(lp, device=device, requires_grad=True)
    tgt = gpuarr.tensor(tg, device=device)
    # the gradient is the exact one through log_softmax (as torch's): check it there
    for red in ("none", "mean", "sum"):
        assert gradcheck(lambda a, red=red: F.ctc_loss(a.log_softmax(2), tgt, il[:3],
                                                       tl[:3], reduction=red), (x,))
    assert gradcheck(lambda a: F.ctc_loss(a.log_softmax(2), tgt, il, tl, reduction="none",
                                          zero_infinity=True), (x,))


def test_not_twice_differentiable_like_torch(device):
    lp, tg, il, tl = _case(T=5, N=3, C=4, S=3)

    def second(lib, x, mk, ctc):
        g, = lib.autograd.grad(ctc(x, mk(tg), il[:3], tl[:3]), x, create_graph=True)
        return lib.autograd.grad(g.sum(), x)

    tx = torch.tensor(lp, requires_grad=True)
    gx = gpuarr.tensor(lp, device=device, requires_grad=True)
    raises_like(lambda: second(torch, tx, torch.tensor, TF.ctc_loss),
                lambda: second(gpuarr, gx, lambda a: gpuarr.tensor(a, device=device),
                               F.ctc_loss))


def test_bad_labels_give_nan(device):
    lp, tg, il, tl = _case()
    tg[1, 0] = 7  # outside [0, C): torch reads out of bounds
    loss = F.ctc_loss(gpuarr.tensor(lp, device=device), gpuarr.tensor(tg, device=device),
                      il, tl, reduction="none", zero_infinity=True)
    res = to_np(loss)
    assert np.isnan(res[1]) and np.isfinite(res[[0, 2]]).all()


def test_module(device):
    assert repr(nn.CTCLoss()) == repr(torch.nn.CTCLoss()) == "CTCLoss()"
    m, t = nn.CTCLoss(blank=2, reduction="sum", zero_infinity=True), torch.nn.CTCLoss(2, "sum",
                                                                                      True)
    assert (m.blank, m.reduction, m.zero_infinity) == (t.blank, t.reduction, t.zero_infinity)
    lp, tg, il, tl = _case(blank=2)
    gl = m(gpuarr.tensor(lp, device=device), gpuarr.tensor(tg, device=device),
           gpuarr.tensor(il, device=device), gpuarr.tensor(tl, device=device))
    tl_ = t(torch.tensor(lp), torch.tensor(tg), torch.tensor(il), torch.tensor(tl))
    np.testing.assert_allclose(to_np(gl), tl_.numpy(), rtol=1e-10)


def _err_cases():
    lp = torch.randn(6, 2, 4).log_softmax(2)
    tg = torch.ones(2, 3, dtype=torch.long)
    return [
        (lp, tg, [6, 5], [3, 2], {"reduction": "bad"}),
        (lp, tg, torch.tensor([6.0, 5]), torch.tensor([3, 2]), {}),
        (lp, tg, torch.tensor([6, 5]), torch.tensor([3.0, 2]), {}),
        (lp, tg, torch.tensor([True, True]), torch.tensor([3, 2]), {}),
        (lp, tg, [7, 5], [3, 2], {}),
        (lp, tg, [-1, 5], [3, 2], {}),
        (lp, tg, [6, 5], [4, 2], {}),
        (lp, tg, [6, 5], [-1, 2], {}),
        (lp, tg, [6], [3, 2], {}),
        (lp, tg, [6, 5], [3], {}),
        (lp, tg, [6, 5], [3, 2], {"blank": 4}),
        (lp, tg, [6, 5], [3, 2], {"blank": -1}),
        (lp, tg.flatten(), [6, 5], [3, 2], {}),
        (lp[0], tg, [6, 5], [3, 2], {}),
        (lp[0, 0], tg, [6, 5], [3, 2], {}),
        (lp, tg[None], [6, 5], [3, 2], {}),
        (lp.half(), tg, [6, 5], [3, 2], {}),
        (lp.int(), tg, [6, 5], [3, 2], {}),
        (lp[:0], tg, [0, 0], [0, 0], {}),
        (torch.zeros(0), tg, [1, 1], [1, 1], {}),
        (lp, tg, [4, -1], [5, 1], {}),
    ]


@pytest.mark.parametrize("i", range(len(_err_cases())))
def test_errors_like_torch(i, device):
    tlp, ttg, til, ttl, kw = _err_cases()[i]

    def g(a):
        return gpuarr.tensor(a.numpy(), device=device) if isinstance(a, torch.Tensor) else a

    def run():
        try:
            return F.ctc_loss(g(tlp), g(ttg), g(til), g(ttl), **kw)
        except NotImplementedError as e:  # the kernel is named after the device, as torch's
            raise NotImplementedError(str(e).replace("ctc_loss_cuda", "ctc_loss_cpu")) from None

    raises_like(lambda: TF.ctc_loss(tlp, ttg, til, ttl, **kw), run)


@pytest.mark.parametrize("il,tl", [(6, 3), (torch.tensor([6, 5]), [3, 2]), ([6.0, 5], [3, 2])])
def test_length_type_errors(il, tl, device):
    lp, tg = torch.randn(6, 2, 4).log_softmax(2), torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(TypeError):
        TF.ctc_loss(lp, tg, il, tl)
    gil = gpuarr.tensor(il.numpy(), device=device) if isinstance(il, torch.Tensor) else il
    with pytest.raises(TypeError, match="ctc_loss"):
        F.ctc_loss(gpuarr.tensor(lp.numpy(), device=device),
                   gpuarr.tensor(tg.numpy(), device=device), gil, tl)


def test_host_targets_and_lengths_with_device_log_probs(device):
    # a common pattern: targets and lengths stay on the CPU while the network runs elsewhere
    lp, tg, il, tl = _case()
    x = gpuarr.tensor(lp, device=device, requires_grad=True)
    loss = F.ctc_loss(x, gpuarr.tensor(tg), gpuarr.tensor(il), gpuarr.tensor(tl),
                      zero_infinity=True)
    ref = TF.ctc_loss(torch.tensor(lp), torch.tensor(tg), torch.tensor(il), torch.tensor(tl),
                      zero_infinity=True)
    assert loss.device == resolved(device)
    np.testing.assert_allclose(to_np(loss), ref.numpy(), rtol=1e-10)
    loss.backward()
    assert x.grad.device == resolved(device)
