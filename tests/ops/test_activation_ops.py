"""relu, softmax and log_softmax exist once (gpuarr.ops.activation): every spelling of them,
function, method, in-place, ``F.*`` and the ``nn`` modules, gives torch's results, gradients
and errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import gpuarr
import gpuarr.nn.functional as F
from gpuarr.ops import activation

RELUS = {
    "gpuarr.relu": (lambda m, t: m.relu(t)),
    "Tensor.relu": (lambda m, t: t.relu()),
    "F.relu": (lambda m, t: m.nn.functional.relu(t)),
    "nn.ReLU": (lambda m, t: m.nn.ReLU()(t)),
    "relu_": (lambda m, t: m.relu_(t.clone())),
    "Tensor.relu_": (lambda m, t: t.clone().relu_()),
    "F.relu(inplace)": (lambda m, t: m.nn.functional.relu(t.clone(), inplace=True)),
}


def test_one_implementation():
    assert inspect.unwrap(gpuarr.relu) is activation.relu
    assert gpuarr.Tensor.relu is activation.relu
    assert inspect.unwrap(gpuarr.softmax) is activation.softmax is F.softmax
    assert inspect.unwrap(gpuarr.log_softmax) is activation.log_softmax is F.log_softmax
    assert not hasattr(gpuarr.ops.elementwise, "Relu")


@pytest.mark.parametrize("how", list(RELUS))
@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int8"])
def test_relu_spellings_match_torch(device, how, dt):
    x_np = np.array([[-2, -1, 0], [1, 2, 3]], dtype=dt)
    got = RELUS[how](gpuarr, gpuarr.tensor(x_np, device=device))
    want = RELUS[how](torch, torch.tensor(x_np))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("how", list(RELUS))
def test_relu_refuses_bool_everywhere_like_torch(device, how):
    with pytest.raises(RuntimeError) as want:
        RELUS[how](torch, torch.tensor([True, False]))
    with pytest.raises(RuntimeError) as got:
        RELUS[how](gpuarr, gpuarr.tensor([True, False], device=device))
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_spellings_and_gradients_match_torch(device, name):
    x_np = np.random.default_rng(0).standard_normal((3, 4))
    for dim in (0, 1, -1):
        outs = []
        for m in (gpuarr, torch):
            x = m.tensor(x_np, requires_grad=True) if m is torch else \
                gpuarr.tensor(x_np, device=device, requires_grad=True)
            ys = [getattr(m, name)(x, dim), getattr(x, name)(dim),
                  getattr(m.nn.functional, name)(x, dim=dim)]
            w = m.tensor(np.arange(12.0).reshape(3, 4))
            if m is gpuarr:
                w = w.to(device)
            (ys[0] * w).sum().backward()
            outs.append(([y.detach().cpu().numpy() for y in ys], x.grad.cpu().numpy()))
        (gys, gg), (tys, tg) = outs
        for gy, ty in zip(gys, tys):
            np.testing.assert_allclose(gy, ty, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gg, tg, rtol=1e-10, atol=1e-12)


def test_relu_gradcheck(device):
    x = gpuarr.tensor([[-1.5, 0.3], [2.0, -0.7]], dtype=gpuarr.float64, device=device,
                      requires_grad=True)
    assert gpuarr.autograd.gradcheck(gpuarr.relu, (x,))
    assert gpuarr.autograd.gradcheck(lambda t: gpuarr.log_softmax(t, 1), (x,))
    assert gpuarr.autograd.gradgradcheck(lambda t: gpuarr.softmax(t, 0), (x,))
