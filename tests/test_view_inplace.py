"""In-place writes through views with autograd (torch's CopySlices): values, gradients and
errors against torch, higher-order gradients, random slicings, and compiled steps."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck


def _w(lib, device=None):
    t = lib.tensor(np.linspace(-1, 1, 24).reshape(4, 6), requires_grad=True)
    if device is not None:
        t = gpuarr.tensor(np.linspace(-1, 1, 24).reshape(4, 6), device=device,
                          requires_grad=True)
    return t


def _slice_ops(lib, w):
    h = w * 2
    v = h[:, 1:4]
    v.mul_(3)
    v.relu_()
    return (h * lib.arange(6.0, device=w.device)).sum()


def _view_of_view(lib, w):
    h = w * 1.5
    hv = h.view(24)
    hv.add_(hv.detach() * 0 + 1)
    hv[::3].exp_()
    return h.sum() + h[0].sum()


def _transposed_setitem(lib, w):
    h = w.t() * 1
    g = h[1:3]
    g[:, 0] = 7
    g[0].sigmoid_()
    return h.pow(2).sum()


def _into_constant_base(lib, w):
    z = lib.zeros(3, 4, 6, dtype=w.dtype, device=w.device)
    z[1].add_(w)
    z[2][:, :2].copy_(w[:, :2] * 3)
    return (z ** 2).sum()


def _group_norm_inplace_relu(lib, w):
    x = w.reshape(1, 4, 2, 3)
    y = lib.nn.functional.group_norm(x, 2)
    lib.nn.functional.relu(y, inplace=True)
    return (y * y.detach()).sum()


def _permuted_view_iadd(lib, w):
    h = w * 2
    v = h.view(4, 3, 2).transpose(0, 2)[1]
    v += 1
    v *= lib.arange(12.0, device=w.device).reshape(3, 4)
    return (h * h.detach()).sum()


def _strided_clamp(lib, w):
    h = (w * 2).t().contiguous()
    v = h.view(-1)[::2]
    v.clamp_(min=0)
    return (h * 3).sum()


def _reshape_copy_is_not_a_view(lib, w):
    y = (w * 2).t().reshape(-1)  # reshape has to copy: writing y leaves w's history alone
    y.mul_(2)
    return y.sum() + w.sum()


CASES = [_slice_ops, _view_of_view, _transposed_setitem, _into_constant_base,
         _group_norm_inplace_relu, _permuted_view_iadd, _strided_clamp,
         _reshape_copy_is_not_a_view]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__.strip("_"))
def test_gradients_match_torch(device, case):
    tw = torch.tensor(np.linspace(-1, 1, 24).reshape(4, 6), requires_grad=True)
    gw = gpuarr.tensor(np.linspace(-1, 1, 24).reshape(4, 6), device=device, requires_grad=True)
    tl, gl = case(torch, tw), case(gpuarr, gw)
    tl.backward()
    gl.backward()
    np.testing.assert_allclose(gl.item(), tl.item(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_graph_reads_as_torchs(device):
    w = gpuarr.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    h = w * 2
    v = h[1:]
    v.mul_(3)
    assert h.grad_fn.name() == "CopySlices" and v.grad_fn.name() == "AsStridedBackward0"
    assert v._base is h and h._version == v._version
    h.sum().backward()
    assert w.grad.tolist() == [2.0, 6.0, 6.0]
    assert h.tolist() == [2.0, 12.0, 18.0]


@pytest.mark.parametrize("how", ["leaf", "split", "unbind", "chunk", "no_grad"])
def test_forbidden_writes_raise_torchs_errors(device, how):
    def run(lib, dev):
        w = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        if lib is gpuarr:
            w = gpuarr.tensor([1.0, 2.0, 3.0, 4.0], device=dev, requires_grad=True)
        if how == "leaf":
            w[:2].add_(1)
        elif how == "split":
            (w * 1).split(2)[0].add_(1)
        elif how == "unbind":
            (w * 1).unbind(0)[1].mul_(2)
        elif how == "chunk":
            (w * 1).chunk(2)[1].add_(1)
        else:
            h = w * 2
            with lib.no_grad():
                v = h[:2]
            v.add_(w[:2])

    with pytest.raises(RuntimeError) as te:
        run(torch, None)
    want = re.sub(r"\b(Split|SplitWithSizes|Unbind)\b", r"\\w+", re.escape(str(te.value)))
    with pytest.raises(RuntimeError, match="^" + want + "$"):
        run(gpuarr, device)


def test_saved_tensor_written_through_a_view_is_caught(device):
    w = gpuarr.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    y = w.sigmoid()  # sigmoid keeps its output for backward
    y[1:].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_double_backward_and_gradcheck(device):
    def f(a):
        h = a * 1
        h[1:].mul_(a[1:])
        h[:2].sin_()
        return h.pow(3)

    a = gpuarr.tensor([0.3, -0.2, 0.5, 0.9], dtype=gpuarr.float64, device=device,
                      requires_grad=True)
    assert gradcheck(f, (a,))
    assert gradgradcheck(f, (a,))
    ta = torch.tensor([0.3, -0.2, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(f(ta).sum(), ta, create_graph=True)
    (gg,) = gpuarr.autograd.grad(f(a).sum(), a, create_graph=True)
    tg.sum().backward()
    gg.sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(2, 5), st.data())
def test_random_slices_match_torch(rows, cols, data):
    r0 = data.draw(st.integers(0, rows - 1))
    r1 = data.draw(st.integers(r0, rows))
    c0 = data.draw(st.integers(0, cols - 1))
    step = data.draw(st.integers(1, 3))
    transpose = data.draw(st.booleans())
    base = np.random.default_rng(rows * 10 + cols).standard_normal((rows, cols))

    def run(lib):
        w = lib.tensor(base, requires_grad=True)
        h = w * 1.5
        if transpose:
            h = h.t()
            v = h[c0::step, r0:r1]
        else:
            v = h[r0:r1, c0::step]
        v.mul_(v.detach() + 2)  # size 0 when r0 == r1
        (h * h.detach()).sum().backward()
        return h.detach().numpy(), w.grad.numpy()

    (th, tg), (gh, gg) = run(torch), run(gpuarr)
    np.testing.assert_allclose(gh, th, rtol=1e-12)
    np.testing.assert_allclose(gg, tg, rtol=1e-12)


def test_compiled_step_with_inplace_on_views_equals_eager(device):
    def make():
        gpuarr.manual_seed(0)
        m = gpuarr.nn.Sequential(gpuarr.nn.Linear(6, 8), gpuarr.nn.GroupNorm(2, 8),
                                 gpuarr.nn.ReLU(inplace=True), gpuarr.nn.Linear(8, 3)).to(device)
        return m, gpuarr.optim.SGD(m.parameters(), lr=0.001)

    def stepper(m, opt):
        def step(x):
            opt.zero_grad()
            h = m(x)
            h[:, 1:].mul_(2)
            h.view(-1)[::2].tanh_()
            loss = (h ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    x = gpuarr.randn(5, 6, device=device)
    (m1, o1), (m2, o2) = make(), make()
    eager, compiled = stepper(m1, o1), gpuarr.compile(stepper(m2, o2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = [(eager(x).item(), compiled(x).item()) for _ in range(6)]
    assert all(a == b for a, b in losses)
    assert compiled.stats()["replays"] >= 3
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), q.detach().cpu().numpy())
